import ArgumentParser
import Foundation
import InferLine
import InferLineNight
import Synchronization

/// Flags naming a pipeline and what it runs on, shared by the commands that plan or simulate.
struct PipelineOptions: ParsableArguments {
  @Option(help: "Pipeline file (YAML).")
  var pipeline: String

  @Option(help: "Hardware catalog (YAML).")
  var hardware: String

  @Option(help: "Model profiles (CSV).")
  var profiles: String

  func load() throws -> PlanningInputs { try Self.load(pipeline: pipeline, hardware: hardware, profiles: profiles) }

  /// Warnings already printed: a fleet loads the same catalog and profiles once per pipeline.
  private static let printed = Mutex(Set<String>())

  /// Loads and checks the three files, printing their warnings (each once per run).
  /// - Throws: `ExitCode(badInput)` after the diagnostics.
  static func load(pipeline: String, hardware: String, profiles: String) throws -> PlanningInputs {
    let inputs = try reportingInputErrors {
      try PlanningInputs.load(pipeline: pipeline, hardware: hardware, profiles: profiles)
    }
    for warning in inputs.warnings where printed.withLock({ $0.insert(warning.description).inserted }) {
      note(warning.description)
    }
    return inputs
  }

  /// The inputs compiled once, optionally against another SLO.
  func model(sloMs: Double? = nil) throws -> PipelineModel {
    try Self.model(pipeline: pipeline, hardware: hardware, profiles: profiles, sloMs: sloMs)
  }

  /// The inputs compiled once, optionally against another SLO.
  static func model(pipeline: String, hardware: String, profiles: String, sloMs: Double? = nil) throws -> PipelineModel
  {
    if let sloMs, !PipelineSpec.SLO.isValidLatency(sloMs) {
      throw ValidationError("--slo \(sloMs) is not a latency: give milliseconds above 0 and at most a day, 86400000")
    }
    var inputs = try load(pipeline: pipeline, hardware: hardware, profiles: profiles)
    if let sloMs { inputs.pipeline.slo.latencyMs = sloMs }
    return PipelineModel(inputs)
  }
}

/// How much the planner's search may do per window.
struct SearchOptions: ParsableArguments {
  @Option(
    name: .customLong("budget"),
    help: ArgumentHelp(
      "How much the planner's search may do per window before it answers with its best plan, a proven lower bound and the gap: a number of simulations (default: \(ReportRequest().budget); the same answer on every machine) or wall-clock time such as 30s or 2m (as far as the machine gets).",
      valueName: "simulations|time"))
  var simulations: String?

  func budget() throws -> SearchBudget {
    var request = ReportRequest()
    request.budget = simulations ?? request.budget
    return try usage { () throws(ReportRequest.SettingError) in try request.analysisOptions().budget }
  }
}

extension InferLineCommand {
  struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Simulate a query log through a configured pipeline: every query's end-to-end latency.",
      discussion: """
        The configuration file gives each stage's hardware, batch size and replicas:
          stages:
            detect: {hardware: T4, batch_size: 4, replicas: 3}
        Routes are drawn per query from --seed, or read from --routes (one line per query, 0/1 per edge).

        Exit status 0 on success, 64 for a usage error, 65 for bad input, 74 when standard output cannot be written.
        """)

    @Option(name: .customLong("trace"), help: "Query log(s) to replay.")
    var traces: [String]

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Configuration file (YAML): hardware, batch_size and replicas per stage.")
    var config: String

    @Option(help: "Seed for drawn routes and service times.")
    var seed: UInt64 = 1

    @Option(help: "Routes file: one line per query, a 0 or 1 per edge in the pipeline's edge order.")
    var routes: String?

    @Option(help: "Log column naming the stages each query visited (detect|vehicle): routes from the log.")
    var routeColumn: String?

    @Option(help: "Service times: deterministic (L(n) exactly) or lognormal (from profiles with a p50 and a p99).")
    var serviceTimes: String = "deterministic"

    @OptionGroup var log: LogOptions

    @Flag(help: "Print JSON for machines instead of tables.")
    var json = false

    @Flag(help: "Print the time spent reading the log and simulating, and the stage visits per second.")
    var timings = false

    @Flag(
      help:
        "Simulate event by event even where the faster stage-by-stage simulator applies (the results are the same; for checking and benchmarks)."
    )
    var eventDriven = false

    @Option(
      help:
        "How each stage hands queries to its replicas: central (one queue per stage, the ideal), random, round-robin, shortest-queue, or power-of-K (K random choices, e.g. power-of-2). All but central give each replica its own queue. Default: the pipeline file's 'dispatch', or central."
    )
    var dispatch: String?

    /// Where the time went (with --timings).
    struct Timings: Encodable {
      var parseSeconds: Double
      var simulationSeconds: Double
      var stageVisits: Int
      var visitsPerSecond: Double
    }

    struct Output: Encodable {
      var queries: Int
      var stageVisits: Int
      var seed: UInt64
      var sloMs: Double
      var percentile: Double
      var feasible: Bool
      var fractionOverSLO: Double
      var latencyMs: [String: Double]
      var stages: [StageOutput]
      /// What set each batch's service time: `profiled`, or the log's size column (with sized profiles).
      var serviceTimesFrom: String
      var timings: Timings?
    }

    struct StageOutput: Encodable {
      var name: String
      var hardware: String
      var batchSize: Int
      var replicas: Int
      var visits: Int
      var utilisation: Double
      var meanWaitMs: Double
      var p99WaitMs: Double
      var meanBatchSize: Double
      var batchSizeCounts: [Int]
    }

    /// `--dispatch` as a policy.
    static func dispatchPolicy(_ text: String, seed: UInt64) throws -> DispatchPolicy {
      guard let policy = DispatchPolicy(name: text, seed: seed) else {
        throw ValidationError("--dispatch must be \(DispatchPolicy.names) (got '\(TerminalText.safe(text))')")
      }
      return policy
    }

    @OptionGroup var quietOption: QuietOption

    /// Rules across options, before anything runs.
    func validate() throws {
      guard routes == nil || routeColumn == nil else {
        throw ValidationError("give routes either with --routes or with --route-column, not both")
      }
      guard ["deterministic", "lognormal"].contains(serviceTimes) else {
        throw ValidationError("--service-times must be deterministic or lognormal (got '\(serviceTimes)')")
      }
      if let dispatch { _ = try Self.dispatchPolicy(dispatch, seed: 0) }
    }

    func run() throws {
      quietOption.apply()
      var options = try log.readOptions()
      let started = Date()
      let inputs = try pipelineOptions.load()
      let spec = inputs.pipeline
      if let routeColumn {
        options.routeColumn = routeColumn
        options.routeStages = spec.stages.map(\.name)
      }
      let model = PipelineModel(inputs)
      let (configuration, arrivals, routeSource, sizes) = try reportingInputErrors {
        () throws -> (PipelineConfiguration, [Int64], RouteSource, (column: String, values: [Float])?) in
        let configuration = try PipelineConfiguration.load(path: config, pipeline: spec)
        let set = try QueryLogSet.read(paths: traces, options: options)
        let chosen = try set.trace(for: spec)
        let arrivals = chosen.arrivals
        var routeSource: RouteSource =
          try routes.map {
            .given(try RoutesFile.load(path: $0, edgeCount: spec.edges.count, queryCount: arrivals.count))
          }
          ?? .drawn(seed: seed)
        if let visited = chosen.visitedStages {
          routeSource = .visited(visited, edges: spec.edges.map { ($0.parent, $0.child) })
        }
        var sizes: (column: String, values: [Float])? = nil
        if let values = chosen.querySizes, model.hasSizedProfiles {
          let column = chosen.sizeColumn ?? "size"
          try model.checkSizes(
            values, log: traces.joined(separator: ", "), column: column, configuration: configuration)
          sizes = (column, values)
        }
        return (configuration, arrivals, routeSource, sizes)
      }
      let input = try reportingInputErrors {
        try model.simulationInput(
          arrivals: arrivals, configuration: configuration, routes: routeSource,
          serviceTimes: serviceTimes == "lognormal" ? .lognormal(seed: seed) : .deterministic, dispatchSeed: seed,
          querySizes: sizes?.values)
      }
      let sized = input.stages.indices.filter { input.stages[$0].sizedLatencies != nil }.map { spec.stages[$0].name }
      let serviceText =
        sizes.map { s in
          sized.isEmpty
            ? "as profiled (the log's '\(s.column)' column is read, but no stage's configured profile gives latency by size)"
            : "from the log's '\(s.column)' column at \(sized.joined(separator: ", ")) (a batch takes its largest input's size bucket)"
        }
        ?? (model.hasSizedProfiles
          ? "as profiled, at each sized profile's largest size bucket (the log has no size column)" : "as profiled")
      let parsed = Date()
      var dispatched = input
      if let dispatch { dispatched.dispatch = try Self.dispatchPolicy(dispatch, seed: seed) }
      let result = Estimator.simulate(dispatched, options: .init(eventByEvent: eventDriven))
      let simulated = Date()
      let summary = result.summary!
      func ms(_ ns: Int64) -> Double { Milliseconds.of(ns) }
      let output = Output(
        queries: result.queries, stageVisits: result.stageVisits, seed: seed, sloMs: spec.slo.latencyMs,
        percentile: spec.slo.percentile, feasible: result.feasible, fractionOverSLO: result.fractionOverSLO ?? 1,
        latencyMs: [
          "p50": ms(summary.p50), "p95": ms(summary.p95), "p99": ms(summary.p99), "p99.9": ms(summary.p999),
          "max": ms(summary.max),
        ],
        stages: spec.stages.indices.map { i in
          let s = result.stages[i], c = configuration.stages[i]
          return StageOutput(
            name: spec.stages[i].name, hardware: c.hardware, batchSize: c.batchSize, replicas: c.replicas,
            visits: s.visits,
            utilisation: s.utilisation, meanWaitMs: s.meanWaitNanoseconds / 1e6,
            p99WaitMs: Milliseconds.of(s.p99WaitNanoseconds),
            meanBatchSize: s.meanBatchSize, batchSizeCounts: s.batchSizeCounts)
        },
        serviceTimesFrom: serviceText,
        timings: timings
          ? Timings(
            parseSeconds: parsed.timeIntervalSince(started),
            simulationSeconds: simulated.timeIntervalSince(parsed), stageVisits: result.stageVisits,
            visitsPerSecond: Double(result.stageVisits) / max(simulated.timeIntervalSince(parsed), 1e-9)) : nil)
      if let t = output.timings, !json {
        note(
          String(
            format: "timings: reading and setting up %.3f s, simulating %.3f s (%d stage visits, %.2f M visits/s)",
            t.parseSeconds, t.simulationSeconds, t.stageVisits, t.visitsPerSecond / 1e6))
      }
      if json {
        try printJSON(output)
        return
      }
      let routeText: String
      if let routes {
        routeText = "from \(routes)"
      } else if let routeColumn {
        routeText = "from the log's '\(routeColumn)' column"
      } else {
        routeText = "drawn, seed \(seed)"
      }
      say("\(result.queries) queries, \(result.stageVisits) stage visits (routes: \(routeText))")
      say("service times: \(serviceText)")
      say(
        String(
          format: "end-to-end latency: P50 %.2f ms, P95 %.2f, P99 %.2f, P99.9 %.2f, max %.2f", ms(summary.p50),
          ms(summary.p95),
          ms(summary.p99), ms(summary.p999), ms(summary.max)))
      let over: Double = (result.fractionOverSLO ?? 1) * 100
      let verdict: String = result.feasible ? "met" : "missed"
      say(
        String(
          format: "SLO P%g <= %g ms: %@ (%.3f%% of queries over it)", spec.slo.percentile, spec.slo.latencyMs, verdict,
          over))
      say("stage          hardware  batch  replicas  utilisation  mean wait  P99 wait  mean batch")
      for s in output.stages {
        let name: String = s.name.padding(toLength: 14, withPad: " ", startingAt: 0)
        let hardware: String = s.hardware.padding(toLength: 9, withPad: " ", startingAt: 0)
        let figures = String(
          format: " %5d %9d %11.1f%% %8.2f ms %6.2f ms %11.2f", s.batchSize, s.replicas, s.utilisation * 100,
          s.meanWaitMs, s.p99WaitMs, s.meanBatchSize)
        say(name + " " + hardware + figures)
      }
    }
  }
}
