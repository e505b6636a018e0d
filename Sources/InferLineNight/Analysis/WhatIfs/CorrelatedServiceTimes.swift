import Foundation
import InferLine

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
    // Today's plan simulated as profiled too: the plan may have been accepted by a bound, with no percentile.
    let asProfiled = FeasibilityOracle(model: model, arrivals: workload.busiestArrivals, seed: options.seed)
    var rows: [WhatIf.Row] = [
      try ServingWhatIfs.windowRow(
        "today's plan, service as profiled (busiest window)", recommended, costPerHour: busiest.costPerHour,
        on: asProfiled),
      try ServingWhatIfs.windowRow(
        "today's plan, correlated service (busiest window)", recommended, costPerHour: busiest.costPerHour,
        on: oracle),
    ]
    rows.append(
      try ServingWhatIfs.replannedRow(
        "re-planned for correlated service (busiest window)", oracle: oracle, recommended: recommended,
        budget: options.budget))
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
