import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// `--robust N`: a window planned against tonight's arrivals and the same window on earlier nights meets the SLO on
/// every one of them (each simulated in full), is never cheaper than the exhaustive optimum of the combined
/// requirement, equals it wherever it says it is proven, and its lower bound is never above it.
@Suite struct RobustPlanningTests {
  @Test(arguments: Array(1...8) as [UInt64])
  func aRobustPlanMeetsEveryNightAndIsTheCombinedOptimumWhenProven(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 2)
    let earlier = [(120.0, 11), (190.0, 12)].map { rate, s in
      TraceGenerator.arrivals(.gamma(rate: rate, cv: 2), duration: 8, start: 0, seed: seed * 100 + UInt64(s))
    }
    let window = WorkloadWindow(start: 0, length: 8_000_000_000, range: 0..<instance.arrivals.count)
    let plan = WindowPlanning.plan(
      model: instance.model, window: window, arrivals: instance.arrivals, seed: 7, budget: .standard,
      baselines: false, attainable: false, earlier: earlier)
    let optimum = instance.bruteForce(allOf: [instance.arrivals] + earlier)
    guard let r = plan.recommended else {
      #expect(optimum == nil, "seed \(seed): no robust plan, but \(optimum!) meets every night")
      return
    }
    let best = try! #require(optimum, "seed \(seed): a robust plan where exhaustive search finds none")
    for set in [instance.arrivals] + earlier {
      #expect(instance.fullySimulatedFeasible(r.configuration, on: set), "seed \(seed): misses a night")
    }
    #expect(r.costPerHour >= best - 1e-9)
    #expect((r.lowerBoundPerHour ?? 0) <= best + 1e-9)
    if r.provenOptimal == true { #expect(abs(r.costPerHour - best) < 1e-9, "seed \(seed)") }
    #expect(r.method.hasPrefix("robust over 2 earlier nights"))
  }

  /// The proof is not vacuous: most instances are proven.
  @Test func mostRobustPlansAreProven() {
    var proven = 0
    for seed in UInt64(1)...8 {
      let instance = SmallInstance(seed: seed, stages: 2)
      let earlier = [TraceGenerator.arrivals(.gamma(rate: 170, cv: 2), duration: 8, start: 0, seed: seed + 50)]
      let plan = WindowPlanning.plan(
        model: instance.model,
        window: WorkloadWindow(start: 0, length: 8_000_000_000, range: 0..<instance.arrivals.count),
        arrivals: instance.arrivals, seed: 7, budget: .standard, baselines: false, attainable: false, earlier: earlier)
      if plan.recommended?.provenOptimal == true { proven += 1 }
    }
    #expect(proven >= 4, "\(proven) of 8 proven")
  }
}
