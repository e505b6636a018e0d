import Dispatch
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
  /// What the serverless overflow tier served and cost (in `cost` too), when the replay had one.
  public var overflow: OverflowSummary? = nil
  /// The configuration the replay started from, when it is not the busiest window's plan (`Headroom`'s).
  public var configuration: PipelineConfiguration? = nil

  /// A replay's serverless overflow, over every stage.
  public struct OverflowSummary: Sendable, Equatable, Codable {
    public var tier: String
    public var queries: Int
    public var coldStarts: Int
    public var cost: Double
    /// Stages the tier could not serve (their model has no profile on its hardware).
    public var stagesWithout: [String]
  }
}

/// Replays an autoscaling policy over a whole trace in closed loop with the estimator.
public enum Replay {
  /// The replay's course, for tests and the report: decided counts (billing) and what the simulator served.
  struct Course {
    var simulation: SimulationResult
    /// Decided replica counts per stage (billing starts at the decision).
    var decided: [[ReplicaTimeline.Point]]
    /// Serving replica counts per stage as the simulator applied them.
    var changes: [ReplicaChange]
  }

  /// - Parameters:
  ///   - arrivals: the day's arrivals, nanoseconds, sorted.
  ///   - configuration: hardware and batch per stage (kept), and the starting replicas.
  ///   - planning: the arrivals the configuration was planned for (InferLine's tuner calibrates on them).
  ///   - unit: scale the pipeline as one unit (the coarse-grained baselines).
  /// No more replays run at once than cores, however the tasks calling them nest (`CoreShare.oneOfTotal`): each
  /// holds the day's finishes and miss flags, and more at once would only share the same cores.
  public static func run(
    arrivals: [Int64], model: PipelineModel, configuration: PipelineConfiguration, planning: [Int64],
    policy: ScalingPolicy, unit: Bool = false, seed: UInt64 = 1, cdfPercents: [Double] = [],
    conditions: ReplayConditions = .init()
  ) throws -> ReplayResult {
    try CoreShare.process.oneOfTotal {
      try replay(
        arrivals: arrivals, model: model, configuration: configuration, planning: planning, policy: policy,
        unit: unit, seed: seed, cdfPercents: cdfPercents, conditions: conditions)
    }
  }

  /// `run`, in the caller's slot.
  private static func replay(
    arrivals: [Int64], model: PipelineModel, configuration: PipelineConfiguration, planning: [Int64],
    policy: ScalingPolicy, unit: Bool, seed: UInt64, cdfPercents: [Double], conditions: ReplayConditions
  ) throws -> ReplayResult {
    let course = try simulate(
      arrivals: arrivals, model: model, configuration: configuration, planning: planning, policy: policy, unit: unit,
      seed: seed, conditions: conditions)
    let result = course.simulation
    let latencies = result.latencies ?? []
    let start = arrivals.first ?? 0, end = arrivals.last ?? 0
    // Misses per minute of arrival: each minute's queries found by binary search, then counted over the SLO.
    let minutes = Int((end - start) / 60_000_000_000) + 1
    let bounds = arrivals.withUnsafeBufferPointer {
      RateSeries.bounds($0, start: start, step: 60_000_000_000, count: minutes)
    }
    let total = (0..<minutes).map { bounds[$0 + 1] - bounds[$0] }
    let slo = model.slo
    let over =
      latencies.isEmpty
      ? total.map { _ in 0 }
      : latencies.withUnsafeBufferPointer { l in
        (0..<minutes).map { m in
          var count = 0
          for q in bounds[m]..<bounds[m + 1] { count &+= l[q] > slo ? 1 : 0 }
          return count
        }
      }
    // The SLO percentile and the CDF's nearest-rank values, all in two passes over the latencies (no copy, no
    // sort: a sort of a day's latencies took longer than the policy's decisions); the SLO percentile alone in one
    // pass reading them where it can.
    var percentileLatency: Int64 = 0
    var cdf: [Double] = []
    if !latencies.isEmpty {
      let n = latencies.count
      let sloRank = model.percentile.rank(of: n) - 1
      let cdfRanks = cdfPercents.map { Percentile(percent: $0).rank(of: n) - 1 }
      let ranks = Array(Set(cdfRanks + [sloRank])).sorted()
      let values = latencies.withUnsafeBufferPointer { Selection.ranks(ranks, in: $0) }
      let value = Dictionary(uniqueKeysWithValues: zip(ranks, values))
      percentileLatency = value[sloRank]!
      cdf = cdfRanks.map { Milliseconds.of(value[$0]!) }
    }
    let timelines = course.decided.enumerated().map { s, points in
      ReplicaTimeline(stage: model.stages[s].name, hardware: configuration.stages[s].hardware, points: points)
    }
    var seconds: [String: Double] = [:]
    for t in timelines { seconds[t.hardware, default: 0] += t.replicaSeconds(from: start, to: end) }
    var costs: [String: Double] = [:]
    for (hw, s) in seconds { costs[hw] = s / 3600 * (model.price(hardware: hw) ?? .nan) }
    var overflow: ReplayResult.OverflowSummary? = nil
    if let tier = conditions.overflow {
      let served = result.stages.compactMap(\.overflow)
      let billed = Double(served.reduce(Int64(0)) { $0 + $1.billedNanoseconds }) / 1e9
      let queries = served.reduce(0) { $0 + $1.queries }
      // Provisioned instances are billed for the whole replay, on every stage the tier serves.
      let provisioned = Double(served.count * min(tier.provisionedConcurrency, tier.concurrencyLimit))
      let cost = tier.cost(
        invocations: queries, seconds: billed, provisionedSeconds: provisioned * Double(end - start) / 1e9)
      costs[tier.type, default: 0] += cost
      overflow = .init(
        tier: tier.type, queries: queries, coldStarts: served.reduce(0) { $0 + $1.coldStarts }, cost: cost,
        stagesWithout: result.stages.indices.filter { result.stages[$0].overflow == nil }.map { model.stages[$0].name })
    }
    return ReplayResult(
      policy: policy.name, unit: unit, queries: arrivals.count, missRate: result.fractionOverSLO ?? 1,
      missRatePerMinute: zip(over, total).map { $1 > 0 ? Double($0) / Double($1) : 0 },
      percentileLatencyMs: Milliseconds.of(percentileLatency),
      replicaSecondsByHardware: seconds, costByHardware: costs, cost: costs.values.reduce(0, +),
      hours: Double(end - start) / 3.6e12, timelines: timelines,
      decisions: course.decided.reduce(0) { $0 + $1.count - 1 }, latencyAtPercentsMs: cdf, overflow: overflow)
  }

  /// The busiest `length` nanoseconds of a sorted trace (all of it when shorter): the stretch the verified
  /// capacities are measured on and expressed in. - Complexity: O(n).
  static func busiestStretch(_ planning: [Int64], length: Int64 = 1_200_000_000_000) -> [Int64] {
    guard planning.count >= 2, planning[planning.count - 1] - planning[0] > length else { return planning }
    var best = (start: 0, count: 0)
    var j = 0
    for i in planning.indices {
      while j < planning.count, planning[j] - planning[i] < length { j += 1 }
      if j - i > best.count { best = (i, j - i) }
    }
    return Array(planning[best.start..<(best.start + best.count)])
  }

  /// Per stage, what `k` replicas carry (`capacities[m][k - 1]`, for k = 1 up to the plan's count + 2), as a
  /// multiple of the traffic of `busiestStretch(planning)` (the busiest 20 minutes of the planning trace): the
  /// largest factor f, up to `maximum x k / k_plan`, such that the stretch sped up by f (the same queries, their
  /// gaps divided by f) keeps the P99 within `sloFraction` of the SLO through the configuration with the stage at
  /// k replicas and every other stage given four times its replicas, so that only this stage is tested; 0 when no
  /// factor does. The tuner compares live traffic with the stretch's own envelope for these (and with the whole
  /// planning trace's for the paper's rule), so a burst elsewhere in the planning hour does not make them
  /// optimistic. Each f is found by bisection (to 1/16 of its range, starting from the k - 1 value, which is
  /// checked), is capped where the stage's mean utilisation would pass `utilisation`, and was simulated feasible.
  /// With `unit`, every stage at k together, nothing given room. Stages run in parallel. Empty lists when
  /// `maximum <= 1` (the paper's rule alone).
  /// - Complexity: about 5 simulations of 20 minutes of the planning trace per replica count per stage.
  static func verifiedCapacities(
    model: PipelineModel, configuration: PipelineConfiguration, planning: [Int64], seed: UInt64, unit: Bool,
    maximum: Double, sloFraction: Double, utilisation: Double
  ) -> [[Double]] {
    let count = configuration.stages.count
    guard planning.count >= 2, maximum > 1 else { return Array(repeating: [], count: count) }
    let planning = busiestStretch(planning)
    let first = planning[0]
    let sloMs = Milliseconds.of(model.slo) * sloFraction
    @Sendable func limit(_ i: Int) -> Int {
      model.stages[i].option(hardware: configuration.stages[i].hardware)?.replicaLimit
        ?? configuration.stages[i].replicas
    }
    @Sendable func meets(_ factor: Double, stage m: Int?, replicas k: Int) -> Bool {
      guard factor > 0 else { return true }
      let arrivals = planning.map { first + Int64((Double($0 - first) / factor).rounded(.down)) }
      var c = configuration
      for i in c.stages.indices {
        if m == nil || i == m {
          c.stages[i].replicas = min(limit(i), k)
        } else {
          c.stages[i].replicas = max(c.stages[i].replicas, min(limit(i), c.stages[i].replicas * 4))
        }
      }
      return FeasibilityOracle(model: model, arrivals: arrivals, seed: seed, sloMs: sloMs).evaluate(c).feasible
    }
    // A sped-up trace is shorter, so a queue that grows without bound at a utilisation near 1 may still fit its
    // span: the factor is also capped where the stage's mean utilisation would pass `utilisation`.
    let meanRate = PipelineModel.meanRate(planning)
    @Sendable func utilisationBound(stage i: Int, replicas k: Int) -> Double {
      guard let option = model.stages[i].option(hardware: configuration.stages[i].hardware) else { return 0 }
      let load = meanRate * model.scaleFactors[i]
      return load > 0
        ? utilisation * option.capacity(batch: configuration.stages[i].batchSize, replicas: k) / load : .infinity
    }
    @Sendable func capacities(stage m: Int?) -> [Double] {
      let planned = max(
        1, m.map { configuration.stages[$0].replicas } ?? (configuration.stages.map(\.replicas).max() ?? 1))
      let top = min(m.map(limit) ?? configuration.stages.indices.map(limit).min()!, planned + 2)
      var result: [Double] = []
      var previous = 0.0
      for k in 1...max(1, top) {
        let proportional = Double(k) / Double(planned)
        let bound =
          m.map { utilisationBound(stage: $0, replicas: k) }
          ?? configuration.stages.indices.map { utilisationBound(stage: $0, replicas: k) }.min()!
        // The most asked for first: when it meets the SLO the count's capacity is that, and the previous count's
        // need not be checked.
        var high = min(maximum * proportional, bound)
        var low = 0.0
        if meets(high, stage: m, replicas: k) {
          low = high
        } else {
          low = previous > 0 && previous <= bound && meets(previous, stage: m, replicas: k) ? previous : 0
          let step = (high - low) / 16
          while high - low > step {
            let mid = (low + high) / 2
            if meets(mid, stage: m, replicas: k) { low = mid } else { high = mid }
          }
        }
        previous = low
        result.append(low)
      }
      return result
    }
    if unit { return Array(repeating: capacities(stage: nil), count: count) }
    // On threads of their own, which inherit the caller's priority (lowered beside a replay).
    let slots = ResultSlots<[Double]>(count: count)
    ThreadWork.run(count: count, width: ProcessInfo.processInfo.activeProcessorCount) { m in
      slots[m] = capacities(stage: m)
    }
    return slots.values.map { $0 ?? [] }
  }

  /// The closed loop: the simulation advances a second at a time; the policy samples every stage each second
  /// and decides every `interval`; a scale-up serves after the hardware's provisioning delay (billed from the
  /// decision), a scale-down cancels replicas still being provisioned first, then removes serving ones at once
  /// (a busy one finishes its batch). With `.fixed` the run is the static simulation. Under a `ColdStart`, a
  /// tuner that pre-warms has each new replica serve its slow batches before it takes traffic: it serves that much
  /// later (billed from the decision as ever) and warm.
  static func simulate(
    arrivals: [Int64], model: PipelineModel, configuration: PipelineConfiguration, planning: [Int64],
    policy: ScalingPolicy, unit: Bool, seed: UInt64, conditions: ReplayConditions = .init()
  ) throws -> Course {
    try model.check(configuration)
    let models = configuration.stages.enumerated().map { StageModel(model: model, stage: $0, configuration: $1) }
    let initial = configuration.stages.map(\.replicas)
    var input = try model.simulationInput(
      arrivals: arrivals, configuration: configuration, routes: .drawn(seed: seed),
      serviceTimes: conditions.serviceTimes, querySizes: conditions.querySizes)
    input.coldStart = conditions.coldStart
    if let tier = conditions.overflow { input.overflow = model.serverlessOverflow(tier, configuration: configuration) }
    // Pre-warming: the warm-up (the cold batches, full, back to back) before a new replica serves.
    var warmUp = [Int64](repeating: 0, count: models.count)
    var prewarmed = false
    if case .inferline(let tuner) = policy, (tuner.prewarmSeconds ?? 0) > 0, let cold = conditions.coldStart {
      prewarmed = true
      warmUp = models.map { Int64((Double($0.serviceTime) * cold.slowdown * Double(cold.batches)).rounded()) }
    }
    let start = arrivals.first ?? 0
    var timelines = initial.map { [ReplicaTimeline.Point(time: start, replicas: $0)] }
    // A static run decides nothing: the plain simulation, stage by stage where that applies (the closed loop with
    // no changes equals it to the nanosecond).
    if case .fixed = policy {
      let result = Estimator.simulate(input, options: .latenciesOnly)
      return Course(simulation: result, decided: timelines, changes: [])
    }
    let simulation = ClosedLoopSimulation(input, options: .latenciesOnly)
    var decided = initial
    var serving = initial
    var pending = [[(time: Int64, count: Int)]](repeating: [], count: models.count)
    var changes: [ReplicaChange] = []
    // InferLine's tuner verifies its capacities on a thread of their own while the replay starts.
    var verify: (@Sendable () -> [[Double]])? = nil
    if case .inferline(let tuner) = policy, tuner.maximumHeadroom > 1 {
      verify = {
        verifiedCapacities(
          model: model, configuration: configuration, planning: planning, seed: seed, unit: unit,
          maximum: tuner.maximumHeadroom, sloFraction: tuner.headroomSLOFraction,
          utilisation: tuner.maximumUtilisation)
      }
    }
    var controller = policy.controller(
      PolicyContext(
        models: models, initial: initial, arrivals: arrivals, planning: planning, slo: model.slo,
        allowedMissRate: PipelineSpec.SLO.allowance(model.inputs.pipeline.slo.percentile),
        verifyCapacities: verify))
    let second: Int64 = 1_000_000_000
    let interval = max(second, controller.interval / second * second)

    /// Replicas whose provisioning ends before `limit` start serving, in time order, each at its exact time.
    func activate(before limit: Int64) {
      while true {
        var next: (stage: Int, time: Int64)? = nil
        for s in pending.indices {
          if let p = pending[s].first, p.time < limit, next == nil || p.time < next!.time { next = (s, p.time) }
        }
        guard let (s, time) = next else { return }
        let p = pending[s].removeFirst()
        simulation.advance(until: time)
        serving[s] += p.count
        simulation.setReplicas(stage: s, to: serving[s], at: time, warm: prewarmed)
        changes.append(ReplicaChange(time: time, stage: s, replicas: serving[s]))
      }
    }
    func apply(_ wanted: [Int], at t: Int64) {
      var next = wanted.enumerated().map { max(1, min($0.element, models[$0.offset].maxReplicas)) }
      if unit {
        let u = next.max() ?? 1
        next = next.indices.map { min(u, models[$0].maxReplicas) }
      }
      for s in next.indices where next[s] != decided[s] {
        if next[s] > decided[s] {
          pending[s].append((t + models[s].provisioningDelay + warmUp[s], next[s] - decided[s]))
        } else {
          var remove = decided[s] - next[s]
          while remove > 0, let last = pending[s].last {
            let cut = min(remove, last.count)
            pending[s][pending[s].count - 1].count -= cut
            if pending[s][pending[s].count - 1].count == 0 { pending[s].removeLast() }
            remove -= cut
          }
          if remove > 0 {
            serving[s] -= remove
            simulation.setReplicas(stage: s, to: serving[s], at: t)
            changes.append(ReplicaChange(time: t, stage: s, replicas: serving[s]))
          }
        }
        decided[s] = next[s]
        timelines[s].append(ReplicaTimeline.Point(time: t, replicas: next[s]))
      }
    }
    for t in RateSeries.ticks(arrivals, tick: second) {
      activate(before: t)
      simulation.advance(until: t)
      controller.sample(at: t, models.indices.map { simulation.observe(stage: $0) })
      controller.observeMisses(at: t, total: simulation.misses)
      if (t - start) % interval == 0 { apply(controller.decide(at: t, decided: decided, serving: serving), at: t) }
    }
    activate(before: .max)
    controller.finish()
    return Course(simulation: simulation.finish(), decided: timelines, changes: changes)
  }
}
