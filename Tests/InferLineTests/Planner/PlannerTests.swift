import Foundation
import Testing

@testable import InferLine

/// Small random planning instances: 2-3 stages, 2-3 hardware types, a few batch sizes, replica limits.
struct SmallInstance {
  let folder = TemporaryFolder()
  let inputs: PlanningInputs
  let arrivals: [Int64]

  init(seed: UInt64, stages: Int, hardware: Int = 2, sloMs: Double? = nil, rate: Double = 150, maxReplicas: Int = 3) {
    var rng = SeededGenerator(seed: seed)
    let names = (0..<stages).map { "s\($0)" }
    var edges: [String] = []
    for i in 1..<stages {
      let p = [1.0, 0.5, 0.8][Int(rng.next() % 3)]
      edges.append("  s\(i - 1) -> s\(i): \(p)")
    }
    let slo = sloMs ?? Double(20 + rng.next() % 40)
    let pipeline = "name: small\nslo: {latency_ms: \(slo)}\nstages:\n"
      + names.map { "  - {name: \($0), model: m\($0)}\n" }.joined() + (edges.isEmpty ? "" : "edges:\n" + edges.joined(separator: "\n") + "\n")
    let types = (0..<hardware).map { "h\($0)" }
    var catalog = "hardware:\n"
    for (k, t) in types.enumerated() {
      catalog += "  - {type: \(t), price_per_hour: \(Double(k + 1) * 0.5 + Double(rng.next() % 10) / 10), max_replicas: \(maxReplicas)}\n"
    }
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for n in names {
      for (k, t) in types.enumerated() {
        // Faster hardware costs more: fixed and per-item costs fall with k.
        let fixed = Double(rng.next() % 4 + 2) / Double(k + 1), per = Double(rng.next() % 3 + 1) / Double(k + 1)
        for b in [1, 2, 4] { profiles += "m\(n),\(t),\(b),\(String(format: "%.3f", fixed + per * Double(b))),p99\n" }
      }
    }
    inputs = try! PlanningInputs.load(
      pipeline: folder.write("p.yaml", pipeline), hardware: folder.write("h.yaml", catalog), profiles: folder.write("f.csv", profiles))
    arrivals = TraceGenerator.arrivals(.gamma(rate: rate, cv: 1.5), duration: 8, start: 0, seed: seed)
  }

  func planner(sloMs: Double? = nil) -> Planner {
    Planner(oracle: FeasibilityOracle(inputs: inputs, arrivals: arrivals, seed: 7, sloMs: sloMs))
  }
}

@Suite struct PlannerTests {
  @Test(arguments: Array(1...12) as [UInt64])
  func exactEqualsBruteForceAndGreedyIsNeverCheaper(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 2)
    let planner = instance.planner()
    let brute = planner.bruteForce()
    switch planner.exact() {
    case .success(let exact):
      let b = try! #require(brute)
      #expect(abs(exact.costPerHour - b.cost) < 1e-9, "seed \(seed): exact \(exact.costPerHour), brute force \(b.cost)")
      // The exact plan really is feasible by a full simulation.
      var input = try! SimulationInput(arrivals: instance.arrivals, inputs: instance.inputs, configuration: exact.configuration, routes: .drawn(seed: 7))
      input.slo = planner.oracle.slo
      #expect(Estimator.simulate(input).feasible)
      switch planner.greedy() {
      case .success(let greedy):
        #expect(greedy.costPerHour >= exact.costPerHour - 1e-9)
        var g = try! SimulationInput(arrivals: instance.arrivals, inputs: instance.inputs, configuration: greedy.configuration, routes: .drawn(seed: 7))
        g.slo = planner.oracle.slo
        #expect(Estimator.simulate(g).feasible)
        #expect(greedy.steps.first?.action == .initialise)
        #expect(zip(greedy.steps.dropFirst(2), greedy.steps.dropFirst(3)).allSatisfy { $0.costPerHour >= $1.costPerHour - 1e-9 || $0.action == .addReplica })
      case .failure(let why):
        Issue.record("seed \(seed): exact found a plan, greedy did not: \(why)")
      }
      // Every baseline that meets the SLO costs at least the optimum.
      for baseline in planner.coarseGrainedBaselines() where baseline.feasible {
        #expect(baseline.costPerHour >= exact.costPerHour - 1e-9, "\(baseline.name)")
      }
    case .failure:
      #expect(brute == nil, "seed \(seed): brute force found a plan the exact search did not")
    }
  }

  @Test(arguments: [101, 102] as [UInt64])
  func exactEqualsBruteForceOnThreeStages(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 3, hardware: 2, maxReplicas: 2)
    let planner = instance.planner()
    let brute = planner.bruteForce()
    if case .success(let exact) = planner.exact() {
      #expect(abs(exact.costPerHour - brute!.cost) < 1e-9)
    } else {
      #expect(brute == nil)
    }
  }

  @Test func anSLOBelowTheCriticalPathIsExplained() {
    let instance = SmallInstance(seed: 3, stages: 2, sloMs: 0.5)
    guard case .failure(let why) = instance.planner(sloMs: 0.5).greedy() else {
      Issue.record("a 0.5 ms SLO cannot be met")
      return
    }
    #expect(why.reason.contains("critical path") && why.reason.contains("against an SLO of 0.50 ms"))
    let attainable = Planner.attainableSLO(inputs: instance.inputs, arrivals: instance.arrivals, seed: 7, sloMs: 0.5)
    #expect(attainable == nil || attainable! > 0.5)
  }

  @Test func replicaLimitsThatCannotCarryThePeakAreExplained() {
    // Far more traffic than three replicas of anything can serve.
    let instance = SmallInstance(seed: 4, stages: 2, sloMs: 200, rate: 20_000, maxReplicas: 3)
    guard case .failure(let why) = instance.planner().greedy() else {
      Issue.record("20,000 q/s cannot fit in three replicas")
      return
    }
    #expect(why.reason.contains("replica limits cannot carry the peak"))
  }

  @Test func planningIsDeterministic() {
    let instance = SmallInstance(seed: 5, stages: 3, hardware: 3)
    let a = instance.planner().greedy(), b = instance.planner().greedy()
    #expect(try! a.get().configuration == b.get().configuration)
    #expect(try! a.get().steps == b.get().steps)
  }

  @Test func parallelAnswersEqualSerialAnswers() {
    let instance = SmallInstance(seed: 6, stages: 2)
    let planner = instance.planner()
    let configs = planner.stageOptions()[0].prefix(6).flatMap { a in
      planner.stageOptions()[1].prefix(4).map { PipelineConfiguration(stages: [a.configuration, $0.configuration]) }
    }
    let fresh = FeasibilityOracle(inputs: instance.inputs, arrivals: instance.arrivals, seed: 7)
    let parallel = fresh.evaluate(configs)
    let serial = configs.map { FeasibilityOracle(inputs: instance.inputs, arrivals: instance.arrivals, seed: 7).evaluate($0) }
    #expect(parallel == serial)
  }

  @Test func theBoundOnlyAcceptsWhatSimulationConfirms() {
    // Generous configurations: where the network-calculus screen says feasible, a full simulation agrees.
    var accepted = 0
    for seed in [1, 2, 3] as [UInt64] {
      let instance = SmallInstance(seed: seed, stages: 2, sloMs: 400, rate: 50)
      let oracle = FeasibilityOracle(inputs: instance.inputs, arrivals: instance.arrivals, seed: 7)
      let planner = Planner(oracle: oracle)
      for a in planner.stageOptions()[0].prefix(10) {
        let config = PipelineConfiguration(stages: [a.configuration, planner.stageOptions()[1].last!.configuration])
        let answer = oracle.evaluate(config)
        guard answer.bound != nil else { continue }
        var input = try! SimulationInput(arrivals: instance.arrivals, inputs: instance.inputs, configuration: config, routes: .drawn(seed: 7))
        input.slo = oracle.slo
        let result = Estimator.simulate(input)
        #expect(result.feasible)
        #expect(Double(result.summary!.max) / 1e9 <= answer.bound! + 1e-9)
        accepted += 1
      }
    }
    #expect(accepted > 5)
  }

  @Test func frontierCostFallsAsTheSLOLoosens() {
    let instance = SmallInstance(seed: 8, stages: 2, sloMs: 30)
    let points = Planner.frontier(inputs: instance.inputs, arrivals: instance.arrivals, seed: 7, multipliers: [0.75, 1, 2, 4])
    let costs = points.compactMap(\.costPerHour)
    #expect(!costs.isEmpty)
    #expect(zip(costs, costs.dropFirst()).allSatisfy { $0 >= $1 - 1e-9 })
  }
}
