import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// Stage outputs shared between the oracle's checks (`StageOutputCache`): the same answers as simulating every
/// stage of every check, and the same plans, on a DAG with a join and on chains; and stages are handed on.
@Suite struct StageOutputCacheTests {
  static func instances() -> [(String, SmallInstance, Double)] {
    [
      ("join 1", RouteFloorTests.join(seed: 1, sloMs: 40), 40),
      ("join 2", RouteFloorTests.join(seed: 2, sloMs: 25), 25),
      ("chain 3", SmallInstance(seed: 3, stages: 3, hardware: 2), 0),
      ("chain 4", SmallInstance(seed: 4, stages: 3, hardware: 3), 0),
    ]
  }

  /// Every configuration (in a shuffled order, one at a time, so that checks find earlier runs to share), each
  /// answer against a fresh oracle that simulates every stage: equal (verdict, percentile, bound).
  @Test func answersEqualThoseOfSimulatingEveryStage() throws {
    var handedOn = 0
    for (name, instance, slo) in Self.instances() {
      let sloMs = slo > 0 ? slo : nil
      let sharing = FeasibilityOracle(
        model: instance.model, arrivals: instance.arrivals, seed: 7, sloMs: sloMs, sharesStageOutputs: true)
      let every = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7, sloMs: sloMs)
      var rng = SeededGenerator(seed: 99)
      let configurations = instance.everyConfiguration(replicas: 2).shuffled(using: &rng)
      var feasible = 0
      for c in configurations {
        let answer = sharing.evaluate(c)
        #expect(answer == every.evaluate(c), "\(name): \(c.stages)")
        if answer.feasible { feasible += 1 }
      }
      #expect(feasible > 0 && feasible < configurations.count, "\(name): both verdicts occur")
      #expect(every.stageCounts.replayed == 0)
      handedOn += sharing.stageCounts.replayed
      print(
        "\(name): \(sharing.stageCounts.replayed) of \(sharing.stageCounts.replayed + sharing.stageCounts.simulated) stages handed on"
      )
    }
    #expect(handedOn > 50)
  }

  /// Greedy and the search with and without sharing: the same plans, steps and proofs.
  @Test func plansEqualThoseOfSimulatingEveryStage() throws {
    for (name, instance, slo) in Self.instances() {
      let sloMs = slo > 0 ? slo : nil
      func planner(_ sharing: Bool) -> Planner {
        Planner(
          oracle: FeasibilityOracle(
            model: instance.model, arrivals: instance.arrivals, seed: 7, sloMs: sloMs, sharesStageOutputs: sharing))
      }
      let (a, b) = (planner(true), planner(false))
      let greedy = (a.greedy(), b.greedy())
      #expect((try? greedy.0.get().configuration) == (try? greedy.1.get().configuration), "\(name)")
      #expect((try? greedy.0.get().steps) == (try? greedy.1.get().steps), "\(name)")
      let optimal = (a.optimal(), b.optimal())
      #expect((try? optimal.0.get().configuration) == (try? optimal.1.get().configuration), "\(name)")
      #expect((try? optimal.0.get().provenOptimal) == (try? optimal.1.get().provenOptimal), "\(name)")
    }
  }
}
