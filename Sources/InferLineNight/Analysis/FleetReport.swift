import Foundation
import InferLine

/// One night's reports for several pipelines read from the same logs, and the fleet's totals: what `report`
/// writes as `report.json` when given more than one `--pipeline`. `inferline diff` compares two fleets.
public struct FleetReport: Sendable, Equatable, Codable {
  /// The `kind` of a fleet's `report.json` (a single pipeline's has none).
  public static let kind = "fleet"

  /// One policy's cost and misses summed over the fleet.
  public struct PolicyTotal: Sendable, Equatable, Codable {
    /// `inferline`, `static`, `hpa`, `ray`, `kpa`, `CG-Peak`, `CG-Mean`.
    public var policy: String
    /// Dollars per day, each pipeline's replay scaled to 24 h.
    public var costPerDay: Double
    /// Fraction of the fleet's queries over their pipeline's SLO.
    public var missRate: Double
    /// Pipelines whose share over the SLO exceeds what their percentile allows.
    public var pipelinesMissingSLO: [String]
    /// Pipelines this policy was replayed for (a pipeline with no plan has no replays).
    public var pipelines: Int
  }

  public struct Totals: Sendable, Equatable, Codable {
    public var costPerDay: Double
    public var costPerMonth: Double
    /// Dollars per day per hardware type, from the InferLine tuner's replays.
    public var costPerDayByHardware: [String: Double]
    /// Every policy, the InferLine tuner first; only policies replayed for every planned pipeline.
    public var policies: [PolicyTotal]
    /// Each pipeline's recommended provisioning, summed (`policy` is `recommended`); nil without replays.
    public var recommended: PolicyTotal? = nil
    public var queries: Int
    public var unattainableWindows: Int
    /// Windows the search left without a plan within its budget (`CapacityReport.windowsWithoutPlanFound`).
    public var windowsWithoutPlanFound: Int? = nil
  }

  public var schemaVersion: Int
  /// Always `FleetReport.kind`.
  public var kind: String
  public var toolVersion: String
  /// ISO-8601, UTC.
  public var generatedAt: String
  public var seed: UInt64
  /// One report per pipeline, in the order the pipeline files were given.
  public var pipelines: [CapacityReport]
  /// Queries in the logs of pipelines no `--pipeline` file names: not planned, counted here and shown.
  public var unplannedQueries: [String: Int]
  public var totals: Totals
  /// The comparison with the previous night's fleet (`--previous`), in the shape a single report uses.
  public var previous: CapacityReport.Comparison?

  /// Sums the pipelines' reports.
  public init(pipelines: [CapacityReport], unplannedQueries: [String: Int] = [:], seed: UInt64) {
    schemaVersion = CapacityReport.currentSchemaVersion
    kind = Self.kind
    toolVersion = InferLineVersion.current
    generatedAt = pipelines.first?.generatedAt ?? ISO8601DateFormatter().string(from: Date())
    self.seed = seed
    self.pipelines = pipelines
    self.unplannedQueries = unplannedQueries
    totals = Self.totals(pipelines)
    previous = nil
  }

  /// Pipelines none of whose replayed provisionings kept the SLO over the log (`report` exits 4 for them).
  public var pipelinesAtRisk: [String] {
    pipelines.filter { $0.recommendation != nil && !$0.recommendationMeetsSLO }.map(\.pipelineName)
  }

  /// A single pipeline's report as a fleet of one (for `diff` between a fleet and a single report).
  public init(single report: CapacityReport) {
    self.init(pipelines: [report], seed: report.seed)
    generatedAt = report.generatedAt
    toolVersion = report.toolVersion
  }

  static func totals(_ reports: [CapacityReport]) -> Totals {
    var byHardware: [String: Double] = [:]
    for r in reports {
      guard let chosen = r.recommendedReplay, chosen.hours > 0 else { continue }
      for (hw, cost) in chosen.costByHardware { byHardware[hw, default: 0] += cost / chosen.hours * 24 }
    }
    let planned = reports.filter { !$0.replays.isEmpty }
    var names: [String] = []
    for r in planned {
      for p in r.replays.map(\.policy) + r.baselineReplays.map(\.policy) where !names.contains(p) { names.append(p) }
    }
    func total(_ name: String, replay: (CapacityReport) -> ReplayResult?) -> PolicyTotal? {
      var cost = 0.0, over = 0.0, queries = 0
      var missing: [String] = []
      for r in planned {
        guard let replay = replay(r) else { return nil }
        cost += replay.hours > 0 ? replay.cost / replay.hours * 24 : 0
        over += replay.missRate * Double(replay.queries)
        queries += replay.queries
        if !Recommendation.meets(replay, PipelineSpec.SLO.allowance(r.percentile)) {
          missing.append(r.pipelineName)
        }
      }
      return PolicyTotal(
        policy: name, costPerDay: cost, missRate: queries > 0 ? over / Double(queries) : 0,
        pipelinesMissingSLO: missing, pipelines: planned.count)
    }
    let policies = names.compactMap { name in
      total(name) { r in r.allReplays.first { $0.policy == name } }
    }
    let costPerDay = reports.map(\.costPerDay).reduce(0, +)
    let withoutPlan = reports.map { $0.windowsWithoutPlanFound ?? 0 }.reduce(0, +)
    return Totals(
      costPerDay: costPerDay, costPerMonth: costPerDay * 30, costPerDayByHardware: byHardware, policies: policies,
      recommended: planned.isEmpty ? nil : total("recommended") { $0.recommendedReplay },
      queries: reports.map(\.workload.queries).reduce(0, +),
      unattainableWindows: reports.map(\.unattainableWindows).reduce(0, +),
      windowsWithoutPlanFound: withoutPlan > 0 ? withoutPlan : nil)
  }

  /// What changed from `old`: the fleet's cost per day, the pipeline mix, pipelines added or removed, and each
  /// pipeline's own differences (its workload's drift among them) prefixed with its name. Empty when nothing that matters for a capacity review changed.
  public func differences(from old: FleetReport) -> [String] {
    var d: [String] = []
    func money(_ v: Double) -> String { String(format: "$%.2f", v) }
    if !(abs(totals.costPerDay - old.totals.costPerDay) <= 0.005) {
      d.append(
        "fleet cost per day \(money(old.totals.costPerDay)) -> \(money(totals.costPerDay)) (\(String(format: "%+.2f", totals.costPerDay - old.totals.costPerDay)))"
      )
    }
    d += WorkloadDrift.mixChanges(from: old, to: self)
    let before = Dictionary(old.pipelines.map { ($0.pipelineName, $0) }, uniquingKeysWith: { a, _ in a })
    for r in pipelines {
      guard let was = before[r.pipelineName] else {
        d.append(
          "pipeline \(r.pipelineName) added: \(String(format: "$%.2f", r.costPerDay)) per day, \(r.recommended?.describe(stageNames: r.stages.map(\.name), separator: "; ") ?? "no plan")"
        )
        continue
      }
      for line in r.differences(from: was) { d.append("\(r.pipelineName): \(line)") }
    }
    let names = Set(pipelines.map(\.pipelineName))
    for r in old.pipelines where !names.contains(r.pipelineName) {
      d.append("pipeline \(r.pipelineName) removed (was \(money(r.costPerDay)) per day)")
    }
    return d
  }
}
