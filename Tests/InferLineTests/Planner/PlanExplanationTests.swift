import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

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

@Suite struct DescentTests {
  /// A search stopped after a handful of simulations leaves an unproven plan; the descent from it only takes
  /// steps the oracle shows feasible, never ends dearer, never below the exhaustive optimum (and at it when it
  /// claims a proof), and stops where no step cheaper meets the SLO.
  @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
  func descentFromAnUnprovenPlanIsSoundAndLocallyCheapest(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 2, hardware: 3)
    let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 1)
    let planner = Planner(oracle: oracle)
    guard case .success(let best) = planner.optimal(budget: .standard), best.provenOptimal == true else { return }
    // An unproven starting point: the greedy plan, marked so, with a trivial bound.
    guard case .success(var start) = planner.greedy() else { return }
    start.provenOptimal = false
    start.lowerBoundPerHour = 0.01
    // Add a replica everywhere so there is room to descend.
    var roomy = start.configuration
    for i in roomy.stages.indices { roomy.stages[i].replicas += 1 }
    start.configuration = roomy
    start.costPerHour = instance.model.cost(roomy)
    let end = planner.descend(from: start)
    #expect(end.costPerHour < start.costPerHour - 1e-12, "the added replicas come off")
    #expect(end.costPerHour >= best.costPerHour - 1e-9, "never below the proven optimum")
    #expect(oracle.evaluate(end.configuration).feasible)
    for (_, _, cheaper) in planner.cheaperNeighbours(end.configuration) {
      #expect(!oracle.evaluate(cheaper).feasible, "a cheaper step still meets the SLO")
    }
    if end.provenOptimal == true { #expect(abs(end.costPerHour - best.costPerHour) < 1e-9) }
    #expect(end.steps.count >= start.steps.count)
  }
}

extension SmallInstance {
  /// The same instance with its first edge's probability set to `p` (for the escalation what-if).
  init(_ other: SmallInstance, firstEdgeProbability p: Double) {
    var inputs = other.inputs
    inputs.pipeline.edges[0].probability = p
    self.inputs = inputs
    model = PipelineModel(inputs)
    arrivals = other.arrivals
  }
}

@Suite struct EscalationSweepTests {
  /// Each point of the sweep is the cheapest plan at that probability: against exhaustive enumeration on small
  /// two-stage instances, with the routes drawn with the same seed.
  @Test(arguments: [1, 2, 3] as [UInt64])
  func eachProbabilityGetsTheExhaustiveOptimum(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 2, hardware: 2)
    let spec = instance.inputs.pipeline
    let request = EscalationSweep.Request(
      parent: spec.stages[spec.edges[0].parent].name, child: spec.stages[spec.edges[0].child].name,
      probabilities: [0, 0.3, 0.7, 1])
    let sweep = try EscalationSweep.run(
      request, model: instance.model, arrivals: instance.arrivals, seed: 7, budget: .standard)
    #expect(sweep.current == spec.edges[0].probability)
    for point in sweep.points {
      let brute = SmallInstance(instance, firstEdgeProbability: point.probability).bruteForce()
      #expect(point.costPerHour == brute, "p = \(point.probability): \(point.costPerHour ?? -1) vs \(brute ?? -1)")
      if point.costPerHour != nil {
        #expect(point.provenOptimal == true)
        #expect((point.percentileLatencyMs ?? .infinity) <= Double(instance.model.slo) / 1e6)
      }
    }
  }

  @Test func aBadEdgeOrProbabilityIsRefusedWithTheForm() throws {
    #expect(try EscalationSweep.Request.parse("cheap -> expensive = 0.1, 0.5").probabilities == [0.1, 0.5])
    for bad in ["cheap = 0.1", "cheap -> expensive", "a -> b = 1.5", "a -> b = x", "-> b = 0.1"] {
      #expect(throws: InputError.self, "\(bad)") { try EscalationSweep.Request.parse(bad) }
    }
    let instance = SmallInstance(seed: 1, stages: 2)
    #expect {
      try EscalationSweep.run(
        .init(parent: "s1", child: "s0", probabilities: [0.5]), model: instance.model, arrivals: instance.arrivals,
        seed: 7, budget: .standard)
    } throws: { ($0 as? InputError)?.description.contains("name one of its edges: s0 -> s1") == true }
  }
}
