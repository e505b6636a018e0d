import Dispatch
import Foundation

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

/// A configuration a planner chose for a window, and what is known of it.
public struct Plan: Sendable, Equatable, Codable {
  /// `optimal` (the cost-ordered search), `greedy` (InferLine's planner), or `warm-start` / a baseline's name when
  /// the search's best plan came from an incumbent it was given.
  public var method: String
  public var configuration: PipelineConfiguration
  public var costPerHour: Double
  public var percentileLatencyMs: Double?
  /// The network-calculus worst case, milliseconds, when the bound alone showed the plan feasible.
  public var boundMs: Double?
  /// True when the search proved that no configuration of the search space costs less and meets the SLO.
  public var provenOptimal: Bool?
  /// Dollars per hour below which the search proved nothing in the space is feasible.
  public var lowerBoundPerHour: Double?
  /// `costPerHour / lowerBoundPerHour - 1`: 0 when proven optimal.
  public var gap: Double?
  /// For the greedy baseline: its cost over the recommended plan's, minus 1.
  public var gapToRecommended: Double?
  public var steps: [PlanStep]
  public var counts: FeasibilityOracle.Counts
  /// What the search spent on this window, and the budget that stopped it (for a search's plan, or a plan found
  /// after the search stopped).
  public var effort: SearchEffort? = nil
}

/// Why no configuration meets the SLO, and what SLO could be met.
public struct Unattainable: Error, Sendable, Equatable, Codable, CustomStringConvertible {
  public var reason: String
  /// An SLO (milliseconds) that a plan was found for, when one was searched.
  public var attainableSLOMs: Double?
  /// True when the whole search space was shown infeasible (or a necessary condition rules out all of it);
  /// false when a search budget ran out first.
  public var proven: Bool = true
  /// When a budget ran out: dollars per hour below which nothing meets the SLO (proven).
  public var lowerBoundPerHour: Double? = nil
  /// What the search spent, when one ran.
  public var effort: SearchEffort? = nil
  public var description: String {
    reason + (attainableSLOMs.map { String(format: "; an SLO of %.1f ms can be met", $0) } ?? "")
  }
}

/// Finds the cheapest configuration whose SLO percentile of end-to-end latency, simulated on a window's trace,
/// is within the SLO.
public struct Planner: Sendable {
  public let model: PipelineModel
  public let oracle: FeasibilityOracle
  /// Greedy evaluates every move at every step instead of skipping moves that cannot win (the same plan, more
  /// simulations): the reference the tests compare the pruned greedy with.
  public var exhaustiveCandidates = false
  /// The cost-ordered search takes a chain prefix by prefix (`ChainSearch`) where that applies; false keeps to the
  /// search over whole configurations (the benchmark's side-by-side baseline).
  public var usesChainSearch = true
  /// Checks run at once where the search and greedy take them in order (`FeasibilityOracle.evaluateInOrder`); nil:
  /// the cores other tasks leave. The answers and the simulations counted are the same for any width.
  public var parallelWidth: Int? = nil

  public init(oracle: FeasibilityOracle) {
    self.oracle = oracle
    model = oracle.model
  }

  func cost(_ c: PipelineConfiguration) -> Double { model.cost(c) }

  func option(_ stage: Int, _ hardware: String) -> PipelineModel.HardwareOption? {
    model.stages[stage].option(hardware: hardware)
  }

  func replicaLimit(_ stage: Int, _ hardware: String) -> Int { option(stage, hardware)?.replicaLimit ?? 0 }

  /// Fewest replicas whose capacity covers the stage's share of the mean rate (a necessary condition).
  func minimumReplicas(stage: Int, hardware: String, batch: Int) -> Int {
    guard let o = option(stage, hardware) else { return 1 }
    return model.minimumReplicas(stage: stage, option: o, batch: batch, meanRate: oracle.meanRate)
  }

  /// The SLO cannot be met by any configuration when the critical path over edges every query takes, at batch 1
  /// on the fastest hardware, exceeds it.
  func floorExplanation() -> Unattainable? {
    let floor = model.certainLatencyFloor
    guard floor.nanoseconds > oracle.slo else { return nil }
    return Unattainable(
      reason: String(
        format: "the critical path (%@) at batch 1 on the fastest hardware takes %.2f ms against an SLO of %.2f ms",
        model.describe(path: floor.path), Milliseconds.of(floor.nanoseconds), Milliseconds.of(oracle.slo)),
      attainableSLOMs: nil)
  }

  // MARK: - Greedy (after InferLine)

  /// InferLine's greedy planner: start on the fastest hardware at batch 1, add replicas at the bottleneck until
  /// feasible, then take the cheapest feasible of increase-batch, remove-replica and downgrade-hardware until none
  /// lowers the cost. Kept as the paper's baseline; `optimal(budget:incumbents:)` is what the tool recommends.
  public func greedy() -> Result<Plan, Unattainable> {
    var steps: [PlanStep] = []
    if let why = floorExplanation() { return .failure(why) }
    // Initialise: the lowest L(1) per stage (ties: cheaper), batch 1, one replica.
    var config = PipelineConfiguration(
      stages: model.stages.map { stage in
        let best = stage.options.min { a, b in
          let la = a.latency(batch: 1) ?? .max, lb = b.latency(batch: 1) ?? .max
          return la != lb ? la < lb : a.pricePerHour < b.pricePerHour
        }!
        return StageConfiguration(hardware: best.hardware, batchSize: 1, replicas: 1)
      })
    steps.append(
      PlanStep(action: .initialise, stage: nil, costPerHour: cost(config), percentileLatencyMs: nil, feasible: false))
    // Replicas at the bottleneck until feasible (starting from what the mean rate needs).
    for i in config.stages.indices {
      let s = config.stages[i]
      config.stages[i].replicas = min(
        replicaLimit(i, s.hardware), minimumReplicas(stage: i, hardware: s.hardware, batch: 1))
    }
    var answer = oracle.evaluate(config)
    while !answer.feasible {
      let growable = config.stages.indices.filter {
        config.stages[$0].replicas < replicaLimit($0, config.stages[$0].hardware)
      }
      guard let bottleneck = growable.min(by: { throughputShare($0, config) < throughputShare($1, config) }) else {
        let worst = config.stages.indices.min { throughputShare($0, config) < throughputShare($1, config) }!
        let s = config.stages[worst]
        return .failure(
          Unattainable(
            reason:
              "the greedy planner reached the replica limits: stage '\(model.stages[worst].name)' is at its maximum of \(s.replicas) \(s.hardware) replicas and the SLO is still missed",
            attainableSLOMs: nil, proven: false))
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
      if exhaustiveCandidates {
        DispatchQueue.concurrentPerform(iterations: candidates.count) { k in
          results[k] = self.candidate(candidates[k].0, stage: candidates[k].1, from: start)
        }
      } else {
        // Branch and bound over the moves, cheapest bound first: a move is skipped when even its bound is no
        // cheaper than a feasible move before it, so the move taken is the one evaluating all of them would take.
        // The moves go in that order as if one at a time (in parallel where cores are free; a move begun before
        // an earlier one ruled it out is dropped), so what is simulated does not depend on the cores.
        let bounds = candidates.map { moveLowerBound($0.0, stage: $0.1, from: start) }
        let order = candidates.indices.filter { bounds[$0] != nil }.sorted { (bounds[$0]!, $0) < (bounds[$1]!, $1) }
        let cost = { @Sendable (c: PipelineConfiguration) in self.cost(c) }
        let outcomes = oracle.evaluateInOrder(
          count: order.count, width: parallelWidth,
          runs: { item, earlier in
            var found = current - 1e-9
            for case .some(.some(let (c, a))) in earlier where a.feasible { found = min(found, cost(c)) }
            return bounds[order[item]]! < found + 1e-9
          }
        ) { item, draft in
          self.candidate(candidates[order[item]].0, stage: candidates[order[item]].1, from: start, draft: draft)
        }
        for (item, outcome) in outcomes.enumerated() {
          if case .some(.some(let result)) = outcome { results[order[item]] = result }
        }
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
    return .success(plan(method: "greedy", config, answer, steps: steps))
  }

  /// The plan the tool stands behind on one workload: the search's; when its budget runs out without a plan,
  /// InferLine's greedy plan (unproven, under the search's bound); and from an unproven plan, `descend(from:)`.
  public func bestPlan(
    budget: SearchBudget, incumbents: [(name: String, configuration: PipelineConfiguration)] = []
  ) -> Result<Plan, Unattainable> {
    var result = optimal(budget: budget, incumbents: incumbents)
    if case .failure(let why) = result, !why.proven {
      // The search stopped without a plan: greedy's, else the most capable configuration's (every stage at its
      // replica limit), so an unproven "no plan" is said only when neither meets the SLO either.
      var found: Plan? = nil
      if case .success(let g) = greedy() {
        found = g
      } else {
        let strongest = mostCapableConfigurations()
        let answers = oracle.evaluate(strongest)
        if let k = answers.firstIndex(where: \.feasible) {
          found = plan(method: "most capable", strongest[k], answers[k])
        }
      }
      if var g = found {
        g.provenOptimal = false
        g.lowerBoundPerHour = why.lowerBoundPerHour.map { min($0, g.costPerHour) }
        g.effort = why.effort
        result = .success(g)
      }
    }
    return result.map { descend(from: $0) }
  }

  /// The answers for configurations in order up to the first feasible one (nil after it): as one at a time in
  /// order, in parallel where cores are free (`FeasibilityOracle.evaluateInOrder`).
  func firstFeasible(_ configurations: [PipelineConfiguration]) -> [FeasibilityOracle.Answer?] {
    let oracle = oracle
    return oracle.evaluateInOrder(
      count: configurations.count, width: parallelWidth,
      runs: { _, earlier in !earlier.contains { $0?.feasible == true } }
    ) { item, draft in oracle.evaluate(configurations[item], draft: draft) }
  }

  /// Per stage, at its replica limit: the hardware with the lowest L(1) at batch 1, and the option with the most
  /// throughput (replicas x b / L(b)) at its best batch size. The strongest configurations the catalog allows.
  func mostCapableConfigurations() -> [PipelineConfiguration] {
    guard model.stages.allSatisfy({ !$0.options.isEmpty }) else { return [] }
    let fastest = PipelineConfiguration(
      stages: model.stages.map { stage in
        let o = stage.options.min {
          ($0.latency(batch: 1) ?? .max, $0.pricePerHour) < ($1.latency(batch: 1) ?? .max, $1.pricePerHour)
        }!
        return StageConfiguration(hardware: o.hardware, batchSize: 1, replicas: o.replicaLimit)
      })
    let widest = PipelineConfiguration(
      stages: model.stages.map { stage in
        var best = (capacity: -1.0, configuration: StageConfiguration(hardware: "", batchSize: 1, replicas: 1))
        for o in stage.options {
          for b in o.usefulBatchSizes {
            let capacity = o.capacity(batch: b, replicas: o.replicaLimit)
            if capacity > best.capacity {
              best = (capacity, StageConfiguration(hardware: o.hardware, batchSize: b, replicas: o.replicaLimit))
            }
          }
        }
        return best.configuration
      })
    return fastest == widest ? [fastest] : [fastest, widest]
  }

  // MARK: - Descent from an unproven plan

  /// Configurations one step cheaper than `c`: per stage, a replica fewer, and the next cheaper hardware with the
  /// same replicas at the largest batch size it profiles up to the stage's. Cheapest first.
  func cheaperNeighbours(_ c: PipelineConfiguration) -> [(PlanStep.Action, Int, PipelineConfiguration)] {
    var result: [(PlanStep.Action, Int, PipelineConfiguration)] = []
    for (i, s) in c.stages.enumerated() {
      if s.replicas > 1 {
        var n = c
        n.stages[i].replicas -= 1
        result.append((.removeReplica, i, n))
      }
      if let target = downgradeTarget(i, s), let batch = target.profiledBatchSizes.last(where: { $0 <= s.batchSize }) {
        var n = c
        n.stages[i] = StageConfiguration(
          hardware: target.hardware, batchSize: batch, replicas: min(s.replicas, target.replicaLimit))
        result.append((.downgradeHardware, i, n))
      }
    }
    return result.sorted { cost($0.2) < cost($1.2) }
  }

  /// From a plan the search could not prove optimal: while a configuration one step cheaper (`cheaperNeighbours`)
  /// meets the SLO, move to the cheapest such. Every configuration taken was shown feasible by the oracle; the
  /// lower bound is kept, the gap recomputed, and a plan that reaches the bound is proven optimal.
  /// - Complexity: at most 2 x stages evaluations per step; each step lowers the cost.
  public func descend(from start: Plan) -> Plan {
    guard start.provenOptimal != true else { return start }
    var current = start
    while true {
      let neighbours = cheaperNeighbours(current.configuration)
      guard !neighbours.isEmpty else { break }
      let configurations = neighbours.map(\.2)
      let answers = firstFeasible(configurations)
      guard let k = answers.firstIndex(where: { $0?.feasible == true }), let answer = answers[k] else { break }
      let (action, stage, next) = neighbours[k]
      var moved = plan(method: start.method + ", then descent", next, answer, steps: current.steps)
      moved.steps.append(step(action, stage, next, answer))
      moved.lowerBoundPerHour = current.lowerBoundPerHour
      moved.effort = current.effort
      moved.provenOptimal = false
      current = moved
    }
    if let bound = current.lowerBoundPerHour {
      current.gap = bound > 0 ? max(0, current.costPerHour / bound - 1) : 0
      if current.costPerHour <= bound + 1e-9 { current.provenOptimal = true }
    }
    return current
  }

  package func plan(
    method: String, _ c: PipelineConfiguration, _ a: FeasibilityOracle.Answer, steps: [PlanStep] = []
  ) -> Plan {
    Plan(
      method: method, configuration: c, costPerHour: cost(c),
      percentileLatencyMs: a.percentileLatency.map { Milliseconds.of($0) }, boundMs: a.bound.map { $0 * 1e3 },
      steps: steps, counts: oracle.counters)
  }

  /// Per-replica-set throughput relative to the stage's load: `k b / L(b) / s_m`.
  func throughputShare(_ i: Int, _ c: PipelineConfiguration) -> Double {
    let s = c.stages[i]
    guard let o = option(i, s.hardware), o.latency(batch: s.batchSize) != nil else { return .infinity }
    return o.capacity(batch: s.batchSize, replicas: s.replicas) / max(model.scaleFactors[i], 1e-12)
  }

  func step(
    _ action: PlanStep.Action, _ stage: Int, _ c: PipelineConfiguration, _ a: FeasibilityOracle.Answer
  )
    -> PlanStep
  {
    PlanStep(
      action: action, stage: model.stages[stage].name, costPerHour: cost(c),
      percentileLatencyMs: a.percentileLatency.map { Milliseconds.of($0) }, feasible: a.feasible)
  }

  /// Greedy's increase-batch: the next useful batch size above the stage's, if any.
  func nextBatchSize(_ i: Int, _ s: StageConfiguration) -> Int? {
    option(i, s.hardware)?.usefulBatchSizes.first { $0 > s.batchSize }
  }

  /// Greedy's downgrade-hardware: the dearest option cheaper than the stage's hardware, if any.
  func downgradeTarget(_ i: Int, _ s: StageConfiguration) -> PipelineModel.HardwareOption? {
    let price = option(i, s.hardware)?.pricePerHour ?? 0
    return model.stages[i].options.filter { $0.pricePerHour < price }.max { $0.pricePerHour < $1.pricePerHour }
  }

  /// The cheapest configuration a greedy move from `config` can end in (dollars per hour); nil when the move does
  /// not apply. Increase-batch then sheds replicas, at best down to what the mean rate needs; downgrade-hardware
  /// starts at that and only adds.
  func moveLowerBound(_ action: PlanStep.Action, stage i: Int, from config: PipelineConfiguration) -> Double? {
    let s = config.stages[i]
    guard let o = option(i, s.hardware) else { return nil }
    let others = cost(config) - Double(s.replicas) * o.pricePerHour
    switch action {
    case .increaseBatch:
      guard let next = nextBatchSize(i, s) else { return nil }
      // Below what the mean rate needs, the oracle's necessary condition stops the shedding (one less for
      // rounding); without the screens a simulation decides, and only one replica is certain.
      let fewest =
        oracle.screens ? max(1, min(s.replicas, minimumReplicas(stage: i, hardware: s.hardware, batch: next) - 1)) : 1
      return others + Double(fewest) * o.pricePerHour
    case .removeReplica:
      guard s.replicas > 1 else { return nil }
      return others + Double(s.replicas - 1) * o.pricePerHour
    case .downgradeHardware:
      guard let target = downgradeTarget(i, s) else { return nil }
      let fewest = max(1, minimumReplicas(stage: i, hardware: target.hardware, batch: 1) - 1)
      return others + Double(fewest) * target.pricePerHour
    case .initialise, .addReplica:
      return nil
    }
  }

  /// One greedy move from `config`, searched to its feasible end; nil when the move does not apply. Its evaluations
  /// go into `draft` when one is given.
  func candidate(
    _ action: PlanStep.Action, stage i: Int, from config: PipelineConfiguration,
    draft: FeasibilityOracle.Draft? = nil
  )
    -> (PipelineConfiguration, FeasibilityOracle.Answer)?
  {
    var c = config
    let s = config.stages[i]
    switch action {
    case .increaseBatch:
      guard let next = nextBatchSize(i, s) else { return nil }
      c.stages[i].batchSize = next
      var a = oracle.evaluate(c, draft: draft)
      guard a.feasible else { return (c, a) }
      // Then drop replicas while it stays feasible.
      while c.stages[i].replicas > 1 {
        var fewer = c
        fewer.stages[i].replicas -= 1
        let b = oracle.evaluate(fewer, draft: draft)
        guard b.feasible else { break }
        c = fewer
        a = b
      }
      return (c, a)
    case .removeReplica:
      guard s.replicas > 1 else { return nil }
      c.stages[i].replicas -= 1
      return (c, oracle.evaluate(c, draft: draft))
    case .downgradeHardware:
      guard let target = downgradeTarget(i, s) else { return nil }
      c.stages[i] = StageConfiguration(
        hardware: target.hardware, batchSize: 1,
        replicas: minimumReplicas(stage: i, hardware: target.hardware, batch: 1))
      let limit = target.replicaLimit
      guard c.stages[i].replicas <= limit else { return nil }
      var a = oracle.evaluate(c, draft: draft)
      // Raise replicas until feasible, as long as that can still be cheaper than where we are.
      while !a.feasible, c.stages[i].replicas < limit, cost(c) + target.pricePerHour < cost(config) {
        c.stages[i].replicas += 1
        a = oracle.evaluate(c, draft: draft)
      }
      return (c, a)
    case .initialise, .addReplica:
      return nil
    }
  }
}
