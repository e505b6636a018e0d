import Foundation
public import InferLine

/// Orion's cold starts: the tuner and HPA with replicas that start cold, and the tuner pre-warming.
public struct ColdStarts: ServingWhatIf {
  /// How a replica added during the day starts.
  public var coldStart: ColdStart
  /// The pre-warming tuner's look-ahead, seconds.
  public var prewarmSeconds: Double
  public init(_ coldStart: ColdStart, prewarmSeconds: Double = 60) {
    self.coldStart = coldStart
    self.prewarmSeconds = prewarmSeconds
  }

  /// The tuner, the pre-warming tuner and HPA, cold.
  public var wholeLogReplays: Double { 5 }

  public func run(_ context: ServingWhatIfs.Context) throws -> WhatIf {
    let (model, workload, recommended, existing, seed, cold, prewarm) = (
      context.model, context.workload, context.recommended, context.replays, context.options.seed, coldStart,
      prewarmSeconds
    )

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
    var results = try ServingWhatIfs.replays(runs, model: model, workload: workload, seed: seed)[...]
    let (tunerCold, tunerPrewarming, hpaCold) = (results.removeFirst(), results.removeFirst(), results.removeFirst())
    let tunerWarm = warmTuner ?? results.removeFirst()
    let hpaWarm = warmHPA ?? results.removeFirst()
    let rows = [
      ServingWhatIfs.row("InferLine tuner, warm", tunerWarm),
      ServingWhatIfs.row("InferLine tuner, cold starts", tunerCold),
      ServingWhatIfs.row(
        "InferLine tuner, cold starts, pre-warming \(String(format: "%g", prewarm)) s ahead", tunerPrewarming),
      ServingWhatIfs.row("HPA, warm", hpaWarm), ServingWhatIfs.row("HPA, cold starts", hpaCold),
    ]
    return WhatIf(
      title: "cold starts and pre-warming (Orion)",
      assumption:
        "A replica added during the day serves its first \(cold.batches) batches \(String(format: "%g", cold.slowdown))x slower (model load and warm-up); replicas of the plan are warm. Pre-warming: the tuner scales up for the traffic it projects \(String(format: "%g", prewarm)) s ahead (the last minute's rate grown as much again as over the previous \(String(format: "%g", prewarm)) s), and each new replica runs its slow batches before taking traffic, billed from the decision. Plans are unchanged: every replica of a plan is there from the start.",
      rows: rows)
  }
}
