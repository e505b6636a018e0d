import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// Long seeded runs of one stage with batch 1 against closed-form queueing results.
@Suite struct QueueingTheoryTests {
  /// Erlang C: the chance an arrival waits in an M/M/c queue with offered load a = lambda / mu.
  static func erlangC(servers c: Int, load a: Double) -> Double {
    var term = 1.0, sum = 1.0  // k = 0
    for k in 1..<c {
      term *= a / Double(k)
      sum += term
    }
    let last = term * a / Double(c) * Double(c) / (Double(c) - a)
    return last / (sum + last)
  }

  /// Mean queueing delay (seconds) of a run, from the estimator's per-stage statistics, and the run itself.
  static func run(
    rate: Double, serviceMs: Double, servers: Int, service: ServiceTimeModel, seconds: Double, seed: UInt64
  )
    -> (wait: Double, result: SimulationResult, arrivals: [Int64])
  {
    let arrivals = TraceGenerator.arrivals(.poisson(rate: rate), duration: seconds, start: 0, seed: seed)
    let input = SimulationInput(
      arrivals: arrivals, stageCount: 1, edges: [], edgeProbabilities: [],
      stages: [StageService(batchSize: 1, replicas: servers, latencyTable: [Int64(serviceMs * 1e6)])],
      serviceTimes: service, slo: 1_000_000_000_000)
    let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: false))
    return (result.stages[0].meanWaitNanoseconds / 1e9, result, arrivals)
  }

  /// The mean wait (seconds) and mean time in system (in mean service times) under a dispatch policy: `servers`
  /// exponential servers (10 ms mean) at `load` of their capacity, averaged over the seeds.
  static func dispatched(
    _ policy: (UInt64) -> DispatchPolicy, servers: Int, load: Double, seconds: Double = 1_500,
    seeds: [UInt64] = [21, 22, 23, 24]
  ) -> (wait: Double, sojourn: Double) {
    let runs = seeds.map { seed -> (Double, Double) in
      let rate = load * Double(servers) * 100
      var input = SimulationInput(
        arrivals: TraceGenerator.arrivals(.poisson(rate: rate), duration: seconds, start: 0, seed: seed), stageCount: 1,
        edges: [], edgeProbabilities: [],
        stages: [StageService(batchSize: 1, replicas: servers, latencyTable: [10_000_000])],
        serviceTimes: .exponential(seed: seed), slo: 1_000_000_000_000)
      input.dispatch = policy(seed)
      let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: false))
      return (result.stages[0].meanWaitNanoseconds / 1e9, result.summary!.mean / 10_000_000)
    }
    let n = Double(seeds.count)
    return (runs.map(\.0).reduce(0, +) / n, runs.map(\.1).reduce(0, +) / n)
  }

  /// Random dispatch splits Poisson traffic into independent Poisson streams: c servers are c M/M/1 queues, each
  /// at the same load, so Wq = rho / (mu (1 - rho)), far above the central queue's Erlang C.
  @Test func randomDispatchIsIndependentMM1Queues() {
    let w = Self.dispatched({ .random(seed: $0) }, servers: 4, load: 0.7).wait
    let expected = 0.7 / (100 * 0.3)
    #expect(abs(w - expected) / expected < 0.03, "simulated \(w) s, M/M/1 \(expected) s")
    let central = Self.erlangC(servers: 4, load: 2.8) / (400 - 280)
    #expect(w > 3 * central)
  }

  /// Power of two choices among many servers approaches the mean-field limit (Mitzenmacher; Vvedenskaya et al.):
  /// the mean time in system is sum over i >= 1 of lambda^((2^i - 2)), in mean service times; 2.61 at load 0.9.
  /// With 100 servers (9,000 q/s for 40 s, two seeds) the simulation is within 4% of it; join-the-shortest-queue and round robin do better than
  /// random, and shortest-queue best.
  @Test func powerOfTwoChoicesMatchesTheMeanFieldLimit() {
    let limit = (1...8).map { pow(0.9, pow(2, Double($0)) - 2) }.reduce(0, +)
    let d2 = Self.dispatched(
      { .powerOfChoices(choices: 2, seed: $0) }, servers: 100, load: 0.9, seconds: 40, seeds: [21, 22]
    ).sojourn
    #expect(abs(d2 - limit) / limit < 0.04, "simulated \(d2), mean-field \(limit)")
    let random = Self.dispatched({ .random(seed: $0) }, servers: 100, load: 0.9, seconds: 40, seeds: [21, 22]).sojourn
    let shortest = Self.dispatched({ _ in .shortestQueue }, servers: 100, load: 0.9, seconds: 40, seeds: [21, 22])
      .sojourn
    let turns = Self.dispatched({ _ in .roundRobin }, servers: 100, load: 0.9, seconds: 40, seeds: [21, 22]).sojourn
    #expect(abs(random - 10) / 10 < 0.05, "random: M/M/1 at 0.9 is 10 service times, got \(random)")
    #expect(shortest < d2 && d2 < turns && turns < random, "JSQ \(shortest), d=2 \(d2), RR \(turns), random \(random)")
  }

  /// Averages the mean wait over seeds (independent replications).
  static func meanWait(rate: Double, serviceMs: Double, servers: Int, service: (UInt64) -> ServiceTimeModel) -> Double {
    let seeds: [UInt64] = [11, 12, 13, 14]
    return seeds.map {
      run(rate: rate, serviceMs: serviceMs, servers: servers, service: service($0), seconds: 2_500, seed: $0).wait
    }
    .reduce(0, +) / Double(seeds.count)
  }

  @Test func mm1MatchesTheFormula() {
    // lambda 70/s, mu 100/s: Wq = rho / (mu - lambda) = 0.7 / 30 s.
    let w = Self.meanWait(rate: 70, serviceMs: 10, servers: 1) { .exponential(seed: $0) }
    let expected = 0.7 / 30
    #expect(abs(w - expected) / expected < 0.02, "simulated \(w) s, Erlang C \(expected) s")
  }

  @Test func mmcMatchesErlangC() {
    // c = 3, mu = 100/s each, lambda = 240/s (rho 0.8): Wq = C(c, a) / (c mu - lambda).
    let w = Self.meanWait(rate: 240, serviceMs: 10, servers: 3) { .exponential(seed: $0) }
    let expected = Self.erlangC(servers: 3, load: 2.4) / (300 - 240)
    #expect(abs(w - expected) / expected < 0.02, "simulated \(w) s, Erlang C \(expected) s")
  }

  @Test func md1MatchesPollaczekKhinchine() {
    // Deterministic 10 ms, lambda 70/s: Wq = rho / (2 mu (1 - rho)) = 0.7 / (2 x 100 x 0.3) s.
    let w = Self.meanWait(rate: 70, serviceMs: 10, servers: 1) { _ in .deterministic }
    let expected = 0.7 / (2 * 100 * 0.3)
    #expect(abs(w - expected) / expected < 0.02, "simulated \(w) s, Pollaczek-Khinchine \(expected) s")
  }

  @Test func erlangCItselfIsRight() {
    // Known values: C(1, a) = a (M/M/1); C(2, 1) = 1/3.
    #expect(abs(Self.erlangC(servers: 1, load: 0.7) - 0.7) < 1e-12)
    #expect(abs(Self.erlangC(servers: 2, load: 1) - 1.0 / 3) < 1e-12)
  }

  /// Little's law on every run: the time-average number of queries in the system (swept from arrivals and
  /// completions) equals the arrival rate times the mean latency.
  @Test(arguments: [1, 2, 3] as [UInt64])
  func littlesLaw(seed: UInt64) {
    for (rate, servers, service) in [(70.0, 1, ServiceTimeModel.deterministic), (240, 3, .exponential(seed: seed))] {
      let (_, result, arrivals) = Self.run(
        rate: rate, serviceMs: 10, servers: servers, service: service, seconds: 200, seed: seed)
      let latencies = result.latencies!
      var points: [(Int64, Int)] = []
      for (a, l) in zip(arrivals, latencies) {
        points.append((a, 1))
        points.append((a + l, -1))
      }
      points.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
      var inSystem = 0
      var area = 0.0
      var last = points[0].0
      for (t, d) in points {
        area += Double(inSystem) * Double(t - last)
        inSystem += d
        last = t
      }
      let span = Double(points.last!.0 - points[0].0)
      let l = area / span
      let lambda = Double(arrivals.count) / span
      let w = latencies.reduce(0.0) { $0 + Double($1) } / Double(latencies.count)
      #expect(abs(l - lambda * w) / l < 1e-9)
      #expect(inSystem == 0)
    }
  }

  @Test func lognormalServiceTimesHaveTheProfilesPercentiles() {
    // No queueing (many replicas, sparse arrivals): latency = service time, median 10 ms, p99 25 ms.
    let n = 60_000
    let input = SimulationInput(
      arrivals: (0..<n).map { Int64($0) * 1_000_000_000 }, stageCount: 1, edges: [], edgeProbabilities: [],
      stages: [StageService(batchSize: 1, replicas: 1, latencyTable: [10_000_000], p99Table: [25_000_000])],
      serviceTimes: .lognormal(seed: 4), slo: 1_000_000_000)
    let sorted = Estimator.simulate(input).latencies!.sorted()
    let p50 = Double(Percentile(percent: 50).value(inSorted: sorted)!) / 1e6
    let p99 = Double(Percentile(percent: 99).value(inSorted: sorted)!) / 1e6
    #expect(abs(p50 - 10) < 0.2 && abs(p99 - 25) < 1.0, "p50 \(p50), p99 \(p99)")
  }
}
