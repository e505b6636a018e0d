import Foundation
import InferLine
import InferLineReport

#if canImport(Glibc)
  import Glibc
#endif

/// Reading, checking and writing the parts of a sharded report (`report --shard`, `report --merge`).
enum ShardParts {
  /// The parts at `paths` (each a shard's --out folder or its part.json): one complete set of N shards, cut from the
  /// same arguments and inputs, in shard order.
  /// - Throws: `InputError` naming a part that cannot be read, a missing or repeated shard, or parts that disagree.
  static func load(_ paths: [String]) throws -> [NightShards.Part] {
    var parts: [(path: String, part: NightShards.Part)] = []
    for path in paths {
      var isFolder: ObjCBool = false
      let file =
        FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
        ? (path as NSString).appendingPathComponent("part.json") : path
      guard let data = FileManager.default.contents(atPath: file) else {
        throw InputError(
          file: file, "cannot read the part", fix: "give the folders the shards wrote with --out (each holds part.json)"
        )
      }
      let part: NightShards.Part
      do {
        part = try ReportWriter.decoder().decode(NightShards.Part.self, from: data)
      } catch {
        throw InputError(
          file: file, "not a part of a sharded report: \(DecodingErrorText.describe(error))",
          fix: "give the part.json files `inferline report --shard K/N` wrote")
      }
      guard part.format == NightShards.Part.format, part.version == NightShards.Part.currentVersion else {
        throw InputError(
          file: file,
          "a part of version \(part.version), this inferline merges version \(NightShards.Part.currentVersion)",
          fix: "run the shards and the merge with the same inferline")
      }
      parts.append((file, part))
    }
    guard let first = parts.first else { throw InputError("--merge names no part", fix: "give every shard's part") }
    let n = first.part.shards
    for (file, part) in parts {
      guard part.shards == n else {
        throw InputError(
          file: file, "a part of \(part.shards) shards among parts of \(n) (\(first.path))",
          fix: "merge the parts of one run")
      }
      guard part.arguments == first.part.arguments else {
        throw InputError(
          file: file, "cut from other arguments than \(first.path): \(part.arguments.joined(separator: " "))",
          fix: "merge the parts of one run")
      }
      for input in part.inputs {
        if let other = first.part.inputs.first(where: { $0.path == input.path }), other.sha256 != input.sha256 {
          throw InputError(
            file: file, "shard \(part.shard) read \(input.path) with another content than shard \(first.part.shard)",
            fix: "run every shard on the same input files")
        }
      }
    }
    let shards = parts.map(\.part.shard)
    if let twice = Set(shards).first(where: { k in shards.filter { $0 == k }.count > 1 }) {
      let files = parts.filter { $0.part.shard == twice }.map(\.path).joined(separator: ", ")
      throw InputError("shard \(twice) is given twice (\(files))", fix: "give each shard's part once")
    }
    let missing = (0..<n).filter { !shards.contains($0) }
    guard missing.isEmpty else {
      throw InputError(
        "missing part\(missing.count == 1 ? "" : "s") of shard\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) of \(n) (given: \(parts.map(\.path).joined(separator: ", ")))",
        fix:
          "run the missing shard\(missing.count == 1 ? "" : "s") (`report ... --shard K/\(n)`), or find \(missing.count == 1 ? "its" : "their") folder\(missing.count == 1 ? "" : "s")"
      )
    }
    return parts.map(\.part).sorted { $0.shard < $1.shard }
  }

  /// - Throws: `InputError` naming an input file that changed since the shards read it.
  static func checkInputs(_ parts: [NightShards.Part], against now: [CapacityReport.InputFile]) throws {
    for input in parts[0].inputs {
      guard let current = now.first(where: { $0.path == input.path }) else { continue }
      guard current.sha256 == input.sha256 else {
        throw InputError(
          file: input.path,
          "changed since the shards read it (SHA-256 \(input.sha256.prefix(12))..., now \(current.sha256.prefix(12))...)",
          fix: "run the shards again on the file as it is, or restore it")
      }
    }
  }

  /// The logs read once, each pipeline's workload, and for a fleet the queries of pipelines no model names (the
  /// checks `CapacityAnalysis.runFleet` makes).
  static func read(
    logs: [String], models: [PipelineModel], options: CapacityAnalysis.Options
  ) throws -> (set: QueryLogSet, workloads: [CapacityAnalysis.Workload], unplanned: [String: Int]) {
    let fleet = models.count > 1
    if fleet { try CapacityAnalysis.checkFleet(names: models.map(\.name)) }
    let set = try QueryLogSet.read(paths: logs, options: options.log)
    let unplanned = fleet ? try CapacityAnalysis.unplannedQueries(set, names: models.map(\.name)) : [:]
    let workloads = try models.map { model in
      try CapacityAnalysis.Workload(
        trace: try set.trace(for: model.inputs.pipeline), windowLength: options.windowLength)
    }
    return (set, workloads, unplanned)
  }

  /// Writes `folder/part.json` through a temporary file renamed into place.
  static func write(_ part: NightShards.Part, to folder: String) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let final = URL(fileURLWithPath: folder).appendingPathComponent("part.json")
    let temporary = URL(fileURLWithPath: folder).appendingPathComponent(".part.json.\(getpid()).tmp")
    try ReportWriter.encoder().encode(part).write(to: temporary)
    if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
    try FileManager.default.moveItem(at: temporary, to: final)
  }

  /// User and system CPU seconds of this process so far.
  static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }
}
