import Foundation
import Testing

@testable import InferLine

@Suite struct PlanExplanationTests {
  /// On a proven-optimal plan every cheaper step misses the SLO (each is a cheaper configuration of the search
  /// space, and none of those meets it), and the binding stage takes the largest share of the SLO.
  @Test(arguments: [1, 2, 3, 4] as [UInt64])
  func everyCheaperStepOfAProvenPlanMissesTheSLO(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 2, hardware: 3)
    let planner = Planner(oracle: FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 1))
    guard case .success(let plan) = planner.optimal(budget: .standard), plan.provenOptimal == true else {
      Issue.record("seed \(seed): no proven plan")
      return
    }
    let e = try PlanExplanation.explain(
      model: instance.model, configuration: plan.configuration, arrivals: instance.arrivals, seed: 1)
    #expect(e.stages.count == 2)
    for step in e.cheaper {
      #expect(step.costPerHour < plan.costPerHour - 1e-12, "\(step.change) is cheaper")
      #expect(!step.meetsSLO, "\(step.change) at \(step.percentileLatencyMs) ms")
      #expect(step.percentileLatencyMs > Double(instance.model.slo) / 1e6)
    }
    let binding = try #require(e.stages.first { $0.name == e.bindingStage })
    #expect(e.stages.allSatisfy { $0.sloShare <= binding.sloShare })
  }

  /// One stage at batch 1, Poisson arrivals: the busy fraction is the offered load `lambda L / k` (the
  /// utilisation law), and the tail's share of the SLO is the P99 wait plus the service time over the SLO.
  @Test func utilisationIsTheOfferedLoad() throws {
    let stage = OneStage()
    let model = PipelineModel(stage.inputs)
    let arrivals = TraceGenerator.arrivals(.poisson(rate: 120), duration: 600, start: 0, seed: 3)
    let configuration = PipelineConfiguration(stages: [.init(hardware: "G", batchSize: 1, replicas: 2)])
    let e = try PlanExplanation.explain(model: model, configuration: configuration, arrivals: arrivals, seed: 1)
    let rate = Double(arrivals.count) / 600
    #expect(abs(e.stages[0].utilisation - rate * 0.010 / 2) < 0.02, "\(e.stages[0].utilisation)")
    #expect(e.stages[0].batchLatencyMs == 10)
    #expect(abs(e.stages[0].sloShare - (e.stages[0].p99WaitMs + 10) / 100) < 1e-12)
    // Its cheaper step is a replica fewer: one replica at 120 q/s of a 100 q/s capacity never catches up.
    #expect(e.cheaper.map(\.change) == ["m: G b1 x2 -> x1"])
    #expect(e.cheaper[0].meetsSLO == false && e.cheaper[0].costPerHour == 1)
  }

  /// At one replica the cheaper step is the dearest cheaper hardware, at the largest batch it profiles up to the
  /// plan's; at the cheapest hardware there is none.
  @Test func cheaperStepsAtOneReplica() {
    let model = PipelineModel(OneStage().inputs)
    let onG = PipelineConfiguration(stages: [.init(hardware: "G", batchSize: 4, replicas: 1)])
    let step = PlanExplanation.cheaperStep(model: model, onG, stage: 0)
    #expect(step?.1.stages[0] == StageConfiguration(hardware: "C", batchSize: 1, replicas: 1))
    let onC = PipelineConfiguration(stages: [.init(hardware: "C", batchSize: 1, replicas: 1)])
    #expect(PlanExplanation.cheaperStep(model: model, onC, stage: 0) == nil)
  }
}
