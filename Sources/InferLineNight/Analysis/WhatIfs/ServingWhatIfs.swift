import Dispatch
import Foundation
public import InferLine

/// A what-if beside the plan: one question about serving that the related systems asked, replayed on the same
/// day with the same simulator, and compared on cost, misses and tail latency.
public struct WhatIf: Sendable, Equatable, Codable {
  public var title: String
  /// What was assumed, in a sentence or two (also among the report's assumptions).
  public var assumption: String
  public var rows: [Row]

  public struct Row: Sendable, Equatable, Codable {
    public var name: String
    /// Dollars per day of a replay over the whole log (serverless invocations included).
    public var costPerDay: Double? = nil
    /// Dollars per hour of a plan for the busiest window.
    public var costPerHour: Double? = nil
    /// Fraction of queries over the SLO.
    public var missRate: Double? = nil
    /// The SLO percentile of end-to-end latency, milliseconds.
    public var percentileLatencyMs: Double? = nil
    /// Queries the serverless tier served, and how many of its invocations started cold.
    public var overflowQueries: Int? = nil
    public var coldStarts: Int? = nil
    public var configuration: PipelineConfiguration? = nil
    public var note: String? = nil
  }
}

/// The related systems' what-ifs (MArk's serverless overflow and predictive scaling, Orion's cold starts,
/// correlated service and pre-warming, RackSched's balancers), run when asked for; none changes the plan.
public enum ServingWhatIfs {
  /// Service times that move together across stages (`ServiceTimeModel.correlated`).
  public struct CorrelatedService: Sendable, Equatable {
    /// Spread of the log of the size factor.
    public var sigma: Double
    /// Share of that spread common to every stage of a query, 0 to 1.
    public var correlation: Double
    public init(sigma: Double, correlation: Double) {
      self.sigma = sigma
      self.correlation = correlation
    }
  }

  /// What to run, in the report's order; the defaults run nothing.
  public struct Request: Sendable {
    public var whatIfs: [any ServingWhatIf] = []
    public init(_ whatIfs: [any ServingWhatIf] = []) { self.whatIfs = whatIfs }
    public var isEmpty: Bool { whatIfs.isEmpty }
    /// Replays of the whole log they run, about (a sharded night's bundles weigh them with it).
    public var wholeLogReplays: Double { whatIfs.map(\.wholeLogReplays).reduce(0, +) }
  }

  /// What every what-if starts from: the night's plans and replays.
  public struct Context: Sendable {
    public var model: PipelineModel
    public var workload: CapacityAnalysis.Workload
    /// The busiest window's plan, and its configuration.
    public var busiest: WindowPlan
    public var recommended: PipelineConfiguration
    /// The typical window's plan, when it has one other than the busiest window's.
    public var typical: PipelineConfiguration?
    /// The report's own replays (reused where a what-if compares with them: the same numbers).
    public var replays: [ReplayResult]
    public var options: CapacityAnalysis.Options
  }

  /// Everything asked for, from the report's replays (reused where a what-if compares with them).
  /// - Complexity: about one replay of the whole log per row; rows run in parallel.
  public static func run(
    _ request: Request, model: PipelineModel, workload: CapacityAnalysis.Workload, plan: (Int) throws -> WindowPlan,
    replays: [ReplayResult], options: CapacityAnalysis.Options
  ) throws -> [WhatIf] {
    let busiest = try plan(workload.busiest)
    guard let recommended = busiest.recommended?.configuration else { return [] }
    let typical = try typicalWindow(workload, model: model).flatMap { try plan($0).recommended?.configuration }
      .flatMap { $0 == recommended ? nil : $0 }
    let context = Context(
      model: model, workload: workload, busiest: busiest, recommended: recommended, typical: typical,
      replays: replays, options: options)
    return try request.whatIfs.map { try $0.run(context) }
  }

  /// A replay's row: cost per day, misses, the percentile latency, and the overflow tier's share.
  static func row(_ name: String, _ r: ReplayResult) -> WhatIf.Row {
    WhatIf.Row(
      name: name, costPerDay: r.hours > 0 ? r.cost / r.hours * 24 : r.cost, missRate: r.missRate,
      percentileLatencyMs: r.percentileLatencyMs, overflowQueries: r.overflow?.queries,
      coldStarts: r.overflow?.coldStarts)
  }

  /// A configuration simulated in full on an oracle's window, as a row: its cost per hour, misses and percentile
  /// latency, and whether it meets the SLO (after `note`, when given).
  static func windowRow(
    _ name: String, _ configuration: PipelineConfiguration, costPerHour: Double, on oracle: FeasibilityOracle,
    note: String? = nil
  ) throws -> WhatIf.Row {
    let run = try oracle.simulateFully(configuration)
    let verdict = run.result.feasible ? "meets the SLO" : "misses the SLO"
    return WhatIf.Row(
      name: name, costPerHour: costPerHour, missRate: run.result.fractionOverSLO,
      percentileLatencyMs: Milliseconds.of(run.percentileLatency), configuration: configuration,
      note: note.map { "\($0), \(verdict)" } ?? verdict)
  }

  /// The oracle's window re-planned (today's plan the incumbent) and simulated in full, as a row; the reason as
  /// its note when no plan meets the SLO.
  static func replannedRow(
    _ name: String, oracle: FeasibilityOracle, recommended: PipelineConfiguration, budget: SearchBudget
  ) throws -> WhatIf.Row {
    switch Planner(oracle: oracle).bestPlan(
      budget: budget, incumbents: [(name: "today's plan", configuration: recommended)])
    {
    case .success(let plan):
      var row = try windowRow(name, plan.configuration, costPerHour: plan.costPerHour, on: oracle)
      row.note! += plan.provenOptimal == true ? ", proven optimal" : ", not proven optimal"
      return row
    case .failure(let why):
      return WhatIf.Row(name: name, note: why.description)
    }
  }

  /// A price as a plain decimal (0.0000166667, not 1.66667e-05): at most 10 decimals, trailing zeros dropped.
  static func dollars(_ v: Double) -> String {
    var text = String(format: "%.10f", v)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
  }

  /// Replays run in parallel, in the order given.
  static func replays(
    _ runs: [(configuration: PipelineConfiguration, policy: ScalingPolicy, conditions: ReplayConditions)],
    model: PipelineModel, workload: CapacityAnalysis.Workload, seed: UInt64
  ) throws -> [ReplayResult] {
    let slots = ResultSlots<Result<ReplayResult, any Error>>(count: runs.count)
    DispatchQueue.concurrentPerform(iterations: runs.count) { i in
      slots[i] = Result {
        try Replay.run(
          arrivals: workload.trace.arrivals, model: model, configuration: runs[i].configuration,
          planning: workload.busiestArrivals, policy: runs[i].policy, seed: seed, conditions: runs[i].conditions)
      }
    }
    return try slots.values.map { try $0!.get() }
  }

  /// The window with the median number of queries among those with enough to plan (the later of two middles):
  /// what a team provisions for a typical hour when a serverless tier takes the peaks (MArk's idea). From the
  /// counts alone, so a sharded run knows it before any plan.
  public static func typicalWindow(_ workload: CapacityAnalysis.Workload, model: PipelineModel) -> Int? {
    let plannable = workload.windows.indices.filter {
      model.percentile.allowedMisses(of: workload.windows[$0].count) >= 1
    }.sorted { (workload.windows[$0].count, $0) < (workload.windows[$1].count, $1) }
    return plannable.isEmpty ? nil : plannable[plannable.count / 2]
  }
}
