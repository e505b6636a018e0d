import Dispatch
import Foundation
public import InferLine

/// One pipeline's night as its stages see it: the model, the workload and the settings, with the sizes the stages'
/// expected costs are stated in.
public struct PipelineNight: Sendable {
  public var model: PipelineModel
  public var workload: CapacityAnalysis.Workload
  public var options: CapacityAnalysis.Options

  public init(model: PipelineModel, workload: CapacityAnalysis.Workload, options: CapacityAnalysis.Options) {
    self.model = model
    self.workload = workload
    self.options = options
  }

  /// Simulated stage visits of one replay of the whole day: its queries times the stages.
  var dayVisits: Double { Double(workload.trace.count) * Double(model.stages.count) }

  /// Simulated stage visits of one search on window i: its queries times the stages times the simulations a
  /// search takes (about 40).
  func searchVisits(window i: Int) -> Double {
    Double(workload.windows[i].count) * Double(model.stages.count) * 40
  }
}

/// What a stage after planning starts from: the busiest window's final plan, every final plan the shard knows (by
/// window), and what the night's earlier stages computed (the what-ifs reuse the replays).
struct AfterPlanningContext: Sendable {
  var busiest: WindowPlan
  var plans: [Int: WindowPlan]
  var earlier: NightShards.PipelinePart
}

/// One stage of a pipeline's night after its windows are planned, from the busiest window's final plan: its
/// expected cost (`NightShards.bundles` balances shards with it), its work (`run`: what it adds to a shard's
/// part) and its results from the parts (`assemble`: what the merge reads back, or which part is missing). One
/// machine runs every stage in one process and merges its one part, exactly as the merge of shards does. A new
/// stage is a type here and an entry in `NightShards.stagesAfterPlanning`.
protocol AfterPlanningStage: Sendable {
  /// The phase its seconds count under in the report's timings.
  var phase: String { get }
  /// Stages of wave 0 run side by side; a stage of wave 1 runs after them and reads their work (`earlier`).
  var wave: Int { get }
  /// Expected cost, in simulated stage visits (roughly).
  func cost(_ night: PipelineNight) -> Double
  /// Its work, as a part holding only what it computed. Not called without a busiest plan unless
  /// `runsWithoutPlan`.
  func run(_ night: PipelineNight, _ context: AfterPlanningContext) throws -> NightShards.PipelinePart
  /// Whether it runs (and its results are expected) when the busiest window has no plan.
  var runsWithoutPlan: Bool { get }
  /// Its results from the pipeline's parts into `results`. - Throws: `missing`'s error naming what no part holds.
  func assemble(
    _ parts: [NightShards.PipelinePart], into results: inout CapacityAnalysis.Results,
    missing: (String) -> InputError) throws
}

/// The frontier and growth (and the budget forecast's plans, and the escalation sweep), all searches on the busiest
/// window: the longest stage, so it starts first; its searches run in parallel within it.
struct OutlookStage: AfterPlanningStage {
  var phase: String { "frontier and growth" }
  var wave: Int { 0 }
  var runsWithoutPlan: Bool { true }

  func cost(_ night: PipelineNight) -> Double {
    let searches =
      Double(night.options.frontier.count + night.options.growth.count) + (night.options.escalation == nil ? 0 : 5)
    return night.searchVisits(window: night.workload.busiest) * searches
  }

  func run(_ night: PipelineNight, _ context: AfterPlanningContext) throws -> NightShards.PipelinePart {
    let (model, workload, options) = (night.model, night.workload, night.options)
    let forecastFactors =
      CapacityAnalysis.budgetForecast(model: model, workload: workload, options: options)?.factors ?? []
    var part = NightShards.PipelinePart(pipeline: model.name)
    // One of the replays' slots (`CoreShare.oneOfTotal`): its searches hold about a replay's memory, and the
    // replays beside it take the cores it leaves.
    let (frontier, growth, forecast) = CoreShare.process.oneOfTotal {
      CapacityAnalysis.frontierAndGrowth(
        model: model, workload: workload, options: options, recommended: context.busiest.recommended,
        forecastFactors: forecastFactors)
    }
    part.frontier = frontier
    part.growth = growth
    part.forecastPlans = forecastFactors.isEmpty ? nil : forecast
    part.escalation = CapacityAnalysis.escalation(model: model, workload: workload, options: options)
    return part
  }

  func assemble(
    _ parts: [NightShards.PipelinePart], into results: inout CapacityAnalysis.Results,
    missing: (String) -> InputError
  ) throws {
    guard let outlook = parts.first(where: { $0.frontier != nil }) else { throw missing("the frontier and growth") }
    results.frontier = outlook.frontier ?? []
    results.growth = outlook.growth ?? []
    results.escalation = outlook.escalation
    results.forecastPlans = outlook.forecastPlans ?? []
  }
}

/// The replays over the whole trace: the standard policies' from the busiest plan
/// (`CapacityAnalysis.standardPolicies`) and the coarse-grained baselines' (`CapacityAnalysis.baselineRuns`), on
/// threads of their own (`ThreadWork`), the longest first, as many at once as cores (`Replay.run`): a core another
/// stage leaves takes the next replay, and the last to start are the shortest.
struct ReplaysStage: AfterPlanningStage {
  var phase: String { "replay" }
  var wave: Int { 0 }
  var runsWithoutPlan: Bool { false }

  /// The tuner's verified capacities cost about three static replays; the other policies about one and a half;
  /// the per-window schedule one more (replayed when the parts are assembled); the baselines about one each.
  func cost(_ night: PipelineNight) -> Double { night.dayVisits * (3 + 4 * 1.5 + 1 + 3) }

  /// One replay: a standard policy's (by index) or a baseline's.
  private enum Job {
    case policy(Int)
    case baseline(Int)
  }

  /// Relative cost: the tuner (verified capacities, then the closed loop) 3, another closed loop 1.5, a static
  /// replay 1.
  private static func relativeCost(_ policy: ScalingPolicy) -> Double {
    switch policy {
    case .inferline: 3
    case .fixed: 1
    default: 1.5
    }
  }

  func run(_ night: PipelineNight, _ context: AfterPlanningContext) throws -> NightShards.PipelinePart {
    let policies = CapacityAnalysis.standardPolicies
    let baselines = CapacityAnalysis.baselineRuns(busiest: context.busiest)
    let configuration = context.busiest.recommended!.configuration
    // A baseline with the same configuration and policy as an earlier one (CG-Peak and CG-Mean are often the
    // same unit) is the same replay under its own name: replayed once.
    let same = baselines.indices.map { b in
      baselines.indices.first {
        baselines[$0].configuration == baselines[b].configuration
          && baselines[$0].policy == baselines[b].policy
      } ?? b
    }
    let jobs =
      (policies.indices.map { (Job.policy($0), Self.relativeCost(policies[$0])) }
      + baselines.indices.filter { same[$0] == $0 }.map { (Job.baseline($0), Self.relativeCost(baselines[$0].policy)) })
      .enumerated().sorted { ($0.element.1, -$0.offset) > ($1.element.1, -$1.offset) }.map(\.element.0)
    let slots = ResultSlots<Result<ReplayResult, any Error>>(count: jobs.count)
    ThreadWork.run(count: jobs.count, width: CoreShare.process.total) { k in
      slots[k] = Result {
        switch jobs[k] {
        case .policy(let p):
          try CapacityAnalysis.replays(
            model: night.model, workload: night.workload, configuration: configuration, policies: [policies[p]],
            seed: night.options.seed)[0]
        case .baseline(let b):
          try CapacityAnalysis.baselineReplay(
            baselines[b], model: night.model, workload: night.workload, seed: night.options.seed)
        }
      }
    }
    var part = NightShards.PipelinePart(pipeline: night.model.name)
    var baselineReplays = [ReplayResult?](repeating: nil, count: baselines.count)
    for (k, job) in jobs.enumerated() {
      let replay = try slots[k]!.get()
      switch job {
      case .policy(let p): part.replays[p] = replay
      case .baseline(let b): baselineReplays[b] = replay
      }
    }
    part.baselineReplays = baselines.indices.map { b in
      var replay = baselineReplays[same[b]]!
      replay.policy = baselines[b].name
      return replay
    }
    return part
  }

  func assemble(
    _ parts: [NightShards.PipelinePart], into results: inout CapacityAnalysis.Results,
    missing: (String) -> InputError
  ) throws {
    results.replays = try CapacityAnalysis.standardPolicies.indices.map { k in
      guard let r = parts.lazy.compactMap({ $0.replays[k] }).first else {
        throw missing("the replay of \(CapacityAnalysis.standardPolicies[k].name)")
      }
      return r
    }
    guard let b = parts.lazy.compactMap(\.baselineReplays).first else { throw missing("the baselines' replays") }
    results.baselineReplays = b
  }
}

/// The serving what-ifs asked for (`ServingWhatIfs`), after the replays, which they reuse.
struct WhatIfsStage: AfterPlanningStage {
  var phase: String { "what-ifs" }
  var wave: Int { 1 }
  var runsWithoutPlan: Bool { false }

  /// Each what-if's replays of the whole log (`ServingWhatIf.wholeLogReplays`), and a search on the busiest window.
  func cost(_ night: PipelineNight) -> Double {
    night.dayVisits * night.options.whatIfs.wholeLogReplays * 1.5 + night.searchVisits(window: night.workload.busiest)
  }

  func run(_ night: PipelineNight, _ context: AfterPlanningContext) throws -> NightShards.PipelinePart {
    var part = NightShards.PipelinePart(pipeline: night.model.name)
    part.whatIfs = try ServingWhatIfs.run(
      night.options.whatIfs, model: night.model, workload: night.workload, plan: { context.plans[$0]! },
      replays: Array(context.earlier.replays.values), options: night.options)
    return part
  }

  func assemble(
    _ parts: [NightShards.PipelinePart], into results: inout CapacityAnalysis.Results,
    missing: (String) -> InputError
  ) throws {
    guard let w = parts.lazy.compactMap(\.whatIfs).first else { throw missing("the what-ifs") }
    results.whatIfs = w
  }
}

extension NightShards.PipelinePart {
  /// This part with what `other` computed added (a stage's part holds only its own work).
  mutating func take(_ other: Self) {
    plans.merge(other.plans) { a, _ in a }
    settled.merge(other.settled) { a, _ in a }
    explanations.merge(other.explanations) { a, _ in a }
    replays.merge(other.replays) { a, _ in a }
    baselineReplays = baselineReplays ?? other.baselineReplays
    frontier = frontier ?? other.frontier
    growth = growth ?? other.growth
    forecastPlans = forecastPlans ?? other.forecastPlans
    escalation = escalation ?? other.escalation
    whatIfs = whatIfs ?? other.whatIfs
    basedOn = basedOn ?? other.basedOn
    for (phase, seconds) in other.timings { timings[phase, default: 0] += seconds }
  }
}
