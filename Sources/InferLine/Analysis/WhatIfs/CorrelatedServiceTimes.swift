import Foundation

/// Service times correlated across stages: today's plan on the busiest window, that window re-planned, and the
/// tuner over the day.
public struct CorrelatedServiceTimes: ServingWhatIf {
  public var service: ServingWhatIfs.CorrelatedService
  public init(_ service: ServingWhatIfs.CorrelatedService) { self.service = service }

  /// The tuner with correlated service (and a re-planned busiest window).
  public var wholeLogReplays: Double { 1 }

  public func run(_ context: ServingWhatIfs.Context) throws -> WhatIf {
    let (model, workload, plan, recommended, options, c) = (
      context.model, context.workload, context.busiest, context.recommended, context.options, service
    )

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
    let tuned = try ServingWhatIfs.replays(
      [(recommended, .inferline(InferLineTuner()), ReplayConditions(serviceTimes: service))], model: model,
      workload: workload, seed: options.seed)
    rows.append(ServingWhatIfs.row("InferLine tuner over the day, correlated service", tuned[0]))
    return WhatIf(
      title: "service times correlated across stages (Orion)",
      assumption:
        "Each query has a size factor at each stage, lognormal with mean 1 and log-spread \(String(format: "%g", c.sigma)), \(String(format: "%g", c.correlation * 100))% of whose variance is shared by all the query's stages (a large input is slow everywhere); a batch takes L(n) times the largest factor among its queries. Drawn from seed \(options.seed).",
      rows: rows)
  }
}
