import Foundation
import InferLine

/// Service times from each query's size: what the plan does when every batch takes its largest input's size bucket
/// (the profiles' `size` column, the log's size column) instead of the largest bucket the plan assumes, the busiest
/// window re-planned with the sizes, the tuner over the day with them, and the correlated-service what-if at the
/// log's size spread beside them (its assumed form of the same variability). Run whenever a profile gives latency by
/// size; without a size column in the log it says so and runs nothing.
public struct SizedServiceTimes: ServingWhatIf {
  public init() {}

  /// The tuner over the day with the sizes.
  public var wholeLogReplays: Double { 1 }

  public static let title = "service times from each query's size"

  public func run(_ context: ServingWhatIfs.Context) throws -> WhatIf {
    let (model, workload, plan, recommended, options) = (
      context.model, context.workload, context.busiest, context.recommended, context.options
    )
    let sized = model.stages.filter { $0.options.contains { $0.sizedLatencies != nil } }.map(\.name)
    let stagesText = sized.map { "'\($0)'" }.joined(separator: ", ")
    guard let sizes = workload.trace.querySizes else {
      return WhatIf(
        title: Self.title,
        assumption:
          "The profiles give latency by input size for \(stagesText), but the log has no size column (size, tokens, ... or --size-column): every batch was planned and replayed at its profile's largest size bucket.",
        rows: [])
    }
    let column = workload.trace.sizeColumn ?? "size"
    // One pass over the day's sizes: the largest, the unknown, and the mean and log-spread (Welford) of the positive.
    var largest: Float = 0
    var unknown = 0, known = 0
    var sizeSum = 0.0, logMean = 0.0, logSquares = 0.0
    for z in sizes {
      if z.isNaN {
        unknown += 1
        continue
      }
      largest = max(largest, z)
      guard z > 0 else { continue }
      known += 1
      sizeSum += Double(z)
      let x = log(Double(z)), delta = x - logMean
      logMean += delta / Double(known)
      logSquares += delta * (x - logMean)
    }
    let busiestSizes = Array(sizes[workload.windows[workload.busiest].range])

    // Today's plan as planned (largest buckets), and with the sizes.
    let busiest = plan.recommended!
    let bounds = PipelineModel(model.inputs, sizeTable: .fastest)
    let oracle = FeasibilityOracle(
      model: bounds, arrivals: workload.busiestArrivals, seed: options.seed, querySizes: busiestSizes)
    // The plan may have been accepted by a bound, with no simulated percentile: simulated here, as planned.
    let asPlanned = FeasibilityOracle(model: model, arrivals: workload.busiestArrivals, seed: options.seed)
    var rows: [WhatIf.Row] = [
      try ServingWhatIfs.windowRow(
        "today's plan, every batch at its largest size bucket (busiest window)", recommended,
        costPerHour: busiest.costPerHour, on: asPlanned, note: "as planned"),
      try ServingWhatIfs.windowRow(
        "today's plan, service from the sizes (busiest window)", recommended, costPerHour: busiest.costPerHour,
        on: oracle),
      try ServingWhatIfs.replannedRow(
        "re-planned with service from the sizes (busiest window)", oracle: oracle, recommended: recommended,
        budget: options.budget),
    ]

    // The assumed form: lognormal factors of the log's spread, fully correlated across stages, on the profiles at
    // the bucket holding the log's mean size.
    let sigma = (logSquares / Double(max(1, known - 1))).squareRoot()
    let meanSize = sizeSum / Double(max(1, known))
    if known >= 2, sigma.isFinite {
      let atMean = FeasibilityOracle(
        model: PipelineModel(model.inputs, sizeTable: .holding(meanSize)), arrivals: workload.busiestArrivals,
        seed: options.seed, serviceTimes: .correlated(seed: options.seed, sigma: sigma, correlation: 1))
      rows.append(
        try ServingWhatIfs.windowRow(
          "today's plan, correlated-service what-if at the sizes' spread (busiest window)", recommended,
          costPerHour: busiest.costPerHour, on: atMean,
          note: String(format: "log-spread %.3g, full correlation, at the mean size's bucket", sigma)))
    }

    // The tuner over the day: as planned (the report's replay) and with the sizes.
    var conditions = ReplayConditions()
    conditions.querySizes = sizes
    let tuned = try ServingWhatIfs.replays(
      [(recommended, .inferline(InferLineTuner()), conditions)], model: model, workload: workload, seed: options.seed)
    if let asPlanned = context.replays.first(where: { $0.policy == ScalingPolicy.inferline(InferLineTuner()).name }) {
      rows.append(ServingWhatIfs.row("InferLine tuner over the day, every batch at its largest size bucket", asPlanned))
    }
    rows.append(ServingWhatIfs.row("InferLine tuner over the day, service from the sizes", tuned[0]))
    let unknownText =
      unknown == 0
      ? ""
      : " \(unknown) quer\(unknown == 1 ? "y has" : "ies have") no readable size and take the largest bucket."
    return WhatIf(
      title: Self.title,
      assumption:
        "Service times followed the log's '\(column)' column at \(stagesText): a batch takes the latency its profile gives for the size bucket holding its largest input (sizes up to \(ProfileTable.sizeText(Double(largest))), mean \(ProfileTable.sizeText((meanSize * 10).rounded() / 10))).\(unknownText) The report's plans assume every batch at its profile's largest bucket (tomorrow's sizes may differ); the re-planned row simulates every candidate with the sizes. The correlated-service row is the assumed form of the same variability: lognormal factors at the sizes' log-spread on the bucket holding the mean size. Seed \(options.seed).",
      rows: rows)
  }
}
