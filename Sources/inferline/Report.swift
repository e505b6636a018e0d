import ArgumentParser
import Foundation
import InferLine
import InferLineReport

#if canImport(Glibc)
  import Glibc
#endif

extension InferLineCommand {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Turn a night's logs into a capacity report folder: index.html, charts, report.json, summary.md.",
      discussion: """
        Plans every workload window, replays the InferLine tuner and the autoscaler baselines over the whole log, \
        and writes the folder under a temporary name, renamed into place at the end (a failed run keeps the last \
        report). Exit status 0 on success, 65 for bad input, 3 when some window cannot meet the SLO (the report \
        is still written and says so).
        """)

    @Argument(help: "Query logs: CSV, TSV or JSON Lines, each optionally gzip-compressed.")
    var logs: [String]

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var search: SearchOptions

    @Option(help: "Report folder to write (replaced as a whole when the run succeeds).")
    var out: String

    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions

    @Option(help: "SLO latency in ms, instead of the pipeline file's.")
    var slo: Double?

    @Option(help: "Seed for every random choice (routes); recorded in the report.")
    var seed: UInt64 = 1

    @Option(help: "Traffic growth factors for what-if plans, comma-separated.")
    var growth: String = "1.25,1.5,2"

    @Option(help: "The previous night's report.json, to show what changed.")
    var previous: String?

    @Option(help: "Folder with the team's own report.mustache (default: inferline's Templates/).")
    var templates: String?

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Flag(help: "Print the time each phase took.")
    var timings = false

    func run() throws {
      var options = CapacityAnalysis.Options()
      options.log = try log.readOptions()
      options.windowLength = try window.nanoseconds()
      options.seed = seed
      let factors = growth.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
      guard factors.allSatisfy({ $0 != nil && $0! >= 0.01 && $0! <= 1000 }) else {
        throw ValidationError("--growth must be factors from 0.01 to 1000 separated by commas (got '\(growth)')")
      }
      options.growth = factors.map { $0! }
      if let slo, slo <= 0 { throw ValidationError("--slo must be a positive number of milliseconds") }
      options.budget = try search.budget()
      let model = try pipelineOptions.model(sloMs: slo)
      // Before any work: the folder can be written and is ours to replace (and is locked for this run), and the
      // template parses.
      let templateFolder = templates.map { URL(fileURLWithPath: $0) }
      do {
        try ReportWriter.checkTemplate(templateFolder)
      } catch let error as InputError {
        note(error.description)
        throw ExitCode(ExitStatus.badInput)
      }
      let folder = try InferLineCommand.openFolder(out)
      let previousReport = try previous.map { path in try reportingInputErrors { try ReportWriter.load(path: path) } }
      let terminal = isatty(2) == 1
      let quiet = self.quiet
      // A bar on a terminal, plain lines otherwise.
      let progress: @Sendable (Double, String) -> Void = { fraction, line in
        guard !quiet else { return }
        if terminal {
          let filled = Int((max(0, min(1, fraction)) * 24).rounded())
          let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 24 - filled)
          FileHandle.standardError.write(Data("\r\u{1B}[2K[\(bar)] \(Int(fraction * 100))% \(line)".utf8))
        } else {
          note(line)
        }
      }
      let started = Date()
      var report = try reportingInputErrors {
        try CapacityAnalysis.run(logs: logs, model: model, options: options, progress: progress)
      }
      if terminal && !quiet { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
      noteIngestion(report.ingestion)
      report.inputs = ReportWriter.describeInputs(
        logs.map { ("log", $0) } + [
          ("pipeline", pipelineOptions.pipeline), ("hardware", pipelineOptions.hardware),
          ("profiles", pipelineOptions.profiles),
        ])
      if let old = previousReport {
        report.previous = CapacityReport.Comparison(
          previousGeneratedAt: old.generatedAt, previousCostPerDay: old.costPerDay,
          costPerDayChange: report.costPerDay - old.costPerDay, changes: report.differences(from: old))
      }
      let chartsStarted = Date()
      do {
        try ReportWriter.write(report, to: folder, templates: templateFolder)
      } catch let error as InputError {
        note(error.description)
        throw ExitCode(ExitStatus.badInput)
      } catch {
        note(
          "\(out): error: cannot write the report: \(error.localizedDescription)\n  fix: check that the folder can be written and its disk has room; the previous report is unchanged"
        )
        throw ExitCode(ExitStatus.cannotWrite)
      }
      report.timings["charts and files"] = Date().timeIntervalSince(chartsStarted)
      say(ReportWriter.summaryMarkdown(report), terminator: "")
      say(
        "\nWrote \(out)/index.html, charts/, report.json and summary.md in \(String(format: "%.1f", Date().timeIntervalSince(started))) s."
      )
      if timings {
        for (phase, seconds) in report.timings.sorted(by: { $0.key < $1.key }) {
          note(String(format: "  %@: %.2f s", phase, seconds))
        }
      }
      if report.unattainableWindows > 0 { throw ExitCode(ExitStatus.sloUnattainable) }
    }
  }

  /// Takes the output folder (checked and locked) or exits 73 with the reason.
  fileprivate static func openFolder(_ out: String) throws -> ReportFolder {
    do {
      return try ReportFolder(URL(fileURLWithPath: out))
    } catch let error as InputError {
      note(error.description)
      throw ExitCode(ExitStatus.cannotWrite)
    }
  }

  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "What changed between two reports: cost, the plan per stage, the SLO, prices. Prints nothing when nothing did.")

    @Argument(help: "The older report.json.")
    var old: String

    @Argument(help: "The newer report.json.")
    var new: String

    func run() throws {
      let (a, b) = try reportingInputErrors { (try ReportWriter.load(path: old), try ReportWriter.load(path: new)) }
      for line in b.differences(from: a) { say(line) }
    }
  }
}
