import Dispatch
import Foundation
public import InferLine

/// Plans workload windows: the search (`Planner.optimal`) warm-started with the feasible CG baselines, then
/// InferLine's greedy planner as the paper's baseline (its gap kept). The recommendation is never dearer than a
/// feasible baseline or the greedy plan.
public enum WindowPlanning {
  /// Plans one window's arrivals (nanoseconds from the window start).
  /// - Parameters:
  ///   - baselines: also evaluate CG-Peak and CG-Mean (and warm-start the search with them). The report and
  ///     `replay` show them for the busiest window, `plan --baselines` for every window.
  ///   - attainable: on an unattainable window, also search for an SLO that can be met.
  ///   - warmStart: other configurations to try first (a neighbouring window's plan): feasible ones bound the search.
  ///   - earlier: the same window's arrivals on earlier nights (`--robust`): the plan must meet the SLO on each
  ///     (`robustPlan`).
  public static func plan(
    model: PipelineModel, window: WorkloadWindow, arrivals: [Int64], seed: UInt64, budget: SearchBudget,
    baselines: Bool = true, attainable: Bool = true,
    warmStart: [(name: String, configuration: PipelineConfiguration)] = [], earlier: [[Int64]] = []
  ) -> WindowPlan {
    let started = Date()
    var result = WindowPlan(
      start: window.start, queries: window.count, planned: false, note: nil, recommended: nil, greedy: nil,
      baselines: [], unattainable: nil, seconds: 0)
    guard model.percentile.allowedMisses(of: window.count) >= 1 else {
      result.note = "too few queries (\(window.count)) for a \(model.percentile) to mean anything"
      return result
    }
    result.planned = true
    let planner = Planner(oracle: FeasibilityOracle(model: model, arrivals: arrivals, seed: seed))
    // The baselines first: feasible ones are incumbents of the search. Then the search; then InferLine's greedy
    // planner on the same oracle, so configurations the search simulated are not simulated again.
    result.baselines = baselines ? planner.coarseGrainedBaselines() : []
    let incumbents =
      result.baselines.filter(\.feasible).map { (name: $0.name, configuration: $0.configuration) } + warmStart
    let search = planner.optimal(budget: budget, incumbents: incumbents)
    let greedy = planner.greedy()
    switch search {
    case .success(var plan):
      // When the budget ran out before a proof, greedy may have found a cheaper plan than the search.
      if plan.provenOptimal != true, case .success(let g) = greedy, g.costPerHour < plan.costPerHour - 1e-9 {
        let bound = plan.lowerBoundPerHour ?? g.costPerHour
        let effort = plan.effort
        plan = g
        plan.effort = effort
        plan.provenOptimal = false
        plan.lowerBoundPerHour = bound
        plan.gap = bound > 0 ? g.costPerHour / bound - 1 : 0
      }
      result.recommended = plan
    case .failure(var why):
      if case .success(var g) = greedy {
        // The search ran out of budget without a plan; greedy's plan stands, not proven.
        g.provenOptimal = false
        g.effort = why.effort
        g.lowerBoundPerHour = min(why.lowerBoundPerHour ?? g.costPerHour, g.costPerHour)
        g.gap = g.lowerBoundPerHour! > 0 ? g.costPerHour / g.lowerBoundPerHour! - 1 : 0
        result.recommended = g
        break
      }
      if attainable {
        why.attainableSLOMs = Planner.attainableSLO(
          model: model, arrivals: arrivals, seed: seed, sloMs: Milliseconds.of(model.slo))
      }
      result.unattainable = why
      result.note = why.description
    }
    // A plan the search could not prove: a step cheaper at a stage may still meet the SLO.
    if let r = result.recommended, r.provenOptimal != true { result.recommended = planner.descend(from: r) }
    if case .failure(let why) = greedy { result.greedyFailure = why.reason }
    if case .success(var g) = greedy {
      if let r = result.recommended { g.gapToRecommended = g.costPerHour / r.costPerHour - 1 }
      result.greedy = g
    }
    if !earlier.isEmpty {
      result = robustPlan(
        result, model: model, window: window, arrivals: arrivals, earlier: earlier, seed: seed, budget: budget,
        warmStart: warmStart)
    }
    result.seconds = Date().timeIntervalSince(started)
    return result
  }

  /// Plans every window of a trace, in parallel; the results in window order (the same on any number of cores).
  /// The busiest window always gets the CG baselines (the report and `replay` show them); the others when
  /// `allBaselines`.
  /// - Parameter progress: called with the count of windows done, from any thread.
  public static func planAll(
    model: PipelineModel, trace: ArrivalTrace, windows: [WorkloadWindow], seed: UInt64, budget: SearchBudget,
    allBaselines: Bool = false, earlier: EarlierWindows? = nil, progress: @escaping @Sendable (Int) -> Void = { _ in }
  ) -> [WindowPlan] {
    let independent = planIndependently(
      Array(windows.indices), model: model, trace: trace, windows: windows, seed: seed, budget: budget,
      allBaselines: allBaselines, earlier: earlier, progress: progress)
    return warmStart(
      independent, model: model, trace: trace, windows: windows, seed: seed, budget: budget,
      allBaselines: allBaselines, earlier: earlier)
  }

  /// `planAll`'s first step for some of the windows (`indices` into `windows`): each planned on its own, in
  /// parallel, the day's busiest window with its CG baselines. The plans in the order of `indices`.
  public static func planIndependently(
    _ indices: [Int], model: PipelineModel, trace: ArrivalTrace, windows: [WorkloadWindow], seed: UInt64,
    budget: SearchBudget, allBaselines: Bool = false, earlier: EarlierWindows? = nil,
    progress: @escaping @Sendable (Int) -> Void = { _ in }
  ) -> [WindowPlan] {
    let slots = ResultSlots<WindowPlan>(count: indices.count)
    let done = SharedCounter()
    let busiest = busiest(windows)
    DispatchQueue.concurrentPerform(iterations: indices.count) { j in
      let i = indices[j]
      // Each window one task of the process's share: its checks use the cores the other windows leave.
      slots[j] = CoreShare.process.run {
        plan(
          model: model, window: windows[i], arrivals: windows[i].relativeArrivals(in: trace), seed: seed,
          budget: budget, baselines: allBaselines || i == busiest, earlier: earlier?.arrivals(for: windows[i]) ?? [])
      }
      progress(done.increment())
    }
    return slots.values.map { $0! }
  }

  /// Whether a window's plan is final after the independent pass: the warm start only searches again windows
  /// that were planned without a proof of optimality.
  public static func isFinal(_ plan: WindowPlan) -> Bool { !plan.planned || plan.recommended?.provenOptimal == true }

  /// The warm start over plans made independently (`planAll`'s second step; a sharded run's merge does it over
  /// the shards' plans): a window whose search ran out of budget before its proof is searched again with its
  /// neighbours' cheaper plans as incumbents (consecutive hours are alike; a neighbour's plan that fits bounds the
  /// search). Repeated while plans improve, so a plan found by warm start passes on along the day. Nothing to do
  /// when every plan `isFinal`.
  ///
  /// A run of windows whose ends are final evolves on its own (a final plan never changes, and a window only takes
  /// offers from its neighbours): a sharded run warm-starts such a run alone, giving `busiest` (the day's busiest
  /// window within it, if it is, for its CG baselines) and `rounds` (the day's window count, the bound on rounds).
  public static func warmStart(
    _ independent: [WindowPlan], model: PipelineModel, trace: ArrivalTrace, windows: [WorkloadWindow], seed: UInt64,
    budget: SearchBudget, allBaselines: Bool = false, busiest given: Int?? = nil, rounds: Int? = nil,
    earlier: EarlierWindows? = nil
  ) -> [WindowPlan] {
    var plans = independent
    let busiest = given ?? busiest(windows)
    var tried = [Set<PipelineConfiguration>](repeating: [], count: plans.count)
    for _ in 0..<(rounds ?? plans.count) {
      let current = plans
      let work: [(window: Int, incumbents: [PipelineConfiguration])] = current.indices.compactMap { i in
        guard current[i].planned, current[i].recommended?.provenOptimal != true else { return nil }
        let own = current[i].recommended?.costPerHour ?? .infinity
        let offers = [i - 1, i + 1].filter { current.indices.contains($0) }.compactMap { j in
          current[j].recommended.flatMap { $0.costPerHour < own - 1e-9 ? $0.configuration : nil }
        }.filter { !tried[i].contains($0) }
        return offers.isEmpty ? nil : (i, offers)
      }
      guard !work.isEmpty else { break }
      let retried = ResultSlots<WindowPlan>(count: work.count)
      DispatchQueue.concurrentPerform(iterations: work.count) { k in
        let i = work[k].window
        var again = CoreShare.process.run {
          plan(
            model: model, window: windows[i], arrivals: windows[i].relativeArrivals(in: trace), seed: seed,
            budget: budget, baselines: allBaselines || i == busiest,
            warmStart: work[k].incumbents.map { (name: "warm-start", configuration: $0) },
            earlier: earlier?.arrivals(for: windows[i]) ?? [])
        }
        again.seconds += current[i].seconds
        retried[k] = again
      }
      for (k, w) in work.enumerated() {
        tried[w.window].formUnion(w.incumbents)
        let again = retried[k]!
        let before = plans[w.window].recommended?.costPerHour ?? .infinity
        if (again.recommended?.costPerHour ?? .infinity) <= before + 1e-9 { plans[w.window] = again }
      }
    }
    return plans
  }

  /// The window with the most queries (the first of equals): the one the recommendation and the replays start from.
  public static func busiest(_ windows: [WorkloadWindow]) -> Int? {
    windows.indices.max { windows[$0].count < windows[$1].count }
  }
}
