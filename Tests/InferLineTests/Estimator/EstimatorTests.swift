import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// Builders for small simulations.
enum Sim {
  static let ms: Int64 = 1_000_000

  /// One stage, batch limit `b`, `k` replicas, L(n) from `latency(n)` in ms.
  static func single(
    _ arrivalsMs: [Double], b: Int = 1, k: Int = 1, latencyMs: (Int) -> Double, slo: Double = 1000,
    serviceTimes: ServiceTimeModel = .deterministic, changes: [ReplicaChange] = []
  ) -> SimulationInput {
    let table = (1...b).map { Int64((latencyMs($0) * 1e6).rounded()) }
    return SimulationInput(
      arrivals: arrivalsMs.map { Int64(($0 * 1e6).rounded()) }, stageCount: 1, edges: [], edgeProbabilities: [],
      stages: [StageService(batchSize: b, replicas: k, latencyTable: table)], serviceTimes: serviceTimes,
      replicaChanges: changes, slo: Int64(slo * 1e6))
  }

  static func latenciesMs(_ input: SimulationInput) -> [Double] {
    Estimator.simulate(input).latencies!.map { Double($0) / 1e6 }
  }

  /// A pipeline of stages with batch 1, one replica each (unless `replicas`), L in ms; edges with probabilities.
  static func pipeline(
    arrivalsMs: [Double], latencyMs: [Double], edges: [(Int, Int, Double)], hopMs: Double = 0,
    routes: RouteSource = .drawn(seed: 1), replicas: Int = 1
  ) -> SimulationInput {
    SimulationInput(
      arrivals: arrivalsMs.map { Int64(($0 * 1e6).rounded()) }, stageCount: latencyMs.count,
      edges: edges.map { ($0.0, $0.1) }, edgeProbabilities: edges.map(\.2),
      stages: latencyMs.map {
        StageService(batchSize: 1, replicas: replicas, latencyTable: [Int64(($0 * 1e6).rounded())])
      },
      hopDelay: Int64((hopMs * 1e6).rounded()), routes: routes, slo: 1_000 * ms)
  }
}

@Suite struct EstimatorTests {
  // MARK: Batching worked by hand, exact to the nanosecond

  @Test func equalStampsDoNotBatchAtAnIdleStage() {
    // b = 4, L = 10 ms. q0 and q1 both at 0: q0 starts alone; q1..q4 wait and go together at 10.
    let input = Sim.single([0, 0, 1, 2, 3], b: 4, latencyMs: { _ in 10 })
    #expect(Sim.latenciesMs(input) == [10, 20, 19, 18, 17])
    let result = Estimator.simulate(input)
    #expect(result.stages[0].batchSizeCounts == [0, 1, 0, 0, 1])
    #expect(result.stages[0].batches == 2 && result.stages[0].visits == 5)
    #expect(result.stages[0].totalWaitNanoseconds == Double((10 + 9 + 8 + 7) * Sim.ms))
  }

  @Test func aFinishAtAnArrivalsInstantGoesFirst() {
    // The replica finishing at 10 forms its next batch without the queries stamped 10.
    #expect(Sim.latenciesMs(Sim.single([0, 10, 10], b: 4, latencyMs: { _ in 10 })) == [10, 10, 20])
    #expect(Sim.latenciesMs(Sim.single([0, 5, 10], b: 4, latencyMs: { _ in 10 })) == [10, 15, 20])
  }

  @Test func constantArrivalsWithGrowingBatches() {
    // Every 2 ms, b = 3, L(n) = 5 + n ms: batches [q0] 0-6, [q1 q2] 6-13, [q3 q4 q5] 13-21, [q6 q7] 21-28.
    let input = Sim.single([0, 2, 4, 6, 8, 10, 12, 14], b: 3, latencyMs: { 5 + Double($0) })
    #expect(Sim.latenciesMs(input) == [6, 11, 9, 15, 13, 11, 16, 14])
    #expect(Estimator.simulate(input).stages[0].batchSizeCounts == [0, 1, 2, 1])
  }

  @Test func replicasServeInParallel() {
    #expect(Sim.latenciesMs(Sim.single([0, 0, 0], k: 2, latencyMs: { _ in 10 })) == [10, 10, 20])
    #expect(Sim.latenciesMs(Sim.single([0, 0, 0], k: 3, latencyMs: { _ in 10 })) == [10, 10, 10])
  }

  @Test func pessimisticLatencyBetweenProfiledSizes() throws {
    let profile = ModelProfile(
      model: "m", hardware: "h", statistic: .p99, batchSizes: [1, 4], latencies: [2 * Sim.ms, 5 * Sim.ms],
      p99Latencies: nil)
    let service = try StageService(
      configuration: StageConfiguration(hardware: "h", batchSize: 3, replicas: 1), profile: profile, stageName: "s",
      profilesFile: "p.csv")
    #expect(service.latencyTable == [2 * Sim.ms, 5 * Sim.ms, 5 * Sim.ms])
    do {
      _ = try StageService(
        configuration: StageConfiguration(hardware: "h", batchSize: 8, replicas: 1), profile: profile, stageName: "s",
        profilesFile: "p.csv")
      Issue.record("batch 8 is above the profile")
    } catch let e as InputError {
      #expect(e.message.contains("profiled up to batch 4, not 8") && e.file == "p.csv")
    } catch { Issue.record("\(error)") }
  }

  // MARK: Pipelines: hops, joins, roots

  @Test func hopsAddNetworkDelay() {
    let input = Sim.pipeline(arrivalsMs: [0], latencyMs: [2, 3], edges: [(0, 1, 1)], hopMs: 1)
    #expect(Sim.latenciesMs(input) == [6])
  }

  @Test func joinsWaitForEveryParentOnTheRoute() {
    // Diamond a -> b, a -> c, b -> d, c -> d. L: a 1, b 2, c 5, d 1.
    let edges = [(0, 1, 1.0), (0, 2, 1.0), (1, 3, 1.0), (2, 3, 1.0)]
    let all = Sim.pipeline(arrivalsMs: [0], latencyMs: [1, 2, 5, 1], edges: edges, routes: .given([0b1111]))
    #expect(Sim.latenciesMs(all) == [7])  // d waits for c (6), not b (3)
    // Without a -> c, c is not on the route: d starts when b is done.
    let noC = Sim.pipeline(arrivalsMs: [0], latencyMs: [1, 2, 5, 1], edges: edges, routes: .given([0b1101]))
    #expect(Sim.latenciesMs(noC) == [4])
    let result = Estimator.simulate(noC)
    #expect(result.stages.map(\.visits) == [1, 1, 0, 1])
    #expect(result.stageVisits == 3)
  }

  @Test func everyRootSeesEveryQuery() {
    let input = Sim.pipeline(arrivalsMs: [0, 1], latencyMs: [5, 8], edges: [])
    #expect(Sim.latenciesMs(input) == [8, 15])  // the 8 ms root is the bottleneck: q1 waits for it
  }

  /// Joins never start early, on random diamonds with random routes: d's batch starts only after every parent
  /// on the route has finished. Checked against a direct computation for one replica per stage at low load.
  @Test func randomDiamondsNeverStartJoinsEarly() {
    var rng = SeededGenerator(seed: 17)
    for _ in 0..<200 {
      let l = (0..<4).map { _ in Double(rng.next() % 9 + 1) }
      let mask = rng.next() % 16 | 0b0001  // a -> b always on
      let edges = [(0, 1, 1.0), (0, 2, 1.0), (1, 3, 1.0), (2, 3, 1.0)]
      let input = Sim.pipeline(arrivalsMs: [0], latencyMs: l, edges: edges, hopMs: 0.5, routes: .given([mask]))
      let bDone = l[0] + 0.5 + l[1]
      let cOn = mask & 0b0010 != 0
      let cDone = cOn ? l[0] + 0.5 + l[2] : 0
      let dFromB = mask & 0b0100 != 0
      let dFromC = cOn && mask & 0b1000 != 0
      var expected = max(bDone, cDone)
      if dFromB || dFromC {
        expected = max(expected, max(dFromB ? bDone : 0, dFromC ? cDone : 0) + 0.5 + l[3])
      }
      #expect(Sim.latenciesMs(input) == [expected], "mask \(mask), L \(l)")
    }
  }

  // MARK: Routes

  @Test func drawnRoutesFollowEdgeProbabilities() {
    let n = 40_000
    let arrivals = (0..<n).map { Double($0) * 10 }
    let input = Sim.pipeline(
      arrivalsMs: arrivals, latencyMs: [1, 1, 1], edges: [(0, 1, 0.6), (0, 2, 0.3)], routes: .drawn(seed: 5))
    let result = Estimator.simulate(input)
    for (stage, p) in [(1, 0.6), (2, 0.3)] {
      let sigma = (Double(n) * p * (1 - p)).squareRoot()
      #expect(abs(Double(result.stages[stage].visits) - Double(n) * p) < 4 * sigma)
    }
    #expect(result.stages[0].visits == n)
  }

  @Test func sameSeedSameResultOtherSeedOtherResult() {
    let arrivals = TraceGenerator.arrivals(.poisson(rate: 400), duration: 20, start: 0, seed: 3).map {
      Double($0) / 1e6
    }
    func run(_ seed: UInt64) -> [Int64] {
      Estimator.simulate(
        Sim.pipeline(
          arrivalsMs: arrivals, latencyMs: [2, 3, 2.5], edges: [(0, 1, 0.5), (0, 2, 0.5)], routes: .drawn(seed: seed))
      ).latencies!
    }
    #expect(run(1) == run(1))
    #expect(run(1) != run(2))
  }

  @Test func routesFileGivesTheRoutes() throws {
    let folder = TemporaryFolder()
    let path = folder.write("routes.txt", "11\n1,0\n\n0 1\n")
    #expect(try RoutesFile.load(path: path, edgeCount: 2, queryCount: 3) == [0b11, 0b01, 0b10])
    let bad = folder.write("bad.txt", "11\n102\n")
    do {
      _ = try RoutesFile.load(path: bad, edgeCount: 2, queryCount: 2)
      Issue.record("expected an error")
    } catch let e as InputError { #expect(e.line == 2) }
    #expect(throws: InputError.self) { try RoutesFile.load(path: path, edgeCount: 2, queryCount: 5) }
  }

  @Test func visitedStagesGiveTheSameRoutesAsEdgeBits() {
    // Stages a=0, b=1, c=2, d=3; edges a->b, a->c, b->d, c->d. Visiting {a, b, d} takes edges a->b and b->d.
    let edges = [(parent: 0, child: 1), (parent: 0, child: 2), (parent: 1, child: 3), (parent: 2, child: 3)]
    #expect(RouteSource.visited([0b1011, 0b1111, 0b0001], edges: edges) == .given([0b0101, 0b1111, 0b0000]))
  }

  // MARK: Replica changes

  @Test func aReplicaAddedMidTraceHelpsOnlyAfterItArrives() {
    // Overloaded: a query every 5 ms, 8 ms each. A second replica from t = 500 ms.
    let arrivals = (0..<200).map { Double($0) * 5 }
    let before = Estimator.simulate(Sim.single(arrivals, latencyMs: { _ in 8 }))
    let change = ReplicaChange(time: 500 * Sim.ms, stage: 0, replicas: 2)
    let after = Estimator.simulate(Sim.single(arrivals, latencyMs: { _ in 8 }, changes: [change]))
    // Queries that started service before 500 ms are untouched.
    let a = before.latencies!, b = after.latencies!
    for q in 0..<200 where arrivals[q] + Double(a[q]) / 1e6 - 8 < 500 {
      #expect(a[q] == b[q])
    }
    // Those arriving later wait far less.
    let lateWith: Int64 = (150..<200).reduce(0) { $0 + b[$1] }
    let lateWithout: Int64 = (150..<200).reduce(0) { $0 + a[$1] }
    #expect(lateWith < lateWithout / 4)
    #expect(after.stages[0].replicaNanoseconds > before.stages[0].replicaNanoseconds)
  }

  @Test func aRemovedBusyReplicaFinishesItsBatch() {
    // Two replicas, both busy at 5 ms; cut to one at 5 ms: both batches still finish at 10.
    let change = ReplicaChange(time: 5 * Sim.ms, stage: 0, replicas: 1)
    let input = Sim.single([0, 0, 6, 6], k: 2, latencyMs: { _ in 10 }, changes: [change])
    #expect(Sim.latenciesMs(input) == [10, 10, 14, 24])
    // Replica time: 2 replicas for 10 ms, then 1 until the end (30 ms).
    #expect(Estimator.simulate(input).stages[0].replicaNanoseconds == (2 * 10 + 1 * 20) * Sim.ms)
  }

  @Test func aStageWithoutReplicasNeverServes() {
    let result = Estimator.simulate(Sim.single([0, 1], k: 0, latencyMs: { _ in 1 }, slo: 10))
    #expect(result.latencies == [.max, .max])
    #expect(!result.feasible && result.misses == 2)
  }

  // MARK: Early stop

  @Test func earlyStopAgreesWithTheFullRun() {
    var rng = SeededGenerator(seed: 23)
    var stoppedSome = false
    for trial in 0..<150 {
      let rate = Double(rng.next() % 400 + 50)
      let arrivals = TraceGenerator.arrivals(.gamma(rate: rate, cv: 2), duration: 5, start: 0, seed: UInt64(trial))
        .map { Double($0) / 1e6 }
      guard !arrivals.isEmpty else { continue }
      let b = Int(rng.next() % 4) + 1, k = Int(rng.next() % 3) + 1
      let base = Double(rng.next() % 8 + 1)
      let slo = Double(rng.next() % 60 + 5)
      let input = Sim.single(arrivals, b: b, k: k, latencyMs: { base + Double($0) }, slo: slo)
      let full = Estimator.simulate(input)
      let quick = Estimator.feasible(input)
      #expect(quick.feasible == full.feasible)
      // The full run's percentile is within the SLO exactly when it is feasible.
      let sorted = full.latencies!.sorted()
      #expect((Percentile(percent: 99).value(inSorted: sorted)! <= input.slo) == full.feasible)
      stoppedSome = stoppedSome || quick.stoppedEarly
    }
    #expect(stoppedSome)
  }

  @Test func aQueryExactlyAtTheSLOMeetsIt() {
    #expect(Estimator.simulate(Sim.single([0], latencyMs: { _ in 10 }, slo: 10)).misses == 0)
    #expect(Estimator.simulate(Sim.single([0], latencyMs: { _ in 10.000001 }, slo: 10)).misses == 1)
  }

  @Test func percentileRanksAreIntegers() {
    #expect(Percentile(percent: 99.9).rank(of: 1000) == 999)
    #expect(Percentile(percent: 99).rank(of: 1000) == 990)
    #expect(Percentile(percent: 99).rank(of: 1) == 1)
    #expect(Percentile(percent: 50).rank(of: 3) == 2)
    #expect(Percentile(percent: 99.99).rank(of: 10_000) == 9_999)
    #expect(Percentile(percent: 99.9) == Percentile(percent: 99.90))
    #expect(Percentile(percent: 99.9).allowedMisses(of: 1000) == 1)
  }
}

@Suite struct SelectionTests {
  /// Quickselect against sorting, on random arrays with many ties.
  /// Every percentile of a summary is the nearest-rank value of the sorted latencies.
  static func expectSummaryOfSorting(_ summary: LatencySummary, _ sorted: [Int64]) {
    #expect(summary.p50 == Percentile(percent: 50).value(inSorted: sorted))
    #expect(summary.p95 == Percentile(percent: 95).value(inSorted: sorted))
    #expect(summary.p99 == Percentile(percent: 99).value(inSorted: sorted))
    #expect(summary.p999 == Percentile(percent: 99.9).value(inSorted: sorted))
    #expect(summary.max == sorted.last)
  }

  @Test func selectionAgreesWithSorting() {
    var rng = SeededGenerator(seed: 31)
    for _ in 0..<500 {
      let n = Int(rng.next() % 200) + 1
      let values = (0..<n).map { _ in Int64(rng.next() % 20) }
      let sorted = values.sorted()
      Self.expectSummaryOfSorting(LatencySummary(latencies: values), sorted)
      var copy = values
      let k = Int(rng.next() % UInt64(n))
      #expect(Selection.select(&copy, k) == sorted[k])
    }
  }

  /// The tail selection (the oracle's P99) against sorting: ties, rising and falling runs, a heavy tail, and
  /// arrays laid out against its sample (the large values only where it samples, or only where it does not), which
  /// take its two ways back to a full selection; ranks from the median to the maximum. `tailIfNarrow` (no way
  /// back) gives the same value or nil.
  @Test func tailSelectionAgreesWithSorting() {
    var rng = SeededGenerator(seed: 34)
    for trial in 0..<24 {
      let n = 65_536 + Int(rng.next() % 70_000)
      let stride = n / 1_024
      var values: [Int64] = (0..<n).map { i in
        switch trial % 6 {
        case 0: return Int64(rng.next() % 40)
        case 1: return Int64(i)
        case 2: return Int64(n - i)
        case 3: return Int64(exp(rng.nextUnitInterval() * 30))
        case 4: return i % stride == 0 && i / stride < 1_024 ? 1_000_000 + Int64(i) : Int64(rng.next() % 1_000)
        default: return i % stride == 0 ? 0 : 1_000_000 + Int64(rng.next() % 1_000)
        }
      }
      if trial % 12 == 11 { values[Int(rng.next() % UInt64(n))] = .max }
      let sorted = values.sorted()
      var narrow = 0
      for k in [n / 2, n - n / 8, n - n / 100 - 1, n - n / 1_000, n - 2, n - 1] {
        var copy = values
        #expect(Selection.tail(&copy, k) == sorted[k], "trial \(trial), k \(k)")
        // Without its way back (the replay's P99): the same value, or nil, and the values left as they were.
        let found = values.withUnsafeBufferPointer { Selection.tailIfNarrow(in: $0, k) }
        #expect(found == nil || found == sorted[k], "trial \(trial), k \(k)")
        narrow += found == nil ? 0 : 1
      }
      // Every rank but the median is found in the tail, but for the layouts against the sample, which take the way
      // back at some.
      #expect(trial % 6 >= 4 ? narrow < 5 : narrow == 5, "trial \(trial): \(narrow) found in the tail")
    }
  }

  /// The P99 from the largest values only (as the simulators keep waits) against sorting every value, on streams
  /// long enough to be trimmed many times, shorter than the maximum, with many ties and in rising or falling order.
  @Test func largestValuesGiveTheExactPercentile() {
    var rng = SeededGenerator(seed: 33)
    for trial in 0..<120 {
      let maximum = trial % 20 == 0 ? 300_000 : Int(rng.next() % 20_000) + 1
      let count = trial % 3 == 0 ? maximum : Int(rng.next() % UInt64(maximum)) + 1
      var values = (0..<count).map { _ in Int64(rng.next() % (trial % 2 == 0 ? 50 : 1_000_000)) }
      if trial % 7 == 0 { values.sort() }
      if trial % 11 == 0 { values.sort(by: >) }
      let sorted = values.sorted()
      for percent in [99.0, 99.9, 50] {
        var largest = LargestValues(percentile: Percentile(percent: percent), maximumCount: maximum)
        for v in values { largest.add(v) }
        #expect(largest.value() == Percentile(percent: percent).value(inSorted: sorted), "trial \(trial)")
      }
    }
    var none = LargestValues(percentile: Percentile(percent: 99), maximumCount: 10)
    #expect(none.value() == nil)
  }

  /// The bucketed summary against sorting on values of every size: negatives, small ones (one per bucket), a
  /// heavy tail over many bit lengths, many equal values, and never-served queries (Int64.max).
  @Test func summaryPercentilesAgreeWithSortingAtEverySize() {
    var rng = SeededGenerator(seed: 32)
    for trial in 0..<180 {
      let n = trial % 30 == 0 ? 200_000 : Int(rng.next() % 3_000) + 1
      let values = (0..<n).map { _ -> Int64 in
        switch rng.next() % 10 {
        case 0: return -Int64(rng.next() % 1_000_000)
        case 1: return Int64(rng.next() % 600)
        case 2: return .max
        case 3: return 12_345_678
        default: return Int64(exp(rng.nextUnitInterval() * 40))
        }
      }
      let summary = LatencySummary(latencies: values)
      Self.expectSummaryOfSorting(summary, values.sorted())
      #expect(summary.mean == values.reduce(0.0) { $0 + Double($1) } / Double(n))
    }
    // Every bucket boundary keeps the order: the bucket never decreases as values grow.
    let edges: [Int64] = (0..<63).flatMap { (shift: Int64) -> [Int64] in
      let power: Int64 = 1 << shift
      return [power - 1, power, power + 1]
    }
    var previous = Selection.bucket(.min)
    for v in Set(edges + [-1, .max]).sorted() {
      let b = Selection.bucket(v)
      #expect(b >= previous && b < Selection.bucketCount, "\(v)")
      previous = b
    }
    #expect(Selection.bucket(.max) == Selection.bucketCount - 1)
  }

  /// Many ranks at once (a replay's latency CDF: 213 of them) against sorting: ranks spread over more than 127
  /// buckets, many ranks in one bucket (sorted there), every value equal, and negative and small values; with
  /// the buckets holding ranks copied whole, and split by their next 8 bits first.
  @Test func manyRanksAgreeWithSorting() {
    var rng = SeededGenerator(seed: 34)
    for trial in 0..<40 {
      let n = trial % 10 == 0 ? 100_000 : Int(rng.next() % 20_000) + 1
      let values = (0..<n).map { _ -> Int64 in
        switch trial % 5 {
        case 0: return 7_000_000  // every value equal: every rank in one bucket
        case 1: return Int64(exp(rng.nextUnitInterval() * 40))  // over many bit lengths
        case 2: return rng.next() % 5 == 0 ? .max : 50_000_000 + Int64(rng.next() % 1_000)  // a few buckets
        case 3:  // negative (small and far below zero), one per bucket below 512, and above
          return rng.next() % 7 == 0 ? -Int64(rng.next() >> 2) : Int64(rng.next() % 2_000) - 500
        default: return Int64(rng.next() % 100_000_000)
        }
      }
      let percents = stride(from: 0.5, through: 99, by: 0.5).map { $0 } + [99.9, 99.99, 100]
      let ranks = Array(Set(percents.map { Percentile(percent: $0).rank(of: n) - 1 })).sorted()
      let sorted = values.sorted()
      // Copying the buckets that hold the ranks, and splitting them first (`refinedRanks`).
      for refiningAbove in [Int.max, 0] {
        let found = values.withUnsafeBufferPointer {
          Selection.ranks(ranks, in: $0, refiningAbove: refiningAbove)
        }
        #expect(found == ranks.map { sorted[$0] }, "trial \(trial), refining above \(refiningAbove)")
      }
    }
  }
}
