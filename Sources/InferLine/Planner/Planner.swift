import Dispatch
import Foundation
import HeapModule

/// One step of the greedy planner, so a report can show how it reached its plan.
public struct PlanStep: Sendable, Equatable, Codable {
  public enum Action: String, Sendable, Codable {
    case initialise, addReplica = "add-replica", increaseBatch = "increase-batch", removeReplica = "remove-replica"
    case downgradeHardware = "downgrade-hardware"
  }
  public var action: Action
  public var stage: String?
  public var costPerHour: Double
  /// The SLO percentile of end-to-end latency after the step, milliseconds, when a simulation measured it.
  public var percentileLatencyMs: Double?
  public var feasible: Bool
}

/// The cheapest configuration found for a window.
public struct Plan: Sendable, Equatable, Codable {
  public var method: String
  public var configuration: PipelineConfiguration
  public var costPerHour: Double
  public var percentileLatencyMs: Double?
  /// The network-calculus worst case, milliseconds, when the bound alone showed the plan feasible.
  public var boundMs: Double?
  public var steps: [PlanStep]
  public var counts: FeasibilityOracle.Counts
}

/// Why no configuration meets the SLO, and what SLO could be met.
public struct Unattainable: Error, Sendable, Equatable, Codable, CustomStringConvertible {
  public var reason: String
  /// An SLO (milliseconds) that a plan was found for, when one was searched.
  public var attainableSLOMs: Double?
  public var description: String {
    reason + (attainableSLOMs.map { String(format: "; an SLO of %.1f ms can be met", $0) } ?? "")
  }
}

/// Finds the cheapest configuration whose SLO percentile of end-to-end latency, simulated on a window's trace,
/// is within the SLO.
public struct Planner: Sendable {
  public let inputs: PlanningInputs
  public let oracle: FeasibilityOracle

  public init(oracle: FeasibilityOracle) {
    self.oracle = oracle
    inputs = oracle.inputs
  }

  var pipeline: PipelineSpec { inputs.pipeline }

  func cost(_ c: PipelineConfiguration) -> Double { (try? c.costPerHour(inputs.catalog)) ?? .infinity }

  func latency(_ stage: Int, _ hardware: String, _ batch: Int) -> Int64? {
    inputs.profiles.profile(model: pipeline.stages[stage].model, hardware: hardware)?.latency(batch: batch)
  }

  func maxReplicas(_ hardware: String) -> Int { inputs.catalog.hardware(type: hardware)?.maxReplicas ?? 512 }

  /// Fewest replicas whose capacity covers the stage's share of the mean rate (a necessary condition).
  func minimumReplicas(stage: Int, hardware: String, batch: Int) -> Int {
    guard let l = latency(stage, hardware, batch) else { return 1 }
    let needed = oracle.meanRate * oracle.scaleFactors[stage] * (Double(l) / 1e9) / Double(batch)
    return max(1, Int(needed.rounded(.up)))
  }

  // MARK: - Greedy (after InferLine)

  /// InferLine's greedy planner: start on the fastest hardware at batch 1, add replicas at the bottleneck until
  /// feasible, then take the cheapest feasible of increase-batch, remove-replica and downgrade-hardware until none
  /// lowers the cost.
  public func greedy() -> Result<Plan, Unattainable> {
    var steps: [PlanStep] = []
    // Initialise: the lowest L(1) per stage (ties: cheaper), batch 1, one replica.
    var config = PipelineConfiguration(stages: pipeline.stages.indices.map { i in
      let best = inputs.candidates(forStage: i).min { a, b in
        let la = a.profile.latency(batch: 1) ?? .max, lb = b.profile.latency(batch: 1) ?? .max
        return la != lb ? la < lb : a.hardware.pricePerHour < b.hardware.pricePerHour
      }!
      return StageConfiguration(hardware: best.hardware.type, batchSize: 1, replicas: 1)
    })
    let floor = inputs.latencyFloor(certainEdgesOnly: true)
    if floor.nanoseconds > oracle.slo {
      return .failure(Unattainable(
        reason: String(
          format: "the critical path (%@) at batch 1 on the fastest hardware takes %.2f ms against an SLO of %.2f ms",
          floor.path.map { pipeline.stages[$0].name }.joined(separator: " -> "), Double(floor.nanoseconds) / 1e6,
          Double(oracle.slo) / 1e6),
        attainableSLOMs: nil))
    }
    steps.append(PlanStep(action: .initialise, stage: nil, costPerHour: cost(config), percentileLatencyMs: nil, feasible: false))
    // Replicas at the bottleneck until feasible (starting from what the mean rate needs).
    for i in config.stages.indices {
      let s = config.stages[i]
      config.stages[i].replicas = min(maxReplicas(s.hardware), minimumReplicas(stage: i, hardware: s.hardware, batch: 1))
    }
    var answer = oracle.evaluate(config)
    while !answer.feasible {
      let growable = config.stages.indices.filter { config.stages[$0].replicas < maxReplicas(config.stages[$0].hardware) }
      guard let bottleneck = growable.min(by: { throughputShare($0, config) < throughputShare($1, config) }) else {
        let worst = config.stages.indices.min { throughputShare($0, config) < throughputShare($1, config) }!
        let s = config.stages[worst]
        return .failure(Unattainable(
          reason: "the hardware's replica limits cannot carry the peak: stage '\(pipeline.stages[worst].name)' is at its maximum of \(s.replicas) \(s.hardware) replicas and the SLO is still missed",
          attainableSLOMs: nil))
      }
      config.stages[bottleneck].replicas += 1
      answer = oracle.evaluate(config)
      steps.append(step(.addReplica, bottleneck, config, answer))
    }
    // Improve: the cheapest feasible candidate, until none lowers the cost.
    while true {
      let current = cost(config)
      let candidates: [(PlanStep.Action, Int)] = config.stages.indices.flatMap { i in
        [(PlanStep.Action.increaseBatch, i), (.removeReplica, i), (.downgradeHardware, i)]
      }
      let results = ResultSlots<(PipelineConfiguration, FeasibilityOracle.Answer)>(count: candidates.count)
      let start = config
      DispatchQueue.concurrentPerform(iterations: candidates.count) { k in
        results[k] = self.candidate(candidates[k].0, stage: candidates[k].1, from: start)
      }
      var best: (Int, PipelineConfiguration, FeasibilityOracle.Answer)? = nil
      for k in candidates.indices {
        guard let (c, a) = results[k], a.feasible else { continue }
        let cc = cost(c)
        if cc < current - 1e-9, best == nil || cc < cost(best!.1) - 1e-9 { best = (k, c, a) }
      }
      guard let (k, c, a) = best else { break }
      config = c
      answer = a
      steps.append(step(candidates[k].0, candidates[k].1, config, answer))
    }
    return .success(
      Plan(
        method: "greedy", configuration: config, costPerHour: cost(config),
        percentileLatencyMs: answer.percentileLatency.map { Double($0) / 1e6 }, boundMs: answer.bound.map { $0 * 1e3 },
        steps: steps, counts: oracle.counters))
  }

  /// Per-replica-set throughput relative to the stage's load: `k b / L(b) / s_m`.
  func throughputShare(_ i: Int, _ c: PipelineConfiguration) -> Double {
    let s = c.stages[i]
    guard let l = latency(i, s.hardware, s.batchSize) else { return .infinity }
    return Double(s.replicas * s.batchSize) / (Double(l) / 1e9) / max(oracle.scaleFactors[i], 1e-12)
  }

  func step(_ action: PlanStep.Action, _ stage: Int, _ c: PipelineConfiguration, _ a: FeasibilityOracle.Answer) -> PlanStep {
    PlanStep(
      action: action, stage: pipeline.stages[stage].name, costPerHour: cost(c),
      percentileLatencyMs: a.percentileLatency.map { Double($0) / 1e6 }, feasible: a.feasible)
  }

  /// One greedy move from `config`, searched to its feasible end; nil when the move does not apply.
  func candidate(_ action: PlanStep.Action, stage i: Int, from config: PipelineConfiguration)
    -> (PipelineConfiguration, FeasibilityOracle.Answer)?
  {
    var c = config
    let s = config.stages[i]
    switch action {
    case .increaseBatch:
      guard let profile = inputs.profiles.profile(model: pipeline.stages[i].model, hardware: s.hardware),
        let next = profile.usefulBatchSizes.first(where: { $0 > s.batchSize })
      else { return nil }
      c.stages[i].batchSize = next
      var a = oracle.evaluate(c)
      guard a.feasible else { return (c, a) }
      // Then drop replicas while it stays feasible.
      while c.stages[i].replicas > 1 {
        var fewer = c
        fewer.stages[i].replicas -= 1
        let b = oracle.evaluate(fewer)
        guard b.feasible else { break }
        c = fewer
        a = b
      }
      return (c, a)
    case .removeReplica:
      guard s.replicas > 1 else { return nil }
      c.stages[i].replicas -= 1
      return (c, oracle.evaluate(c))
    case .downgradeHardware:
      let cheaper = inputs.candidates(forStage: i)
        .filter { $0.hardware.pricePerHour < (inputs.catalog.hardware(type: s.hardware)?.pricePerHour ?? 0) }
        .max { $0.hardware.pricePerHour < $1.hardware.pricePerHour }
      guard let target = cheaper else { return nil }
      c.stages[i] = StageConfiguration(
        hardware: target.hardware.type, batchSize: 1,
        replicas: minimumReplicas(stage: i, hardware: target.hardware.type, batch: 1))
      let limit = maxReplicas(target.hardware.type)
      guard c.stages[i].replicas <= limit else { return nil }
      var a = oracle.evaluate(c)
      // Raise replicas until feasible, as long as that can still be cheaper than where we are.
      while !a.feasible, c.stages[i].replicas < limit, cost(c) + target.hardware.pricePerHour < cost(config) {
        c.stages[i].replicas += 1
        a = oracle.evaluate(c)
      }
      return (c, a)
    case .initialise, .addReplica:
      return nil
    }
  }
}
