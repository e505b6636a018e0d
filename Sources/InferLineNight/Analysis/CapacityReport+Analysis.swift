import Foundation
public import InferLine

extension CapacityReport {
  /// The replay of a policy by name (`inferline`, `static`, `hpa`, `ray`, `kpa`), nil when it was not run.
  public func replay(policy: String) -> ReplayResult? { replays.first { $0.policy == policy } }

  /// The InferLine tuner's replay.
  public var tunerReplay: ReplayResult? { replay(policy: "inferline") }

  /// Every replay over the log: the policies, the per-window schedule and the baselines.
  public var allReplays: [ReplayResult] { replays + baselineReplays }

  /// The recommended provisioning's replay: what the cost per day and the latency CDF come from.
  public var recommendedReplay: ReplayResult? {
    recommendation.flatMap { r in allReplays.first { $0.policy == r.policy } }
  }

  /// True when the recommended provisioning met the SLO over the log (false without one).
  public var recommendationMeetsSLO: Bool { recommendation?.meetsSLO ?? false }

  /// Assembles the report from the analysis' stages.
  init(
    model: PipelineModel, options: CapacityAnalysis.Options, workload: CapacityAnalysis.Workload,
    figures: WorkloadFigures, ingestion: [IngestionReport], plans: [WindowPlan],
    explanations: [PlanExplanation?] = [], replays: [ReplayResult],
    baselineReplays: [ReplayResult], frontier: [FrontierPoint], growth: [GrowthScenario], timings: [String: Double]
  ) {
    let spec = model.inputs.pipeline
    let arrivals = workload.trace.arrivals
    let start = arrivals.first!, end = arrivals.last!
    let span = max(Double(end - start) / 1e9, 1e-9)
    let windowHours = Double(options.windowLength) / 3.6e12
    let windows = plans.enumerated().map { i, p -> WindowResult in
      let r = p.recommended
      return WindowResult(
        start: p.start, queries: p.queries, planned: p.planned, note: p.note, configuration: r?.configuration,
        costPerHour: r?.costPerHour, percentileLatencyMs: r?.percentileLatencyMs,
        costByHardware: r.map { model.costByHardware($0.configuration) } ?? [:], method: r?.method,
        provenOptimal: r?.provenOptimal, lowerBoundPerHour: r?.lowerBoundPerHour, gap: r?.gap,
        greedyCostPerHour: p.greedy?.costPerHour, greedyGap: p.greedy?.gapToRecommended,
        explanation: i < explanations.count ? explanations[i] : nil, search: r?.effort ?? p.unattainable?.effort)
    }
    let busiest = plans[workload.busiest]
    var figures = figures
    if let r = busiest.recommended {
      figures.plan(model: model, configuration: r.configuration, planning: workload.busiestArrivals)
    }
    let plannedCost = windows.compactMap(\.costPerHour).reduce(0) { $0 + $1 * windowHours }
    let delays = busiest.recommended?.configuration.stages.enumerated().compactMap { m, s in
      model.stages[m].option(hardware: s.hardware)?.provisioningDelay
    }
    let recommendation = Recommendation.choose(
      replays: replays + baselineReplays, percentile: spec.slo.percentile, start: start,
      lookBack: delays?.max() ?? 0)
    let chosen = recommendation.flatMap { r in (replays + baselineReplays).first { $0.policy == r.policy } }
    let costPerDay = (chosen?.cost ?? plannedCost) / max(span / 3600, 1e-9) * 24
    self.init(
      schemaVersion: CapacityReport.currentSchemaVersion, toolVersion: InferLineVersion.current,
      generatedAt: ISO8601DateFormatter().string(from: Date()), seed: options.seed, pipelineName: spec.name,
      stages: spec.stages.map { .init(name: $0.name, model: $0.model) },
      edges: spec.edges.map {
        .init(parent: spec.stages[$0.parent].name, child: spec.stages[$0.child].name, probability: $0.probability)
      },
      sloMs: spec.slo.latencyMs, percentile: spec.slo.percentile, networkDelayMs: spec.networkDelayMs,
      catalogName: model.inputs.catalog.name,
      hardwarePrices: Dictionary(
        model.inputs.catalog.hardware.map { ($0.type, $0.pricePerHour) }, uniquingKeysWith: { a, _ in a }),
      windowLengthSeconds: Double(options.windowLength) / 1e9, inputs: [], ingestion: ingestion,
      workload: .init(
        queries: arrivals.count, start: start, end: end, isRelative: workload.trace.isRelative,
        meanRate: PipelineModel.meanRate(arrivals),
        peakRate1s: Double(ArrivalEnvelope.maxArrivals(arrivals, within: 1_000_000_000)),
        ratePerMinute: figures.perMinute, envelopeSizesSeconds: figures.sizes.map { Double($0) / 1e9 },
        envelopeRates: figures.envelopeRates, plannedEnvelopeRates: figures.plannedRates,
        plannedEnvelopeSizesSeconds: figures.plannedSizes.map { Double($0) / 1e9 },
        tokenBuckets: figures.buckets.buckets),
      windows: windows, recommended: busiest.recommended?.configuration,
      recommendedCostPerHour: busiest.recommended?.costPerHour, plannedCost: plannedCost, costPerDay: costPerDay,
      costPerMonth: costPerDay * 30, replays: replays, baselines: busiest.baselines, baselineReplays: baselineReplays,
      recommendation: recommendation, cdfPercents: CapacityAnalysis.cdfPercents,
      latencyCDFMs: chosen?.latencyAtPercentsMs ?? [], frontier: frontier,
      growth: growth,
      unattainableWindows: windows.filter { $0.planned && $0.configuration == nil && $0.search?.stoppedBy == nil }
        .count,
      assumptions: Self.assumptions(model: model, options: options, hours: max(span / 3600, windowHours)),
      previous: nil, timings: timings)
    let withoutPlan = windows.filter { $0.planned && $0.configuration == nil && $0.search?.stoppedBy != nil }.count
    windowsWithoutPlanFound = withoutPlan > 0 ? withoutPlan : nil
    hardwareInstances = Dictionary(
      model.inputs.catalog.hardware.compactMap { hw in hw.instance.map { (hw.type, $0) } },
      uniquingKeysWith: { a, _ in a })
    hardwareProvisioningSeconds = Dictionary(
      model.inputs.catalog.hardware.map { ($0.type, $0.provisioningDelaySeconds) }, uniquingKeysWith: { a, _ in a })
  }

  /// "The search may run 2000 simulations per window", or its time budget and what that means for reproducing it.
  static func budgetSentence(_ budget: SearchBudget) -> String {
    guard budget.seconds != nil else { return "The search may run \(budget.simulations) simulations per window" }
    return
      "The search may take \(budget.spokenTime) of wall-clock time per window (a time budget: another machine, or a busier one, may prove more or less; a number of simulations gives the same answer everywhere)"
  }

  static func assumptions(model: PipelineModel, options: CapacityAnalysis.Options, hours: Double) -> [String] {
    let statistics = Set(model.inputs.profiles.profiles.map(\.statistic.rawValue)).sorted().joined(separator: ", ")
    return [
      "Each workload window is planned on its own by a cost-ordered branch-and-bound search over hardware x useful profiled batch sizes x replicas (up to the catalog's max_replicas, or \(PipelineModel.defaultReplicaLimit)), warm-started with InferLine's greedy plan and CG-Peak; a window marked proven optimal has no cheaper feasible configuration in that space. \(Self.budgetSentence(options.budget)); past that it reports its best plan with a proven lower bound, and each window says what its search spent.",
      "Every provisioning replayed starts from the busiest window's plan (its hardware and batch sizes): the InferLine tuner, the static plan, predictive scaling, the per-window plans as scheduled scaling (replica counts on the clock, new capacity asked for one provisioning delay ahead) and the autoscalers; the recommendation is the cheapest of them, or of the coarse-grained baselines, that kept the SLO over the whole log.",
      "Routes are drawn per query with seed \(options.seed); service times are the profiles' batch latencies (\(statistics)), exactly.",
      "Cost per day and per month scale the recommended provisioning's replay cost over the log (\(String(format: "%.1f", hours)) h) to 24 h and 30 days.",
      "Replicas are billed from the scaling decision; they serve after the catalog's provisioning delay.",
      "Autoscalers are replayed in closed loop: each reads what it reads in production, measured in the simulation so far (HPA the stages' busy fraction, Ray Serve ongoing requests per replica including queued ones, Knative in-flight concurrency including queued ones, InferLine's tuner the last minute's arrival envelope), and its changes take effect in the same simulation after the catalog's provisioning delay.",
      "Growth scenarios compress the busiest window's arrivals by the factor (the same burstiness, more traffic).",
      "Windows with fewer queries than 1 / (1 - percentile) are reported, not planned.",
      model.inputs.pipeline.dispatch == .centralQueue
        ? "Each stage's replicas take batches from one queue (the ideal balancer); a pipeline file's 'dispatch' names another."
        : "Each stage's replicas are fed by \(model.inputs.pipeline.dispatch.name) dispatch (the pipeline file's 'dispatch'), each replica with its own queue, in planning and in every replay.",
    ]
  }
}
