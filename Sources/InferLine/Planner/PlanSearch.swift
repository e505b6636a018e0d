import Dispatch
import Foundation
import HeapModule

/// How much work the cost-ordered search may do per window before it answers with what it has proved so far: a
/// number of simulations (the default: the same answer on every machine), or wall-clock time (`--budget 30s`: as
/// far as the machine gets, so the answer may differ between machines and runs).
public struct SearchBudget: Sendable, Equatable, Codable {
  /// Simulations the search may run (the expensive step).
  public var simulations: Int
  /// Configurations it may take from the cost-ordered queue (screened or simulated).
  public var configurations: Int
  /// Wall-clock seconds the search may take, when it has a time budget (checked between batches of simulations).
  public var seconds: Double?

  public static let standard = SearchBudget(simulations: 2_000, configurations: 200_000)

  public init(simulations: Int, configurations: Int = 200_000, seconds: Double? = nil) {
    self.simulations = simulations
    self.configurations = configurations
    self.seconds = seconds
  }

  /// A time budget: as many simulations and configurations as `seconds` of wall-clock time allow.
  public static func time(seconds: Double) -> SearchBudget {
    SearchBudget(simulations: .max, configurations: .max / 16, seconds: seconds)
  }

  /// `--budget` as a user writes it: a whole number of simulations (`2000`) or a duration (`30s`, `2m`, `500ms`).
  /// Nil for anything else, a count below 1 or a duration of nothing.
  public init?(parsing text: String) {
    let text = text.trimmingCharacters(in: .whitespaces)
    if let count = Int(text) {
      guard count >= 1 else { return nil }
      self.init(simulations: count)
    } else if text.last?.isLetter == true, let ns = DurationText.nanoseconds(text), ns > 0 {
      self = .time(seconds: Double(ns) / 1e9)
    } else {
      return nil
    }
  }

  /// As `--budget` takes it: `2000`, or `30s` for a time budget.
  public var text: String {
    guard let seconds else { return "\(simulations)" }
    return seconds < 1 ? "\(Self.number(seconds * 1000))ms" : "\(Self.number(seconds))s"
  }

  /// A time budget as said in a sentence: "30 s", "2 ms".
  package var spokenTime: String {
    let seconds = seconds ?? 0
    return seconds < 1 ? "\(Self.number(seconds * 1000)) ms" : "\(Self.number(seconds)) s"
  }

  static func number(_ value: Double) -> String {
    value == value.rounded() ? "\(Int(value))" : String(format: "%g", value)
  }
}

/// What one window's search spent, and which budget stopped it when it stopped before proving its answer.
public struct SearchEffort: Sendable, Equatable, Codable {
  /// Simulations the search ran (the incumbents' included).
  public var simulations: Int
  /// Configurations taken from the cost-ordered queue.
  public var configurations: Int
  /// Nil when the search finished: its answer is proven. Else the budget that ran out.
  public var stoppedBy: Stop?
  /// The time budget, seconds, when the search had one.
  public var secondsAllowed: Double?

  public enum Stop: String, Sendable, Equatable, Codable {
    case simulations, time, configurations
  }

  /// "after 312 simulations", "the simulation budget ran out after 2003 simulations", "the 30 s time budget ran out
  /// after 41200 simulations": what the budget bought, for the plan table.
  /// "after 312 simulations": what the search ran, whether or not a budget stopped it.
  public var spent: String { "after \(simulations) simulation\(simulations == 1 ? "" : "s")" }

  public var description: String {
    let runs = "\(simulations) simulation\(simulations == 1 ? "" : "s")"
    switch stoppedBy {
    case nil: return spent
    case .simulations: return "the simulation budget ran out after \(runs)"
    case .time:
      return "the \(SearchBudget.time(seconds: secondsAllowed ?? 0).spokenTime) time budget ran out after \(runs)"
    case .configurations:
      return "the limit on configurations ran out after \(configurations) configurations and \(runs)"
    }
  }
}

extension Planner {
  /// One stage's choice in the search: hardware, batch size, replicas, and its price.
  struct StageOption {
    var configuration: StageConfiguration
    var costPerHour: Double
  }

  /// The search space, per stage and cheapest first: every hardware option, every useful profiled batch size, and
  /// replicas from what the mean rate and the trace's bursts need (`FeasibilityOracle.BurstCapacity`) up to the
  /// option's replica limit. Options are dropped only by necessary conditions that hold whatever the other stages
  /// choose: capacity below the stage's share of the mean rate or below what a burst needs, and an L(1) that puts
  /// the critical path over the SLO even with every other stage at its fastest. (The burst condition shapes the
  /// search space only; the screens keep to the mean rate, so greedy and the baselines are not slowed by it.)
  func stageOptions() -> [[StageOption]] {
    let fastest = model.stages.map(\.fastestSingleLatency)
    let burst = oracle.burstCapacity
    return model.stages.indices.map { m in
      var options: [StageOption] = []
      for o in model.stages[m].options {
        guard let l1 = o.latency(batch: 1) else { continue }
        var single = fastest
        single[m] = l1
        if model.criticalPath(singleLatencies: single, certainEdgesOnly: true).nanoseconds > oracle.slo { continue }
        for b in o.usefulBatchSizes {
          let low = max(
            model.minimumReplicas(stage: m, option: o, batch: b, meanRate: oracle.meanRate),
            burst?.minimumReplicas(stage: m, option: o, batch: b) ?? 1)
          guard low <= o.replicaLimit else { continue }
          for k in low...o.replicaLimit {
            options.append(
              StageOption(
                configuration: StageConfiguration(hardware: o.hardware, batchSize: b, replicas: k),
                costPerHour: Double(k) * o.pricePerHour))
          }
        }
      }
      return options.sorted {
        ($0.costPerHour, $0.configuration.replicas) < ($1.costPerHour, $1.configuration.replicas)
      }
    }
  }

  /// A combination of stage options in the cost-ordered search.
  struct Combination: Comparable {
    var cost: Double
    var indices: [Int]
    /// Successors increment only coordinates at or after this one, so every combination is made once.
    var pivot: Int
    static func < (a: Self, b: Self) -> Bool {
      a.cost != b.cost ? a.cost < b.cost : a.indices.lexicographicallyPrecedes(b.indices)
    }
    static func == (a: Self, b: Self) -> Bool { a.cost == b.cost && a.indices == b.indices }
  }

  /// The cheapest configuration of the search space (`stageOptions()`) that the estimator judges feasible, with
  /// a proof.
  ///
  /// Branch and bound in order of cost: combinations of the stages' cost-sorted options come off a heap cheapest
  /// first, so the cost of the next one is a lower bound on every configuration not yet examined. The
  /// incumbents (InferLine's greedy plan, a neighbouring window's plan, a baseline) are evaluated first; the best
  /// feasible one is the upper bound, and the search ends as soon as the lower bound reaches it (the incumbent
  /// is then proven optimal) or a combination is feasible (the first in cost order is the optimum). Each
  /// combination is screened by the necessary conditions and the network-calculus bound before any simulation;
  /// batches of eight are checked in cost order up to the first feasible one, which wins (as if one at a time, in
  /// parallel where cores are free: `Planner.firstFeasible`), so neither the answer nor the simulations counted
  /// depend on the number of cores.
  ///
  /// Anytime: when the budget runs out it returns the best plan found with `provenOptimal == false`, the proven
  /// lower bound and the gap; with no plan found, an `Unattainable` with `proven == false`. "Unattainable" is
  /// proven only when a necessary condition rules out the whole space or every combination was examined.
  public func optimal(
    budget: SearchBudget = .standard, incumbents: [(name: String, configuration: PipelineConfiguration)] = []
  ) -> Result<Plan, Unattainable> {
    if let why = floorExplanation() { return .failure(why) }
    let options = stageOptions()
    if let m = options.firstIndex(where: \.isEmpty) {
      return .failure(
        Unattainable(
          reason:
            "no hardware stage '\(model.stages[m].name)' may use can carry its share of the mean rate (\(String(format: "%.1f", oracle.meanRate * model.scaleFactors[m])) q/s) within its replica limit and the latency floor",
          attainableSLOMs: nil))
    }
    let runsBefore = oracle.counters.estimatorRuns
    let started = ContinuousClock.now
    var stoppedBy: SearchEffort.Stop? = nil
    var best: (method: String, configuration: PipelineConfiguration, answer: FeasibilityOracle.Answer)? = nil
    let candidates = incumbents.filter { model.options($0.configuration) != nil }
    let answers = oracle.evaluate(candidates.map(\.configuration))
    for (candidate, answer) in zip(candidates, answers) where answer.feasible {
      if best == nil || cost(candidate.configuration) < cost(best!.configuration) - 1e-9 {
        best = (candidate.name, candidate.configuration, answer)
      }
    }

    var examined = 0
    var lowerBound: Double? = nil
    var proven = false
    var searchesWholeConfigurations = true
    // After the chain search, the search over whole configurations may run one batch whatever it spent.
    var leastRuns = 1
    if usesChainSearch, oracle.prefixIsLeading, oracle.querySizes == nil,
      let chain = ChainSearch(
        model: model, options: options, arrivals: oracle.arrivals, masks: oracle.burstMasks, slo: oracle.slo)
    {
      // With no plan known, a quarter of the budget is kept for the search over whole configurations, which finds
      // plans early (cheapest first); prefix by prefix finds none before it proves the cheapest.
      var chainBudget = budget
      if best == nil {
        chainBudget.simulations = max(1, budget.simulations - budget.simulations / 4)
        chainBudget.seconds = budget.seconds.map { $0 * 0.75 }
      }
      let outcome = chain.run(
        budget: chainBudget, incumbent: best.map { cost($0.configuration) }, started: started,
        simulationsBefore: { oracle.counters.estimatorRuns - runsBefore },
        simulated: { oracle.noteStageSimulations($0) })
      if let found = outcome.found {
        // The stage-by-stage verdict, confirmed (and its percentile measured) by a simulation of the whole pipeline.
        let answer = oracle.evaluate(found)
        #if INFERLINE_INVARIANTS
          precondition(answer.feasible, "a chain search's feasible configuration is feasible")
        #endif
        if answer.feasible { best = ("optimal", found, answer) }
      }
      examined = outcome.examined
      proven = outcome.proven
      lowerBound = outcome.lowerBound
      stoppedBy = outcome.stoppedBy
      // Stopped without a plan: the search over whole configurations (cheapest first, each simulated whole) looks
      // for one with what is left of the budget.
      searchesWholeConfigurations = !proven && best == nil
      leastRuns = oracle.counters.estimatorRuns - runsBefore + 1
    }
    if searchesWholeConfigurations {
      let outcome = searchWholeConfigurations(
        options, budget: budget, best: &best, examined: examined, started: started, runsBefore: runsBefore,
        leastRuns: leastRuns)
      examined = outcome.examined
      proven = outcome.proven
      stoppedBy = outcome.stoppedBy
      // Both searches' bounds hold: the higher is the answer's.
      lowerBound = outcome.lowerBound.map { bound in lowerBound.map { max($0, bound) } ?? bound }
    }
    let effort = SearchEffort(
      simulations: oracle.counters.estimatorRuns - runsBefore, configurations: examined,
      stoppedBy: proven ? nil : stoppedBy, secondsAllowed: budget.seconds)
    guard let best else {
      if proven {
        return .failure(
          Unattainable(
            reason:
              "no configuration within the hardware's replica limits meets the SLO (all \(examined) configurations of the search space that pass the necessary conditions were examined)",
            attainableSLOMs: nil, effort: effort))
      }
      return .failure(
        Unattainable(
          reason: String(
            format:
              "the search stopped without a feasible plan (%@, %d configurations examined); none below $%.3f/h meets the SLO",
            effort.description, examined, lowerBound ?? 0),
          attainableSLOMs: nil, proven: false, lowerBoundPerHour: lowerBound, effort: effort))
    }
    var result = plan(method: best.method, best.configuration, best.answer)
    result.effort = effort
    let bound = proven ? result.costPerHour : min(lowerBound ?? result.costPerHour, result.costPerHour)
    result.provenOptimal = proven
    result.lowerBoundPerHour = bound
    result.gap = bound > 0 ? result.costPerHour / bound - 1 : 0
    return .success(result)
  }

  /// The search over whole configurations: combinations of the stages' cost-sorted options off a heap cheapest
  /// first, screened, taken eight at a time and simulated up to the first feasible; dead prefixes
  /// (`FeasibilityOracle.PrefixBound`) skip their cones.
  /// The first feasible in cost order is the optimum, and `best` (an incumbent) ends it when the next costs as much.
  /// - Parameters:
  ///   - examined: configurations already taken by an earlier search of the window (counted against the budget).
  ///   - leastRuns: simulations since `runsBefore` it may reach whatever the budget (one batch after a search that
  ///     spent the budget's share before it).
  func searchWholeConfigurations(
    _ options: [[StageOption]], budget: SearchBudget,
    best: inout (method: String, configuration: PipelineConfiguration, answer: FeasibilityOracle.Answer)?,
    examined: Int, started: ContinuousClock.Instant, runsBefore: Int, leastRuns: Int
  ) -> ChainSearch.Outcome {
    var examined = examined
    var proven = false
    var stoppedBy: SearchEffort.Stop? = nil
    var lowerBound: Double? = nil
    func combination(_ indices: [Int], pivot: Int) -> Combination {
      var total = 0.0
      for (m, i) in indices.enumerated() { total += options[m][i].costPerHour }
      return Combination(cost: total, indices: indices, pivot: pivot)
    }
    func configuration(_ c: Combination) -> PipelineConfiguration {
      PipelineConfiguration(stages: c.indices.enumerated().map { options[$0.offset][$0.element].configuration })
    }
    var heap = Heap<Combination>()
    heap.insert(combination([Int](repeating: 0, count: options.count), pivot: 0))
    // Combinations skipped because their first stages were shown to miss the SLO whatever follows
    // (`FeasibilityOracle.PrefixBound`): with them, every combination that keeps that prefix is left unmade.
    var skipped = 0
    let skipsCones = oracle.prefixIsLeading
    // Dead prefixes as mixed-radix keys of option indices, by length (`deadKeys[k]`), read from the oracle after
    // each batch: a lookup per prefix of each combination taken, with no allocation.
    var deadKeys = [Set<Int>](repeating: [], count: options.count)
    var deadKnown = 0
    let optionIndex: [[StageConfiguration: Int]] = options.map { stage in
      Dictionary(stage.enumerated().map { ($0.element.configuration, $0.offset) }, uniquingKeysWith: { a, _ in a })
    }
    func readDeadPrefixes() {
      guard skipsCones else { return }
      let found = oracle.deadPrefixes(after: deadKnown)
      deadKnown += found.count
      for prefix in found {
        var key = 0, radix = 1
        var known = true
        for (m, c) in prefix.enumerated() {
          guard let i = optionIndex[m][c] else {
            known = false
            break
          }
          key += i * radix
          radix *= options[m].count
        }
        if known { deadKeys[prefix.count].insert(key) }
      }
    }
    /// The shortest dead prefix of a combination (its length), if any.
    func deadPrefix(_ indices: [Int]) -> Int? {
      var key = 0, radix = 1
      for k in 1..<options.count {
        key += indices[k - 1] * radix
        radix *= options[k - 1].count
        if deadKeys[k].contains(key) { return k }
      }
      return nil
    }
    readDeadPrefixes()  // what earlier questions to this oracle (the incumbents, greedy) showed
    #if INFERLINE_INVARIANTS
      var previousCost: Double? = nil
    #endif
    while true {
      guard let next = heap.min else {
        proven = true  // the whole space was examined
        break
      }
      if let best, next.cost >= cost(best.configuration) - 1e-9 {
        proven = true  // nothing cheaper is left
        break
      }
      if examined >= budget.configurations || skipped >= 10 * budget.configurations {
        stoppedBy = .configurations
      } else if oracle.counters.estimatorRuns - runsBefore >= max(budget.simulations, leastRuns) {
        stoppedBy = .simulations
      } else if let seconds = budget.seconds, started.duration(to: .now) >= .seconds(seconds) {
        stoppedBy = .time
      }
      if stoppedBy != nil {
        lowerBound = next.cost
        break
      }
      var group: [Combination] = []
      while group.count < 8, let top = heap.min, best.map({ top.cost < cost($0.configuration) - 1e-9 }) ?? true {
        heap.removeMin()
        #if INFERLINE_INVARIANTS
          precondition(group.last.map { $0.cost <= top.cost } ?? true, "the search must visit in order of cost")
          precondition(lowerBound == nil && top.cost >= (previousCost ?? 0) - 1e-12, "lower bounds never fall")
          previousCost = top.cost
        #endif
        // A dead prefix of length k: successors that keep it (incrementing a coordinate at or after k) are dead
        // too, and so is every combination made from them.
        let dead = skipsCones ? deadPrefix(top.indices) : nil
        for j in top.pivot..<max(top.pivot, dead ?? options.count) where top.indices[j] + 1 < options[j].count {
          var indices = top.indices
          indices[j] += 1
          heap.insert(combination(indices, pivot: j))
        }
        if dead != nil {
          skipped += 1
          continue
        }
        group.append(top)
      }
      let configurations = group.map(configuration)
      let answers = firstFeasible(configurations)
      readDeadPrefixes()
      if let first = answers.firstIndex(where: { $0?.feasible == true }), let answer = answers[first] {
        examined += first + 1
        best = ("optimal", configurations[first], answer)
        proven = true
        break
      }
      examined += group.count
    }
    oracle.noteSkippedByPrefix(skipped)
    return ChainSearch.Outcome(
      found: nil, proven: proven, lowerBound: lowerBound, stoppedBy: stoppedBy, examined: examined)
  }
}
