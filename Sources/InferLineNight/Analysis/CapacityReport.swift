import Foundation
public import InferLine

/// Everything a capacity report shows: the contract between the engine and the renderer. `report.json` is this
/// value serialised, so two nights can be compared (`inferline diff`).
public struct CapacityReport: Sendable, Equatable, Codable {
  /// Bumped whenever a field changes meaning or is removed.
  public static let currentSchemaVersion = 2

  public struct StageInfo: Sendable, Equatable, Codable {
    public var name: String
    public var model: String
  }

  public struct EdgeInfo: Sendable, Equatable, Codable {
    public var parent: String
    public var child: String
    public var probability: Double
  }

  public struct InputFile: Sendable, Equatable, Codable {
    /// `log`, `pipeline`, `hardware` or `profiles`.
    public var role: String
    public var path: String
    public var bytes: Int
    /// SHA-256 of the content, hex; filled in by the renderer's side (the engine has no hashing).
    public var sha256: String

    public init(role: String, path: String, bytes: Int, sha256: String) {
      self.role = role
      self.path = path
      self.bytes = bytes
      self.sha256 = sha256
    }
  }

  public struct Workload: Sendable, Equatable, Codable {
    public var queries: Int
    /// First and last arrival, nanoseconds.
    public var start: Int64
    public var end: Int64
    public var isRelative: Bool
    public var meanRate: Double
    public var peakRate1s: Double
    /// Queries per second in each minute from `start`.
    public var ratePerMinute: [Double]
    /// Window sizes (seconds) and the whole trace's envelope rates at them.
    public var envelopeSizesSeconds: [Double]
    public var envelopeRates: [Double]
    /// The busiest window's envelope rates (what the plan was made for).
    public var plannedEnvelopeRates: [Double]
    /// The window sizes of `plannedEnvelopeRates`, seconds: the InferLine tuner's own grid for the recommended plan.
    public var plannedEnvelopeSizesSeconds: [Double]
    public var tokenBuckets: [TokenBucket]
  }

  public struct WindowResult: Sendable, Equatable, Codable {
    public var start: Int64
    public var queries: Int
    public var planned: Bool
    /// Why the window has no plan (too few queries, or an SLO it cannot meet).
    public var note: String?
    public var configuration: PipelineConfiguration?
    public var costPerHour: Double?
    public var percentileLatencyMs: Double?
    /// Dollars per hour per hardware type.
    public var costByHardware: [String: Double]
    /// How the recommended plan was found (`optimal`, or the incumbent it came from: `greedy`, `CG-Peak`).
    public var method: String?
    /// True when no cheaper configuration of the search space meets the SLO.
    public var provenOptimal: Bool?
    /// Proven lower bound on the cost of any feasible configuration, dollars per hour.
    public var lowerBoundPerHour: Double?
    /// `costPerHour / lowerBoundPerHour - 1`.
    public var gap: Double?
    /// InferLine's greedy planner on the same window (the paper's planner), and its gap to the recommendation.
    public var greedyCostPerHour: Double?
    public var greedyGap: Double?
    /// Why the plan is what it is: the binding stage and what the next cheaper step fails on.
    public var explanation: PlanExplanation?
    /// What the search spent on the window, and the budget that stopped it when it did not finish.
    public var search: SearchEffort? = nil
  }

  public struct GrowthScenario: Sendable, Equatable, Codable {
    /// Traffic multiplier.
    public var factor: Double
    public var costPerHour: Double?
    public var configuration: PipelineConfiguration?
    public var note: String?
    public var provenOptimal: Bool?
    /// Dollars per hour below which the search proved nothing carries this traffic (the cost when proven).
    public var lowerBoundPerHour: Double? = nil
    /// `costPerHour / lowerBoundPerHour - 1`: 0 when proven.
    public var gap: Double? = nil
  }

  public struct Comparison: Sendable, Equatable, Codable {
    public var previousGeneratedAt: String
    public var previousCostPerDay: Double
    public var costPerDayChange: Double
    public var changes: [String]

    public init(previousGeneratedAt: String, previousCostPerDay: Double, costPerDayChange: Double, changes: [String]) {
      self.previousGeneratedAt = previousGeneratedAt
      self.previousCostPerDay = previousCostPerDay
      self.costPerDayChange = costPerDayChange
      self.changes = changes
    }
  }

  public var schemaVersion: Int
  public var toolVersion: String
  /// ISO-8601, UTC.
  public var generatedAt: String
  public var seed: UInt64
  public var pipelineName: String
  public var stages: [StageInfo]
  public var edges: [EdgeInfo]
  public var sloMs: Double
  public var percentile: Double
  public var networkDelayMs: Double
  public var catalogName: String
  public var hardwarePrices: [String: Double]
  /// The instance that carries one replica of each hardware type, where the catalog names one (for exports).
  public var hardwareInstances: [String: String]? = nil
  /// Seconds from asking for a replica of each hardware type until it serves (the catalog's
  /// `provisioning_delay_s`): how far ahead scheduled scaling asks for new capacity.
  public var hardwareProvisioningSeconds: [String: Double]? = nil
  public var windowLengthSeconds: Double
  public var inputs: [InputFile]
  public var ingestion: [IngestionReport]
  public var workload: Workload
  public var windows: [WindowResult]
  /// The plan of the busiest window: what to provision as the tuner's starting point.
  public var recommended: PipelineConfiguration?
  public var recommendedCostPerHour: Double?
  /// Planned cost over the log (each window's plan for its length), dollars.
  public var plannedCost: Double
  /// The recommended provisioning's replay cost over the log (`recommendation`), scaled to 24 h and 30 days.
  public var costPerDay: Double
  public var costPerMonth: Double
  /// The tuner's replay (InferLine), the autoscaler baselines and the per-window schedule, all on the busiest
  /// window's plan's hardware and batch sizes.
  public var replays: [ReplayResult]
  /// CG-Peak and CG-Mean on the busiest window.
  public var baselines: [BaselineResult]
  /// Static CG-Peak and CG-Mean replayed over the whole log, and CG-Mean's unit under HPA (`CG-HPA`).
  public var baselineReplays: [ReplayResult]
  /// The cheapest replayed provisioning that met the SLO over the log (nil without replays).
  public var recommendation: Recommendation? = nil
  /// Latency percentiles (ms) of the recommended provisioning's replay at `cdfPercents`.
  public var cdfPercents: [Double]
  public var latencyCDFMs: [Double]
  public var frontier: [FrontierPoint]
  public var growth: [GrowthScenario]
  /// The cascade what-if (`--escalation`), when asked for and the pipeline has the edge.
  public var escalation: EscalationSweep? = nil
  /// The serving what-ifs asked for (`ServingWhatIfs`: serverless overflow, cold starts, correlated service,
  /// balancers), in that order.
  public var whatIfs: [WhatIf]? = nil
  /// The budget from history (`--history`): the month ahead forecast from earlier nights, when asked for.
  public var forecast: BudgetForecast? = nil
  /// Windows whose SLO cannot be met: no configuration within the replica limits meets it (proven).
  public var unattainableWindows: Int
  /// Windows the search left without a plan when its budget ran out before it found one or showed none exists
  /// (not in `unattainableWindows`: a plan may exist); nil in reports written before it was counted.
  public var windowsWithoutPlanFound: Int? = nil
  /// The fit against observed latencies (`--calibrate`); its correction was planned with when it explains them.
  public var calibration: Calibration? = nil
  /// The per-stage fit from tracing spans, when the report was calibrated from them.
  public var stageCalibration: StageCalibration? = nil
  public var assumptions: [String]
  public var previous: Comparison?
  /// The zone the report's clock times are shown in (`--timezone`, as `DefaultTimeZone` parses it); nil: UTC.
  public var timeZone: String? = nil
  /// Seconds per phase.
  public var timings: [String: Double]

  /// What changed from `old` to this report: cost per day, the SLO, prices, the recommended plan per stage, and the
  /// workload where it drifted beyond `WorkloadDrift`'s thresholds. Empty when nothing that matters for a capacity
  /// review changed.
  public func differences(from old: CapacityReport) -> [String] {
    var d: [String] = []
    func money(_ v: Double) -> String { String(format: "$%.2f", v) }
    if !(abs(costPerDay - old.costPerDay) <= 0.005) {  // a NaN in either report is a change too
      d.append(
        "cost per day \(money(old.costPerDay)) -> \(money(costPerDay)) (\(String(format: "%+.2f", costPerDay - old.costPerDay)))"
      )
    }
    if sloMs != old.sloMs || percentile != old.percentile {
      d.append(
        "SLO P\(String(format: "%g", old.percentile)) <= \(String(format: "%g", old.sloMs)) ms -> P\(String(format: "%g", percentile)) <= \(String(format: "%g", sloMs)) ms"
      )
    }
    for (hw, price) in hardwarePrices.sorted(by: { $0.key < $1.key }) {
      if let was = old.hardwarePrices[hw], abs(was - price) > 1e-9 {
        d.append("price of \(hw) \(money(was))/h -> \(money(price))/h")
      }
      if old.hardwarePrices[hw] == nil { d.append("hardware \(hw) added at \(money(price))/h") }
    }
    for hw in old.hardwarePrices.keys.sorted() where hardwarePrices[hw] == nil { d.append("hardware \(hw) removed") }
    let oldStages = Dictionary(
      zip(old.stages.map(\.name), old.recommended?.stages ?? []), uniquingKeysWith: { a, _ in a })
    for (stage, now) in zip(stages.map(\.name), recommended?.stages ?? []) {
      guard let was = oldStages[stage] else {
        d.append("stage \(stage) is new: \(now)")
        continue
      }
      if was != now {
        d.append("stage \(stage): \(was) -> \(now)")
      }
    }
    for stage in old.stages.map(\.name) where !stages.map(\.name).contains(stage) { d.append("stage \(stage) removed") }
    d += WorkloadDrift.changes(from: old, to: self)
    return d
  }
}
