import Dispatch
import Foundation
public import InferLine

/// A night's analysis split over machines: `report --shard K/N` does shard K's units of work and writes a part;
/// `report --merge` assembles the parts into the report one machine would have written (everything but timings
/// and the time it was generated).
///
/// The units are each pipeline's windows (planned independently, with their explanations), its replays (one per
/// standard policy), its static baselines, its frontier and growth (and cascade sweep) and its what-ifs. Replays,
/// baselines, frontier, growth and what-ifs start from the busiest window's plan; a shard that has one plans that window
/// itself, which is final when proven optimal (the warm start never changes a proven plan) and otherwise takes
/// planning every window of the pipeline, as one machine would. The merge runs the warm start over the shards'
/// plans, so windows whose search stopped early end as on one machine.
public enum NightShards {
  /// One unit of work, of the pipeline at `pipeline` (its index among the report's pipelines): a window to plan
  /// (with its explanation), or everything that starts from the busiest window's plan (the replays, the static
  /// baselines, the frontier and growth, and the what-ifs), which needs that plan and so goes with the busiest window.
  public enum Unit: Hashable, Sendable, Codable {
    case window(pipeline: Int, index: Int)
    case afterPlanning(pipeline: Int)

    public var pipeline: Int {
      switch self {
      case .window(let p, _), .afterPlanning(let p): p
      }
    }
  }

  /// The stages after a pipeline's planning, in the order they start (`AfterPlanningStage`): the frontier and
  /// growth, the replays (the policies' and the baselines') beside it, then the what-ifs when asked for.
  static func stagesAfterPlanning(_ options: CapacityAnalysis.Options) -> [any AfterPlanningStage] {
    [OutlookStage(), ReplaysStage()] + (options.whatIfs.isEmpty ? [] : [WhatIfsStage()])
  }

  /// The night's work in bundles that go to one shard each, with their expected cost (in simulated stage visits,
  /// roughly): a window its search (`PipelineNight.searchVisits`), and the work after planning (each stage's
  /// `cost`) together with the busiest window and its neighbours within `neighbourhood` windows: the busy hours
  /// around the peak are the ones whose searches most often stop before a proof, and the shard with the replays
  /// plans that run itself (`settle`), so it had better own them.
  public static func bundles(
    workloads: [CapacityAnalysis.Workload], models: [PipelineModel], options: CapacityAnalysis.Options,
    neighbourhood: Int = 3
  ) -> [(units: [Unit], cost: Double)] {
    var result: [([Unit], Double)] = []
    for (p, (workload, model)) in zip(workloads, models).enumerated() {
      let night = PipelineNight(model: model, workload: workload, options: options)
      let near =
        max(0, workload.busiest - neighbourhood)...min(workload.windows.count - 1, workload.busiest + neighbourhood)
      for i in workload.windows.indices where !near.contains(i) {
        result.append(([.window(pipeline: p, index: i)], night.searchVisits(window: i)))
      }
      let nearCost = near.reduce(0.0) { $0 + night.searchVisits(window: $1) }
      let after = stagesAfterPlanning(options).reduce(0.0) { $0 + $1.cost(night) }
      result.append((near.map { .window(pipeline: p, index: $0) } + [.afterPlanning(pipeline: p)], nearCost + after))
    }
    return result
  }

  /// The units of each of `shards` shards: bundles largest first, each to the shard with the least expected cost
  /// so far (the first of equals). Deterministic. - Complexity: O(bundles x (log bundles + shards)).
  public static func assign(_ bundles: [(units: [Unit], cost: Double)], shards: Int) -> [[Unit]] {
    precondition(shards >= 1)
    var load = [Double](repeating: 0, count: shards)
    var result = [[Unit]](repeating: [], count: shards)
    let order = bundles.indices.sorted { (-bundles[$0].cost, $0) < (-bundles[$1].cost, $1) }
    for i in order {
      let k = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
      load[k] += bundles[i].cost
      result[k] += bundles[i].units
    }
    return result
  }

  /// What one shard computed for one pipeline.
  public struct PipelinePart: Sendable, Codable {
    public var pipeline: String
    /// Windows planned independently (before the warm start), by index.
    public var plans: [Int: WindowPlan] = [:]
    /// Runs of windows the shard warm-started as the day would (around the busiest window when its plan was not
    /// proven), by index: the merge takes them as they are.
    public var settled: [Int: WindowPlan] = [:]
    public var explanations: [Int: PlanExplanation] = [:]
    /// Replays by standard policy index.
    public var replays: [Int: ReplayResult] = [:]
    public var baselineReplays: [ReplayResult]? = nil
    /// The frontier and growth, when this part did it (its cascade sweep may be nil: not asked for, or no such edge).
    public var frontier: [FrontierPoint]? = nil
    public var growth: [CapacityReport.GrowthScenario]? = nil
    /// The plans at the budget forecast's traffic factors, when the pipeline has a history.
    public var forecastPlans: [CapacityReport.GrowthScenario]? = nil
    public var escalation: EscalationSweep? = nil
    public var whatIfs: [WhatIf]? = nil
    /// The busiest window's plan the replays, baselines, frontier, growth and what-ifs started from (the merge checks it).
    public var basedOn: PipelineConfiguration? = nil
    /// Seconds per phase, for the merged report's timings.
    public var timings: [String: Double] = [:]
    public init(pipeline: String) { self.pipeline = pipeline }
  }

  /// A shard's result file (`part.json`).
  public struct Part: Sendable, Codable {
    public static let format = "inferline report part"
    /// 2: sealed (`seal`), checked figure by figure. 3: the settings as a `ReportRequest`, not arguments.
    public static let currentVersion = 3
    public var format = Part.format
    public var version = Part.currentVersion
    /// A hash (or keyed signature) of the rest of the part, written and checked by `PartFile`.
    public var seal: String? = nil
    public var shard: Int
    public var shards: Int
    /// The settings the shard ran with (`ReportRequest.analysis`: without `out`, `templates`, `previous`): the
    /// merge runs with the same.
    public var request: ReportRequest
    /// The input files as the shard read them (role, path, size, SHA-256).
    public var inputs: [CapacityReport.InputFile]
    public var units: [Unit]
    public var pipelines: [PipelinePart]
    /// Seconds the shard took, and its CPU seconds (user and system), for the benchmark.
    public var seconds: Double
    public var cpuSeconds: Double

    public init(
      shard: Int, shards: Int, request: ReportRequest, inputs: [CapacityReport.InputFile], units: [Unit],
      pipelines: [PipelinePart], seconds: Double, cpuSeconds: Double
    ) {
      self.shard = shard
      self.shards = shards
      self.request = request
      self.inputs = inputs
      self.units = units
      self.pipelines = pipelines
      self.seconds = seconds
      self.cpuSeconds = cpuSeconds
    }
  }

  /// Every unit of the night: each pipeline's windows and the work after its planning. One machine runs them all
  /// in one process and merges the one part (`CapacityAnalysis.run`), so it and a sharded run cannot differ.
  public static func units(of workloads: [CapacityAnalysis.Workload]) -> [Unit] {
    workloads.enumerated().flatMap { p, workload in
      workload.windows.indices.map { Unit.window(pipeline: p, index: $0) } + [.afterPlanning(pipeline: p)]
    }
  }

  /// Shard `shard`'s units of the night for the pipelines' workloads (read from one set of logs).
  /// - Parameter progress: the share of the units' work done (0 to 1) and what is under way, from any thread.
  /// - Complexity: the units' work; windows in parallel, then replays in parallel.
  public static func run(
    models: [PipelineModel], workloads: [CapacityAnalysis.Workload], options: CapacityAnalysis.Options,
    units mine: [Unit], progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> [PipelinePart] {
    var parts = models.map { PipelinePart(pipeline: $0.name) }
    for p in models.indices {
      let share = 1 / Double(models.count), offset = Double(p) * share
      let progress: @Sendable (Double, String) -> Void = { fraction, line in
        progress(offset + share * fraction, line)
      }
      let model = models[p], workload = workloads[p]
      let units = mine.filter { $0.pipeline == p }
      guard !units.isEmpty else { continue }
      var clock = Date()
      func phase(_ name: String) {
        parts[p].timings[name, default: 0] += Date().timeIntervalSince(clock)
        clock = Date()
      }
      // Windows: planned independently, in parallel, each with its explanation.
      let windows = units.compactMap { if case .window(_, let i) = $0 { i } else { nil } }
      progress(0.05, "\(TerminalText.safe(model.name)): planning \(windows.count) windows")
      var planned = plan(windows, model: model, workload: workload, options: options) { done in
        progress(
          0.05 + 0.55 * Double(done) / Double(max(1, windows.count)), "planned \(done) of \(windows.count) windows")
      }
      for i in windows { parts[p].plans[i] = planned[i] }
      let explained = CapacityAnalysis.explain(
        model: model, workload: workload, plans: windows.map { planned[$0]! }, windows: windows, seed: options.seed)
      for (i, e) in zip(windows, explained) where e != nil { parts[p].explanations[i] = e }
      phase("planning")
      // Everything else starts from the busiest window's final plan (and the what-ifs from the typical one's).
      guard units.contains(.afterPlanning(pipeline: p)) else { continue }
      var needed = [workload.busiest]
      if !options.whatIfs.isEmpty, let t = ServingWhatIfs.typicalWindow(workload, model: model) { needed.append(t) }
      planned.merge(plan(needed.filter { planned[$0] == nil }, model: model, workload: workload, options: options)) {
        a, _ in a
      }
      for i in needed where !WindowPlanning.isFinal(planned[i]!) && parts[p].settled[i] == nil {
        let state = planned[i]!.recommended == nil ? " has no plan yet" : "'s plan is not proven"
        progress(0.6, "\(TerminalText.safe(model.name)): window \(i)\(state); warm-starting it as the day would")
        let run = settle(i, known: &planned, model: model, workload: workload, options: options)
        for (j, plan) in run { planned[j] = plan }
        parts[p].settled.merge(run) { a, _ in a }
      }
      phase("planning")
      let busiest = planned[workload.busiest]!
      parts[p].basedOn = busiest.recommended?.configuration
      let night = PipelineNight(model: model, workload: workload, options: options)
      let stages = stagesAfterPlanning(options).filter { busiest.recommended != nil || $0.runsWithoutPlan }
      let phases = stages.map(\.phase).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
      progress(
        0.65,
        "\(TerminalText.safe(model.name)): \(phases.joined(separator: ", ")) from the busiest window's plan, over \(workload.trace.count) queries"
      )
      for wave in 0...1 {
        let now = stages.filter { $0.wave == wave }
        let context = AfterPlanningContext(busiest: busiest, plans: planned, earlier: parts[p])
        let slots = ResultSlots<Result<NightShards.PipelinePart, any Error>>(count: now.count)
        // Side by side, in the stages' order (the longest first); each runs its own work in parallel within it.
        DispatchQueue.concurrentPerform(iterations: now.count) { k in
          let started = Date()
          slots[k] = Result {
            // Each stage one task of the process's share (`CoreShare`).
            var part = try CoreShare.process.run { try now[k].run(night, context) }
            part.timings[now[k].phase, default: 0] += Date().timeIntervalSince(started)
            return part
          }
        }
        for k in now.indices { parts[p].take(try slots[k]!.get()) }
      }
      progress(0.95, "\(TerminalText.safe(model.name)): \(phases.joined(separator: ", ")) done")
    }
    return parts
  }

  /// The plans after the warm start of window i's run: its unproven neighbours (planned independently as needed,
  /// into `known`) up to final plans or the day's ends, which evolve on their own, as on one machine. By window,
  /// the final plans at the ends included.
  static func settle(
    _ i: Int, known: inout [Int: WindowPlan], model: PipelineModel, workload: CapacityAnalysis.Workload,
    options: CapacityAnalysis.Options
  ) -> [Int: WindowPlan] {
    var low = i, high = i
    func extend(_ step: Int) {
      var j = (step < 0 ? low : high) + step
      while workload.windows.indices.contains(j) {
        if known[j] == nil { known.merge(plan([j], model: model, workload: workload, options: options)) { a, _ in a } }
        if step < 0 { low = j } else { high = j }
        if WindowPlanning.isFinal(known[j]!) { break }
        j += step
      }
    }
    extend(-1)
    extend(1)
    let range = Array(low...high)
    let busiest = range.firstIndex(of: workload.busiest)
    let settled = WindowPlanning.warmStart(
      range.map { known[$0]! }, model: model, trace: workload.trace, windows: range.map { workload.windows[$0] },
      seed: options.seed, budget: options.budget, busiest: .some(busiest), rounds: workload.windows.count,
      earlier: workload.earlier)
    return Dictionary(uniqueKeysWithValues: zip(range, settled))
  }

  /// Windows planned independently (`WindowPlanning.planIndependently`), by index.
  static func plan(
    _ windows: [Int], model: PipelineModel, workload: CapacityAnalysis.Workload, options: CapacityAnalysis.Options,
    progress: @escaping @Sendable (Int) -> Void = { _ in }
  ) -> [Int: WindowPlan] {
    let plans = WindowPlanning.planIndependently(
      windows, model: model, trace: workload.trace, windows: workload.windows, seed: options.seed,
      budget: options.budget, earlier: workload.earlier, progress: progress)
    return Dictionary(uniqueKeysWithValues: zip(windows, plans))
  }

  /// The warm start of the day over independent plans, run by run: each run of windows that are not final (with
  /// the final windows or day's ends around it) evolves on its own, so a run a shard settled is taken as it is and
  /// the others are warm-started alone; the same plans as `WindowPlanning.warmStart` over the whole day.
  static func warmStart(
    _ independent: [WindowPlan], settled: [Int: WindowPlan], model: PipelineModel,
    workload: CapacityAnalysis.Workload, options: CapacityAnalysis.Options
  ) -> [WindowPlan] {
    var plans = independent
    var i = 0
    while i < plans.count {
      guard !WindowPlanning.isFinal(independent[i]) else {
        i += 1
        continue
      }
      var j = i
      while j + 1 < plans.count, !WindowPlanning.isFinal(independent[j + 1]) { j += 1 }
      if (i...j).allSatisfy({ settled[$0] != nil }) {
        for k in i...j { plans[k] = settled[k]! }
      } else {
        let range = Array(max(0, i - 1)...min(plans.count - 1, j + 1))
        let run = WindowPlanning.warmStart(
          range.map { independent[$0] }, model: model, trace: workload.trace,
          windows: range.map { workload.windows[$0] }, seed: options.seed, budget: options.budget,
          busiest: .some(range.firstIndex(of: workload.busiest)), rounds: plans.count, earlier: workload.earlier)
        for (k, plan) in zip(range, run) where (i...j).contains(k) { plans[k] = plan }
      }
      i = j + 1
    }
    return plans
  }

  /// The pipelines' reports from every shard's part: the plans after the warm start, explanations again for
  /// windows the warm start changed, and the rest as the shards computed it.
  /// - Throws: `InputError` when a unit is missing from every part, or a shard started from another busiest plan.
  public static func merge(
    models: [PipelineModel], workloads: [CapacityAnalysis.Workload], ingestion: [IngestionReport],
    options: CapacityAnalysis.Options, parts: [Part]
  ) throws -> [CapacityReport] {
    try merge(
      models: models, workloads: workloads, ingestion: ingestion, options: options, pipelines: parts.map(\.pipelines))
  }

  /// `merge` of the parts' pipelines (each part's, in the models' order).
  static func merge(
    models: [PipelineModel], workloads: [CapacityAnalysis.Workload], ingestion: [IngestionReport],
    options: CapacityAnalysis.Options, pipelines: [[PipelinePart]]
  ) throws -> [CapacityReport] {
    try models.indices.map { p in
      let model = models[p], workload = workloads[p]
      let mine = pipelines.map { $0[p] }
      var timings: [String: Double] = [:]
      for part in mine { for (phase, seconds) in part.timings { timings[phase, default: 0] += seconds } }
      func missing(_ what: String) -> InputError {
        InputError(
          "no part holds \(what) of pipeline '\(TerminalText.safe(model.name))'", fix: "give every shard's part")
      }
      var independent: [WindowPlan] = []
      for i in workload.windows.indices {
        guard let plan = mine.lazy.compactMap({ $0.plans[i] }).first else { throw missing("window \(i)") }
        independent.append(plan)
      }
      let started = Date()
      let settled = mine.reduce(into: [Int: WindowPlan]()) { all, part in all.merge(part.settled) { a, _ in a } }
      let plans = warmStart(independent, settled: settled, model: model, workload: workload, options: options)
      var explanations = workload.windows.indices.map { i in mine.lazy.compactMap({ $0.explanations[i] }).first }
      let changed = plans.indices.filter { plans[$0] != independent[$0] }
      let again = CapacityAnalysis.explain(
        model: model, workload: workload, plans: changed.map { plans[$0] }, windows: changed, seed: options.seed)
      for (i, e) in zip(changed, again) { explanations[i] = e }
      timings["planning: warm start", default: 0] += Date().timeIntervalSince(started)
      let recommended = plans[workload.busiest].recommended?.configuration
      for part in mine where part.basedOn != nil || !part.replays.isEmpty {
        guard part.basedOn == recommended else {
          throw InputError(
            "a shard of pipeline '\(TerminalText.safe(model.name))' replayed from a busiest plan other than the merged one",
            fix: "run every shard with the same inputs and options")
        }
      }
      // Without a plan one machine runs only the stages that need none, and finds no what-if to run.
      var results = CapacityAnalysis.Results(
        plans: plans, explanations: explanations, replays: [], baselineReplays: [], frontier: [], growth: [],
        escalation: nil, whatIfs: options.whatIfs.isEmpty ? nil : [])
      for stage in stagesAfterPlanning(options) where recommended != nil || stage.runsWithoutPlan {
        try stage.assemble(mine, into: &results, missing: missing)
      }
      return try CapacityAnalysis.assemble(
        model: model, options: options, workload: workload, ingestion: ingestion, results: results, timings: timings)
    }
  }
}

extension NightShards.Part {
  /// Checks that the settings a part records are a shard's: they name the logs, the pipelines, the catalog and the
  /// profiles, and no calibration (fitted before sharding) or presentation (`out`, `templates`, `previous`).
  /// - Throws: `InputError` naming the file.
  public func checkRequest(file: String) throws {
    let r = request
    guard !r.logs.isEmpty, !r.pipelines.isEmpty, r.hardware != nil, r.profiles != nil, r.calibrate == nil,
      r.out == nil, r.templates == nil, r.previous == nil
    else {
      throw InputError(
        file: file,
        "the part's settings are not a shard's: they must name the logs, the pipelines, the hardware and the profiles, and no calibrate, out, templates or previous",
        fix: "merge the parts `inferline report --shard K/N` wrote, as it wrote them")
    }
  }

  /// Checks a part as a log is checked, before anything is merged from it: the shard numbers, one entry per
  /// pipeline of the night (named as its pipeline file names it), units and window indices inside the night, and
  /// every plan, replay, frontier and growth figure within its range (configurations the pipeline can run with at least one
  /// replica per stage, costs that are the configurations' prices, no NaN, nothing negative).
  /// - Parameter windowCounts: each pipeline's windows, in the models' order.
  /// - Throws: `InputError` naming the file, the pipeline and the figure. - Complexity: O(the part's size).
  public func check(models: [PipelineModel], windowCounts: [Int], file: String) throws {
    func bad(_ what: String) -> InputError {
      InputError(file: file, what, fix: "run the shard again; merge only parts `inferline report --shard` wrote")
    }
    guard (1...10_000).contains(shards), (0..<shards).contains(shard) else {
      throw bad("shard \(shard) of \(shards) is not a shard (K from 0 to N - 1, N from 1 to 10000)")
    }
    guard seconds.isFinite, seconds >= 0, cpuSeconds.isFinite, cpuSeconds >= 0 else {
      throw bad("the shard's seconds (\(seconds), \(cpuSeconds) CPU) are not durations")
    }
    guard pipelines.count == models.count else {
      throw bad("holds \(pipelines.count) pipelines, the night has \(models.count)")
    }
    for unit in units {
      guard models.indices.contains(unit.pipeline) else {
        throw bad("a unit of pipeline \(unit.pipeline) of \(models.count)")
      }
      if case .window(let p, let i) = unit, !(0..<windowCounts[p]).contains(i) {
        throw bad(
          "a unit of window \(i) of pipeline '\(TerminalText.safe(models[p].name))', which has \(windowCounts[p])")
      }
    }
    for (p, part) in pipelines.enumerated() {
      let model = models[p]
      let name = TerminalText.safe(model.name)
      guard part.pipeline == model.name else {
        throw bad("its pipeline \(p + 1) is '\(TerminalText.safe(part.pipeline))', the night's is '\(name)'")
      }
      func amount(_ x: Double?, _ what: @autoclosure () -> String) throws {
        guard let x else { return }
        guard x.isFinite, x >= 0 else { throw bad("pipeline '\(name)': \(what()) is \(x)") }
      }
      func configuration(_ c: PipelineConfiguration, cost: Double?, _ what: String) throws {
        do {
          try model.check(c)
        } catch let error as InputError {
          throw bad("pipeline '\(name)': \(what): \(error.message)")
        }
        guard c.stages.allSatisfy({ $0.replicas >= 1 }) else {
          throw bad("pipeline '\(name)': \(what) has a stage with no replica")
        }
        if let cost {
          let price = model.cost(c)
          guard abs(cost - price) <= 1e-9 * max(1, price) else {
            throw bad("pipeline '\(name)': \(what) costs $\(cost)/h, its configuration $\(price)/h")
          }
        }
      }
      func plan(_ plan: Plan, _ what: String) throws {
        try configuration(plan.configuration, cost: plan.costPerHour, what)
        try amount(plan.percentileLatencyMs, "\(what)'s latency")
        try amount(plan.boundMs, "\(what)'s bound")
        try amount(plan.lowerBoundPerHour, "\(what)'s lower bound")
        try amount(plan.gap, "\(what)'s gap")
      }
      for (kind, plans) in [("plan", part.plans), ("settled plan", part.settled)] {
        for (i, window) in plans {
          guard (0..<windowCounts[p]).contains(i) else {
            throw bad("pipeline '\(name)': a \(kind) of window \(i), of \(windowCounts[p])")
          }
          guard window.queries >= 0 else { throw bad("pipeline '\(name)': window \(i) has \(window.queries) queries") }
          try amount(window.seconds, "window \(i)'s seconds")
          if let r = window.recommended { try plan(r, "window \(i)'s plan") }
          if let g = window.greedy { try plan(g, "window \(i)'s greedy plan") }
          for b in window.baselines {
            let what = "window \(i)'s baseline '\(TerminalText.safe(b.name))'"
            try configuration(b.configuration, cost: b.costPerHour, what)
            guard b.missRate >= 0, b.missRate <= 1, !b.percentileLatencyMs.isNaN, b.percentileLatencyMs >= 0 else {
              throw bad("pipeline '\(name)': \(what) has miss rate \(b.missRate), latency \(b.percentileLatencyMs) ms")
            }
          }
        }
      }
      for i in part.explanations.keys where !(0..<windowCounts[p]).contains(i) {
        throw bad("pipeline '\(name)': an explanation of window \(i), of \(windowCounts[p])")
      }
      for k in part.replays.keys where !CapacityAnalysis.standardPolicies.indices.contains(k) {
        throw bad("pipeline '\(name)': a replay of policy \(k), of \(CapacityAnalysis.standardPolicies.count)")
      }
      for r in Array(part.replays.values) + (part.baselineReplays ?? []) {
        let what = "the replay '\(TerminalText.safe(r.policy))'"
        try amount(r.cost, "\(what)'s cost")
        try amount(r.hours, "\(what)'s hours")
        guard r.queries >= 0, r.missRate >= 0, r.missRate <= 1, !r.percentileLatencyMs.isNaN,
          r.percentileLatencyMs >= 0
        else {
          throw bad(
            "pipeline '\(name)': \(what) has \(r.queries) queries, miss rate \(r.missRate), latency \(r.percentileLatencyMs) ms"
          )
        }
        for (_, cost) in r.costByHardware { try amount(cost, "\(what)'s cost by hardware") }
        guard r.missRatePerMinute.allSatisfy({ $0 >= 0 && $0 <= 1 }),
          r.timelines.allSatisfy({ $0.points.allSatisfy { $0.replicas >= 0 } })
        else {
          throw bad("pipeline '\(name)': \(what) has a minute's miss rate outside 0 to 1 or a negative replica count")
        }
      }
      for point in part.frontier ?? [] {
        try amount(point.sloMs, "a frontier point's SLO")
        if let c = point.configuration { try configuration(c, cost: point.costPerHour, "a frontier point") }
      }
      for scenario in part.growth ?? [] {
        try amount(scenario.factor, "a growth factor")
        if let c = scenario.configuration { try configuration(c, cost: scenario.costPerHour, "a growth plan") }
      }
      if let c = part.basedOn { try configuration(c, cost: nil, "the busiest plan") }
      for (phase, s) in part.timings { try amount(s, "the seconds of '\(TerminalText.safe(phase))'") }
    }
  }
}
