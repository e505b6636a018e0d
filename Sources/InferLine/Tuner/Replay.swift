import Foundation

/// What an autoscaler would have done over a day of traffic, and what the estimator predicts came of it.
public struct ReplayResult: Sendable, Equatable, Codable {
  public var policy: String
  /// True when the pipeline was scaled as one unit (every stage the same count).
  public var unit: Bool
  public var queries: Int
  /// Fraction of queries over the SLO.
  public var missRate: Double
  /// Fraction over the SLO among the queries arriving in each minute (from the first arrival).
  public var missRatePerMinute: [Double]
  /// The SLO percentile of end-to-end latency, milliseconds (infinite when some query was never served).
  public var percentileLatencyMs: Double
  /// Replica-seconds per hardware type, billed from each decision.
  public var replicaSecondsByHardware: [String: Double]
  /// Dollars per hardware type over the replay.
  public var costByHardware: [String: Double]
  public var cost: Double
  /// Hours the replay spans (first to last arrival).
  public var hours: Double
  public var timelines: [ReplicaTimeline]
  /// Replica changes the policy decided.
  public var decisions: Int
  /// End-to-end latency (ms) at the requested percents (the latency CDF), when asked for.
  public var latencyAtPercentsMs: [Double]
}

/// Replays an autoscaling policy over a whole trace with the estimator.
public enum Replay {
  /// - Parameters:
  ///   - arrivals: the day's arrivals, nanoseconds, sorted.
  ///   - configuration: hardware and batch per stage (kept), and the starting replicas.
  ///   - planning: the arrivals the configuration was planned for (InferLine's tuner compares envelopes).
  ///   - unit: scale the pipeline as one unit (the coarse-grained baselines).
  public static func run(
    arrivals: [Int64], model: PipelineModel, configuration: PipelineConfiguration, planning: [Int64],
    policy: ScalingPolicy, unit: Bool = false, seed: UInt64 = 1, cdfPercents: [Double] = []
  ) throws -> ReplayResult {
    try model.check(configuration)
    let models = configuration.stages.enumerated().map { StageModel(model: model, stage: $0, configuration: $1) }
    let initial = configuration.stages.map(\.replicas)
    let decided = Autoscaler.decide(
      policy: policy, arrivals: arrivals, planning: planning, models: models, initial: initial, unit: unit)
    let changes = Autoscaler.changes(decided, models: models)
    let input = try model.simulationInput(
      arrivals: arrivals, configuration: configuration, routes: .drawn(seed: seed), replicaChanges: changes)
    let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: false))
    let latencies = result.latencies ?? []
    let start = arrivals.first ?? 0, end = arrivals.last ?? 0
    // Misses per minute of arrival.
    let minutes = Int((end - start) / 60_000_000_000) + 1
    var over = [Int](repeating: 0, count: minutes), total = [Int](repeating: 0, count: minutes)
    for (q, a) in arrivals.enumerated() {
      let m = Int((a - start) / 60_000_000_000)
      total[m] += 1
      if latencies[q] > input.slo { over[m] += 1 }
    }
    var copy = latencies
    let p = model.percentile
    let percentileLatency = copy.isEmpty ? 0 : Selection.select(&copy, p.rank(of: copy.count) - 1)
    var cdf: [Double] = []
    if !copy.isEmpty && !cdfPercents.isEmpty {
      var low = 0
      for percent in cdfPercents.sorted() {
        let k = Percentile(percent: percent).rank(of: copy.count) - 1
        let v = Selection.select(&copy, k, from: min(low, k))
        low = k
        cdf.append(v == .max ? .infinity : Double(v) / 1e6)
      }
    }
    let timelines = decided.enumerated().map { s, points in
      ReplicaTimeline(stage: model.stages[s].name, hardware: configuration.stages[s].hardware, points: points)
    }
    var seconds: [String: Double] = [:]
    for t in timelines { seconds[t.hardware, default: 0] += t.replicaSeconds(from: start, to: end) }
    var costs: [String: Double] = [:]
    for (hw, s) in seconds { costs[hw] = s / 3600 * (model.price(hardware: hw) ?? .nan) }
    return ReplayResult(
      policy: policy.name, unit: unit, queries: arrivals.count, missRate: result.fractionOverSLO ?? 1,
      missRatePerMinute: zip(over, total).map { $1 > 0 ? Double($0) / Double($1) : 0 },
      percentileLatencyMs: percentileLatency == .max ? .infinity : Double(percentileLatency) / 1e6,
      replicaSecondsByHardware: seconds, costByHardware: costs, cost: costs.values.reduce(0, +),
      hours: Double(end - start) / 3.6e12, timelines: timelines, decisions: decided.reduce(0) { $0 + $1.count - 1 },
      latencyAtPercentsMs: cdf)
  }
}
