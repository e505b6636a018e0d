import Dispatch
import Foundation
import InferLine

extension WindowPlanning {
  /// A window's plan that meets the SLO on tonight's arrivals and on each earlier night's same window
  /// (`report --robust N`). Each night's window is planned on its own; the cheapest of those plans that meets the
  /// SLO on every night is taken, or, when none does, the dearest with replicas added one at a time where they make
  /// the most nights meet it. The combined requirement's lower bound is the largest of the nights' (a configuration
  /// that meets every night meets each), so the plan is proven optimal when its cost is that bound.
  /// - Parameters:
  ///   - own: tonight's window planned alone (`plan`).
  ///   - earlier: the earlier nights' arrivals in the window, nanoseconds from its start.
  /// - Complexity: a search per earlier night, and one evaluation per candidate per night.
  static func robustPlan(
    _ own: WindowPlan, model: PipelineModel, window: WorkloadWindow, arrivals: [Int64], earlier: [[Int64]],
    seed: UInt64, budget: SearchBudget, warmStart: [(name: String, configuration: PipelineConfiguration)] = []
  ) -> WindowPlan {
    guard own.planned, !earlier.isEmpty else { return own }
    var result = own
    let slots = ResultSlots<WindowPlan>(count: earlier.count)
    DispatchQueue.concurrentPerform(iterations: earlier.count) { j in
      var w = window
      w.range = 0..<earlier[j].count
      slots[j] = plan(
        model: model, window: w, arrivals: earlier[j], seed: seed, budget: budget, baselines: false,
        attainable: false, warmStart: warmStart)
    }
    // Nights whose window has too few queries for the percentile impose nothing.
    let members = [(own, arrivals)] + zip(slots.values.map { $0! }, earlier).filter { $0.0.planned }
    if let failed = members.dropFirst().first(where: { $0.0.recommended == nil }) {
      result.recommended = nil
      result.note =
        "cannot meet the SLO on an earlier night's same window (\(failed.0.queries) queries): \(failed.0.note ?? "no plan")"
      result.unattainable = failed.0.unattainable
      return result
    }
    guard result.recommended != nil else { return result }
    let oracles = members.map { FeasibilityOracle(model: model, arrivals: $0.1, seed: seed) }
    func answers(_ c: PipelineConfiguration) -> [FeasibilityOracle.Answer] { oracles.map { $0.evaluate(c) } }
    // Each night's proven bound: its plan's cost when proven, else the bound its search proved (0 without one).
    let bound = members.map { m in
      let p = m.0.recommended!
      return p.provenOptimal == true ? p.costPerHour : (p.lowerBoundPerHour ?? 0)
    }.max()!
    var candidates: [Plan] = []
    for m in members where !candidates.contains(where: { $0.configuration == m.0.recommended!.configuration }) {
      candidates.append(m.0.recommended!)
    }
    candidates.sort { ($0.costPerHour, "\($0.configuration)") < ($1.costPerHour, "\($1.configuration)") }
    var chosen: Plan? = nil
    for candidate in candidates where answers(candidate.configuration).allSatisfy(\.feasible) {
      chosen = candidate
      break
    }
    if chosen == nil {
      // Replicas added one at a time to the dearest plan, where they make the most nights meet the SLO.
      var current = candidates.last!
      for _ in 0..<64 {
        let options = current.configuration.stages.indices.compactMap { m -> PipelineConfiguration? in
          let limit = model.stages[m].option(hardware: current.configuration.stages[m].hardware)?.replicaLimit ?? 0
          guard current.configuration.stages[m].replicas < limit else { return nil }
          var c = current.configuration
          c.stages[m].replicas += 1
          return c
        }
        guard
          let next = options.max(by: { a, b in
            let (fa, fb) = (answers(a).filter(\.feasible).count, answers(b).filter(\.feasible).count)
            return (fa, -model.cost(a)) < (fb, -model.cost(b))
          })
        else { break }
        current.configuration = next
        current.costPerHour = model.cost(next)
        current.method = "robust: replicas added"
        if answers(next).allSatisfy(\.feasible) {
          chosen = current
          break
        }
      }
    }
    guard var plan = chosen else {
      result.recommended = nil
      result.note = "no plan found that meets the SLO on tonight's window and each earlier night's"
      return result
    }
    let latencies = answers(plan.configuration).compactMap(\.percentileLatency)
    if let worst = latencies.max() { plan.percentileLatencyMs = Milliseconds.of(worst) }
    plan.provenOptimal = plan.costPerHour <= bound + 1e-9
    plan.lowerBoundPerHour = min(bound, plan.costPerHour)
    plan.gap = plan.lowerBoundPerHour! > 0 ? plan.costPerHour / plan.lowerBoundPerHour! - 1 : 0
    plan.method = "robust over \(members.count - 1) earlier night\(members.count == 2 ? "" : "s"): \(plan.method)"
    result.recommended = plan
    return result
  }
}
