import Dispatch
public import InferLine

/// The static busiest-window plan with replicas added until its replay over the whole log keeps the SLO per query
/// and per minute (`Recommendation.meets`): what the report can recommend when the plan held static did not keep
/// it (bursts the busiest window did not have, or minutes a window-long percentile hides). The InferLine
/// tuner is replayed from the plan found too, so the report can say whether scaling saves on it.
public enum Headroom {
  /// The policy names of the two replays it adds.
  public static let staticPolicy = "static+headroom"
  public static let tunerPolicy = "inferline+headroom"

  /// What the search found: the plan with headroom and its static replay (policy `staticPolicy`, its
  /// `configuration` set), or the best it reached when no plan within `maximumSteps` kept the SLO.
  public struct Search: Sendable {
    public var configuration: PipelineConfiguration
    public var replay: ReplayResult
    /// Replicas added to the plan.
    public var added: Int
    public var meetsSLO: Bool
  }

  /// Greedy: each step replays the plan with one more replica at each stage that may have one (in parallel) and
  /// keeps the cheapest that keeps the SLO, else the one with the fewest minutes over the allowance, then the
  /// fewest misses, then the cheapest. Stops at the first plan that keeps it, or after `maximumSteps` replicas.
  /// - Complexity: at most `maximumSteps x stages` replays of the whole log.
  public static func search(
    model: PipelineModel, workload: CapacityAnalysis.Workload, configuration: PipelineConfiguration, seed: UInt64,
    maximumSteps: Int = 8
  ) throws -> Search? {
    let allowed = PipelineSpec.SLO.allowance(model.inputs.pipeline.slo.percentile)
    var current = configuration
    var best: Search?
    for step in 1...max(1, maximumSteps) {
      let options = current.stages.indices.compactMap { m -> PipelineConfiguration? in
        let limit = model.stages[m].option(hardware: current.stages[m].hardware)?.replicaLimit ?? 0
        guard current.stages[m].replicas < limit else { return nil }
        var c = current
        c.stages[m].replicas += 1
        return c
      }
      guard !options.isEmpty else { break }
      let slots = ResultSlots<Result<ReplayResult, any Error>>(count: options.count)
      DispatchQueue.concurrentPerform(iterations: options.count) { i in
        // With the latency CDF (two passes over the latencies), so that the plan found needs no second replay.
        slots[i] = Result {
          try Replay.run(
            arrivals: workload.trace.arrivals, model: model, configuration: options[i],
            planning: workload.busiestArrivals, policy: .fixed, seed: seed, cdfPercents: CapacityAnalysis.cdfPercents)
        }
      }
      let replays = try (0..<options.count).map { try slots[$0]!.get() }
      func rank(_ i: Int) -> (Int, Int, Double, Double) {
        let r = replays[i]
        return (Recommendation.meets(r, allowed) ? 0 : 1, Recommendation.minutesOver(r, allowed), r.missRate, r.cost)
      }
      let meeting = replays.indices.filter { Recommendation.meets(replays[$0], allowed) }
      let chosen =
        meeting.min { replays[$0].cost < replays[$1].cost }
        ?? replays.indices.min { rank($0) < rank($1) }!
      current = options[chosen]
      var replay = replays[chosen]
      replay.policy = staticPolicy
      replay.configuration = current
      best = Search(configuration: current, replay: replay, added: step, meetsSLO: !meeting.isEmpty)
      if !meeting.isEmpty { break }
    }
    return best
  }

  /// The replays to add to a pipeline's when the static busiest-window plan among `replayed` missed the SLO (or,
  /// without it, nothing replayed kept it): the plan with headroom held static, and the InferLine tuner from it.
  /// Empty when the static plan kept it or no plan with headroom could be searched.
  /// - Complexity: that of `search`, and one closed-loop replay.
  public static func replays(
    model: PipelineModel, workload: CapacityAnalysis.Workload, configuration: PipelineConfiguration,
    replayed: [ReplayResult], seed: UInt64
  ) throws -> [ReplayResult] {
    let allowed = PipelineSpec.SLO.allowance(model.inputs.pipeline.slo.percentile)
    // Needed when the static plan missed (a baseline that kept the SLO is coarse-grained, dearer by far), or, with
    // no static replay, when nothing kept it.
    let needed =
      replayed.first { $0.policy == "static" }.map { !Recommendation.meets($0, allowed) }
      ?? !replayed.contains { Recommendation.meets($0, allowed) }
    guard !replayed.isEmpty, needed,
      let found = try search(model: model, workload: workload, configuration: configuration, seed: seed)
    else { return [] }
    var tuner = try CapacityAnalysis.replays(
      model: model, workload: workload, configuration: found.configuration,
      policies: [.inferline(InferLineTuner())], seed: seed)[0]
    tuner.policy = tunerPolicy
    tuner.configuration = found.configuration
    return [found.replay, tuner]
  }
}
