import Dispatch
import Foundation

/// Answers "does this configuration meet the SLO on this window's trace?", caching answers and counting how
/// each was reached. Safe to use from several threads; independent questions run in parallel, and the answers
/// do not depend on how many run at once.
public final class FeasibilityOracle: @unchecked Sendable {
  public struct Answer: Sendable, Equatable {
    public var feasible: Bool
    /// The SLO percentile of end-to-end latency, nanoseconds, when a full simulation ran; nil when the run
    /// stopped early (it was over the SLO) or the network-calculus bound answered.
    public var percentileLatency: Int64?
    /// The worst-case bound, nanoseconds, when the network-calculus screen answered.
    public var bound: Double?
  }

  /// How the answers were reached.
  public struct Counts: Sendable, Equatable, Codable {
    /// Simulations run.
    public var estimatorRuns = 0
    /// Simulations stopped as soon as too many queries had missed the SLO.
    public var stoppedEarly = 0
    /// Configurations shown feasible by the network-calculus bound alone, with no simulation.
    public var acceptedByBound = 0
    /// Configurations ruled out by a necessary condition (capacity below the mean rate, the latency floor).
    public var ruledOut = 0
  }

  public let inputs: PlanningInputs
  public let arrivals: [Int64]
  public let seed: UInt64
  /// The objective: latency (nanoseconds) at the pipeline's percentile.
  public let slo: Int64
  let percentile: Percentile
  let arrivalCurve: TokenBucketCurve?
  /// Queries per second over the window (the necessary-capacity check).
  public let meanRate: Double
  let scaleFactors: [Double]
  let screens: Bool
  private let lock = NSLock()
  private var cache: [PipelineConfiguration: Answer] = [:]
  private var counts = Counts()

  /// - Parameters:
  ///   - arrivals: the window's arrival times, nanoseconds, sorted.
  ///   - sloMs: an objective other than the pipeline's (for the cost-versus-SLO sweep).
  ///   - screens: false runs every check as a full simulation (no necessary conditions, no bound, no early stop):
  ///     the baseline the benchmark compares against.
  public init(inputs: PlanningInputs, arrivals: [Int64], seed: UInt64, sloMs: Double? = nil, screens: Bool = true) {
    self.screens = screens
    self.inputs = inputs
    self.arrivals = arrivals
    self.seed = seed
    slo = ProfileTable.nanoseconds(sloMs ?? inputs.pipeline.slo.latencyMs)
    percentile = Percentile(percent: inputs.pipeline.slo.percentile)
    let span = Double((arrivals.last ?? 0) - (arrivals.first ?? 0)) / 1e9
    meanRate = span > 0 ? Double(arrivals.count) / span : Double(arrivals.count)
    scaleFactors = inputs.pipeline.scaleFactors()
    // The bound applies to pipelines without joins: each stage then sees a subset of its parent's output.
    let hasJoin = inputs.pipeline.incoming.contains { $0.count > 1 }
    arrivalCurve = hasJoin || arrivals.count < 2
      ? nil
      : TokenBucketCurve(arrivals: arrivals, rates: TokenBucketCurve.defaultRates(arrivals, shortestWindow: 1_000_000))
  }

  public var counters: Counts { lock.withLock { counts } }

  /// The answer for one configuration.
  public func evaluate(_ configuration: PipelineConfiguration) -> Answer {
    if let known = lock.withLock({ cache[configuration] }) { return known }
    let answer = compute(configuration)
    lock.withLock { cache[configuration] = answer }
    return answer
  }

  /// Answers for several configurations, in parallel on every core; the same answers as one at a time.
  public func evaluate(_ configurations: [PipelineConfiguration]) -> [Answer] {
    let results = ResultSlots<Answer>(count: configurations.count)
    DispatchQueue.concurrentPerform(iterations: configurations.count) { i in
      results[i] = self.evaluate(configurations[i])
    }
    return configurations.indices.map { results[$0]! }
  }

  private func compute(_ configuration: PipelineConfiguration) -> Answer {
    if screens && !meetsNecessaryConditions(configuration) {
      lock.withLock { counts.ruledOut += 1 }
      return Answer(feasible: false, percentileLatency: nil, bound: nil)
    }
    if screens, let bound = networkCalculusBound(configuration), bound * 1e9 <= Double(slo) {
      lock.withLock { counts.acceptedByBound += 1 }
      return Answer(feasible: true, percentileLatency: nil, bound: bound)
    }
    guard var input = try? SimulationInput(
      arrivals: arrivals, inputs: inputs, configuration: configuration, routes: .drawn(seed: seed))
    else { return Answer(feasible: false, percentileLatency: nil, bound: nil) }
    input.slo = slo
    let result = Estimator.simulate(input, options: .init(stopWhenInfeasible: screens, collectWaitPercentiles: false))
    lock.withLock {
      counts.estimatorRuns += 1
      if result.stoppedEarly { counts.stoppedEarly += 1 }
    }
    var latency: Int64? = nil
    if let latencies = result.latencies, !latencies.isEmpty {
      var copy = latencies
      latency = Selection.select(&copy, percentile.rank(of: copy.count) - 1)
    }
    return Answer(feasible: result.feasible, percentileLatency: latency, bound: nil)
  }

  /// A full simulation of a configuration on this window against this objective (no early stop), and the SLO
  /// percentile of its latencies (`Int64.max` when some query was never served).
  public func simulateFully(_ configuration: PipelineConfiguration) throws -> (result: SimulationResult, percentileLatency: Int64) {
    var input = try SimulationInput(arrivals: arrivals, inputs: inputs, configuration: configuration, routes: .drawn(seed: seed))
    input.slo = slo
    let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: false))
    var latencies = result.latencies ?? []
    let latency = latencies.isEmpty ? 0 : Selection.select(&latencies, percentile.rank(of: latencies.count) - 1)
    return (result, latency)
  }

  /// Necessary conditions: every stage can serve its share of the mean rate, and the fastest a query can go on
  /// the chosen hardware (batch 1 on every stage of the longest path, plus hops) is within the SLO.
  func meetsNecessaryConditions(_ configuration: PipelineConfiguration) -> Bool {
    let pipeline = inputs.pipeline
    var single = [Int64](repeating: 0, count: pipeline.stages.count)
    for (i, stage) in configuration.stages.enumerated() {
      guard let profile = inputs.profiles.profile(model: pipeline.stages[i].model, hardware: stage.hardware),
        let lb = profile.latency(batch: stage.batchSize), let l1 = profile.latency(batch: 1)
      else { return false }
      let capacity = Double(stage.replicas * stage.batchSize) / (Double(lb) / 1e9)
      if capacity < meanRate * scaleFactors[i] { return false }
      single[i] = l1
    }
    let hop = ProfileTable.nanoseconds(pipeline.networkDelayMs)
    var finish = [Int64](repeating: 0, count: single.count)
    // Only edges every query takes (probability 1): a rarer branch may not occur in this window at all.
    var reached = [Bool](repeating: false, count: single.count)
    for r in pipeline.roots { reached[r] = true }
    for n in pipeline.topologicalOrder where reached[n] {
      let start = pipeline.incoming[n].filter { $0.probability >= 1 && reached[$0.parent] }.map { finish[$0.parent] + hop }.max() ?? 0
      finish[n] = start + single[n]
      for e in pipeline.outgoing[n] where e.probability >= 1 { reached[e.child] = true }
    }
    return (finish.max() ?? 0) <= slo
  }

  /// The worst-case end-to-end latency, seconds, for a pipeline without joins: per stage the delay bound of its
  /// input's token buckets through its rate-latency curve, then the stage's output buckets feed its children
  /// (an input bucket (sigma, rho) leaves a server of rate R >= rho with latency T as (sigma + rho T, rho)).
  /// Nil when there is a join, or some stage's long-run rate is too low for every bucket.
  func networkCalculusBound(_ configuration: PipelineConfiguration) -> Double? {
    guard let arrivalCurve else { return nil }
    let pipeline = inputs.pipeline
    let hop = pipeline.networkDelayMs / 1000
    var inputCurve = [TokenBucketCurve?](repeating: nil, count: pipeline.stages.count)
    var done = [Double](repeating: 0, count: pipeline.stages.count)
    for r in pipeline.roots { inputCurve[r] = arrivalCurve }
    for n in pipeline.topologicalOrder {
      guard let curve = inputCurve[n] else { continue }
      let stage = configuration.stages[n]
      guard let profile = inputs.profiles.profile(model: pipeline.stages[n].model, hardware: stage.hardware),
        profile.latency(batch: stage.batchSize) != nil, stage.replicas > 0
      else { return nil }
      // The slowest batch up to b (a measured table may not grow with n), so the curve holds for any batch.
      let slowest = (1...stage.batchSize).compactMap { profile.latency(batch: $0) }.max()!
      let service = RateLatencyCurve.stage(replicas: stage.replicas, batchSize: stage.batchSize, batchLatency: Double(slowest) / 1e9)
      let usable = curve.buckets.filter { $0.rate <= service.rate }
      guard !usable.isEmpty else { return nil }
      let bound = NetworkCalculusBound(arrivals: TokenBucketCurve(buckets: usable), service: service, scope: .wholeTrace)
      guard bound.delay.isFinite else { return nil }
      let parentDone = pipeline.incoming[n].map { done[$0.parent] + hop }.max() ?? 0
      done[n] = parentDone + bound.delay
      let output = TokenBucketCurve(
        buckets: usable.map { TokenBucket(rate: $0.rate, burst: $0.burst + $0.rate * service.latency) })
      for e in pipeline.outgoing[n] { inputCurve[e.child] = output }
    }
    return done.max()
  }
}
