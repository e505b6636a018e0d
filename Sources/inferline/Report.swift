import ArgumentParser
import Foundation
import InferLine
import InferLineNight
import InferLineReport

#if canImport(Glibc)
  import Glibc
#endif

extension InferLineCommand {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Turn a night's logs into a capacity report folder: index.html, charts, report.json, summary.md.",
      discussion: """
        Plans every workload window, replays the InferLine tuner, predictive scaling, the per-window schedule, the \
        static plan and the autoscaler baselines over the whole log, recommends the cheapest that kept the SLO, \
        and writes the folder under a temporary name, renamed into place at the end (a failed run keeps the last \
        report). Exit status 0 on success, 64 for a usage error, 65 for bad input, 73 when the folder cannot be \
        written, 3 when some window cannot meet the SLO, 4 when no provisioning replayed kept some pipeline's SLO \
        over the log, 5 when the search budget ran out before it found a plan for some window or showed that none \
        exists (for 3, 4 and 5 the report is still written and says so first; report.json's \
        recommendation.meetsSLO is false for 4).

        With --pipeline given more than once, the logs must name each query's pipeline in a column; the report \
        is the fleet's: its totals (per day and month, by hardware type, against each baseline) on the first \
        page and each pipeline's full report in a folder of its own. Queries of pipelines no file names are \
        counted and shown, not planned.

        Settings can live in a file: `report --dump-config ... > night.yaml` writes the effective settings (every \
        flag as a key), `report --config night.yaml` reads them, and flags given beside it override the file.

        On a cluster: --shard K/N does shard K's share of the work and writes OUT/part.json; --merge with every \
        shard's part writes the report, equal to one machine's but for timings (see Cluster/ for Kubernetes and \
        Ray). Parts are sealed; with INFERLINE_PART_KEY set for the shards and the merge they are signed with \
        it, and a part edited after its shard wrote it is refused.
        """)

    @Argument(help: "Query logs: CSV, TSV or JSON Lines, each optionally gzip-compressed.")
    var logs: [String] = []

    @Option(
      help: ArgumentHelp(
        "The report's settings as a file (YAML: every key takes what its flag takes; paths are from the file's folder); flags given override it.",
        valueName: "night.yaml"))
    var config: String?

    @Flag(help: "Print the settings this run would use (the configuration with the flags applied) as YAML, and exit.")
    var dumpConfig = false

    @Option(help: "Pipeline file (YAML); repeat for a fleet report of several pipelines from the same logs.")
    var pipeline: [String] = []

    @Option(help: "Hardware catalog (YAML).")
    var hardware: String?

    @Option(help: "Model profiles (CSV).")
    var profiles: String?

    @Option(
      help: ArgumentHelp(
        "Do shard K of N of the night's work (windows, replays, budget, what-ifs; K from 0) and write its part.json into --out instead of a report.",
        valueName: "K/N"))
    var shard: String?

    @Option(
      parsing: .upToNextOption,
      help: ArgumentHelp(
        "Assemble the report from every shard's part (folders or part.json files), run with the shards' own settings; give only --out (and --templates, --previous, --quiet, --timings) besides.",
        valueName: "part"))
    var merge: [String] = []

    @OptionGroup var search: SearchOptions

    @Option(help: "Report folder to write (replaced as a whole when the run succeeds).")
    var out: String?

    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions

    @Option(help: "SLO latency in ms, instead of the pipeline file's.")
    var slo: Double?

    @Option(help: "Seed for every random choice (routes); recorded in the report (default: \(ReportRequest().seed)).")
    var seed: UInt64?

    @Option(
      help:
        "Traffic growth factors for what-if plans, comma-separated (default: \(ReportRequest().growth.map { "\($0)" }.joined(separator: ",")))."
    )
    var growth: String?

    @Option(
      name: [.customLong("escalation"), .customLong("sweep-edge")],
      help: ArgumentHelp(
        "What-if for a cascade's escalation: re-plan the busiest window at each probability of one edge, e.g. 'cheap -> expensive = 0.1,0.25,0.5' (--sweep-edge is its earlier name).",
        valueName: "edge=probabilities"))
    var escalation: String?

    @OptionGroup(title: "Serving what-ifs (each a section of the report)") var serving: ServingOptions

    @Option(help: "The previous night's report.json, to show what changed.")
    var previous: String?

    @Option(
      help:
        "The configuration that was deployed when the log was recorded (YAML, as simulate takes): fit the profiles to the log's observed latencies (--latency-column) and plan with the fit (see `calibrate`)."
    )
    var calibrate: String?

    @Option(
      help: ArgumentHelp(
        "Tracing spans recorded with the --calibrate configuration deployed (OTLP JSON, Jaeger JSON or console exporter): fit per stage from them instead of the log's latencies (see `calibrate --traces`).",
        valueName: "file"))
    var calibrationTraces: [String] = []

    @Flag(
      help:
        "Plan with the edge probabilities the --calibration-traces show (the share of each stage's queries that went on along each edge) instead of the pipeline file's."
    )
    var measuredRoutes = false

    @Option(
      help: ArgumentHelp(
        "A folder of earlier nights (their report.json files, or logs of earlier days): forecast the next 30 and 90 days' traffic and cost from them.",
        valueName: "folder"))
    var history: String?

    @Option(
      help: ArgumentHelp(
        "Plan each window against the same window on the latest N earlier nights of the --history folder's logs as well: the least configuration that meets the SLO on all of them.",
        valueName: "N"))
    var robust: Int?

    @Option(help: "Folder with the team's own report.mustache (default: inferline's Templates/).")
    var templates: String?

    @Flag(help: "No progress or notes on stderr (warnings and errors are still written).")
    var quiet = false

    @Flag(
      help:
        "Print the result as JSON on stdout instead of the summary: the folder, the cost, and each pipeline's decision (what to run at peak and over the day)."
    )
    var json = false

    @Flag(help: "Print the time each phase took.")
    var timings = false

    /// The configuration keys the flags given set (they override the configuration file's).
    var givenKeys: Set<String> {
      var keys = log.givenKeys.union(serving.givenKeys)
      let given: [(String, Bool)] = [
        ("logs", !logs.isEmpty), ("pipelines", !pipeline.isEmpty), ("hardware", hardware != nil),
        ("profiles", profiles != nil), ("window", window.window != nil), ("slo_ms", slo != nil), ("seed", seed != nil),
        ("growth", growth != nil), ("budget", search.simulations != nil), ("escalation", escalation != nil),
        ("calibrate", calibrate != nil), ("calibration_traces", !calibrationTraces.isEmpty),
        ("measured_routes", measuredRoutes),
        ("history", history != nil), ("robust", robust != nil), ("out", out != nil),
        ("templates", templates != nil),
        ("previous", previous != nil),
      ]
      for (key, isGiven) in given where isGiven { keys.insert(key) }
      return keys
    }

    /// The settings of this run: the configuration file's, with the flags given in place of its own.
    func request() throws -> ReportRequest {
      var r =
        try config.map { path in try reportingInputErrors { try ReportRequest.load(path: path) } } ?? ReportRequest()
      if !logs.isEmpty { r.logs = logs }
      if !pipeline.isEmpty { r.pipelines = pipeline }
      if let hardware { r.hardware = hardware }
      if let profiles { r.profiles = profiles }
      if let w = window.window { r.window = w }
      if let slo { r.sloMs = slo }
      if let seed { r.seed = seed }
      if let growth {
        let factors = growth.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !factors.isEmpty, factors.allSatisfy({ $0 != nil }) else {
          throw ValidationError(
            "--growth must be factors from 0.01 to 1000 separated by commas (got '\(TerminalText.safe(growth))')")
        }
        r.growth = factors.map { $0! }
      }
      if let simulations = search.simulations { r.budget = simulations }
      if let escalation { r.escalation = escalation }
      if let calibrate { r.calibrate = calibrate }
      if !calibrationTraces.isEmpty { r.calibrationTraces = calibrationTraces }
      if measuredRoutes { r.measuredRoutes = true }
      if let history { r.history = history }
      if let robust { r.robust = robust }
      if let out { r.out = out }
      if let templates { r.templates = templates }
      if let previous { r.previous = previous }
      r.log = log.applied(to: r.log)
      r.whatIfs = serving.applied(to: r.whatIfs)
      return r
    }

    /// A setting's problem: a usage error naming the flag (exit 64) when a flag gave it, else an error naming the
    /// configuration file and the key (exit 65).
    func checked<T>(_ body: () throws -> T) throws -> T {
      do {
        return try reportingInputErrors(body)
      } catch let error as ReportRequest.SettingError {
        if let config, !givenKeys.contains(error.key) {
          note(
            "\(TerminalText.safe(config)): error: \(error.configurationText)\n  fix: correct '\(error.key)' in the configuration, or override it with \(error.flag)"
          )
          throw ExitCode(ExitStatus.badInput)
        }
        throw ValidationError(error.description)
      }
    }

    /// `--shard K/N` as (K, N).
    func shardIndex() throws -> (Int, Int)? {
      guard let shard else { return nil }
      let parts = shard.split(separator: "/").map { Int($0) }
      guard parts.count == 2, let k = parts[0], let n = parts[1], n >= 1, n <= 10_000, k >= 0, k < n else {
        throw ValidationError(
          "--shard must be K/N with N from 1 to 10000 and K from 0 to N - 1, e.g. 0/4 (got '\(TerminalText.safe(shard))')"
        )
      }
      return (k, n)
    }

    func run() throws {
      setQuiet(quiet)
      if !merge.isEmpty { return try runMerge() }
      let request = try request()
      if dumpConfig {
        // Paths made absolute, so that the printed configuration reads the same files from any folder.
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        say(request.resolvingPaths(from: here).yaml(), terminator: "")
        return
      }
      guard !request.logs.isEmpty, !request.pipelines.isEmpty, request.hardware != nil, request.profiles != nil else {
        throw ValidationError(
          "report needs the logs, --pipeline, --hardware and --profiles (or --config with them, or --merge with the shards' parts)"
        )
      }
      guard request.out != nil else { throw ValidationError("report needs --out (the report folder, or the shard's)") }
      try run(request, parts: [])
    }

    /// Reads the parts, checks they are one complete, consistent set, and runs the report they were cut from with
    /// this command's --out (and presentation options).
    /// The flag that sets a configuration key (`slo_ms` is `--slo`, the logs are the arguments).
    static func flag(forKey key: String) -> String {
      let special = ["logs": "the logs", "pipelines": "--pipeline", "slo_ms": "--slo", "prewarm_seconds": "--prewarm"]
      return special[key] ?? "--" + key.replacingOccurrences(of: "_", with: "-")
    }

    /// Rules across options, before anything runs.
    func validate() throws {
      _ = try shardIndex()
      if !merge.isEmpty {
        // Anything that decides the analysis comes from the parts: say so rather than ignore it.
        let given = givenKeys.subtracting(["out", "templates", "previous"])
        guard given.isEmpty, config == nil, shard == nil, !dumpConfig else {
          let named =
            given.sorted().map(Self.flag(forKey:)) + (config != nil ? ["--config"] : [])
            + (shard != nil ? ["--shard"] : []) + (dumpConfig ? ["--dump-config"] : [])
          throw ValidationError(
            "--merge takes its inputs and settings from the parts: give only --merge, --out, --templates, --previous, --quiet and --timings (drop: \(named.joined(separator: ", ")))"
          )
        }
        guard out != nil else { throw ValidationError("--merge needs --out (the report folder)") }
      }
    }

    func runMerge() throws {
      let out = self.out!
      let loaded = try reportingInputErrors { try ShardParts.load(merge) }
      var original = loaded[0].part.request
      original.out = out
      original.templates = templates
      original.previous = previous
      try run(original, parts: loaded)
    }

    /// The report `request` asks for, or with `parts` (each read from its path) the merge of a sharded one.
    func run(_ request: ReportRequest, parts: [(path: String, part: NightShards.Part)]) throws {
      let shardIndex = try shardIndex()
      let night = try checked { try NightReport(request, sharded: shardIndex != nil || !parts.isEmpty) }
      for warning in night.warnings { note(warning.description) }
      if let calibration = night.calibration, !quiet { note(calibration.summary) }
      if let calibration = night.stageCalibration, !quiet { note(calibration.summary) }
      let out = request.out!
      if let (k, n) = shardIndex { return try runShard(k, of: n, night: night, out: out) }
      // Before any work: the folder can be written and is ours to replace (and is locked for this run), and the
      // template parses.
      let templateFolder = request.templates.map { URL(fileURLWithPath: $0) }
      do {
        try ReportWriter.checkTemplate(templateFolder, fleet: night.isFleet)
      } catch let error as InputError {
        note(error.description)
        throw ExitCode(ExitStatus.badInput)
      }
      let folder = try InferLineCommand.openFolder(out)
      let previousReport = try request.previous.map { path in
        try reportingInputErrors { try ReportWriter.loadFleet(path: path).fleet }
      }
      let terminal = isatty(2) == 1
      let quiet = self.quiet
      // A bar on a terminal, plain lines otherwise.
      let progress: @Sendable (Double, String) -> Void = { fraction, line in
        guard !quiet else { return }
        if terminal {
          let filled = Int((max(0, min(1, fraction)) * 24).rounded())
          let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 24 - filled)
          FileHandle.standardError.write(
            Data("\r\u{1B}[2K[\(bar)] \(Int(fraction * 100))% \(TerminalText.safe(line))".utf8))
        } else {
          note(line)
        }
      }
      let started = Date()
      let outcome = try reportingInputErrors {
        try night.run(parts: parts, previous: previousReport, progress: progress)
      }
      if terminal && !quiet { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
      noteIngestion(outcome.ingestion)
      let fleetReport = outcome.report
      for (name, count) in fleetReport.unplannedQueries.sorted(by: { $0.key < $1.key }) {
        note("note: \(count) queries of pipeline '\(name)' are not planned: no --pipeline file names it")
      }
      let chartsStarted = Date()
      do {
        if night.isFleet {
          try ReportWriter.write(fleetReport, to: folder, templates: templateFolder)
        } else {
          try ReportWriter.write(fleetReport.pipelines[0], to: folder, templates: templateFolder)
        }
      } catch let error as InputError {
        note(error.description)
        throw ExitCode(ExitStatus.badInput)
      } catch {
        note(
          "\(out): error: cannot write the report: \(error.localizedDescription)\n  fix: check that the folder can be written and its disk has room; the previous report is unchanged"
        )
        throw ExitCode(ExitStatus.cannotWrite)
      }
      let wrote =
        "Wrote \(out)/index.html, charts/, report.json and summary.md\(night.isFleet ? ", and a folder per pipeline," : "") in \(String(format: "%.1f", Date().timeIntervalSince(started))) s."
      if json {
        try printJSON(ReportResult(fleetReport, folder: out))
        if !quiet { note(wrote) }
      } else {
        say(
          ReportWriter.terminalSummary(
            night.isFleet
              ? ReportWriter.fleetSummaryMarkdown(fleetReport) : ReportWriter.summaryMarkdown(fleetReport.pipelines[0])),
          terminator: "")
        say("\n" + wrote)
      }
      if timings {
        var phases: [String: Double] = ["charts and files": Date().timeIntervalSince(chartsStarted)]
        for r in fleetReport.pipelines { for (phase, seconds) in r.timings { phases[phase, default: 0] += seconds } }
        for (phase, seconds) in phases.sorted(by: { $0.key < $1.key }) {
          note(String(format: "  %@: %.2f s", phase, seconds))
        }
      }
      if fleetReport.totals.unattainableWindows > 0 { throw ExitCode(ExitStatus.sloUnattainable) }
      if let count = fleetReport.totals.windowsWithoutPlanFound, count > 0 {
        note(
          "the search budget ran out before it found a plan for \(count) window\(count == 1 ? "" : "s") or showed that none exists (a larger --budget may find one); exit \(ExitStatus.noPlanFound)"
        )
        throw ExitCode(ExitStatus.noPlanFound)
      }
      let atRisk = fleetReport.pipelinesAtRisk
      if !atRisk.isEmpty {
        note(
          "no provisioning replayed kept the SLO of "
            + atRisk.map { "'\(TerminalText.safe($0))'" }.joined(separator: ", ")
            + " over the log (the report says so first); exit \(ExitStatus.sloAtRisk)")
        throw ExitCode(ExitStatus.sloAtRisk)
      }
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
        "What changed between two reports: cost, the plan per stage, the SLO, prices, and for fleets the pipelines added or removed. Prints nothing when nothing did.",
      discussion: """
        Exit status 0 (also when something changed, unless --exit-code or --quiet), 1 with --exit-code or \
        --quiet when the reports differ, 64 for a usage error, 65 for a report that cannot be read.
        """
    )

    @Argument(help: "The older report.json.")
    var old: String

    @Argument(help: "The newer report.json.")
    var new: String

    @Flag(help: "Exit 1 when the reports differ and 0 when they do not, as `git diff --exit-code` does.")
    var exitCode = false

    @Flag(help: "Print nothing; exit 1 when the reports differ (implies --exit-code), as `git diff --quiet` does.")
    var quiet = false

    @Flag(help: "Print the changes as JSON: the report's, and the exported deployment's per pipeline.")
    var json = false

    func run() throws {
      let (a, b) = try reportingInputErrors {
        (try ReportWriter.loadFleet(path: old), try ReportWriter.loadFleet(path: new))
      }
      // Two single-pipeline reports compare as before; a fleet on either side compares fleets.
      let lines =
        a.isFleet || b.isFleet
        ? b.fleet.differences(from: a.fleet) : b.fleet.pipelines[0].differences(from: a.fleet.pipelines[0])
      // The same change as a reviewer approves it: what the exported deployment would change, per pipeline.
      var deployment: [DiffResult.DeploymentChange] = []
      let olds = Dictionary(a.fleet.pipelines.map { ($0.pipelineName, $0) }, uniquingKeysWith: { x, _ in x })
      for report in b.fleet.pipelines {
        guard let was = olds[report.pipelineName], let oldPlan = try? DeploymentPlan(report: was, source: old),
          let newPlan = try? DeploymentPlan(report: report, source: new)
        else { continue }
        for change in DeploymentExport.changes(from: oldPlan, to: newPlan) {
          deployment.append(DiffResult.DeploymentChange(pipeline: report.pipelineName, change: change))
        }
      }
      let changed = !lines.isEmpty || !deployment.isEmpty
      if json && !quiet {
        try printJSON(DiffResult(changed: changed, changes: lines, deploymentChanges: deployment))
      } else if !quiet {
        for line in lines { say(line) }
        let prefixed = b.fleet.pipelines.count > 1
        for d in deployment { say((prefixed ? "\(d.pipeline): " : "") + d.change) }
      }
      if (exitCode || quiet) && changed { throw ExitCode(1) }
    }
  }
}

extension InferLineCommand.Report {
  /// `--shard K/N`: this shard's units, written as `OUT/part.json` (atomically; a failed shard leaves no part).
  func runShard(_ k: Int, of n: Int, night: NightReport, out: String) throws {
    let started = Date()
    do {
      try ShardParts.check(folder: out)  // before any work
    } catch let error as InputError {
      note(error.description)
      throw ExitCode(ExitStatus.cannotWrite)
    }
    let quiet = self.quiet
    let (part, ingestion) = try reportingInputErrors {
      try night.shard(k, of: n, started: started) { line in
        if !quiet { note("shard \(k) of \(n): \(line)") }
      }
    }
    noteIngestion(ingestion)
    do {
      try ShardParts.write(part, to: out)
    } catch let error as InputError {
      note(error.description)
      throw ExitCode(ExitStatus.cannotWrite)
    } catch {
      note(
        "\(out): error: cannot write the part: \(error.localizedDescription)\n  fix: check that the folder can be written and its disk has room"
      )
      throw ExitCode(ExitStatus.cannotWrite)
    }
    say(
      "shard \(k) of \(n): \(part.units.count) units in \(String(format: "%.1f", part.seconds)) s (\(String(format: "%.1f", part.cpuSeconds)) CPU s); wrote \(out)/part.json"
    )
  }
}

/// What `diff --json` prints.
struct DiffResult: Encodable {
  struct DeploymentChange: Encodable {
    var pipeline: String
    var change: String
  }
  var changed: Bool
  /// Cost, SLO, prices and the plan per stage, as `diff` prints them.
  var changes: [String]
  /// What the exported deployment would change.
  var deploymentChanges: [DeploymentChange]
}

/// What `report --json` prints: where the report is, what it costs, and each pipeline's decision.
struct ReportResult: Encodable {
  struct Pipeline: Encodable {
    var name: String
    /// The recommended provisioning's cost per day and whether its replay kept the SLO; nil without a plan.
    var decision: ProvisioningDecision?
    var unattainableWindows: Int
  }
  var folder: String
  var reportJSON: String
  var costPerDay: Double
  var costPerMonth: Double
  var unattainableWindows: Int
  /// Windows left without a plan when the search budget ran out (exit 5).
  var windowsWithoutPlanFound: Int
  /// Pipelines no replayed provisioning kept the SLO of (exit 4).
  var pipelinesAtRisk: [String]
  var pipelines: [Pipeline]

  init(_ fleet: FleetReport, folder: String) {
    self.folder = folder
    reportJSON = folder + "/report.json"
    costPerDay = fleet.totals.costPerDay
    costPerMonth = fleet.totals.costPerMonth
    unattainableWindows = fleet.totals.unattainableWindows
    windowsWithoutPlanFound = fleet.totals.windowsWithoutPlanFound ?? 0
    pipelinesAtRisk = fleet.pipelinesAtRisk
    pipelines = fleet.pipelines.map {
      Pipeline(name: $0.pipelineName, decision: ProvisioningDecision($0), unattainableWindows: $0.unattainableWindows)
    }
  }
}
