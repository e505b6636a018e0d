import ArgumentParser
import Foundation
import InferLine
import InferLineNight

extension InferLineCommand {
  struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check a pipeline, a hardware catalog and profiles together, reporting every problem at once.",
      discussion: """
        Problems print as FILE:LINE: error|warning: MESSAGE. Exit status 65 when there is an error (with \
        --strict, also for a warning), 64 for a usage error, 0 otherwise. On success it prints what the planner will work from: \
        each stage's chance of being visited (its scale factor), its candidate hardware, and the latency floor.
        """)

    @Argument(help: "Pipeline file (YAML).")
    var pipeline: String

    @Option(help: "Hardware catalog (YAML).")
    var hardware: String

    @Option(help: "Model profiles (CSV).")
    var profiles: String

    @Flag(help: "Treat warnings (latency falling as the batch grows, unknown columns) as errors.")
    var strict = false

    @Flag(help: "Print JSON for machines: every diagnostic, and on success each stage's options and the floor.")
    var json = false

    @OptionGroup var quietOption: QuietOption

    func run() throws {
      quietOption.apply()
      if json {
        do {
          let inputs = try PlanningInputs.load(
            pipeline: pipeline, hardware: hardware, profiles: profiles, strict: strict)
          try printJSON(ValidationResult(inputs))
        } catch let error as DiagnosticsError {
          try printJSON(ValidationResult(ok: false, diagnostics: error.diagnostics))
          throw ExitCode(ExitStatus.badInput)
        } catch let error as InputError {
          note(error.description)
          throw ExitCode(ExitStatus.badInput)
        }
        return
      }
      let inputs = try reportingInputErrors {
        try PlanningInputs.load(pipeline: pipeline, hardware: hardware, profiles: profiles, strict: strict)
      }
      for warning in inputs.warnings { note(warning.description) }
      say(Self.describe(inputs))
    }

    /// Every name from the files escaped on its own (a name's line break is shown, not printed).
    static func describe(_ inputs: PlanningInputs) -> String {
      let p = inputs.pipeline
      let safe = { (s: String) in TerminalText.safe(s) }
      let model = PipelineModel(inputs)
      let scale = model.scaleFactors
      var lines = [
        "pipeline '\(safe(p.name))': \(p.stages.count) stage\(p.stages.count == 1 ? "" : "s"), \(p.edges.count) edge\(p.edges.count == 1 ? "" : "s"), SLO P\(String(format: "%g", p.slo.percentile)) <= \(String(format: "%g", p.slo.latencyMs)) ms"
      ]
      for (i, stage) in p.stages.enumerated() {
        let options = model.stages[i].options.map { o -> String in
          let l1 = Milliseconds.of(o.latency(batch: 1) ?? 0)
          return String(format: "%@ %.1f ms $%.3f/h", safe(o.hardware), l1, o.pricePerHour)
        }
        lines.append(
          String(
            format: "  %@ (%@): visited by %.1f%% of queries; ", safe(stage.name), safe(stage.model), scale[i] * 100)
            + options.joined(separator: ", "))
      }
      let floor = model.latencyFloor
      let floorMs = Milliseconds.of(floor.nanoseconds)
      lines.append(
        String(format: "  latency floor %.2f ms along ", floorMs)
          + floor.path.map { safe(p.stages[$0].name) }.joined(separator: " -> ")
          + (floorMs > p.slo.latencyMs ? String(format: ": above the SLO, which cannot be met") : ""))
      let dominated = inputs.profiles.profiles.reduce(0) { $0 + $1.dominatedBatchSizes.count }
      lines.append(
        "hardware '\(safe(inputs.catalog.name))': \(inputs.catalog.hardware.count) types; profiles: \(inputs.profiles.profiles.count) (model, hardware) pairs, \(dominated) dominated batch sizes"
      )
      lines.append(
        inputs.warnings.isEmpty
          ? "ok" : "ok, with \(inputs.warnings.count) warning\(inputs.warnings.count == 1 ? "" : "s")")
      return lines.joined(separator: "\n")
    }
  }

  struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Work with model profiles.", subcommands: [Import.self])

    struct Import: ParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "Turn Triton perf_analyzer CSV files (-f), one per batch size, into profile rows.",
        discussion: """
          Each file is perf_analyzer's -f output for one batch size (-b); the row with the lowest concurrency is \
          taken, its p50 as latency_ms and its p99 as latency_p99_ms. Example:
            inferline profiles import --model resnet50 --hardware T4 1=perf-b1.csv 8=perf-b8.csv --append profiles.csv

          Runs at several input shapes (perf_analyzer --shape) give latency by input size: BATCH@SIZE=FILE, with \
          SIZE the largest input the run holds in the unit of the log's size column (tokens, pixels, items). \
          Every size needs the same batch sizes; a batch then takes the latency of the smallest size holding its \
          largest input. Example:
            inferline profiles import --model bert --hardware T4 1@128=b1-s128.csv 8@128=b8-s128.csv \\
              1@512=b1-s512.csv 8@512=b8-s512.csv --append profiles.csv

          Exit status 0 on success, 64 for a usage error, 65 for a file that is not perf_analyzer's or rows the profile file already has (it is left unchanged), 73 when it cannot be written.
          """)

      @Option(help: "Model name, as the pipeline's stages name it.")
      var model: String

      @Option(help: "Hardware type, as the catalog names it.")
      var hardware: String

      @Argument(
        help:
          "BATCH=FILE pairs: the batch size perf_analyzer ran with (-b) and its CSV; BATCH@SIZE=FILE for a run at an input size (--shape)."
      )
      var measurements: [String]

      @Option(help: "Append the rows to this profiles file (created with a header if missing) instead of printing.")
      var append: String?

      @Flag(help: "Print the imported rows as JSON (also with --append, after appending them).")
      var json = false

      @OptionGroup var quietOption: QuietOption

      func run() throws {
        quietOption.apply()
        var points: [PerfAnalyzerImport.Point] = []
        for item in measurements {
          let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
          let key = parts[0].split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
          guard parts.count == 2, let batch = Int(key[0]), batch >= 1 else {
            throw ValidationError(
              "'\(TerminalText.safe(item))' must be BATCH=FILE or BATCH@SIZE=FILE, such as 8=perf-b8.csv or 8@512=perf-b8-s512.csv"
            )
          }
          var size: Double? = nil
          if key.count == 2 {
            guard let value = Double(key[1]), value > 0, value.isFinite else {
              throw ValidationError(
                "'\(TerminalText.safe(item))': the size after @ must be a positive number, the largest input of the run (tokens, pixels, items)"
              )
            }
            size = value
          }
          guard !points.contains(where: { $0.batchSize == batch && $0.size == size }) else {
            throw ValidationError(
              "batch size \(batch)\(size.map { " at size \(ProfileTable.sizeText($0))" } ?? "") is given twice")
          }
          if let first = points.first, (first.size == nil) != (size == nil) {
            throw ValidationError(
              "give every measurement a size (BATCH@SIZE=FILE) or none: a profile has size buckets for all its rows or for none"
            )
          }
          let text = try reportingInputErrors { () throws -> String in
            guard let data = FileManager.default.contents(atPath: parts[1]) else {
              throw InputError(file: parts[1], "cannot read the file", fix: "check the path")
            }
            return String(decoding: data, as: UTF8.self)
          }
          var point = try reportingInputErrors {
            try PerfAnalyzerImport.point(csv: text, file: parts[1], batchSize: batch)
          }
          point.size = size
          points.append(point)
        }
        let sized = points.contains { $0.size != nil }
        let header = sized ? PerfAnalyzerImport.sizedHeader : PerfAnalyzerImport.header
        var rows = PerfAnalyzerImport.rows(model: model, hardware: hardware, points: points, source: "perf_analyzer")
        let imported = points.sorted { $0.batchSize < $1.batchSize }.map {
          ImportedProfile(
            model: model, hardware: hardware, batchSize: $0.batchSize, latencyMs: $0.p50Ms, statistic: "p50",
            latencyP99Ms: $0.p99Ms, size: $0.size, source: "perf_analyzer")
        }
        guard let append else {
          if json { try printJSON(imported) } else { say(([header] + rows).joined(separator: "\n")) }
          return
        }
        var text = FileManager.default.contents(atPath: append).map { String(decoding: $0, as: UTF8.self) } ?? ""
        if text.isEmpty { text = header + "\n" }
        // The rows in the file's own column order; a column the rows need and the file lacks is an error.
        let columns = text.split(separator: "\n").first { !$0.hasPrefix("#") && !$0.isEmpty }.map {
          $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        }
        if let columns {
          let needed =
            ["model", "hardware", "batch_size", "latency_ms", "statistic", "latency_p99_ms"] + (sized ? ["size"] : [])
          let missing = needed.filter { !columns.contains($0) }
          if !missing.isEmpty {
            note(
              "error: \(append): its header lacks \(missing.joined(separator: ", ")), which the imported rows fill; it is unchanged"
            )
            note(
              "  fix: add the column\(missing.count == 1 ? "" : "s") to the header (and an empty field to its rows), or import into a new file"
            )
            throw ExitCode(ExitStatus.badInput)
          }
          rows = PerfAnalyzerImport.rows(
            model: model, hardware: hardware, points: points, source: "perf_analyzer", columns: columns)
        }
        if !text.hasSuffix("\n") { text += "\n" }
        text += rows.joined(separator: "\n") + "\n"
        // Check the result before replacing the file, so a conflict leaves it as it was.
        let temporary = append + ".import.tmp"
        try text.write(toFile: temporary, atomically: true, encoding: .utf8)
        let (_, diagnostics) = ProfileTable.load(path: temporary)
        let errors = diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
          try? FileManager.default.removeItem(atPath: temporary)
          for e in errors { note(e.description.replacingOccurrences(of: temporary, with: append)) }
          note("\(append) is unchanged")
          throw ExitCode(ExitStatus.badInput)
        }
        guard rename(temporary, append) == 0 else {
          try? FileManager.default.removeItem(atPath: temporary)
          note("error: \(append): cannot write the file: \(String(cString: strerror(errno))); it is unchanged")
          throw ExitCode(ExitStatus.cannotWrite)
        }
        progress("appended \(rows.count) row\(rows.count == 1 ? "" : "s") for \(model) on \(hardware) to \(append)")
        if json { try printJSON(imported) }
      }
    }
  }
}

/// What `validate --json` prints: every diagnostic, and on success what the planner will work from.
struct ValidationResult: Encodable {
  struct Option: Encodable {
    var hardware: String
    var batch1LatencyMs: Double
    var pricePerHour: Double
  }
  struct Stage: Encodable {
    var name: String
    var model: String
    /// The chance a query visits the stage (its scale factor).
    var visitProbability: Double
    var options: [Option]
  }
  var ok: Bool
  var diagnostics: [Diagnostic]
  var pipeline: String? = nil
  var stages: [Stage]? = nil
  var latencyFloorMs: Double? = nil
  var latencyFloorPath: [String]? = nil

  init(ok: Bool, diagnostics: [Diagnostic]) {
    self.ok = ok
    self.diagnostics = diagnostics
  }

  init(_ inputs: PlanningInputs) {
    let model = PipelineModel(inputs)
    let scale = model.scaleFactors
    let p = inputs.pipeline
    self.init(ok: true, diagnostics: inputs.warnings)
    pipeline = p.name
    stages = p.stages.indices.map { i in
      Stage(
        name: p.stages[i].name, model: p.stages[i].model, visitProbability: scale[i],
        options: model.stages[i].options.map { o in
          Option(
            hardware: o.hardware, batch1LatencyMs: Milliseconds.of(o.latency(batch: 1) ?? 0),
            pricePerHour: o.pricePerHour)
        })
    }
    let floor = model.latencyFloor
    latencyFloorMs = Milliseconds.of(floor.nanoseconds)
    latencyFloorPath = floor.path.map { p.stages[$0].name }
  }
}

/// One row `profiles import --json` prints, as the profile CSV's columns.
struct ImportedProfile: Encodable {
  var model: String
  var hardware: String
  var batchSize: Int
  var latencyMs: Double
  var statistic: String
  var latencyP99Ms: Double
  var size: Double?
  var source: String
}
