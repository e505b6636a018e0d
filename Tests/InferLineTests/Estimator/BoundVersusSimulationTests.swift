import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// The network-calculus delay bound is a worst case: on seeded traces and random configurations it is never
/// below the simulator's maximum latency. (A violation would be a bug in the bound or in the simulator.)
@Suite struct BoundVersusSimulationTests {
  @Test func boundIsNeverBelowTheSimulatedMaximum() {
    var rng = SeededGenerator(seed: 2026)
    var checked = 0
    for trial in 0..<120 {
      let stages = Int(rng.next() % 2) + 1
      let hopMs = stages > 1 ? Double(rng.next() % 3) : 0
      var services: [StageService] = []
      var curves: [RateLatencyCurve] = []
      for _ in 0..<stages {
        let b = Int(rng.next() % 8) + 1
        let k = Int(rng.next() % 3) + 1
        let fixed = Double(rng.next() % 5 + 1), perItem = Double(rng.next() % 3 + 1) * 0.5
        let table = (1...b).map { Int64((fixed + perItem * Double($0)) * 1e6) }  // L(n) grows with n
        services.append(StageService(batchSize: b, replicas: k, latencyTable: table))
        curves.append(.stage(replicas: k, batchSize: b, batchLatency: Double(table[b - 1]) / 1e9))
      }
      let path = RateLatencyCurve.concatenation(curves)
      let service = RateLatencyCurve(rate: path.rate, latency: path.latency + Double(stages - 1) * hopMs / 1000)
      // Traffic at 30% to 90% of the path's rate, bursty or not.
      let rate = path.rate * (0.3 + Double(rng.next() % 7) / 10)
      let process: ArrivalProcess = trial % 2 == 0 ? .poisson(rate: rate) : .gamma(rate: rate, cv: 2.5)
      let arrivals = TraceGenerator.arrivals(process, duration: 15, start: 0, seed: UInt64(trial))
      guard arrivals.count > 10 else { continue }
      let input = SimulationInput(
        arrivals: arrivals, stageCount: stages, edges: stages > 1 ? [(0, 1)] : [],
        edgeProbabilities: stages > 1 ? [1] : [], stages: services, hopDelay: Int64(hopMs * 1e6), slo: .max)
      let simulated =
        Double(Estimator.simulate(input, options: .init(collectWaitPercentiles: false)).summary!.max) / 1e9
      let smallest = Int64(1e6)
      let curve = TokenBucketCurve(
        arrivals: arrivals, rates: TokenBucketCurve.defaultRates(arrivals, shortestWindow: smallest) + [rate])
      let bound = NetworkCalculusBound(arrivals: curve, service: service, scope: .wholeTrace)
      #expect(bound.delay.isFinite)
      #expect(
        simulated <= bound.delay + 1e-9, "trial \(trial): simulated \(simulated) s above the bound \(bound.delay) s")
      checked += 1
    }
    #expect(checked > 100)
  }
}
