import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

@Suite struct EnvelopeTests {
  let second: Int64 = 1_000_000_000

  /// Seeded small traces with ties and bursts: arrivals in ns, sorted.
  func randomTrace(_ rng: inout SeededGenerator) -> [Int64] {
    let n = Int(rng.next() % 80) + 1
    var t: [Int64] = []
    var now = Int64(rng.next() % 1000)
    for _ in 0..<n {
      switch rng.next() % 4 {
      case 0: break  // a tie
      case 1: now += Int64(rng.next() % 3)
      default: now += Int64(rng.next() % 50)
      }
      t.append(now)
    }
    return t
  }

  func bruteAlpha(_ t: [Int64], _ d: Int64) -> Int {
    var best = 0
    for i in t.indices {
      var c = 0
      for j in t.indices where t[j] >= t[i] && t[j] < t[i] + d { c += 1 }
      best = max(best, c)
    }
    return best
  }

  func bruteSigma(_ t: [Int64], _ rho: Double) -> Double {
    var best = 0.0
    for i in t.indices {
      for j in i..<t.count {
        best = max(best, Double(j - i + 1) - rho * Double(t[j] - t[i]) * 1e-9)
      }
    }
    return best
  }

  @Test func alphaAndSigmaMatchBruteForceOnThousandsOfTraces() {
    var rng = SeededGenerator(seed: 2024)
    for _ in 0..<3000 {
      let t = randomTrace(&rng)
      let sizes: [Int64] = [1, 2, 3, 7, 20, 64, 500]
      #expect(ArrivalEnvelope(arrivals: t, windowSizes: sizes).maxArrivals == sizes.map { bruteAlpha(t, $0) })
      for rho in [0.0, 1e6, 2.5e7, 1e8, 1e9] {  // queries per second against ns-scale gaps
        let fit = TokenBucket.fit(t, rate: rho).burst
        #expect(abs(fit - bruteSigma(t, rho)) < 1e-9 * max(1, fit))
      }
    }
  }

  @Test func largeTracesTakeTheParallelLanesAndAgree() {
    // Over 2^20 arrivals the computation is split into lanes and tasks; compare with a plain two-pointer pass.
    let t = TraceGenerator.arrivals(.gamma(rate: 20_000, cv: 3), duration: 60, start: 0, seed: 8)
    #expect(t.count > 1 << 20)
    for d in [second / 1000, second / 10, second, 7 * second] {
      var best = 0, i = 0
      for j in t.indices {
        while t[i] <= t[j] - d { i += 1 }
        best = max(best, j - i + 1)
      }
      #expect(ArrivalEnvelope.maxArrivals(t, within: d) == best)
    }
  }

  @Test func periodicTraceClosedForm() {
    let period = 10 * 1_000_000  // 10 ms
    let n = 1000
    let t = (0..<n).map { Int64($0 * period) }
    for d in [1, 5_000_000, 10_000_000, 10_000_001, 95_000_000, 20_000_000_000] as [Int64] {
      let expected = min(n, Int((d + Int64(period) - 1) / Int64(period)))  // ceil(D / P), at most N
      #expect(ArrivalEnvelope.maxArrivals(t, within: d) == expected)
    }
    // sigma(rho) = 1 + (N - 1)(1 - rho P) below the trace's rate 1 / P, and 1 above it.
    for rho in [0.0, 20, 50, 99.5] {
      #expect(abs(TokenBucket.fit(t, rate: rho).burst - (1 + Double(n - 1) * (1 - rho * 0.01))) < 1e-9)
    }
    #expect(abs(TokenBucket.fit(t, rate: 100).burst - 1) < 1e-9)
    #expect(abs(TokenBucket.fit(t, rate: 250).burst - 1) < 1e-9)
  }

  @Test func simultaneousBurstsClosedForm() {
    // B queries at each multiple of P (a batch job), M bursts.
    let b = 25, m = 40
    let period = 2 * second
    let t = (0..<m).flatMap { k in Array(repeating: Int64(k) * period, count: b) }
    #expect(ArrivalEnvelope.maxArrivals(t, within: 1) == b)
    #expect(ArrivalEnvelope.maxArrivals(t, within: period) == b)
    #expect(ArrivalEnvelope.maxArrivals(t, within: period + 1) == 2 * b)
    #expect(ArrivalEnvelope.maxArrivals(t, within: 100 * period) == b * m)
    // sigma(rho) = B + (M - 1)(B - rho P) while rho P <= B, else B.
    #expect(abs(TokenBucket.fit(t, rate: 5).burst - Double(b + (m - 1) * (b - 10))) < 1e-9)
    #expect(abs(TokenBucket.fit(t, rate: 12.5).burst - Double(b)) < 1e-9)
    #expect(abs(TokenBucket.fit(t, rate: 30).burst - Double(b)) < 1e-9)
  }

  @Test func everySplitIntoShardsMergesToTheWhole() throws {
    var rng = SeededGenerator(seed: 99)
    for _ in 0..<300 {
      var t = randomTrace(&rng)
      t += randomTrace(&rng).map { $0 + (t.last ?? 0) }
      let sizes: [Int64] = [1, 4, 16, 100]
      let whole = EnvelopeShard(arrivals: t, windowSizes: sizes)
      // Cut at random places (possibly between equal stamps), shard, merge left to right.
      var cuts = Set<Int>()
      for _ in 0..<Int(rng.next() % 5) { cuts.insert(Int(rng.next() % UInt64(t.count))) }
      let bounds = ([0] + cuts.sorted().filter { $0 > 0 } + [t.count])
      var shards: [EnvelopeShard] = []
      for k in 0..<(bounds.count - 1) where bounds[k] < bounds[k + 1] {
        shards.append(EnvelopeShard(arrivals: Array(t[bounds[k]..<bounds[k + 1]]), windowSizes: sizes))
      }
      var merged = shards[0]
      for s in shards.dropFirst() { merged = try EnvelopeShard.merge(merged, s) }
      #expect(merged == whole)
    }
  }

  @Test func mergingRefusesOverlapAndDifferentSizes() {
    let a = EnvelopeShard(arrivals: [0, 10, 20], windowSizes: [5])
    let b = EnvelopeShard(arrivals: [15, 30], windowSizes: [5])
    #expect(throws: InputError.self) { try EnvelopeShard.merge(a, b) }
    let c = EnvelopeShard(arrivals: [30], windowSizes: [6])
    #expect(throws: InputError.self) { try EnvelopeShard.merge(a, c) }
  }

  @Test func windowSizeLists() {
    #expect(WindowSizes.doubling(from: 10, to: 100) == [10, 20, 40, 80, 100])
    #expect(WindowSizes.doubling(from: 5_000_000).last == 60 * second)
    let log = WindowSizes.logSpaced(from: 1_000_000, to: 60 * second, count: 30)
    #expect(log.first == 1_000_000 && log.last == 60 * second && log == log.sorted() && Set(log).count == log.count)
  }

  // MARK: Service curves and bounds

  @Test func stageCurveAndConcatenation() {
    let stage = RateLatencyCurve.stage(replicas: 3, batchSize: 8, batchLatency: 0.02)
    #expect(abs(stage.rate - 1200) < 1e-9 && abs(stage.latency - 0.04) < 1e-12)
    let path = RateLatencyCurve.concatenation([stage, RateLatencyCurve(rate: 500, latency: 0.01)])
    #expect(path.rate == 500 && abs(path.latency - 0.05) < 1e-12)
  }

  @Test func singleTokenBucketGivesTheTextbookBounds() {
    let curve = TokenBucketCurve(buckets: [TokenBucket(rate: 100, burst: 20)])
    let service = RateLatencyCurve(rate: 400, latency: 0.03)
    let bound = NetworkCalculusBound(arrivals: curve, service: service, scope: .wholeTrace)
    #expect(abs(bound.delay - (0.03 + 20.0 / 400)) < 1e-12)
    #expect(abs(bound.backlog - (20 + 100 * 0.03)) < 1e-12)
    let overloaded = NetworkCalculusBound(
      arrivals: TokenBucketCurve(buckets: [TokenBucket(rate: 500, burst: 1)]), service: service, scope: .wholeTrace)
    #expect(overloaded.delay == .infinity && overloaded.backlog == .infinity)
  }

  @Test func aFamilyIsBoundedAtItsKink() {
    // min(2 + 1000 D, 50 + 10 D): kink where 2 + 1000 D = 50 + 10 D, D = 48 / 990.
    let curve = TokenBucketCurve(buckets: [TokenBucket(rate: 1000, burst: 2), TokenBucket(rate: 10, burst: 50)])
    let pieces = curve.pieces
    #expect(pieces.count == 2 && pieces[0].bucket.rate == 1000 && abs(pieces[1].start - 48.0 / 990) < 1e-12)
    let service = RateLatencyCurve(rate: 100, latency: 0.01)
    let bound = NetworkCalculusBound(arrivals: curve, service: service, scope: .stageArrivals)
    let kink = 48.0 / 990
    let expected = 0.01 + curve.bound(seconds: kink) / 100 - kink
    #expect(abs(bound.delay - expected) < 1e-12)
    // The single bucket with the lower rate alone gives a looser bound.
    #expect(bound.delay <= 0.01 + 50.0 / 100)
    #expect(bound.scope == .stageArrivals)
  }

  /// An independent check: one replica serving one query at a time for `L` seconds (a FIFO queue computed with
  /// Lindley's recursion) never keeps a query longer than the network-calculus bound with R = 1 / L, T = 2 L.
  @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
  func boundIsNeverBelowASimulatedMaximum(seed: UInt64) {
    let service = 0.004  // 4 ms: 250 q/s capacity
    for process in [
      ArrivalProcess.poisson(rate: 200), .gamma(rate: 180, cv: 3),
      .spikes(rate: 120, multiplier: 2, count: 3, duration: 2),
    ] {
      let t = TraceGenerator.arrivals(process, duration: 120, start: 0, seed: seed)
      let serviceNs = Int64(service * 1e9)
      var free: Int64 = 0
      var worst: Int64 = 0
      for a in t {
        let finish = max(free, a) + serviceNs
        worst = max(worst, finish - a)
        free = finish
      }
      let curve = TokenBucketCurve(arrivals: t, rates: TokenBucketCurve.defaultRates(t, shortestWindow: serviceNs))
      let bound = NetworkCalculusBound(
        arrivals: curve, service: .stage(replicas: 1, batchSize: 1, batchLatency: service), scope: .wholeTrace)
      #expect(bound.delay.isFinite)
      #expect(Double(worst) / 1e9 <= bound.delay + 1e-9, "\(process): simulated \(worst) ns, bound \(bound.delay) s")
    }
  }
}
