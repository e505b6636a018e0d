import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// The simulator's serving conditions beyond the plan: service times correlated across stages, cold starts,
/// per-replica queues under replica changes, and a serverless overflow tier.
@Suite struct ServingConditionsTests {
  /// One stage of batch 1, `replicas` replicas of `serviceMs`.
  static func oneStage(
    _ arrivals: [Int64], replicas: Int, serviceMs: Double = 10, batch: Int = 1, changes: [ReplicaChange] = []
  ) -> SimulationInput {
    SimulationInput(
      arrivals: arrivals, stageCount: 1, edges: [], edgeProbabilities: [],
      stages: [
        StageService(
          batchSize: batch, replicas: replicas,
          latencyTable: (1...batch).map { _ in Int64(serviceMs * 1e6) })
      ],
      replicaChanges: changes, slo: 1_000_000_000_000)
  }

  /// With full correlation a query's factor is the same at every stage, so on an idle two-stage chain its latency
  /// is (L1 + L2) x f with f lognormal of mean 1: the P99 is (L1 + L2) exp(sigma z99 - sigma^2 / 2). Without
  /// correlation it is the P99 of L1 f1 + L2 f2, checked against a Monte Carlo of our own; and lower.
  @Test func correlatedServiceMatchesTheLognormalQuantiles() {
    let n = 40_000
    let arrivals = (0..<n).map { Int64($0) * 10_000_000_000 }  // 10 s apart: nothing ever waits
    func p99(correlation: Double) -> Double {
      let input = SimulationInput(
        arrivals: arrivals, stageCount: 2, edges: [(0, 1)], edgeProbabilities: [1],
        stages: [
          StageService(batchSize: 1, replicas: 1, latencyTable: [10_000_000]),
          StageService(batchSize: 1, replicas: 1, latencyTable: [30_000_000]),
        ],
        serviceTimes: .correlated(seed: 7, sigma: 0.5, correlation: correlation), slo: 1_000_000_000_000)
      var latencies = Estimator.simulate(input).latencies!
      latencies.sort()
      return Double(latencies[Percentile.p99.rank(of: n) - 1]) / 1e6
    }
    let z99 = 2.326_347_874
    let full = p99(correlation: 1)
    let analytic = 40 * exp(0.5 * z99 - 0.125)
    #expect(abs(full - analytic) / analytic < 0.03, "simulated \(full) ms, lognormal quantile \(analytic) ms")
    var generator = SeededGenerator(seed: 99)
    var sums = (0..<200_000).map { _ in
      10 * exp(0.5 * generator.nextStandardNormal() - 0.125) + 30 * exp(0.5 * generator.nextStandardNormal() - 0.125)
    }
    sums.sort()
    let independent = sums[Percentile.p99.rank(of: sums.count) - 1]
    let none = p99(correlation: 0)
    #expect(abs(none - independent) / independent < 0.03, "simulated \(none) ms, Monte Carlo \(independent) ms")
    #expect(none < full * 0.95)
  }

  /// A batch takes L(n) times the largest factor among its queries, each factor a function of the seed, the query
  /// and the stage alone: checked query by query on one stage.
  @Test func aCorrelatedBatchTakesItsLargestFactor() {
    // Four queries at once, then a gap: the first is served alone (the replica is idle), the other three together.
    let arrivals: [Int64] = [0, 0, 0, 0]
    var input = Self.oneStage(arrivals, replicas: 1, serviceMs: 10, batch: 4)
    input.serviceTimes = .correlated(seed: 3, sigma: 0.4, correlation: 0.6)
    let latencies = Estimator.simulate(input, options: .init(eventByEvent: true)).latencies!
    func factor(_ q: Int) -> Double {
      let shared = HashedNormal.value(seed: 3, key: UInt64(q))
      let own = HashedNormal.value(seed: RandomStream.ownServiceFactor.seed(3), key: UInt64(q) << 8)
      return exp(0.4 * (0.6.squareRoot() * shared + 0.4.squareRoot() * own) - 0.08)
    }
    let first = Int64((10e6 * factor(0)).rounded())
    let batch = Int64((10e6 * (1...3).map(factor).max()!).rounded())
    #expect(latencies == [first, first + batch, first + batch, first + batch])
  }

  /// Replicas added during a run serve their first batches `slowdown` times slower; those present at the start,
  /// and those added warm (pre-warmed), do not.
  @Test func coldStartsSlowOnlyTheFirstBatchesOfAddedReplicas() {
    // Pairs of queries every 100 ms from 1 s; a second replica from 1 s (the newest idle replica serves first).
    var arrivals: [Int64] = []
    for k in 0..<10 {
      let t: Int64 = 1_000_000_000 + Int64(k) * 100_000_000
      arrivals += [t, t]
    }
    var input = Self.oneStage(
      arrivals, replicas: 1, changes: [ReplicaChange(time: 1_000_000_000, stage: 0, replicas: 2)])
    input.coldStart = ColdStart(batches: 3, slowdown: 4)
    let cold = Estimator.simulate(input).latencies!
    #expect(cold.filter { $0 == 40_000_000 }.count == 3)
    #expect(cold.filter { $0 == 10_000_000 }.count == 17)
    input.coldStart = nil
    #expect(Estimator.simulate(input).latencies!.allSatisfy { $0 == 10_000_000 })
    // Two replicas from the start: warm.
    var warmFromStart = Self.oneStage(arrivals, replicas: 2)
    warmFromStart.coldStart = ColdStart(batches: 3, slowdown: 4)
    #expect(Estimator.simulate(warmFromStart).latencies!.allSatisfy { $0 == 10_000_000 })
    // Added warm in closed loop: no slow batch; added cold in closed loop: the same three as given up front.
    for warm in [true, false] {
      var closed = Self.oneStage(arrivals, replicas: 1)
      closed.coldStart = ColdStart(batches: 3, slowdown: 4)
      let simulation = ClosedLoopSimulation(closed)
      simulation.advance(until: 1_000_000_000)
      simulation.setReplicas(stage: 0, to: 2, at: 1_000_000_000, warm: warm)
      let latencies = simulation.finish().latencies!
      #expect(latencies.filter { $0 == 40_000_000 }.count == (warm ? 0 : 3))
      if !warm { #expect(latencies == cold) }
    }
  }

  /// Per-replica queues under replica changes: every query is served; replica time is the integral of the count
  /// (changes at idle moments); a scale-down re-dispatches the leaving replicas' queues, keeping each query's wait.
  @Test func perReplicaQueuesFollowReplicaChanges() {
    // 200 q/s of 10 ms (batch 1) for 10 s: 2 replicas; 4 from 3 s; 1 from 6 s (at 1 replica it is overloaded:
    // queues move to the survivor and grow).
    let arrivals = TraceGenerator.arrivals(.poisson(rate: 150), duration: 10, start: 0, seed: 5)
    for policy in [DispatchPolicy.roundRobin, .random(seed: 3), .shortestQueue, .powerOfChoices(choices: 2, seed: 4)] {
      var input = Self.oneStage(
        arrivals, replicas: 2,
        changes: [
          ReplicaChange(time: 3_000_000_000, stage: 0, replicas: 4),
          ReplicaChange(time: 6_000_000_000, stage: 0, replicas: 1),
        ])
      input.dispatch = policy
      let result = Estimator.simulate(input)
      let latencies = result.latencies!
      #expect(!latencies.contains(.max), "\(policy): every query served")
      #expect(result.stages[0].visits == arrivals.count)
      // One replica from 6 s serves every query after it in order: the last finish is at least the last arrival's
      // backlog (150 q/s on a 100 q/s server for 4 s leaves about 200 queries, 2 s of work).
      let lastFinish = zip(arrivals, latencies).map { $0 + $1 }.max()!
      #expect(lastFinish > 11_000_000_000, "\(policy): overloaded after the scale-down")
      // Replica time: 2 x 3 s + 4 x 3 s + 1 x (end - 6 s), give or take the batches the leavers finish (10 ms each).
      let expected = 6e9 + 12e9 + Double(lastFinish - 6_000_000_000)
      let measured = Double(result.stages[0].replicaNanoseconds)
      #expect(abs(measured - expected) <= 3 * 10_000_000, "\(policy): replica time \(measured) against \(expected)")
    }
  }

  /// The overflow tier takes a burst's queries whose estimated wait is over its bound and that it finishes sooner
  /// than the stage would, up to its concurrency limit, each alone: cold the first time, warm within the keep-warm
  /// time, cold again after it.
  @Test func overflowTakesWhatTheReplicasCannotServeInTime() {
    // Bursts of 100 queries at 0 s, 1 s and 3 s on one replica of 10 ms.
    let arrivals = [Int64(0), 1_000_000_000, 3_000_000_000].flatMap { [Int64](repeating: $0, count: 100) }
    var input = Self.oneStage(arrivals, replicas: 1)
    input.overflow = [
      ServerlessOverflow(
        latency: 20_000_000, coldStart: 100_000_000, concurrencyLimit: 10, keepWarm: 1_500_000_000,
        maximumWait: 50_000_000)
    ]
    let result = Estimator.simulate(input)
    let latencies = result.latencies!
    // Query 0 of a burst is served at once. Cold (no instance warm), a query goes to the tier only once its
    // estimated wait plus its own 10 ms passes the 120 ms a cold invocation takes: behind 11 queued, so queries
    // 12-21 go (ten invocations, the limit) and query 22 queues 12th. Warm, 20 ms beats any wait over the 50 ms
    // bound: queries 6-15 go, query 16 queues sixth.
    for (burst, first, latency) in [(0, 12, Int64(120_000_000)), (1, 6, 20_000_000), (2, 12, 120_000_000)] {
      let slice = Array(latencies[(burst * 100)..<(burst * 100 + 100)])
      #expect(
        slice[first..<(first + 10)].allSatisfy { $0 == latency }, "burst \(burst): \(slice[first..<(first + 10)])")
      #expect(slice[first - 1] == Int64(first) * 10_000_000, "burst \(burst): the last query queued before the tier")
      #expect(slice[first + 10] == Int64(first + 1) * 10_000_000, "burst \(burst): the first query queued after it")
    }
    let served = result.stages[0].overflow!
    #expect(served.queries == 30)
    #expect(served.coldStarts == 20)
    #expect(served.billedNanoseconds == 20 * 120_000_000 + 10 * 20_000_000)
    #expect(result.stages[0].visits == 300)
    #expect(result.stages[0].batches == 270)
  }

  /// Provisioned instances are always warm and taken first: with three, a burst's first three overflowed queries
  /// take 20 ms where they would have waited; the next ones wait until a cold start beats the queue.
  @Test func provisionedInstancesAreWarmFromTheStart() {
    let arrivals = [Int64](repeating: 0, count: 100)
    var input = Self.oneStage(arrivals, replicas: 1)
    input.overflow = [
      ServerlessOverflow(
        latency: 20_000_000, coldStart: 100_000_000, concurrencyLimit: 10, keepWarm: 1_500_000_000,
        maximumWait: 50_000_000, provisioned: 3)
    ]
    let result = Estimator.simulate(input)
    let latencies = result.latencies!
    #expect(latencies[6...8].allSatisfy { $0 == 20_000_000 }, "\(latencies[6...8])")
    // Queries 9-14 queue behind five (wait 60-110 ms: a 120 ms cold start is not sooner); 15-21 go cold.
    #expect(latencies[9] == 7 * 10_000_000 && latencies[14] == 12 * 10_000_000)
    #expect(latencies[15...21].allSatisfy { $0 == 120_000_000 }, "\(latencies[15...21])")
    #expect(
      result.stages[0].overflow
        == OverflowStatistics(queries: 10, coldStarts: 7, billed: 3 * 20_000_000 + 7 * 120_000_000))
  }
}
