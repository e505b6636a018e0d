import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// Small random planning instances: 2-3 stages, 2-3 hardware types, a few batch sizes, replica limits.
struct SmallInstance {
  let folder = TemporaryFolder()
  let inputs: PlanningInputs
  let model: PipelineModel
  let arrivals: [Int64]

  init(
    seed: UInt64, stages: Int, hardware: Int = 2, sloMs: Double? = nil, rate: Double = 150, maxReplicas: Int = 3,
    dispatch: String? = nil, edgeDelaysMs: [Double]? = nil
  ) {
    var rng = SeededGenerator(seed: seed)
    let names = (0..<stages).map { "s\($0)" }
    var edges: [String] = []
    for i in 1..<stages {
      let p = [1.0, 0.5, 0.8][Int(rng.next() % 3)]
      edges.append("  s\(i - 1) -> s\(i): \(p)")
    }
    let slo = sloMs ?? Double(20 + rng.next() % 40)
    var pipeline: String = "name: small\nslo: {latency_ms: \(slo)}\n"
    if let dispatch { pipeline += "dispatch: \(dispatch)\n" }
    pipeline += "stages:\n"
    for name in names { pipeline += "  - {name: \(name), model: m\(name)}\n" }
    if !edges.isEmpty { pipeline += "edges:\n" + edges.joined(separator: "\n") + "\n" }
    let types = (0..<hardware).map { "h\($0)" }
    var catalog = "hardware:\n"
    for (k, t) in types.enumerated() {
      let price: Double = Double(k + 1) * 0.5 + Double(rng.next() % 10) / 10
      catalog += "  - {type: \(t), price_per_hour: \(price), max_replicas: \(maxReplicas)}\n"
    }
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for n in names {
      for (k, t) in types.enumerated() {
        // Faster hardware costs more: fixed and per-item costs fall with k.
        let fixed = Double(rng.next() % 4 + 2) / Double(k + 1), per = Double(rng.next() % 3 + 1) / Double(k + 1)
        for b in [1, 2, 4] { profiles += "m\(n),\(t),\(b),\(String(format: "%.3f", fixed + per * Double(b))),p99\n" }
      }
    }
    self.init(
      pipeline: pipeline, catalog: catalog, profiles: profiles, seed: seed, rate: rate, edgeDelaysMs: edgeDelaysMs)
  }

  /// An instance from the files' texts (any DAG), with 8 seconds of gamma arrivals (cv 1.5) at `rate`.
  init(
    pipeline: String, catalog: String, profiles: String, seed: UInt64, rate: Double = 150,
    edgeDelaysMs: [Double]? = nil
  ) {
    var loaded = try! PlanningInputs.load(
      pipeline: folder.write("p.yaml", pipeline), hardware: folder.write("h.yaml", catalog),
      profiles: folder.write("f.csv", profiles))
    for (k, delay) in (edgeDelaysMs ?? []).enumerated() where k < loaded.pipeline.edges.count {
      loaded.pipeline.edges[k].delayMs = delay
    }
    inputs = loaded
    model = PipelineModel(inputs)
    arrivals = TraceGenerator.arrivals(.gamma(rate: rate, cv: 1.5), duration: 8, start: 0, seed: seed)
  }

  func planner(sloMs: Double? = nil) -> Planner {
    Planner(oracle: FeasibilityOracle(model: model, arrivals: arrivals, seed: 7, sloMs: sloMs))
  }

  /// The cheapest feasible cost by exhaustive enumeration, written apart from the planner's option generator:
  /// every catalog type the stage's model is profiled on x every profiled batch size whose throughput beats every
  /// smaller one (recomputed here from the raw rows) x replicas 1...max_replicas, each simulated in full with no
  /// screen and no early stop. With `allOf`, the cheapest that is feasible on every one of those arrival sets.
  func bruteForce(sloMs: Double? = nil, allOf sets: [[Int64]]? = nil) -> Double? {
    let slo = ProfileTable.nanoseconds(sloMs ?? inputs.pipeline.slo.latencyMs)
    let perStage: [[(StageConfiguration, Double)]] = inputs.pipeline.stages.map { stage in
      var choices: [(StageConfiguration, Double)] = []
      for hw in inputs.catalog.hardware {
        let rows = inputs.profiles.profiles.filter { $0.model == stage.model && $0.hardware == hw.type }
        guard let profile = rows.first else { continue }
        var bestThroughput = 0.0
        for (b, l) in zip(profile.batchSizes, profile.latencies) {
          let throughput = Double(b) / Double(l)
          guard throughput > bestThroughput else { continue }
          bestThroughput = throughput
          for k in 1...(hw.maxReplicas ?? 3) {
            choices.append(
              (StageConfiguration(hardware: hw.type, batchSize: b, replicas: k), Double(k) * hw.pricePerHour))
          }
        }
      }
      return choices
    }
    // Every combination, sorted by cost; the first that a full simulation finds feasible is the optimum.
    var all: [(cost: Double, stages: [StageConfiguration])] = [(0, [])]
    for choices in perStage {
      all = all.flatMap { partial in choices.map { (partial.cost + $0.1, partial.stages + [$0.0]) } }
    }
    all.sort { $0.cost < $1.cost }
    for candidate in all {
      let config = PipelineConfiguration(stages: candidate.stages)
      let feasible = (sets ?? [arrivals]).allSatisfy { set in
        let input = try! model.simulationInput(
          arrivals: set, configuration: config, routes: .drawn(seed: 7), slo: slo)
        return Estimator.simulate(input, options: .init(collectWaitPercentiles: false)).feasible
      }
      if feasible { return candidate.cost }
    }
    return nil
  }

  /// Every configuration: each stage's hardware x profiled batch sizes x 1...`replicas` replicas.
  func everyConfiguration(replicas: Int) -> [PipelineConfiguration] {
    let perStage: [[StageConfiguration]] = model.stages.map { stage in
      stage.options.flatMap { o in
        o.profiledBatchSizes.flatMap { b in
          (1...replicas).map { StageConfiguration(hardware: o.hardware, batchSize: b, replicas: $0) }
        }
      }
    }
    var all: [[StageConfiguration]] = [[]]
    for choices in perStage { all = all.flatMap { partial in choices.map { partial + [$0] } } }
    return all.map { PipelineConfiguration(stages: $0) }
  }

  func fullySimulatedFeasible(_ c: PipelineConfiguration, sloMs: Double? = nil, on set: [Int64]? = nil) -> Bool {
    let slo = ProfileTable.nanoseconds(sloMs ?? inputs.pipeline.slo.latencyMs)
    return Estimator.simulate(
      try! model.simulationInput(arrivals: set ?? arrivals, configuration: c, routes: .drawn(seed: 7), slo: slo)
    )
    .feasible
  }
}

@Suite struct PlannerTests {
  /// The recommended planner equals exhaustive search from tight to loose SLOs, says it proved it, and InferLine's
  /// greedy plan is never cheaper.
  /// Edges with delays of their own (0.5 and 7 ms): the search's bounds take each edge's delay, and its proven
  /// optimum equals exhaustive search on three-stage chains from tight to loose SLOs.
  @Test(arguments: Array(1...6) as [UInt64])
  func delaysByEdgeKeepTheOptimumProven(seed: UInt64) {
    let base = SmallInstance(seed: seed, stages: 3, edgeDelaysMs: [0.5, 7])
    #expect(base.model.edgeDelays == [500_000, 7_000_000])
    for factor in [0.6, 1, 2.5] {
      let slo = base.inputs.pipeline.slo.latencyMs * factor + 7
      let brute = base.bruteForce(sloMs: slo)
      switch base.planner(sloMs: slo).optimal() {
      case .success(let plan):
        let b = try! #require(
          brute, "seed \(seed) x\(factor): the search found $\(plan.costPerHour)/h, brute force nothing")
        #expect(
          abs(plan.costPerHour - b) < 1e-9, "seed \(seed) x\(factor): search \(plan.costPerHour), brute force \(b)")
        #expect(plan.provenOptimal == true)
        #expect(base.fullySimulatedFeasible(plan.configuration, sloMs: slo))
      case .failure(let why):
        #expect(brute == nil, "seed \(seed) x\(factor): brute force found $\(brute ?? 0)/h; the search said \(why)")
      }
    }
  }

  @Test(arguments: Array(1...10) as [UInt64])
  func optimalEqualsBruteForceFromTightToLooseSLOs(seed: UInt64) {
    let base = SmallInstance(seed: seed, stages: 2)
    for factor in [0.5, 1, 2.5] {
      let slo = base.inputs.pipeline.slo.latencyMs * factor
      let planner = base.planner(sloMs: slo)
      let brute = base.bruteForce(sloMs: slo)
      switch planner.optimal() {
      case .success(let plan):
        let b = try! #require(
          brute, "seed \(seed) x\(factor): the search found $\(plan.costPerHour)/h, brute force nothing")
        #expect(
          abs(plan.costPerHour - b) < 1e-9, "seed \(seed) x\(factor): search \(plan.costPerHour), brute force \(b)")
        #expect(plan.provenOptimal == true && plan.gap == 0 && plan.lowerBoundPerHour == plan.costPerHour)
        #expect(base.fullySimulatedFeasible(plan.configuration, sloMs: slo))
        if case .success(let greedy) = planner.greedy() {
          #expect(greedy.costPerHour >= plan.costPerHour - 1e-9)
          #expect(base.fullySimulatedFeasible(greedy.configuration, sloMs: slo))
        }
      case .failure(let why):
        #expect(brute == nil, "seed \(seed) x\(factor): brute force found $\(brute ?? 0)/h; the search said \(why)")
        #expect(why.proven, "with max_replicas 3 the whole space can be examined")
      }
    }
  }

  /// Under a team's balancer (the pipeline file's `dispatch`, each replica with its own queue) the search still
  /// finds the optimum exhaustive search finds, and the plan is checked by simulation under that balancer; on some
  /// of these instances the balancer costs more than the ideal central queue the planner used to assume.
  @Test func optimalEqualsBruteForceUnderTheTeamsBalancer() {
    var dearer = 0
    let cases: [(UInt64, String)] = [
      (31, "round-robin"), (32, "power-of-2"), (40, "random"), (45, "random"), (53, "power-of-2"),
      (55, "shortest-queue"),
    ]
    for (seed, dispatch) in cases {
      let base = SmallInstance(seed: seed, stages: 2, rate: 300, maxReplicas: 4, dispatch: dispatch)
      #expect(base.model.inputs.pipeline.dispatch.name == dispatch)
      let brute = base.bruteForce()
      switch base.planner().optimal() {
      case .success(let plan):
        #expect(
          brute.map { abs(plan.costPerHour - $0) < 1e-9 } == true, "seed \(seed): \(plan.costPerHour) vs \(brute ?? -1)"
        )
        #expect(plan.provenOptimal == true)
        let checked = base.fullySimulatedFeasible(plan.configuration)
        #expect(checked, "seed \(seed): \(plan.configuration) under \(dispatch)")
        if case .success(let ideal) = SmallInstance(seed: seed, stages: 2, rate: 300, maxReplicas: 4).planner()
          .optimal(),
          ideal.costPerHour < plan.costPerHour - 1e-9
        {
          dearer += 1
        }
      case .failure:
        #expect(brute == nil, "seed \(seed): brute force found $\(brute ?? 0)/h under \(dispatch)")
      }
    }
    #expect(dearer >= 1, "no instance where the balancer mattered")
  }

  /// Greedy skips moves whose cheapest possible outcome is dearer than a feasible move already found; it must take
  /// the same steps to the same plan as evaluating every move, with no more simulations.
  @Test(arguments: Array(21...30) as [UInt64])
  func greedySkippingHopelessMovesTakesTheSameSteps(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: seed % 2 == 0 ? 2 : 3, hardware: 3, maxReplicas: 6)
    var simulations = (pruned: 0, exhaustive: 0)
    defer { #expect(simulations.pruned < simulations.exhaustive, "seed \(seed): the pruning skipped nothing") }
    for factor in [0.7, 1, 2] {
      let slo = instance.inputs.pipeline.slo.latencyMs * factor
      let pruned = instance.planner(sloMs: slo)
      var exhaustive = instance.planner(sloMs: slo)
      exhaustive.exhaustiveCandidates = true
      let results = (pruned.greedy(), exhaustive.greedy())
      simulations.pruned += pruned.oracle.counters.estimatorRuns
      simulations.exhaustive += exhaustive.oracle.counters.estimatorRuns
      switch results {
      case (.success(let a), .success(let b)):
        #expect(a.configuration == b.configuration, "seed \(seed) x\(factor)")
        #expect(a.steps == b.steps, "seed \(seed) x\(factor)")
        #expect(pruned.oracle.counters.estimatorRuns <= exhaustive.oracle.counters.estimatorRuns)
      case (.failure(let a), .failure(let b)): #expect(a == b)
      case (let a, let b): Issue.record("seed \(seed) x\(factor): pruned \(a), exhaustive \(b)")
      }
    }
    // Without the screens (every answer simulated) as well.
    func unscreened(_ everyMove: Bool) -> Result<Plan, Unattainable> {
      var planner = Planner(
        oracle: FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7, screens: false))
      planner.exhaustiveCandidates = everyMove
      return planner.greedy()
    }
    switch (unscreened(false), unscreened(true)) {
    case (.success(let a), .success(let b)): #expect(a.steps == b.steps && a.configuration == b.configuration)
    case (.failure(let a), .failure(let b)): #expect(a == b)
    case (let a, let b): Issue.record("seed \(seed) unscreened: pruned \(a), exhaustive \(b)")
    }
  }

  /// The search and greedy take their checks as if one at a time in order, however many run at once: the same
  /// plans, steps, simulations counted and answers kept with one check at a time as with four or eight; and the
  /// search simulates nothing dearer than the optimum it proves (a check after the first feasible one of its
  /// batch is never kept).
  @Test(arguments: [3, 11, 42, 45, 56, 71] as [UInt64])
  func checksTakenInOrderAreTheSameOnAnyNumberOfCores(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: seed % 2 == 0 ? 2 : 3, hardware: 3, maxReplicas: 6)
    for factor in [0.7, 1, 2] {
      let slo = instance.inputs.pipeline.slo.latencyMs * factor
      func run(
        _ width: Int
      ) -> (
        search: Result<Plan, Unattainable>, greedy: Result<Plan, Unattainable>,
        counts: FeasibilityOracle.Counts, answered: Set<PipelineConfiguration>, searchOnly: Set<PipelineConfiguration>
      ) {
        var planner = instance.planner(sloMs: slo)
        planner.parallelWidth = width
        let search = planner.optimal()
        let searchOnly = Set(planner.oracle.answered)
        let greedy = planner.greedy()
        return (search, greedy, planner.oracle.counters, Set(planner.oracle.answered), searchOnly)
      }
      let one = run(1)
      for width in [4, 8] {
        let many = run(width)
        #expect(many.search == one.search, "seed \(seed) x\(factor), \(width) at once: the search")
        #expect(many.greedy == one.greedy, "seed \(seed) x\(factor), \(width) at once: greedy")
        #expect(many.counts == one.counts, "seed \(seed) x\(factor), \(width) at once: the counts")
        #expect(many.answered == one.answered, "seed \(seed) x\(factor), \(width) at once: the answers kept")
      }
      if case .success(let plan) = one.search, plan.provenOptimal == true {
        let dearer = one.searchOnly.filter { instance.model.cost($0) > plan.costPerHour + 1e-9 }
        #expect(dearer.isEmpty, "seed \(seed) x\(factor): the search kept \(dearer.count) dearer answers")
      }
    }
  }

  /// `evaluateInOrder` against running the items one at a time: later items finish first (they sleep less), so
  /// where the cores allow, items run before an earlier result rules them out; the rule skips an item once the
  /// results before it add up to enough; items share configurations. The results, the counts and the answers kept
  /// are those of one at a time (keeping what a dropped item evaluated fails this when run alone), and one at a
  /// time begins only the items it keeps.
  @Test func itemsInOrderGiveTheOneAtATimeResults() {
    let instance = SmallInstance(seed: 45, stages: 2, hardware: 3, maxReplicas: 6)
    let space = instance.model.stages.map { stage in
      stage.options.flatMap { o in
        (1...3).map { StageConfiguration(hardware: o.hardware, batchSize: o.usefulBatchSizes.first!, replicas: $0) }
      }
    }
    let configurations = space[0].flatMap { a in space[1].map { PipelineConfiguration(stages: [a, $0]) } }
    var rng = SeededGenerator(seed: 9)
    for trial in 0..<6 {
      let items = (0..<12).map { _ in (0..<3).map { _ in configurations.randomElement(using: &rng)! } }
      let enough = Int.random(in: 1...6, using: &rng)
      func run(_ width: Int) -> (results: [Int?], FeasibilityOracle.Counts, Set<PipelineConfiguration>, begun: Int) {
        let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7)
        let begun = SharedCounter()
        let results = oracle.evaluateInOrder(
          count: items.count, width: width,
          runs: { _, earlier in earlier.compactMap { $0 }.reduce(0, +) < enough }
        ) { item, draft in
          _ = begun.increment()
          usleep(UInt32(12 - item) * 2000)
          return items[item].filter { oracle.evaluate($0, draft: draft).feasible }.count + 1
        }
        return (results, oracle.counters, Set(oracle.answered), begun.increment() - 1)
      }
      let one = run(1)
      #expect(
        one.begun == one.results.compactMap { $0 }.count, "trial \(trial): one at a time begins only what it keeps")
      for width in [3, 12] {
        let many = run(width)
        #expect(many.results == one.results, "trial \(trial), \(width) at once")
        #expect(many.1 == one.1, "trial \(trial), \(width) at once: counts")
        #expect(many.2 == one.2, "trial \(trial), \(width) at once: answers kept")
      }
    }
  }

  /// Under a budget too small for proofs, a window's plan is never dearer than a neighbouring window's plan that
  /// meets the SLO on this window too (the warm start), and a plan that is not proven says what it proved.
  @Test(arguments: [42, 45, 56] as [UInt64])
  func aWindowIsNeverDearerThanANeighboursPlanThatFitsIt(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 3, hardware: 3, maxReplicas: 6)
    let trace = ArrivalTrace(arrivals: instance.arrivals)
    let windows = trace.windows(length: 2_000_000_000)
    let plans = WindowPlanning.planAll(
      model: instance.model, trace: trace, windows: windows, seed: 7, budget: SearchBudget(simulations: 1))
    var warmStarted = 0
    for (i, p) in plans.enumerated() {
      guard let r = p.recommended else { continue }
      if r.method == "warm-start" { warmStarted += 1 }
      if r.provenOptimal != true { #expect((r.lowerBoundPerHour ?? .infinity) <= r.costPerHour + 1e-9) }
      let oracle = FeasibilityOracle(
        model: instance.model, arrivals: windows[i].relativeArrivals(in: trace), seed: 7)
      for j in [i - 1, i + 1] where plans.indices.contains(j) {
        guard let n = plans[j].recommended, oracle.evaluate(n.configuration).feasible else { continue }
        #expect(r.costPerHour <= n.costPerHour + 1e-9, "seed \(seed): window \(i) dearer than window \(j)'s plan")
      }
    }
    #expect(warmStarted > 0, "seed \(seed): these instances were chosen because a neighbour's plan helps")
  }

  @Test(arguments: [101, 102, 103] as [UInt64])
  func optimalEqualsBruteForceOnThreeStagesAndThreeHardwareTypes(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 3, hardware: 3, maxReplicas: 2)
    let brute = instance.bruteForce()
    switch instance.planner().optimal() {
    case .success(let plan): #expect(abs(plan.costPerHour - (brute ?? -1)) < 1e-9)
    case .failure: #expect(brute == nil)
    }
  }

  /// Greedy starts on the fastest hardware, which has one replica here; the cheap slow hardware with many replicas
  /// carries the load. Greedy reports the replica limit; the search finds the optimum brute force finds.
  @Test func aPlanExistsWhereGreedyGivesUp() throws {
    let folder = TemporaryFolder()
    let inputs = try PlanningInputs.load(
      pipeline: folder.write("p.yaml", "name: one\nslo: {latency_ms: 60}\nstages:\n  - {name: s, model: m}\n"),
      hardware: folder.write(
        "h.yaml",
        "hardware:\n  - {type: fast, price_per_hour: 3, max_replicas: 1}\n  - {type: slow, price_per_hour: 1, max_replicas: 30}\n"
      ),
      profiles: folder.write(
        "f.csv", "model,hardware,batch_size,latency_ms,statistic\nm,fast,1,2,p99\nm,slow,1,10,p99\nm,slow,4,16,p99\n"))
    let model = PipelineModel(inputs)
    let arrivals = TraceGenerator.arrivals(.poisson(rate: 1000), duration: 5, start: 0, seed: 3)
    let planner = Planner(oracle: FeasibilityOracle(model: model, arrivals: arrivals, seed: 1))
    guard case .failure(let greedyWhy) = planner.greedy() else {
      Issue.record("one fast replica cannot carry 1,000 q/s at 2 ms each")
      return
    }
    #expect(greedyWhy.reason.contains("replica limits") && !greedyWhy.proven)
    let plan = try planner.optimal().get()
    #expect(plan.configuration.stages[0].hardware == "slow")
    #expect(plan.provenOptimal == true)
    // Independent check: every slow configuration, fully simulated.
    var cheapest: Double? = nil
    for b in [1, 4] {
      for k in 1...30 {
        let c = PipelineConfiguration(stages: [.init(hardware: "slow", batchSize: b, replicas: k)])
        let input = try model.simulationInput(arrivals: arrivals, configuration: c, routes: .drawn(seed: 1))
        if Estimator.simulate(input).feasible {
          cheapest = min(cheapest ?? .infinity, Double(k))
          break
        }
      }
    }
    #expect(plan.costPerHour == cheapest)
  }

  /// A budget that runs out: the plan (if any) is feasible, the lower bound never exceeds the true optimum, and
  /// the result says it is not proven.
  @Test(arguments: Array(1...8) as [UInt64])
  func anExhaustedBudgetGivesAValidLowerBound(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 2, sloMs: 25)
    guard let optimum = instance.bruteForce() else { return }
    let planner = instance.planner()
    let greedy = try? planner.greedy().get()
    let result = planner.optimal(
      budget: SearchBudget(simulations: 1), incumbents: greedy.map { [("greedy", $0.configuration)] } ?? [])
    switch result {
    case .success(let plan):
      #expect(plan.costPerHour >= optimum - 1e-9)
      #expect(instance.fullySimulatedFeasible(plan.configuration))
      let bound = try! #require(plan.lowerBoundPerHour)
      #expect(bound <= optimum + 1e-9, "seed \(seed): lower bound \(bound) above the optimum \(optimum)")
      if plan.provenOptimal == true {
        #expect(abs(plan.costPerHour - optimum) < 1e-9)
      } else {
        #expect(plan.gap! >= 0 && abs(plan.gap! - (plan.costPerHour / bound - 1)) < 1e-12)
      }
    case .failure(let why):
      #expect(!why.proven, "a plan exists at $\(optimum)/h; only an unproven failure is allowed")
      #expect(why.reason.contains("budget ran out"))
    }
  }

  @Test func someBudgetRunsOutBeforeTheProof() {
    // Over the instances above, a one-simulation budget must leave at least one search unproven; otherwise the
    // test above proved nothing about the anytime path.
    var unproven = 0
    for seed in 1...8 as ClosedRange<UInt64> {
      let planner = SmallInstance(seed: seed, stages: 2, sloMs: 25).planner()
      switch planner.optimal(budget: SearchBudget(simulations: 1)) {
      case .success(let plan) where plan.provenOptimal == false: unproven += 1
      case .failure(let why) where !why.proven: unproven += 1
      default: break
      }
    }
    #expect(unproven > 0)
  }

  /// A time budget stops the search between batches and says so, keeping every promise of a count budget (a
  /// lower bound never above the exhaustive optimum; `bestPlan` then stands behind greedy's plan, unproven); a
  /// generous one proves what the exhaustive answer is, and the effort it reports is what the oracle ran.
  @Test(arguments: Array(1...4) as [UInt64])
  func aTimeBudgetStopsTheSearchAndSaysWhatItBought(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 3, sloMs: 30)
    let optimum = try #require(instance.bruteForce(), "seed \(seed): the instance has a feasible configuration")
    // A nanosecond: the search stops at its first check.
    switch instance.planner().optimal(budget: .time(seconds: 1e-9)) {
    case .success(let plan):
      Issue.record("seed \(seed): a search with no time found \(plan.method) at $\(plan.costPerHour)/h")
    case .failure(let why):
      #expect(!why.proven && why.effort?.stoppedBy == .time, "seed \(seed): \(why)")
      #expect(why.reason.contains("time budget ran out after 0 simulations"), "\(why.reason)")
      #expect(why.lowerBoundPerHour.map { $0 <= optimum + 1e-9 } == true)
    }
    let fallback = instance.planner().bestPlan(budget: .time(seconds: 1e-9))
    if case .success(let plan) = fallback, plan.provenOptimal != true {
      #expect(plan.effort?.stoppedBy == .time && plan.costPerHour >= optimum - 1e-9)
      #expect(instance.fullySimulatedFeasible(plan.configuration))
      #expect(plan.lowerBoundPerHour.map { $0 <= optimum + 1e-9 } == true)
    }
    let planner = instance.planner()
    let generous = try planner.optimal(budget: .time(seconds: 600)).get()
    #expect(generous.provenOptimal == true && abs(generous.costPerHour - optimum) < 1e-9, "seed \(seed)")
    let effort = try #require(generous.effort)
    #expect(effort.stoppedBy == nil && effort.secondsAllowed == 600)
    #expect(effort.simulations == planner.oracle.counters.estimatorRuns && effort.configurations > 0)
    // The same search under the count budget when that budget is enough: the same work.
    let counted = try instance.planner().optimal(budget: .standard).get()
    if counted.effort?.stoppedBy == nil {
      #expect(counted.effort?.simulations == effort.simulations && counted.configuration == generous.configuration)
    }
  }

  @Test func anSLOBelowTheCriticalPathIsExplainedWithAnSLOThatCanBeMet() throws {
    let instance = SmallInstance(seed: 3, stages: 2, sloMs: 0.5)
    guard case .failure(let why) = instance.planner(sloMs: 0.5).optimal() else {
      Issue.record("a 0.5 ms SLO cannot be met")
      return
    }
    #expect(why.proven)
    #expect(why.reason.contains("critical path") && why.reason.contains("against an SLO of 0.50 ms"))
    let attainable = try #require(
      Planner.attainableSLO(model: instance.model, arrivals: instance.arrivals, seed: 7, sloMs: 0.5))
    // The suggestion is real: a plan exists at it, and the floor is below it.
    #expect(Double(instance.model.certainLatencyFloor.nanoseconds) / 1e6 < attainable)
    #expect((try? instance.planner(sloMs: attainable).optimal().get()) != nil)
  }

  @Test func replicaLimitsThatCannotCarryTheMeanRateAreProven() {
    // Far more traffic than three replicas of anything can serve.
    let instance = SmallInstance(seed: 4, stages: 2, sloMs: 200, rate: 20_000, maxReplicas: 3)
    guard case .failure(let why) = instance.planner().optimal() else {
      Issue.record("20,000 q/s cannot fit in three replicas")
      return
    }
    #expect(why.proven)
    #expect(why.reason.contains("share of the mean rate"))
    // Independently, from the raw rows: three replicas at the best throughput of any profiled size carry less than
    // the first stage's traffic (every query enters it).
    let rate = Double(instance.arrivals.count) / (Double(instance.arrivals.last! - instance.arrivals.first!) / 1e9)
    let stage = instance.inputs.pipeline.stages[0]
    var best = 0.0
    for p in instance.inputs.profiles.profiles where p.model == stage.model {
      for (b, l) in zip(p.batchSizes, p.latencies) { best = max(best, 3 * Double(b) * 1e9 / Double(l)) }
    }
    #expect(best < rate)
  }

  @Test func planningIsDeterministic() {
    let instance = SmallInstance(seed: 5, stages: 3, hardware: 3)
    let a = instance.planner().greedy(), b = instance.planner().greedy()
    #expect(try! a.get().configuration == b.get().configuration)
    #expect(try! a.get().steps == b.get().steps)
    #expect(try! instance.planner().optimal().get() == instance.planner().optimal().get())
  }

  @Test func parallelAnswersEqualSerialAnswers() {
    let instance = SmallInstance(seed: 6, stages: 2)
    let planner = instance.planner()
    let options = planner.stageOptions()
    let configs = options[0].prefix(6).flatMap { a in
      options[1].prefix(4).map { PipelineConfiguration(stages: [a.configuration, $0.configuration]) }
    }
    let fresh = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7)
    let parallel = fresh.evaluate(configs)
    let serial = configs.map {
      FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7).evaluate($0)
    }
    #expect(parallel == serial)
  }

  @Test func theBoundOnlyAcceptsWhatSimulationConfirms() {
    // Generous configurations: where the network-calculus screen says feasible, a full simulation agrees.
    var accepted = 0
    for seed in [1, 2, 3] as [UInt64] {
      let instance = SmallInstance(seed: seed, stages: 2, sloMs: 400, rate: 50)
      let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7)
      let planner = Planner(oracle: oracle)
      let options = planner.stageOptions()
      for a in options[0].prefix(10) {
        let config = PipelineConfiguration(stages: [a.configuration, options[1].last!.configuration])
        let answer = oracle.evaluate(config)
        guard answer.bound != nil else { continue }
        let input = try! instance.model.simulationInput(
          arrivals: instance.arrivals, configuration: config, routes: .drawn(seed: 7), slo: oracle.slo)
        let result = Estimator.simulate(input)
        #expect(result.feasible)
        #expect(Double(result.summary!.max) / 1e9 <= answer.bound! + 1e-9)
        accepted += 1
      }
    }
    #expect(accepted > 5)
  }

  /// Every frontier point is the optimum at its SLO, by brute force.
  @Test func frontierPointsAreTheOptimaAtTheirSLOs() {
    let instance = SmallInstance(seed: 8, stages: 2, sloMs: 30)
    let points = Planner.frontier(
      model: instance.model, arrivals: instance.arrivals, seed: 7, multipliers: [0.5, 1, 2, 4])
    #expect(points.map(\.sloMs) == [15, 30, 60, 120])
    for p in points {
      #expect(p.costPerHour == instance.bruteForce(sloMs: p.sloMs), "at \(p.sloMs) ms")
    }
  }

  /// The window planner's recommendation is never dearer than greedy or a feasible CG baseline, and the greedy
  /// gap it reports is the ratio of the two costs.
  @Test(arguments: [11, 12, 13, 14] as [UInt64])
  func theRecommendationIsNeverDearerThanAFeasibleBaseline(seed: UInt64) {
    let instance = SmallInstance(seed: seed, stages: 2, rate: 120, maxReplicas: 4)
    let window = WorkloadWindow(start: 0, length: 8_000_000_000, range: 0..<instance.arrivals.count)
    let plan = WindowPlanning.plan(
      model: instance.model, window: window, arrivals: instance.arrivals, seed: 7, budget: .standard)
    guard let recommended = plan.recommended else {
      #expect(instance.bruteForce() == nil)
      return
    }
    #expect(abs(recommended.costPerHour - instance.bruteForce()!) < 1e-9 || recommended.method != "optimal")
    #expect(recommended.costPerHour <= instance.bruteForce()! + 1e-9)
    for b in plan.baselines where b.feasible { #expect(recommended.costPerHour <= b.costPerHour + 1e-9, "\(b.name)") }
    if let g = plan.greedy {
      #expect(g.costPerHour >= recommended.costPerHour - 1e-9)
      #expect(abs(g.gapToRecommended! - (g.costPerHour / recommended.costPerHour - 1)) < 1e-12)
    }
  }
}

/// The prefix bound (`FeasibilityOracle.PrefixBound`) is admissible: on random small chains (conditional edges
/// included, so some queries leave early), every configuration of a prefix it declares dead is infeasible in a
/// full simulation with no screen, and it declares some prefixes dead (else the test checks nothing).
@Suite struct PrefixBoundTests {
  @Test(arguments: [3, 8, 21] as [UInt64])
  func aDeadPrefixHasNoFeasibleConfiguration(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 3, hardware: 2, maxReplicas: 2)
    let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7)
    let bound = try #require(oracle.prefixBound, "a chain gets the prefix bound")
    let model = instance.model
    // Every configuration, with 1...2 replicas (the catalog's limit).
    let all = instance.everyConfiguration(replicas: 2).map(\.stages)
    var feasible: [[StageConfiguration]: Bool] = [:]
    var dead: Set<[StageConfiguration]> = []
    let routes: RouteSource = bound.masks.map { .given($0) } ?? .drawn(seed: 7)
    for stages in all {
      let c = PipelineConfiguration(stages: stages)
      let input = try model.simulationInput(
        arrivals: instance.arrivals, configuration: c, routes: routes, dispatchSeed: 7)
      let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: false, recordStageFinishes: true))
      feasible[stages] = result.feasible
      if let k = bound.deadPrefixLength(
        finishes: result.stageFinishes!, arrivals: instance.arrivals, slo: oracle.slo,
        allowedMisses: model.percentile.allowedMisses(of: instance.arrivals.count))
      {
        #expect(!result.feasible, "seed \(seed): a feasible run called its own prefix dead")
        dead.insert(bound.prefix(c, k))
      }
    }
    #expect(!dead.isEmpty, "seed \(seed): no prefix was shown dead")
    for stages in all {
      let c = PipelineConfiguration(stages: stages)
      for k in 1..<stages.count where dead.contains(bound.prefix(c, k)) {
        #expect(feasible[stages] == false, "seed \(seed): \(stages) is feasible but its prefix of \(k) was called dead")
      }
    }
    // The search with the bound finds what brute force finds.
    let brute = instance.bruteForce()
    switch instance.planner().optimal() {
    case .success(let plan): #expect(abs(plan.costPerHour - (brute ?? -1)) < 1e-9, "seed \(seed)")
    case .failure: #expect(brute == nil, "seed \(seed)")
    }
  }
}

/// One answer per question: the frontier's point at the pipeline's SLO is the window's plan; a looser SLO is never
/// dearer; every point's plan meets its SLO in a full simulation; its lower bound is never above the optimum brute
/// force finds, and a proven point is that optimum. With a budget of a few simulations, so points go unproven.
@Suite struct FrontierTests {
  @Test(arguments: [4, 9, 17] as [UInt64])
  func theFrontierAgreesWithThePlanAndNeverRises(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 2, hardware: 2, maxReplicas: 3)
    let budget = SearchBudget(simulations: 3)
    let plan = try #require(try? instance.planner().bestPlan(budget: budget).get())
    let multipliers = [0.7, 1, 1.4, 2]
    let points = Planner.frontier(
      model: instance.model, arrivals: instance.arrivals, seed: 7, multipliers: multipliers, budget: budget,
      incumbents: [("plan", plan.configuration)], planAtSLO: plan)
    #expect(points.count == multipliers.count)
    let atSLO = try #require(points.first { abs($0.sloMs - instance.inputs.pipeline.slo.latencyMs) < 1e-9 })
    #expect(atSLO.costPerHour == plan.costPerHour && atSLO.configuration == plan.configuration)
    var previous = Double.infinity
    for p in points {
      let cost = p.costPerHour ?? .infinity
      #expect(cost <= previous + 1e-9, "seed \(seed): the frontier rises at \(p.sloMs) ms")
      previous = cost
      guard let c = p.configuration else { continue }
      #expect(instance.fullySimulatedFeasible(c, sloMs: p.sloMs), "seed \(seed): \(p.sloMs) ms plan misses")
      let optimum = try #require(instance.bruteForce(sloMs: p.sloMs))
      let bound = try #require(p.lowerBoundPerHour)
      #expect(bound <= optimum + 1e-9 && bound <= cost + 1e-9, "seed \(seed): bound \(bound), optimum \(optimum)")
      if p.provenOptimal == true { #expect(abs(cost - optimum) < 1e-9, "seed \(seed) at \(p.sloMs) ms") }
    }
  }
}

/// The burst condition (`FeasibilityOracle.BurstCapacity`) is admissible: on random small pipelines (chains with
/// conditional edges, bursty gamma traffic), every configuration with a stage below the replicas it asks for is
/// infeasible in a full simulation with no screen, and it asks for more than the mean rate does somewhere.
@Suite struct BurstCapacityTests {
  @Test(arguments: [2, 5, 11] as [UInt64])
  func tooFewReplicasForABurstIsNeverFeasible(seed: UInt64) throws {
    let instance = SmallInstance(seed: seed, stages: 2, hardware: 2, sloMs: 12, rate: 400, maxReplicas: 6)
    let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7)
    let burst = try #require(oracle.burstCapacity)
    let model = instance.model
    let routes: RouteSource = oracle.burstMasks.map { .given($0) } ?? .drawn(seed: 7)
    var ruledOut = 0, aboveTheMean = 0
    let perStage: [[StageConfiguration]] = model.stages.map { stage in
      stage.options.flatMap { o in
        o.profiledBatchSizes.flatMap { b in
          (1...6).map { StageConfiguration(hardware: o.hardware, batchSize: b, replicas: $0) }
        }
      }
    }
    for (m, stage) in model.stages.enumerated() {
      for o in stage.options {
        for b in o.profiledBatchSizes
        where burst.minimumReplicas(stage: m, option: o, batch: b)
          > model.minimumReplicas(stage: m, option: o, batch: b, meanRate: oracle.meanRate)
        {
          aboveTheMean += 1
        }
      }
    }
    for first in perStage[0] {
      for second in perStage[1] {
        let c = PipelineConfiguration(stages: [first, second])
        let short = c.stages.enumerated().contains { m, s in
          let o = model.stages[m].option(hardware: s.hardware)!
          return s.replicas < burst.minimumReplicas(stage: m, option: o, batch: s.batchSize)
        }
        guard short else { continue }
        ruledOut += 1
        let input = try model.simulationInput(
          arrivals: instance.arrivals, configuration: c, routes: routes, dispatchSeed: 7)
        #expect(
          !Estimator.simulate(input, options: .init(collectWaitPercentiles: false)).feasible, "seed \(seed): \(c)")
      }
    }
    #expect(ruledOut > 0 && aboveTheMean > 0, "seed \(seed): the condition asked for nothing beyond the mean rate")
    // The search with the condition still finds what brute force finds.
    let brute = instance.bruteForce()
    switch instance.planner().optimal() {
    case .success(let plan): #expect(abs(plan.costPerHour - (brute ?? -1)) < 1e-9, "seed \(seed)")
    case .failure: #expect(brute == nil, "seed \(seed)")
    }
  }

  /// The shortest span of k consecutive times against every span counted directly: ties, k of 1 and of the
  /// whole count, and more than there are.
  @Test func shortestHoldingIsTheShortestSpanOfKConsecutiveTimes() {
    var rng = SeededGenerator(seed: 9)
    for trial in 0..<30 {
      let count = Int(rng.next() % 300) + 1
      var t: Int64 = 0
      let times = (0..<count).map { _ -> Int64 in
        t += trial % 3 == 0 ? Int64(rng.next() % 3) : Int64(rng.next() % 1_000_000)
        return t
      }
      for k in Set([1, 2, 7, count / 2, count, count + 1]) where k >= 1 {
        let expected = k > count ? nil : (0...(count - k)).map { times[$0 + k - 1] - times[$0] }.min()
        #expect(FeasibilityOracle.BurstCapacity.shortestHolding(times, k) == expected, "trial \(trial), k \(k)")
      }
    }
  }
}
