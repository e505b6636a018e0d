import Foundation
public import InferLine
public import InferLineNight

/// Reads `report --history FOLDER`: every report.json an earlier run wrote (one pipeline's or a fleet's) and every
/// query log (CSV, TSV, JSON Lines, optionally gzip; a log of several days gives a night per whole UTC day), in the
/// folder and below it, into each pipeline's `NightHistory`. Reports are read as their figures and logs one at a
/// time, so the history costs no more memory than its largest log. A night of another pipeline version, catalog,
/// SLO or window, a file that is neither, or one that cannot be read is left out and named, never dropped silently.
public enum HistoryFolder {
  /// File names read as logs.
  static let logSuffixes = [".csv", ".tsv", ".jsonl", ".csv.gz", ".tsv.gz", ".jsonl.gz"]

  /// - Parameters:
  ///   - models: tonight's pipelines, each with its identity (`NightHistory.Identity`).
  ///   - log: how tonight's logs are read (the history's logs are read the same way).
  /// - Returns: each model's history, by pipeline name.
  /// - Throws: `InputError` when the folder does not exist or holds no file that could be history.
  public static func read(
    _ path: String, models: [PipelineModel], windowLength: Int64, log: LogReadOptions
  ) throws -> [String: NightHistory] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw InputError(
        file: path, "no such folder", fix: "name the folder that holds earlier nights' report.json files or logs")
    }
    var files: [String] = []
    if isFolder.boolValue {
      let root = URL(fileURLWithPath: path)
      let walker = FileManager.default.enumerator(
        at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
      while let url = walker?.nextObject() as? URL {
        if (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
          let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
          files.append((path as NSString).appendingPathComponent(relative))
        }
      }
      files.sort()
    } else {
      files = [path]
    }
    let identities = models.map { NightHistory.Identity(model: $0, windowLength: windowLength) }
    var histories = Dictionary(uniqueKeysWithValues: models.map { ($0.name, NightHistory()) })
    var read = 0
    func leaveOut(_ night: LeftOutNight, pipeline: String?) {
      for name in histories.keys where pipeline == nil || pipeline == name { histories[name]!.leftOut.append(night) }
    }
    var options = log
    options.malformedExamples = 0
    for file in files {
      let name = file.lowercased()
      if name.hasSuffix(".json") {
        read += 1
        let reports: [CapacityReport]
        do {
          reports = try ReportWriter.loadFleet(path: file).fleet.pipelines
        } catch let error as InputError {
          leaveOut(.init(source: file, date: nil, reason: error.message), pipeline: nil)
          continue
        }
        for report in reports {
          guard let i = identities.firstIndex(where: { $0.pipeline == report.pipelineName }) else {
            leaveOut(
              .init(
                source: file, date: nil,
                reason: "a report of pipeline '\(report.pipelineName)', which tonight's report does not plan"),
              pipeline: nil)
            continue
          }
          let pipeline = report.pipelineName
          guard let night = HistoryNight(report: report, source: file) else {
            leaveOut(
              .init(source: file, date: nil, reason: "its log had relative times or spanned less than an hour"),
              pipeline: pipeline)
            continue
          }
          if let why = identities[i].mismatch(NightHistory.Identity(report: report)) {
            leaveOut(.init(source: file, date: night.date, reason: why), pipeline: pipeline)
          } else {
            histories[pipeline]!.nights.append(night)
          }
        }
      } else if logSuffixes.contains(where: { name.hasSuffix($0) }) {
        read += 1
        let set: QueryLogSet
        do {
          set = try QueryLogSet.read(paths: [file], options: options)
        } catch let error as InputError {
          leaveOut(.init(source: file, date: nil, reason: error.message), pipeline: nil)
          continue
        }
        let malformed = set.reports.reduce(0) { $0 + $1.malformedLines }
        if malformed > 0 {
          for name in histories.keys { histories[name]!.skippedLines[file, default: 0] += malformed }
        }
        for trace in set.traces {
          let owner =
            trace.pipeline.flatMap { named in models.first { $0.name == named } }
            ?? (trace.pipeline == nil && models.count == 1 ? models[0] : nil)
          guard let owner else {
            leaveOut(
              .init(
                source: file, date: nil,
                reason:
                  "queries of pipeline '\(trace.pipeline ?? "-")', which tonight's report does not plan\(models.count > 1 && trace.pipeline == nil ? " (a fleet's history logs need a pipeline column)" : "")"
              ), pipeline: nil)
            continue
          }
          guard !trace.isRelative else {
            leaveOut(.init(source: file, date: nil, reason: "relative times: no dates"), pipeline: owner.name)
            continue
          }
          let days = NightHistory.nights(ofLog: trace.arrivals, windowLength: windowLength, source: file)
          histories[owner.name]!.nights += days.nights
          histories[owner.name]!.leftOut += days.leftOut
        }
      } else {
        for name in histories.keys { histories[name]!.otherFiles += 1 }
      }
    }
    guard read > 0 else {
      throw InputError(
        file: path, "holds no report.json and no log (of \(files.count) files)",
        fix: "name the folder of earlier nights' report folders or logs (.csv, .tsv, .jsonl, optionally .gz)")
    }
    return histories
  }
}
