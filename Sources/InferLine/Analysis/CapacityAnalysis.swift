import Foundation

/// Runs the whole analysis of a night's logs into a `CapacityReport`: ingestion, envelopes, a plan per window,
/// baselines, the tuner's replay against the autoscalers, the cost-versus-SLO frontier and growth what-ifs.
public enum CapacityAnalysis {
  public struct Options: Sendable {
    public var windowLength: Int64 = 3_600_000_000_000
    public var seed: UInt64 = 1
    /// Traffic multipliers for the what-if plans.
    public var growth: [Double] = [1.25, 1.5, 2]
    /// SLO multipliers for the frontier.
    public var frontier: [Double] = [0.5, 0.75, 1, 1.5, 2, 3]
    public var log = LogReadOptions()
    public init() {}
  }

  /// Percents of the latency CDF the report keeps.
  public static let cdfPercents: [Double] = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 98, 99, 99.5, 99.9, 100]

  /// - Parameter progress: called with the share of the work done (0 to 1) and what is under way, from any thread.
  /// - Throws: `InputError` for unreadable logs or a log without the pipeline's queries.
  public static func run(
    logs: [String], inputs: PlanningInputs, options: Options, progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> CapacityReport {
    var timings: [String: Double] = [:]
    var clock = Date()
    func phase(_ name: String) {
      timings[name, default: 0] += Date().timeIntervalSince(clock)
      clock = Date()
    }
    let spec = inputs.pipeline
    progress(0, "reading \(logs.count) log\(logs.count == 1 ? "" : "s")")
    let set = try QueryLogSet.read(paths: logs, options: options.log)
    let trace = try set.trace(for: spec)
    phase("ingest")

    // Workload and envelopes.
    progress(0.04, "arrival envelopes")
    let arrivals = trace.arrivals
    let start = arrivals.first!, end = arrivals.last!
    let span = max(Double(end - start) / 1e9, 1e-9)
    let minutes = Int((end - start) / 60_000_000_000) + 1
    var perMinute = [Double](repeating: 0, count: minutes)
    for a in arrivals { perMinute[Int((a - start) / 60_000_000_000)] += 1 / 60 }
    let largest = max(2_000_000, min(options.windowLength, end - start))
    let sizes = WindowSizes.logSpaced(from: 1_000_000, to: largest, count: 24)
    let envelope = ArrivalEnvelope(arrivals: arrivals, windowSizes: sizes)
    let windows = trace.windows(length: options.windowLength)
    let busiest = windows.max { $0.count < $1.count }!
    let busiestArrivals = busiest.relativeArrivals(in: trace)
    let planned = ArrivalEnvelope(arrivals: busiestArrivals, windowSizes: sizes)
    let buckets = TokenBucketCurve(arrivals: arrivals, rates: TokenBucketCurve.defaultRates(arrivals, shortestWindow: 10_000_000))
    phase("envelopes")

    // A plan per window.
    let percentile = Percentile(percent: spec.slo.percentile)
    var results: [CapacityReport.WindowResult] = []
    var recommended: PipelineConfiguration? = nil
    var recommendedCost: Double? = nil
    var baselines: [BaselineResult] = []
    // Windows are independent: plan them in parallel (each planner also evaluates its candidates in parallel).
    let slots = ResultSlots<(CapacityReport.WindowResult, [BaselineResult])>(count: windows.count)
    let done = SharedCounter()
    let inputsCopy = inputs, traceCopy = trace, seed = options.seed, busiestStart = busiest.start
    progress(0.05, "planning \(windows.count) windows")
    DispatchQueue.concurrentPerform(iterations: windows.count) { index in
      let w = windows[index]
      var result = CapacityReport.WindowResult(
        start: w.start, queries: w.count, planned: false, note: nil, configuration: nil, costPerHour: nil,
        percentileLatencyMs: nil, costByHardware: [:])
      var windowBaselines: [BaselineResult] = []
      if percentile.allowedMisses(of: w.count) < 1 {
        result.note = "too few queries (\(w.count)) for a \(percentile) to mean anything"
      } else {
        let planner = Planner(oracle: FeasibilityOracle(inputs: inputsCopy, arrivals: w.relativeArrivals(in: traceCopy), seed: seed))
        result.planned = true
        switch planner.greedy() {
        case .success(let plan):
          result.configuration = plan.configuration
          result.costPerHour = plan.costPerHour
          result.percentileLatencyMs = plan.percentileLatencyMs
          for stage in plan.configuration.stages {
            result.costByHardware[stage.hardware, default: 0] +=
              Double(stage.replicas) * (inputsCopy.catalog.hardware(type: stage.hardware)?.pricePerHour ?? 0)
          }
        case .failure(let why):
          result.note = why.description
        }
        if w.start == busiestStart { windowBaselines = planner.coarseGrainedBaselines() }
      }
      slots[index] = (result, windowBaselines)
      let finished = done.increment()
      progress(0.05 + 0.6 * Double(finished) / Double(windows.count), "planned \(finished) of \(windows.count) windows")
    }
    for index in windows.indices {
      let (result, windowBaselines) = slots[index]!
      results.append(result)
      if windows[index].start == busiest.start {
        recommended = result.configuration
        recommendedCost = result.costPerHour
        baselines = windowBaselines
      }
    }
    phase("planning")

    // The tuner and the autoscalers over the whole log, from the busiest window's plan.
    var replays: [ReplayResult] = []
    var baselineReplays: [ReplayResult] = []
    if let recommended {
      let policies: [ScalingPolicy] = [
        .inferline(InferLineTuner()), .fixed, .hpa(HorizontalPodAutoscaler()), .ray(RayServeAutoscaler()),
        .kpa(KnativeAutoscaler()),
      ]
      for (k, policy) in policies.enumerated() {
        progress(0.65 + 0.2 * Double(k) / Double(policies.count), "replaying \(policy.name) over \(arrivals.count) queries")
        replays.append(
          try Replay.run(
            arrivals: arrivals, inputs: inputs, configuration: recommended, planning: busiestArrivals, policy: policy,
            seed: options.seed, cdfPercents: policy == .inferline(InferLineTuner()) ? cdfPercents : []))
      }
      for baseline in baselines {
        progress(0.85, "replaying \(baseline.name)")
        var r = try Replay.run(
          arrivals: arrivals, inputs: inputs, configuration: baseline.configuration, planning: busiestArrivals, policy: .fixed,
          unit: true, seed: options.seed)
        r.policy = baseline.name
        baselineReplays.append(r)
      }
    }
    phase("replay")

    // Budget: the frontier and growth what-ifs on the busiest window.
    progress(0.9, "cost against SLO and growth scenarios")
    let frontier = Planner.frontier(inputs: inputs, arrivals: busiestArrivals, seed: options.seed, multipliers: options.frontier)
    let growthSlots = ResultSlots<CapacityReport.GrowthScenario>(count: options.growth.count)
    let factors = options.growth
    DispatchQueue.concurrentPerform(iterations: factors.count) { k in
      // More traffic of the same shape: the same arrivals, closer together.
      let factor = factors[k]
      let scaled = busiestArrivals.map { Int64(Double($0) / factor) }
      switch Planner(oracle: FeasibilityOracle(inputs: inputsCopy, arrivals: scaled, seed: seed)).greedy() {
      case .success(let plan):
        growthSlots[k] = .init(factor: factor, costPerHour: plan.costPerHour, configuration: plan.configuration, note: nil)
      case .failure(let why):
        growthSlots[k] = .init(factor: factor, costPerHour: nil, configuration: nil, note: why.description)
      }
    }
    let growth = factors.indices.map { growthSlots[$0]! }
    phase("budget")

    let windowHours = Double(options.windowLength) / 3.6e12
    let plannedCost = results.compactMap(\.costPerHour).reduce(0) { $0 + $1 * windowHours }
    let hours = max(span / 3600, windowHours)
    let costPerDay = (replays.first?.cost ?? plannedCost) / max(span / 3600, 1e-9) * 24
    let formatter = ISO8601DateFormatter()
    return CapacityReport(
      schemaVersion: CapacityReport.currentSchemaVersion, toolVersion: InferLineVersion.current,
      generatedAt: formatter.string(from: Date()), seed: options.seed, pipelineName: spec.name,
      stages: spec.stages.map { .init(name: $0.name, model: $0.model) },
      edges: spec.edges.map { .init(parent: spec.stages[$0.parent].name, child: spec.stages[$0.child].name, probability: $0.probability) },
      sloMs: spec.slo.latencyMs, percentile: spec.slo.percentile, networkDelayMs: spec.networkDelayMs,
      catalogName: inputs.catalog.name,
      hardwarePrices: Dictionary(uniqueKeysWithValues: inputs.catalog.hardware.map { ($0.type, $0.pricePerHour) }),
      windowLengthSeconds: Double(options.windowLength) / 1e9, inputs: [], ingestion: set.reports,
      workload: .init(
        queries: arrivals.count, start: start, end: end, isRelative: trace.isRelative, meanRate: Double(arrivals.count) / span,
        peakRate1s: Double(ArrivalEnvelope.maxArrivals(arrivals, within: 1_000_000_000)), ratePerMinute: perMinute,
        envelopeSizesSeconds: sizes.map { Double($0) / 1e9 }, envelopeRates: envelope.rates, plannedEnvelopeRates: planned.rates,
        tokenBuckets: buckets.buckets),
      windows: results, recommended: recommended, recommendedCostPerHour: recommendedCost, plannedCost: plannedCost,
      costPerDay: costPerDay, costPerMonth: costPerDay * 30, replays: replays, baselines: baselines,
      baselineReplays: baselineReplays, cdfPercents: cdfPercents, latencyCDFMs: replays.first?.latencyAtPercentsMs ?? [],
      frontier: frontier, growth: growth, unattainableWindows: results.filter { $0.planned && $0.configuration == nil }.count,
      assumptions: assumptions(inputs: inputs, options: options, hours: hours), previous: nil, timings: timings)
  }

  static func assumptions(inputs: PlanningInputs, options: Options, hours: Double) -> [String] {
    [
      "Each workload window is planned on its own with the greedy planner; the recommended configuration is the busiest window's plan, the tuner's starting point.",
      "Routes are drawn per query with seed \(options.seed); service times are the profiles' batch latencies (\(Set(inputs.profiles.profiles.map(\.statistic.rawValue)).sorted().joined(separator: ", "))), exactly.",
      "Cost per day and per month scale the tuner's replay cost over the log (\(String(format: "%.1f", hours)) h) to 24 h and 30 days.",
      "Replicas are billed from the scaling decision; they serve after the catalog's provisioning delay.",
      "Autoscaler baselines see utilisation, ongoing requests and concurrency derived from arrival rates and service times (Little's law).",
      "Growth scenarios compress the busiest window's arrivals by the factor (the same burstiness, more traffic).",
      "Windows with fewer queries than 1 / (1 - percentile) are reported, not planned.",
    ]
  }
}
