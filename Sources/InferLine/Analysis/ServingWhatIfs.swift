import Dispatch
import Foundation

/// A what-if beside the plan: one question about serving that the related systems asked, replayed on the same
/// day with the same simulator, and compared on cost, misses and tail latency.
public struct WhatIf: Sendable, Equatable, Codable {
  public var title: String
  /// What was assumed, in a sentence or two (also among the report's assumptions).
  public var assumption: String
  public var rows: [Row]

  public struct Row: Sendable, Equatable, Codable {
    public var name: String
    /// Dollars per day of a replay over the whole log (serverless invocations included).
    public var costPerDay: Double? = nil
    /// Dollars per hour of a plan for the busiest window.
    public var costPerHour: Double? = nil
    /// Fraction of queries over the SLO.
    public var missRate: Double? = nil
    /// The SLO percentile of end-to-end latency, milliseconds.
    public var percentileLatencyMs: Double? = nil
    /// Queries the serverless tier served, and how many of its invocations started cold.
    public var overflowQueries: Int? = nil
    public var coldStarts: Int? = nil
    public var configuration: PipelineConfiguration? = nil
    public var note: String? = nil
  }
}

/// The related systems' what-ifs (MArk's serverless overflow and predictive scaling, Orion's cold starts,
/// correlated service and pre-warming, RackSched's balancers), run when asked for; none changes the plan.
public enum ServingWhatIfs {
  /// Service times that move together across stages (`ServiceTimeModel.correlated`).
  public struct CorrelatedService: Sendable, Equatable {
    /// Spread of the log of the size factor.
    public var sigma: Double
    /// Share of that spread common to every stage of a query, 0 to 1.
    public var correlation: Double
    public init(sigma: Double, correlation: Double) {
      self.sigma = sigma
      self.correlation = correlation
    }
  }

  /// What to run; the defaults run nothing.
  public struct Request: Sendable {
    /// Replay each policy again with this serverless tier taking the overflow.
    public var overflow: HardwareCatalog.ServerlessTier? = nil
    /// Replay the tuner and HPA with replicas that start cold, and the tuner pre-warming.
    public var coldStart: ColdStart? = nil
    /// The pre-warming tuner's look-ahead, seconds.
    public var prewarmSeconds: Double = 60
    /// Re-plan the busiest window, and replay the tuner, with correlated service times.
    public var correlated: CorrelatedService? = nil
    /// Today's plan on the busiest window under each balancer.
    public var balancers = false
    public init() {}
    public var isEmpty: Bool { overflow == nil && coldStart == nil && correlated == nil && !balancers }
  }

  /// Everything asked for, from the report's replays (reused where a what-if compares with them).
  /// - Complexity: about one replay of the whole log per row; rows run in parallel.
  public static func run(
    _ request: Request, model: PipelineModel, workload: CapacityAnalysis.Workload, plan: (Int) throws -> WindowPlan,
    replays: [ReplayResult], options: CapacityAnalysis.Options
  ) throws -> [WhatIf] {
    let busiest = try plan(workload.busiest)
    guard let recommended = busiest.recommended?.configuration else { return [] }
    // The typical window's plan, when it has one other than the busiest window's.
    let typical = try typicalWindow(workload, model: model).flatMap { try plan($0).recommended?.configuration }
      .flatMap { $0 == recommended ? nil : $0 }
    var result: [WhatIf] = []
    if let tier = request.overflow {
      result.append(
        try overflow(
          tier, model: model, workload: workload, typical: typical, recommended: recommended, replays: replays,
          seed: options.seed))
    }
    if let cold = request.coldStart {
      result.append(
        try coldStarts(
          cold, prewarm: request.prewarmSeconds, model: model, workload: workload, recommended: recommended,
          replays: replays, seed: options.seed))
    }
    if let correlated = request.correlated {
      result.append(
        try correlatedService(
          correlated, model: model, workload: workload, busiest: busiest, recommended: recommended, options: options))
    }
    if request.balancers {
      result.append(balancers(model: model, workload: workload, recommended: recommended, seed: options.seed))
    }
    return result
  }

  /// A replay's row: cost per day, misses, the percentile latency, and the overflow tier's share.
  static func row(_ name: String, _ r: ReplayResult) -> WhatIf.Row {
    WhatIf.Row(
      name: name, costPerDay: r.hours > 0 ? r.cost / r.hours * 24 : r.cost, missRate: r.missRate,
      percentileLatencyMs: r.percentileLatencyMs, overflowQueries: r.overflow?.queries,
      coldStarts: r.overflow?.coldStarts)
  }

  /// A price as a plain decimal (0.0000166667, not 1.66667e-05): at most 10 decimals, trailing zeros dropped.
  static func dollars(_ v: Double) -> String {
    var text = String(format: "%.10f", v)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
  }

  /// Replays run in parallel, in the order given.
  static func replays(
    _ runs: [(configuration: PipelineConfiguration, policy: ScalingPolicy, conditions: ReplayConditions)],
    model: PipelineModel, workload: CapacityAnalysis.Workload, seed: UInt64
  ) throws -> [ReplayResult] {
    let slots = ResultSlots<Result<ReplayResult, any Error>>(count: runs.count)
    DispatchQueue.concurrentPerform(iterations: runs.count) { i in
      slots[i] = Result {
        try Replay.run(
          arrivals: workload.trace.arrivals, model: model, configuration: runs[i].configuration,
          planning: workload.busiestArrivals, policy: runs[i].policy, seed: seed, conditions: runs[i].conditions)
      }
    }
    return try slots.values.map { try $0!.get() }
  }

  /// The window with the median number of queries among those with enough to plan (the later of two middles):
  /// what a team provisions for a typical hour when a serverless tier takes the peaks (MArk's idea). From the
  /// counts alone, so a sharded run knows it before any plan.
  public static func typicalWindow(_ workload: CapacityAnalysis.Workload, model: PipelineModel) -> Int? {
    let plannable = workload.windows.indices.filter {
      model.percentile.allowedMisses(of: workload.windows[$0].count) >= 1
    }.sorted { (workload.windows[$0].count, $0) < (workload.windows[$1].count, $1) }
    return plannable.isEmpty ? nil : plannable[plannable.count / 2]
  }

  /// MArk's serverless overflow: the tuner, predictive scaling, HPA and the static plans, each without and with
  /// the tier.
  static func overflow(
    _ tier: HardwareCatalog.ServerlessTier, model: PipelineModel, workload: CapacityAnalysis.Workload,
    typical: PipelineConfiguration?, recommended: PipelineConfiguration, replays existing: [ReplayResult],
    seed: UInt64
  ) throws -> WhatIf {
    let with = ReplayConditions(overflow: tier)
    var cases: [(String, PipelineConfiguration, ScalingPolicy)] = [
      ("InferLine tuner", recommended, .inferline(InferLineTuner())),
      ("predictive (MArk)", recommended, .predictive(PredictiveScaler())),
      ("HPA", recommended, .hpa(HorizontalPodAutoscaler())), ("static busiest-hour plan", recommended, .fixed),
    ]
    if let typical {
      cases.append(("static median-hour plan", typical, .fixed))
    }
    // Without the tier: the report's replays where it has them.
    var runs: [(configuration: PipelineConfiguration, policy: ScalingPolicy, conditions: ReplayConditions)] = []
    var reused: [Int: ReplayResult] = [:]
    for (i, c) in cases.enumerated() {
      if c.1 == recommended, let r = existing.first(where: { $0.policy == c.2.name }) {
        reused[i] = r
      } else {
        runs.append((c.1, c.2, ReplayConditions()))
      }
      runs.append((c.1, c.2, with))
    }
    var results = try replays(runs, model: model, workload: workload, seed: seed)[...]
    var rows: [WhatIf.Row] = []
    for (i, c) in cases.enumerated() {
      let without = reused[i] ?? results.removeFirst()
      rows.append(row(c.0, without))
      var with = row("\(c.0) + \(tier.type)", results.removeFirst())
      if with.overflowQueries == 0 {
        with.note = "no query was sent: the tier was never sooner than the stage's queue"
      }
      rows.append(with)
    }
    let sample = model.serverlessOverflow(tier, configuration: recommended)
    let without = zip(model.stages, sample).filter { $1 == nil }.map(\.0.name)
    let wait =
      sample.compactMap { $0?.maximumWait }.first.map { String(format: "%.1f ms", Milliseconds.of($0)) } ?? "n/a"
    return WhatIf(
      title: "serverless overflow on \(tier.type) (MArk)",
      assumption:
        "A query goes to \(tier.type) instead of its stage's queue when every replica is busy and its estimated wait is over \(wait) (the SLO's slack over the plan's longest path, shared equally by its stages), while fewer than \(tier.concurrencyLimit) invocations of the stage run. An invocation serves one query at the stage model's \(tier.runsAs) batch-1 latency, plus \(String(format: "%g", tier.coldStartSeconds)) s when no instance has been idle for less than \(String(format: "%g", tier.keepWarmSeconds)) s; it costs $\(dollars(tier.pricePerRequest)) plus $\(dollars(tier.pricePerGBSecond)) per GB-second at \(String(format: "%g", tier.memoryGB)) GB."
        + (tier.provisionedConcurrency > 0
          ? " \(tier.provisionedConcurrency) instances per stage are kept warm all day (provisioned concurrency) at $\(dollars(tier.pricePerProvisionedGBSecond)) per GB-second."
          : "")
        + (without.isEmpty ? "" : " Not overflowed (no \(tier.runsAs) profile): \(without.joined(separator: ", ")).")
        + (cases.count > 4 ? " The median-hour plan is the plan of the window with the median number of queries." : ""),
      rows: rows)
  }

  /// Orion's cold starts: the tuner and HPA with replicas that start cold, and the tuner pre-warming.
  static func coldStarts(
    _ cold: ColdStart, prewarm: Double, model: PipelineModel, workload: CapacityAnalysis.Workload,
    recommended: PipelineConfiguration, replays existing: [ReplayResult], seed: UInt64
  ) throws -> WhatIf {
    var prewarming = InferLineTuner()
    prewarming.prewarmSeconds = prewarm
    let conditions = ReplayConditions(coldStart: cold)
    // Warm: the report's own replays when given, else run here (the same numbers).
    let warmTuner = existing.first { $0.policy == "inferline" }, warmHPA = existing.first { $0.policy == "hpa" }
    var runs: [(configuration: PipelineConfiguration, policy: ScalingPolicy, conditions: ReplayConditions)] = [
      (recommended, .inferline(InferLineTuner()), conditions), (recommended, .inferline(prewarming), conditions),
      (recommended, .hpa(HorizontalPodAutoscaler()), conditions),
    ]
    if warmTuner == nil { runs.append((recommended, .inferline(InferLineTuner()), ReplayConditions())) }
    if warmHPA == nil { runs.append((recommended, .hpa(HorizontalPodAutoscaler()), ReplayConditions())) }
    let results = try replays(runs, model: model, workload: workload, seed: seed)
    let tunerWarm = warmTuner ?? results[3]
    let hpaWarm = warmHPA ?? results[warmTuner == nil ? 4 : 3]
    let rows = [
      row("InferLine tuner, warm", tunerWarm), row("InferLine tuner, cold starts", results[0]),
      row("InferLine tuner, cold starts, pre-warming \(String(format: "%g", prewarm)) s ahead", results[1]),
      row("HPA, warm", hpaWarm), row("HPA, cold starts", results[2]),
    ]
    return WhatIf(
      title: "cold starts and pre-warming (Orion)",
      assumption:
        "A replica added during the day serves its first \(cold.batches) batches \(String(format: "%g", cold.slowdown))x slower (model load and warm-up); replicas of the plan are warm. Pre-warming: the tuner scales up for the traffic it projects \(String(format: "%g", prewarm)) s ahead (the last minute's rate grown as much again as over the previous \(String(format: "%g", prewarm)) s), and each new replica runs its slow batches before taking traffic, billed from the decision. Plans are unchanged: every replica of a plan is there from the start.",
      rows: rows)
  }

  /// Service times correlated across stages: today's plan on the busiest window, that window re-planned, and the
  /// tuner over the day.
  static func correlatedService(
    _ c: CorrelatedService, model: PipelineModel, workload: CapacityAnalysis.Workload, busiest plan: WindowPlan,
    recommended: PipelineConfiguration, options: CapacityAnalysis.Options
  ) throws -> WhatIf {
    let service = ServiceTimeModel.correlated(seed: options.seed, sigma: c.sigma, correlation: c.correlation)
    let busiest = plan.recommended!
    let oracle = FeasibilityOracle(
      model: model, arrivals: workload.busiestArrivals, seed: options.seed, serviceTimes: service)
    let today = try oracle.simulateFully(recommended)
    func ms(_ ns: Int64) -> Double { Milliseconds.of(ns) }
    var rows: [WhatIf.Row] = [
      WhatIf.Row(
        name: "today's plan, service as profiled (busiest window)", costPerHour: busiest.costPerHour,
        percentileLatencyMs: busiest.percentileLatencyMs, configuration: recommended),
      WhatIf.Row(
        name: "today's plan, correlated service (busiest window)", costPerHour: busiest.costPerHour,
        missRate: today.result.fractionOverSLO, percentileLatencyMs: ms(today.percentileLatency),
        configuration: recommended, note: today.result.feasible ? "meets the SLO" : "misses the SLO"),
    ]
    switch Planner(oracle: oracle).bestPlan(
      budget: options.budget, incumbents: [(name: "today's plan", configuration: recommended)])
    {
    case .success(let plan):
      let latency = try oracle.simulateFully(plan.configuration)
      rows.append(
        WhatIf.Row(
          name: "re-planned for correlated service (busiest window)", costPerHour: plan.costPerHour,
          missRate: latency.result.fractionOverSLO, percentileLatencyMs: ms(latency.percentileLatency),
          configuration: plan.configuration,
          note: plan.provenOptimal == true ? "proven optimal" : "not proven optimal"))
    case .failure(let why):
      rows.append(WhatIf.Row(name: "re-planned for correlated service (busiest window)", note: why.description))
    }
    let tuned = try replays(
      [(recommended, .inferline(InferLineTuner()), ReplayConditions(serviceTimes: service))], model: model,
      workload: workload, seed: options.seed)
    rows.append(row("InferLine tuner over the day, correlated service", tuned[0]))
    return WhatIf(
      title: "service times correlated across stages (Orion)",
      assumption:
        "Each query has a size factor at each stage, lognormal with mean 1 and log-spread \(String(format: "%g", c.sigma)), \(String(format: "%g", c.correlation * 100))% of whose variance is shared by all the query's stages (a large input is slow everywhere); a batch takes L(n) times the largest factor among its queries. Drawn from seed \(options.seed).",
      rows: rows)
  }

  /// RackSched's question: today's plan on the busiest window under each balancer in front of a stage's replicas.
  static func balancers(
    model: PipelineModel, workload: CapacityAnalysis.Workload, recommended: PipelineConfiguration, seed: UInt64
  ) -> WhatIf {
    let policies: [DispatchPolicy] = [
      .centralQueue, .roundRobin, .shortestQueue, .powerOfChoices(choices: 2, seed: seed), .random(seed: seed),
    ]
    let slots = ResultSlots<WhatIf.Row>(count: policies.count)
    DispatchQueue.concurrentPerform(iterations: policies.count) { i in
      guard
        var input = try? model.simulationInput(
          arrivals: workload.busiestArrivals, configuration: recommended, routes: .drawn(seed: seed))
      else { return }
      input.dispatch = policies[i]
      let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: false))
      var latencies = result.latencies ?? []
      let p = latencies.isEmpty ? 0 : Selection.select(&latencies, model.percentile.rank(of: latencies.count) - 1)
      slots[i] = WhatIf.Row(
        name: policies[i].name
          + (policies[i] == model.inputs.pipeline.dispatch.seeded(seed) ? " (the pipeline's)" : ""),
        missRate: result.fractionOverSLO, percentileLatencyMs: Milliseconds.of(p),
        note: result.feasible ? "meets the SLO" : "misses the SLO")
    }
    return WhatIf(
      title: "today's plan under each balancer (RackSched)",
      assumption:
        "The busiest window through today's plan with each stage's replicas fed by: one central queue (the ideal the planner assumes unless the pipeline file names its balancer), round robin, the shortest queue, the shorter of two random replicas' queues, or a random replica; every balancer but the central one gives each replica its own queue. Random choices from seed \(seed).",
      rows: slots.values.compactMap { $0 })
  }
}
