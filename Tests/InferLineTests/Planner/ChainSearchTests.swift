import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// The chain search (`ChainSearch`): a prefix's simulation, stage by stage, is the whole pipeline's simulation; its
/// bound is never above the cheapest feasible configuration with the prefix; its answer is brute force's.
@Suite struct ChainSearchTests {
  /// Every configuration's stages, as the planner lists them, for a small instance.
  static func search(
    _ instance: SmallInstance, sloMs: Double? = nil
  ) -> (
    oracle: FeasibilityOracle, options: [[Planner.StageOption]], chain: ChainSearch
  ) {
    let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7, sloMs: sloMs)
    let options = Planner(oracle: oracle).stageOptions()
    let chain = ChainSearch(
      model: instance.model, options: options, arrivals: instance.arrivals, masks: oracle.burstMasks, slo: oracle.slo)!
    return (oracle, options, chain)
  }

  /// Stage by stage from the trace, each stage simulated alone on what its prefix leaves, gives every query's
  /// arrival at the next stage as the whole pipeline's simulation finishes it there (plus the hop), in the order
  /// that simulation creates them, and the same misses. Chains with conditional edges and delays by edge.
  @Test(arguments: [3, 8, 21] as [UInt64])
  func aPrefixSimulatedStageByStageIsTheWholeSimulation(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 3, hardware: 2, sloMs: 30, edgeDelaysMs: [0.5, 3])
    let (oracle, options, chain) = Self.search(instance)
    var rng = SeededGenerator(seed: seed)
    let routes: RouteSource = oracle.burstMasks.map { .given($0) } ?? .drawn(seed: 7)
    for _ in 0..<25 {
      let picks = options.map { Int(rng.next() % UInt64($0.count)) }
      let configuration = PipelineConfiguration(
        stages: picks.enumerated().map { options[$0.offset][$0.element].configuration })
      let input = try instance.model.simulationInput(
        arrivals: instance.arrivals, configuration: configuration, routes: routes, slo: oracle.slo)
      let whole = Estimator.simulate(input, options: .init(collectWaitPercentiles: false, recordStageFinishes: true))
      let finishes = try #require(whole.stageFinishes)
      let n = instance.arrivals.count
      var output = ChainSearch.StageOutput(times: instance.arrivals, queries: nil, endedMisses: 0)
      for (m, i) in picks.enumerated() {
        output = chain.advance(output, stage: m, option: i)
        guard m + 1 < picks.count else { break }
        let hop = instance.model.delay(instance.model.incoming[m + 1][0])
        let queries = try #require(output.queries)
        let reaching = (0..<n).filter { finishes[(m + 1) * n + $0] != .min }
        #expect(Set(queries.map(Int.init)) == Set(reaching), "seed \(seed): who reaches stage \(m + 1)")
        for (p, q) in queries.enumerated() {
          #expect(output.times[p] == finishes[m * n + Int(q)] + hop)
        }
        #expect(zip(output.times, output.times.dropFirst()).allSatisfy { $0 <= $1 })
      }
      #expect(output.endedMisses == whole.misses, "seed \(seed): \(configuration)")
    }
  }

  /// The bound a prefix is searched under (its cost plus the cheapest completion that could still meet the SLO)
  /// is never above the cheapest configuration with that prefix that a full simulation finds feasible; and it
  /// rules out some prefix that has a feasible configuration cheaper than its bound's would-be completions.
  @Test(arguments: [2, 6, 13] as [UInt64])
  func aPrefixBoundIsNeverAboveItsCheapestFeasibleCompletion(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 3, hardware: 2, maxReplicas: 3)
    // Tight: 1.6 times the latency floor.
    let (oracle, options, chain) = Self.search(
      instance, sloMs: 1.6 * Milliseconds.of(instance.model.latencyFloor.nanoseconds))
    let routes: RouteSource = oracle.burstMasks.map { .given($0) } ?? .drawn(seed: 7)
    // The cheapest feasible configuration (full simulation, no screen) by first stage's option, and overall.
    var cheapest = [Double](repeating: .infinity, count: options[0].count)
    for i in options[0].indices {
      for j in options[1].indices {
        for k in options[2].indices {
          let cost = options[0][i].costPerHour + options[1][j].costPerHour + options[2][k].costPerHour
          guard cost < cheapest[i] else { continue }
          let c = PipelineConfiguration(stages: [
            options[0][i].configuration, options[1][j].configuration, options[2][k].configuration,
          ])
          let input = try instance.model.simulationInput(
            arrivals: instance.arrivals, configuration: c, routes: routes, slo: oracle.slo)
          if Estimator.simulate(input, options: .init(collectWaitPercentiles: false)).feasible { cheapest[i] = cost }
        }
      }
    }
    var tight = 0
    for i in options[0].indices {
      let output = chain.advance(
        ChainSearch.StageOutput(times: instance.arrivals, queries: nil, endedMisses: 0), stage: 0, option: i)
      let groups = chain.timesSoFar(output, at: 1)
      // Stage 1's options, each with the cheapest completion of stage 2 that could still meet the SLO.
      var bound = Double.infinity
      for j in options[1].indices {
        guard
          let after = chain.cheapestCompletion(
            after: 1, first: chain.fastest[1][j], groups: groups, endedMisses: output.endedMisses)
        else { continue }
        bound = min(bound, options[0][i].costPerHour + options[1][j].costPerHour + after)
      }
      #expect(bound <= cheapest[i] + 1e-9, "seed \(seed): option \(i) bound \(bound), cheapest \(cheapest[i])")
      if bound > options[0][i].costPerHour + options[1].map(\.costPerHour).min()! + options[2].map(\.costPerHour).min()!
        + 1e-9
      {
        tight += 1
      }
    }
    #expect(tight > 0, "seed \(seed): the bound never rose above the cheapest options' sum")
  }

  /// The search's answer is brute force's on three-stage chains from tight to loose SLOs, proven; and with a
  /// budget too small to prove it, its lower bound is never above the optimum.
  @Test(arguments: [1, 4, 9, 15] as [UInt64])
  func theChainSearchFindsBruteForcesOptimum(seed: UInt64) {
    let base = SmallInstance(seed: seed, stages: 3, hardware: 2, maxReplicas: 3, edgeDelaysMs: [1, 0.5])
    for factor in [0.6, 1.0, 1.8] {
      let slo = base.inputs.pipeline.slo.latencyMs * factor
      let brute = base.bruteForce(sloMs: slo)
      switch base.planner(sloMs: slo).optimal() {
      case .success(let plan):
        #expect(plan.provenOptimal == true)
        #expect(abs(plan.costPerHour - (brute ?? -1)) < 1e-9, "seed \(seed) x\(factor): brute \(brute ?? -1)")
      case .failure(let why):
        #expect(why.proven && brute == nil, "seed \(seed) x\(factor): brute \(brute ?? -1); \(why)")
      }
      guard let brute else { continue }
      switch base.planner(sloMs: slo).optimal(budget: SearchBudget(simulations: 4)) {
      case .success(let plan):
        #expect((plan.lowerBoundPerHour ?? 0) <= brute + 1e-9, "seed \(seed) x\(factor)")
        #expect(plan.costPerHour >= brute - 1e-9)
      case .failure(let why):
        #expect((why.lowerBoundPerHour ?? 0) <= brute + 1e-9, "seed \(seed) x\(factor)")
      }
    }
  }
}
