import Foundation
public import InferLine

/// MArk's serverless overflow: the tuner, predictive scaling, HPA and the static plans, each without and with
/// the tier.
public struct OverflowToServerless: ServingWhatIf {
  /// The serverless tier that takes the overflow.
  public var tier: HardwareCatalog.ServerlessTier
  public init(tier: HardwareCatalog.ServerlessTier) { self.tier = tier }

  /// Each policy without and with the tier.
  public var wholeLogReplays: Double { 10 }

  public func run(_ context: ServingWhatIfs.Context) throws -> WhatIf {
    let (model, workload, recommended, typical, existing, seed) = (
      context.model, context.workload, context.recommended, context.typical, context.replays, context.options.seed
    )

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
    var results = try ServingWhatIfs.replays(runs, model: model, workload: workload, seed: seed)[...]
    var rows: [WhatIf.Row] = []
    for (i, c) in cases.enumerated() {
      let without = reused[i] ?? results.removeFirst()
      rows.append(ServingWhatIfs.row(c.0, without))
      var with = ServingWhatIfs.row("\(c.0) + \(tier.type)", results.removeFirst())
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
        "A query goes to \(tier.type) instead of its stage's queue when every replica is busy and its estimated wait is over \(wait) (the SLO's slack over the plan's longest path, shared equally by its stages), while fewer than \(tier.concurrencyLimit) invocations of the stage run. An invocation serves one query at the stage model's \(tier.runsAs) batch-1 latency, plus \(String(format: "%g", tier.coldStartSeconds)) s when no instance has been idle for less than \(String(format: "%g", tier.keepWarmSeconds)) s; it costs $\(ServingWhatIfs.dollars(tier.pricePerRequest)) plus $\(ServingWhatIfs.dollars(tier.pricePerGBSecond)) per GB-second at \(String(format: "%g", tier.memoryGB)) GB."
        + (tier.provisionedConcurrency > 0
          ? " \(tier.provisionedConcurrency) instances per stage are kept warm all day (provisioned concurrency) at $\(ServingWhatIfs.dollars(tier.pricePerProvisionedGBSecond)) per GB-second."
          : "")
        + (without.isEmpty ? "" : " Not overflowed (no \(tier.runsAs) profile): \(without.joined(separator: ", ")).")
        + (cases.count > 4 ? " The median-hour plan is the plan of the window with the median number of queries." : ""),
      rows: rows)
  }
}
