import Dispatch
import Foundation
public import InferLine

/// The night's analysis as named stages that `plan`, `replay` and `report` share, so the three commands give
/// the same numbers for the same inputs:
///
/// 1. `Workload`: the pipeline's trace, its windows and the busiest one.
/// 2. `WindowPlanning.planAll`: a plan per window (the recommended search, greedy and the CG baselines), and
///    `explain`: why each plan is what it is.
/// 3. `replays`: the InferLine tuner and the autoscalers over the whole trace from the busiest window's plan.
/// 4. `frontierAndGrowth`: the cost-versus-SLO frontier and growth what-ifs on the busiest window.
///
/// `run` chains them into a `CapacityReport`.
public enum CapacityAnalysis {
  /// The analysis settings, checked; `ReportRequest.analysisOptions()` makes them from a request, whose defaults
  /// these are.
  public struct Options: Sendable {
    public var windowLength: Int64 = try! ReportRequest().windowNanoseconds()
    public var seed: UInt64 = ReportRequest().seed
    /// Traffic multipliers for the what-if plans.
    public var growth: [Double] = ReportRequest().growth
    /// SLO multipliers for the frontier.
    public var frontier: [Double] = Planner.frontierMultipliers
    /// What the planner's search may spend per window before answering with a bound.
    public var budget = SearchBudget(parsing: ReportRequest().budget)!
    public var log = LogReadOptions()
    /// A cascade what-if: the busiest window re-planned at each probability of one edge (pipelines without that
    /// edge are left alone).
    public var escalation: EscalationSweep.Request? = nil
    /// The serving what-ifs to run after the replays (none by default).
    public var whatIfs = ServingWhatIfs.Request()
    /// Each pipeline's earlier nights (`report --history`), by pipeline name: a budget forecast for those given.
    public var history: [String: NightHistory] = [:]
    /// Plan each window against the same window on this many of the latest earlier nights from logs as well
    /// (`--robust N`).
    public var robust: Int? = nil
    public init() {}
  }

  /// Stage 1: a pipeline's trace cut into workload windows.
  public struct Workload: Sendable {
    public let trace: ArrivalTrace
    public let windows: [WorkloadWindow]
    /// Index of the window with the most queries.
    public let busiest: Int
    /// The busiest window's arrivals, nanoseconds from its start.
    public let busiestArrivals: [Int64]
    /// The earlier nights each window is also planned for (`Options.robust`), when asked for.
    public var earlier: EarlierWindows? = nil

    /// The workload with the `robust` latest earlier nights of `history` read, when `robust` is set.
    /// - Throws: `InputError` when the history lacks them, or tonight's log has relative times.
    public func withEarlierNights(model: PipelineModel, options: Options) throws -> Workload {
      guard let count = options.robust else { return self }
      guard !trace.isRelative, let first = trace.arrivals.first, let last = trace.arrivals.last else {
        throw InputError("--robust needs a log of absolute times, to find the same hours on earlier nights")
      }
      var copy = self
      copy.earlier = try EarlierWindows.load(
        history: options.history[model.name] ?? NightHistory(), tonightDay: HistoryNight.day(first / 2 + last / 2),
        count: count, log: options.log, pipeline: model.name)
      return copy
    }

    /// Most windows one run plans.
    public static let windowLimit: Int64 = 10_000

    /// - Throws: `InputError` for an empty trace, or one cut into more than `windowLimit` windows.
    public init(trace: ArrivalTrace, windowLength: Int64) throws {
      guard let first = trace.arrivals.first, let last = trace.arrivals.last else {
        throw InputError("the log has no queries for this pipeline")
      }
      // Refuse before the work: a stray timestamp years away, or a tiny window on a long log, would plan
      // hundreds of thousands of windows.
      let count = (last - first) / windowLength + 1
      guard count <= Self.windowLimit else {
        throw InputError(
          "the log spans \(DurationText.describe(nanoseconds: last - first)) (\(InstantText.describe(first, relative: trace.isRelative)) to \(InstantText.describe(last, relative: trace.isRelative))): \(count) windows of \(DurationText.describe(nanoseconds: windowLength)), more than the \(Self.windowLimit) inferline plans in one run",
          fix: "look for outlier timestamps (`inferline inspect` lists the span), or choose a longer --window")
      }
      self.trace = trace
      windows = trace.windows(length: windowLength)
      busiest = WindowPlanning.busiest(windows)!
      busiestArrivals = windows[busiest].relativeArrivals(in: trace)
    }

    /// Reads the logs and takes the pipeline's queries.
    /// - Throws: `InputError` for unreadable logs or a log without the pipeline's queries.
    public static func read(logs: [String], model: PipelineModel, options: Options) throws -> (Workload, QueryLogSet) {
      let set = try QueryLogSet.read(paths: logs, options: options.log)
      return (try Workload(set, model: model, options: options), set)
    }

    /// The pipeline's queries of logs read, checked against the model: a query size above a sized profile's
    /// largest bucket is refused here, before any planning (`PipelineModel.checkSizes`).
    /// - Throws: `InputError` for a log without the pipeline's queries, or sizes no profile holds.
    public init(_ set: QueryLogSet, model: PipelineModel, options: Options) throws {
      let trace = try set.trace(for: model.inputs.pipeline)
      if let sizes = trace.querySizes {
        try model.checkSizes(
          sizes, log: set.reports.map(\.file).joined(separator: ", "), column: trace.sizeColumn ?? "size")
      }
      try self.init(trace: trace, windowLength: options.windowLength)
    }
  }

  /// The policies every replay compares, in the order the report shows them: the InferLine tuner first.
  /// Predictive scaling is among them: the recommendation is the cheapest of these (and of the per-window schedule
  /// and the baselines) that met the SLO over the log.
  public static let standardPolicies: [ScalingPolicy] = [
    .inferline(InferLineTuner()), .fixed, .predictive(PredictiveScaler()), .hpa(HorizontalPodAutoscaler()),
    .ray(RayServeAutoscaler()), .kpa(KnativeAutoscaler()),
  ]

  /// Percents of the latency CDF the report keeps: every half percent to 99, then the tail in tenths to 99.9 and
  /// on to 99.999 and 100 (212 points; the chart stretches the tail).
  public static let cdfPercents: [Double] =
    stride(from: 0.5, through: 99, by: 0.5).map { $0 } + (991...999).map { Double($0) / 10 }
    + [99.95, 99.99, 99.995, 99.999, 100]

  /// The window a configuration from a file was most likely planned for: the busiest window on which it meets
  /// the SLO (the lightest window when it meets it on none). InferLine's tuner calibrates its headroom there;
  /// calibrating a configuration planned for an average hour against the peak hour would leave it unable to
  /// scale above its start.
  public static func planningWindow(
    for configuration: PipelineConfiguration, model: PipelineModel, workload: Workload, seed: UInt64
  ) -> Int {
    let order = workload.windows.indices.sorted { workload.windows[$0].count > workload.windows[$1].count }
    for i in order where workload.windows[i].count > 0 {
      let arrivals = workload.windows[i].relativeArrivals(in: workload.trace)
      if FeasibilityOracle(model: model, arrivals: arrivals, seed: seed).evaluate(configuration).feasible { return i }
    }
    return order.last(where: { workload.windows[$0].count > 0 }) ?? workload.busiest
  }

  /// Why each window's plan is what it is (`PlanExplanation`), nil for windows without a plan; windows in parallel.
  /// - Parameter windows: the windows `plans` are of (all of them, in order, unless told).
  public static func explain(
    model: PipelineModel, workload: Workload, plans: [WindowPlan], windows: [Int]? = nil, seed: UInt64
  ) -> [PlanExplanation?] {
    let indices = windows ?? Array(plans.indices)
    let slots = ResultSlots<PlanExplanation>(count: plans.count)
    DispatchQueue.concurrentPerform(iterations: plans.count) { j in
      guard let c = plans[j].recommended?.configuration else { return }
      slots[j] = try? PlanExplanation.explain(
        model: model, configuration: c, arrivals: workload.windows[indices[j]].relativeArrivals(in: workload.trace),
        seed: seed)
    }
    return slots.values
  }

  /// Stage 3: each policy over the whole trace from `configuration`, results in the order given. The policies'
  /// replays are independent (each a pure function of its inputs and seed), so they run side by side on the cores.
  /// - Parameters:
  ///   - planning: the window the configuration was planned on (the busiest one unless told).
  ///   - progress: called as each policy's replay starts, from any thread.
  /// - Throws: the first policy's error, in the order given.
  public static func replays(
    model: PipelineModel, workload: Workload, configuration: PipelineConfiguration, policies: [ScalingPolicy],
    unit: Bool = false, seed: UInt64, planning: Int? = nil, conditions: ReplayConditions = .init(),
    progress: @Sendable (ScalingPolicy) -> Void = { _ in }
  ) throws -> [ReplayResult] {
    let planningArrivals =
      planning.map { workload.windows[$0].relativeArrivals(in: workload.trace) } ?? workload.busiestArrivals
    let slots = ResultSlots<Result<ReplayResult, any Error>>(count: policies.count)
    DispatchQueue.concurrentPerform(iterations: policies.count) { k in
      progress(policies[k])
      slots[k] = Result {
        try Replay.run(
          arrivals: workload.trace.arrivals, model: model, configuration: configuration,
          planning: planningArrivals, policy: policies[k], unit: unit, seed: seed, cdfPercents: cdfPercents,
          conditions: conditions)
      }
    }
    return try policies.indices.map { try slots[$0]!.get() }
  }

  /// Stage 4: the frontier and the growth what-ifs on the busiest window, and the plans of the budget forecast's
  /// traffic (`forecastFactors`).
  /// - Parameter recommended: the busiest window's plan, tried first by every search (the frontier at its SLO and
  ///   looser is then never dearer than it; a growth scenario it still carries costs no more); the frontier's point
  ///   at the pipeline's own SLO is this plan.
  public static func frontierAndGrowth(
    model: PipelineModel, workload: Workload, options: Options, recommended: Plan? = nil,
    forecastFactors: [Double] = []
  ) -> (
    frontier: [FrontierPoint], growth: [CapacityReport.GrowthScenario], forecast: [CapacityReport.GrowthScenario]
  ) {
    let incumbents = recommended.map { [(name: "today's plan", configuration: $0.configuration)] } ?? []
    let factors = options.growth + forecastFactors
    // The frontier (a chain: each SLO's plan warm-starts the next) beside each growth scenario: independent
    // searches, so the results are the same on any number of cores.
    let frontierSlot = ResultSlots<[FrontierPoint]>(count: 1)
    let growthSlots = ResultSlots<CapacityReport.GrowthScenario>(count: factors.count)
    DispatchQueue.concurrentPerform(iterations: 1 + factors.count) { k in
      CoreShare.process.run {
        if k == 0 {
          frontierSlot[0] = Planner.frontier(
            model: model, arrivals: workload.busiestArrivals, seed: options.seed, multipliers: options.frontier,
            budget: options.budget, incumbents: incumbents, planAtSLO: recommended)
        } else {
          growthSlots[k - 1] = scenario(
            factors[k - 1], model: model, planning: workload.busiestArrivals, options: options, incumbents: incumbents)
        }
      }
    }
    let frontier = frontierSlot[0] ?? []
    let scenarios = growthSlots.values.map { $0! }
    return (frontier, Array(scenarios[..<options.growth.count]), Array(scenarios[options.growth.count...]))
  }

  /// The busiest window at `factor` times its traffic (the same arrivals, closer together), planned as a window is:
  /// greedy's plan when the search stops without one, and the descent from an unproven plan.
  static func scenario(
    _ factor: Double, model: PipelineModel, planning: [Int64], options: Options,
    incumbents: [(name: String, configuration: PipelineConfiguration)]
  ) -> CapacityReport.GrowthScenario {
    let scaled = planning.map { Int64((Double($0) / factor).rounded(.down)) }
    let planner = Planner(oracle: FeasibilityOracle(model: model, arrivals: scaled, seed: options.seed))
    let plan: Plan
    switch planner.bestPlan(budget: options.budget, incumbents: incumbents) {
    case .success(let found): plan = found
    case .failure(let why):
      return .init(factor: factor, costPerHour: nil, configuration: nil, note: why.description, provenOptimal: nil)
    }
    return .init(
      factor: factor, costPerHour: plan.costPerHour, configuration: plan.configuration, note: nil,
      provenOptimal: plan.provenOptimal, lowerBoundPerHour: plan.lowerBoundPerHour ?? plan.costPerHour,
      gap: plan.gap ?? 0)
  }

  /// The budget forecast before planning, when the pipeline has a history: its nights with tonight's, the
  /// forecasts, and the traffic factors to plan. - Complexity: O(nights) and the forecasts' fits.
  public static func budgetForecast(model: PipelineModel, workload: Workload, options: Options) -> BudgetForecast? {
    guard let history = options.history[model.name] else { return nil }
    let tonight =
      workload.trace.isRelative
      ? nil
      : HistoryNight(arrivals: workload.trace.arrivals[...], windowLength: options.windowLength, source: "tonight")
    return BudgetForecast.prepare(history: history, tonight: tonight, seed: options.seed)
  }

  /// The whole night: the four stages, then the report value.
  /// - Parameter progress: called with the share of the work done (0 to 1) and what is under way, from any thread.
  /// - Throws: `InputError` for unreadable logs or a log without the pipeline's queries.
  public static func run(
    logs: [String], model: PipelineModel, options: Options,
    progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> CapacityReport {
    let started = Date()
    progress(0, "reading \(logs.count) log\(logs.count == 1 ? "" : "s")")
    let set = try QueryLogSet.read(paths: logs, options: options.log)
    let ingest = Date().timeIntervalSince(started)
    var report = try run(set: set, model: model, options: options, progress: progress)
    report.timings["ingest"] = ingest
    return report
  }

  /// Several pipelines from the same logs, read once: a report per pipeline (one after another, each on all
  /// cores) and the fleet's totals. Queries of pipelines no model names are counted, not planned.
  /// - Throws: `InputError` for unreadable logs, logs without a pipeline column, a pipeline named twice, or a
  ///   pipeline with no queries in the logs.
  public static func runFleet(
    logs: [String], models: [PipelineModel], options: Options,
    progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> FleetReport {
    let started = Date()
    progress(0, "reading \(logs.count) log\(logs.count == 1 ? "" : "s")")
    let (set, workloads, unplanned) = try readNight(logs: logs, models: models, options: options)
    let ingest = Date().timeIntervalSince(started)
    var reports: [CapacityReport] = []
    for (i, model) in models.enumerated() {
      let share = 1 / Double(models.count), offset = Double(i) * share
      let name = TerminalText.safe(model.name)
      var report = try run(workload: workloads[i], ingestion: set.reports, model: model, options: options) {
        fraction, line in progress(offset + share * fraction, "\(name): \(line)")
      }
      report.timings["ingest"] = ingest / Double(models.count)
      reports.append(report)
    }
    return FleetReport(pipelines: reports, unplannedQueries: unplanned, seed: options.seed)
  }

  /// The logs read once, each pipeline's workload, and for a fleet (several models) the queries of pipelines no
  /// model names, with the fleet's checks: what one machine and every shard read before any work.
  /// - Throws: `InputError` for unreadable logs, logs without a pipeline column, a pipeline named twice, or a
  ///   pipeline with no queries in the logs.
  public static func readNight(
    logs: [String], models: [PipelineModel], options: Options
  ) throws -> (set: QueryLogSet, workloads: [Workload], unplanned: [String: Int]) {
    let fleet = models.count > 1
    if fleet { try checkFleet(names: models.map(\.name)) }
    let set = try QueryLogSet.read(paths: logs, options: options.log)
    let unplanned = fleet ? try unplannedQueries(set, names: models.map(\.name)) : [:]
    let workloads = try models.map { model in
      try Workload(set, model: model, options: options)
        .withEarlierNights(model: model, options: options)
    }
    return (set, workloads, unplanned)
  }

  /// What the analysis computed for one pipeline: everything `assemble` turns into a report (a sharded run's
  /// parts carry pieces of it).
  public struct Results: Sendable {
    public var plans: [WindowPlan]
    public var explanations: [PlanExplanation?]
    public var replays: [ReplayResult]
    public var baselineReplays: [ReplayResult]
    public var frontier: [FrontierPoint]
    public var growth: [CapacityReport.GrowthScenario]
    public var escalation: EscalationSweep?
    public var whatIfs: [WhatIf]?
    /// The plans at the budget forecast's traffic factors (`BudgetForecast.factors`), when it has any.
    public var forecastPlans: [CapacityReport.GrowthScenario] = []
  }

  /// The coarse-grained unit under an autoscaler, as the paper's CG autoscaling baseline: CG-Mean's hardware and
  /// batch size, every stage the same count, scaled by Kubernetes' HPA.
  public static let coarseGrainedAutoscaling = "CG-HPA"

  /// One coarse-grained baseline's replay (`baselineRuns`): its unit over the whole trace under its policy.
  struct BaselineRun: Sendable {
    var name: String
    var configuration: PipelineConfiguration
    var policy: ScalingPolicy
  }

  /// CG-Peak and CG-Mean of the busiest window's plan, each replayed static as one unit over the whole trace, and
  /// CG-Mean's unit under HPA (`coarseGrainedAutoscaling`).
  static func baselineRuns(busiest: WindowPlan) -> [BaselineRun] {
    var runs = busiest.baselines.map { BaselineRun(name: $0.name, configuration: $0.configuration, policy: .fixed) }
    if let mean = busiest.baselines.first(where: { $0.name == BaselineResult.mean }) ?? busiest.baselines.first {
      runs.append(
        BaselineRun(
          name: coarseGrainedAutoscaling, configuration: mean.configuration, policy: .hpa(HorizontalPodAutoscaler())))
    }
    return runs
  }

  /// A baseline's replay, named after it.
  static func baselineReplay(
    _ run: BaselineRun, model: PipelineModel, workload: Workload, seed: UInt64
  ) throws
    -> ReplayResult
  {
    var r = try replays(
      model: model, workload: workload, configuration: run.configuration, policies: [run.policy], unit: true,
      seed: seed)[0]
    r.policy = run.name
    r.configuration = run.configuration  // what `export` deploys when this one is recommended
    return r
  }

  /// The per-window plans as scheduled scaling on the busiest plan's hardware and batch sizes, replayed over the
  /// whole trace (`ScheduledScaling.of`); nil without a busiest plan.
  public static func scheduleReplay(
    model: PipelineModel, workload: Workload, plans: [WindowPlan], seed: UInt64
  ) throws -> ReplayResult? {
    guard let busiest = plans[workload.busiest].recommended?.configuration else { return nil }
    let schedule = ScheduledScaling.of(plans: plans, configuration: busiest, model: model)
    return try replays(
      model: model, workload: workload, configuration: busiest, policies: [.scheduled(schedule)], seed: seed)[0]
  }

  /// The cascade what-if on the busiest window, when asked for and the pipeline has the edge.
  static func escalation(model: PipelineModel, workload: Workload, options: Options) -> EscalationSweep? {
    options.escalation.flatMap { request in
      EscalationSweep.applies(request, to: model)
        ? try? EscalationSweep.run(
          request, model: model, arrivals: workload.busiestArrivals, seed: options.seed, budget: options.budget)
        : nil
    }
  }

  /// The report from what the stages computed: the workload's figures, then the report value with the what-ifs
  /// and their assumptions.
  /// The per-window schedule is replayed here, where every window's plan is known (on one machine and in a merge of
  /// shards alike), and, when the static plan missed the SLO, the plan with headroom (`Headroom`).
  static func assemble(
    model: PipelineModel, options: Options, workload: Workload, ingestion: [IngestionReport], results: Results,
    timings: [String: Double]
  ) throws -> CapacityReport {
    var timings = timings
    var results = results
    // The schedule's replay (and the plan with headroom's) beside the workload's figures: independent, each a
    // core's work for a second or so.
    let given = results
    let added = ResultSlots<Result<(replays: [ReplayResult], seconds: Double), any Error>>(count: 1)
    let figured = ResultSlots<(figures: WorkloadFigures, seconds: Double)>(count: 1)
    ThreadWork.run(count: 2, width: CoreShare.process.total) { k in
      let started = Date()
      guard k == 0 else {
        figured[0] = (
          WorkloadFigures(workload: workload, windowLength: options.windowLength), -started.timeIntervalSinceNow
        )
        return
      }
      added[0] = Result {
        var replays: [ReplayResult] = []
        if !given.replays.isEmpty,
          let schedule = try scheduleReplay(model: model, workload: workload, plans: given.plans, seed: options.seed)
        {
          replays.append(schedule)
        }
        if let busiest = given.plans[workload.busiest].recommended?.configuration {
          replays += try Headroom.replays(
            model: model, workload: workload, configuration: busiest,
            replayed: given.replays + replays + given.baselineReplays, seed: options.seed)
        }
        return (replays, -started.timeIntervalSinceNow)
      }
    }
    let replays = try added[0]!.get()
    results.replays += replays.replays
    timings["replay", default: 0] += replays.seconds
    let figures = figured[0]!.figures
    timings["envelopes", default: 0] += figured[0]!.seconds
    var started = Date()
    var report = CapacityReport(
      model: model, options: options, workload: workload, figures: figures, ingestion: ingestion,
      plans: results.plans, explanations: results.explanations, replays: results.replays,
      baselineReplays: results.baselineReplays, frontier: results.frontier, growth: results.growth, timings: timings)
    report.escalation = results.escalation
    report.whatIfs = results.whatIfs
    started = Date()
    report.forecast = budgetForecast(model: model, workload: workload, options: options)?.costed(
      results.forecastPlans, costPerMonth: report.costPerMonth, todayPerHour: report.recommendedCostPerHour)
    if report.forecast != nil { timings["forecast", default: 0] += Date().timeIntervalSince(started) }
    started = Date()
    if let history = options.history[model.name], let replay = report.recommendedReplay,
      let configuration = report.recommended, let tonight = report.forecast?.nights.last,
      history.nights.contains(where: { $0.logFile != nil })
    {
      report.forecast?.backtest = try Backtest.run(
        nights: history.nights, model: model, recommended: replay, configuration: configuration,
        schedule: ScheduledScaling.of(plans: results.plans, configuration: configuration, model: model),
        planning: workload.busiestArrivals, tonightDay: tonight.date, options: options)
      timings["backtest", default: 0] += Date().timeIntervalSince(started)
    }
    report.timings = timings
    report.assumptions += (results.whatIfs ?? []).map { "What-if, \($0.title): \($0.assumption)" }
    return report
  }

  /// - Throws: `InputError` when two pipeline files name the same pipeline.
  public static func checkFleet(names: [String]) throws {
    if let twice = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
      throw InputError(
        "two pipeline files name the pipeline '\(TerminalText.safe(twice))'", fix: "give each pipeline's file once")
    }
  }

  /// Queries of pipelines no model names, by pipeline name (`-` for queries without one).
  /// - Throws: `InputError` when the logs have no pipeline column (a fleet's queries cannot be told apart).
  public static func unplannedQueries(_ set: QueryLogSet, names: [String]) throws -> [String: Int] {
    if set.traces.count == 1, set.traces[0].pipeline == nil {
      throw InputError(
        file: set.reports.map(\.file).joined(separator: ", "),
        "the logs have no pipeline column, so the queries of \(names.count) pipelines cannot be told apart",
        fix: "log the pipeline's name in a column (named with --pipeline-column), or report each pipeline alone")
    }
    var unplanned: [String: Int] = [:]
    for t in set.traces where !names.contains(t.pipeline ?? "") { unplanned[t.pipeline ?? "-", default: 0] += t.count }
    return unplanned
  }

  /// The four stages for one pipeline of logs already read: every unit of the night run in this process and
  /// merged (`NightShards`), exactly as a sharded night is, so the two cannot differ.
  /// - Throws: `InputError` for logs without the pipeline's queries.
  public static func run(
    set: QueryLogSet, model: PipelineModel, options: Options,
    progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> CapacityReport {
    let workload = try Workload(set, model: model, options: options)
      .withEarlierNights(model: model, options: options)
    return try run(workload: workload, ingestion: set.reports, model: model, options: options, progress: progress)
  }

  /// The four stages for one pipeline's workload (`ingestion`: what reading its logs skipped or adjusted).
  public static func run(
    workload: Workload, ingestion: [IngestionReport], model: PipelineModel, options: Options,
    progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> CapacityReport {
    let parts = try NightShards.run(
      models: [model], workloads: [workload], options: options, units: NightShards.units(of: [workload]),
      progress: progress)
    return try NightShards.merge(
      models: [model], workloads: [workload], ingestion: ingestion, options: options, pipelines: [parts])[0]
  }
}

/// The workload figures the report draws: rate per minute, the observed envelope, the tuner's planned envelope,
/// token buckets.
struct WorkloadFigures: Sendable {
  var perMinute: [Double]
  var sizes: [Int64]
  var envelopeRates: [Double]
  var plannedSizes: [Int64]
  var plannedRates: [Double]
  var buckets: TokenBucketCurve

  init(workload: CapacityAnalysis.Workload, windowLength: Int64) {
    let arrivals = workload.trace.arrivals
    let start = arrivals.first!, end = arrivals.last!
    let minutes = Int((end - start) / 60_000_000_000) + 1
    perMinute = [Double](repeating: 0, count: minutes)
    for a in arrivals { perMinute[Int((a - start) / 60_000_000_000)] += 1.0 / 60 }
    let largest = max(2_000_000, min(windowLength, end - start))
    sizes = WindowSizes.logSpaced(from: 1_000_000, to: largest, count: 24)
    envelopeRates = ArrivalEnvelope(arrivals: arrivals, windowSizes: sizes).rates
    plannedSizes = []
    plannedRates = []
    buckets = TokenBucketCurve(
      arrivals: arrivals, rates: TokenBucketCurve.defaultRates(arrivals, shortestWindow: 10_000_000))
  }

  /// The busiest window's envelope at the InferLine tuner's window sizes for the recommended configuration: what
  /// the tuner compares live traffic with.
  mutating func plan(model: PipelineModel, configuration: PipelineConfiguration, planning: [Int64]) {
    let serviceTimes = configuration.stages.enumerated().compactMap { m, s in
      model.stages[m].option(hardware: s.hardware)?.latency(batch: s.batchSize)
    }
    plannedSizes = InferLineTuner().windowSizes(serviceTimes: serviceTimes, slo: model.slo)
    plannedRates = ArrivalEnvelope(arrivals: planning, windowSizes: plannedSizes).rates
  }
}
