public import Foundation
public import InferLine

/// What a serving system needs from a plan: the pipeline's stages, the configuration to deploy (the busiest
/// window's), the hour-by-hour schedule, and the instance each hardware type runs on.
public struct DeploymentPlan: Sendable, Equatable {
  public struct Stage: Sendable, Equatable {
    public var name: String
    public var model: String

    public init(name: String, model: String) {
      self.name = name
      self.model = model
    }
  }

  /// One window of the schedule: from `start` (nanoseconds since the epoch, or since the log's start for a
  /// relative log) for `seconds`, this configuration; nil where the window has no plan.
  public struct Step: Sendable, Equatable {
    public var start: Int64
    public var seconds: Double
    public var configuration: PipelineConfiguration?

    public init(start: Int64, seconds: Double, configuration: PipelineConfiguration?) {
      self.start = start
      self.seconds = seconds
      self.configuration = configuration
    }
  }

  public var pipelineName: String
  public var stages: [Stage]
  /// What to provision: the busiest window's plan, or the configuration the recommended replay started from when
  /// that is another (the plan with headroom, or a static coarse-grained baseline: CG-Peak, CG-Mean).
  public var configuration: PipelineConfiguration
  public var schedule: [Step]
  /// The instance type that carries one replica of each hardware type (`g4dn.xlarge`), where known.
  public var instances: [String: String]
  /// Seconds until a new replica of each hardware type serves, where known (scheduled scaling asks that early).
  public var provisioningSeconds: [String: Double] = [:]
  /// Where the plan came from (a report's path), for the header of every file.
  public var source: String
  /// The report's recommended provisioning (`Recommendation.policy`: `static`, `schedule`, `inferline`, ...); nil
  /// for `plan --json` output, which replays nothing. Only `schedule` (or nil) gets scheduled-scaling objects.
  public var recommendation: String? = nil

  public init(
    pipelineName: String, stages: [Stage], configuration: PipelineConfiguration, schedule: [Step],
    instances: [String: String], source: String
  ) {
    self.pipelineName = pipelineName
    self.stages = stages
    self.configuration = configuration
    self.schedule = schedule
    self.instances = instances
    self.source = source
  }

  /// From a pipeline's report.
  /// - Throws: `InputError` when the report has no plan to deploy.
  public init(report: CapacityReport, source: String) throws {
    guard let configuration = report.recommended else {
      throw InputError(
        file: source, "pipeline '\(report.pipelineName)' has no recommended plan (no window could be planned)",
        fix: "look at the report's windows for why; nothing can be exported until one window is planned")
    }
    self.init(
      pipelineName: report.pipelineName, stages: report.stages.map { Stage(name: $0.name, model: $0.model) },
      configuration: report.recommendedReplay?.configuration
        ?? report.recommendation.flatMap { r in report.baselines.first { $0.name == r.policy }?.configuration }
        ?? configuration,
      schedule: report.windows.map {
        Step(start: $0.start, seconds: report.windowLengthSeconds, configuration: $0.configuration)
      }, instances: report.hardwareInstances ?? [:], source: source)
    recommendation = report.recommendation?.policy
    provisioningSeconds = report.hardwareProvisioningSeconds ?? [:]
    try check()
  }

  /// Every configuration deployable and every window where a schedule can put it: stages as many as the
  /// pipeline's, hardware named, batch sizes from 1 to `ProfileTable.largestBatchSize`, replicas from 1 to
  /// `HardwareCatalog.largestReplicaLimit`; window starts from 0 (the epoch, or a relative log's start) to a year
  /// before the largest instant, rising, and lengths from a nanosecond to a day. What a report or `plan --json`
  /// file says is checked here, as a log is, because either may have been written by hand.
  /// - Throws: `InputError` naming the window or stage and the value.
  public func check() throws {
    func checkStages(_ c: PipelineConfiguration, _ where_: String) throws {
      guard c.stages.count == stages.count else {
        throw InputError(
          file: source,
          "\(where_) configures \(c.stages.count) stages, but pipeline '\(TerminalText.safe(pipelineName))' has \(stages.count)",
          fix: "give the pipeline file the plan was made for")
      }
      for (s, name) in zip(c.stages, self.stages.map(\.name)) {
        let what = "\(where_), stage '\(TerminalText.safe(name))'"
        guard !s.hardware.isEmpty, s.hardware.count <= 256 else {
          throw InputError(file: source, "\(what) names no hardware type", fix: "name a type of the catalog")
        }
        guard (1...ProfileTable.largestBatchSize).contains(s.batchSize) else {
          throw InputError(
            file: source,
            "\(what) has batch size \(s.batchSize), outside 1 to \(ProfileTable.largestBatchSize)",
            fix: "export a plan inferline wrote, or correct the batch size")
        }
        guard (1...HardwareCatalog.largestReplicaLimit).contains(s.replicas) else {
          throw InputError(
            file: source,
            "\(what) has \(s.replicas) replicas, outside 1 to \(HardwareCatalog.largestReplicaLimit)",
            fix: "export a plan inferline wrote, or correct the replica count")
        }
      }
    }
    try checkStages(configuration, "the deployed configuration")
    let latest = Int64.max - 366 * 86_400_000_000_000
    for (i, step) in schedule.enumerated() {
      guard step.start >= 0, step.start <= latest else {
        throw InputError(
          file: source, "window \(i + 1) starts at \(step.start) ns, outside 0 to \(latest)",
          fix: "export a plan inferline wrote: its windows start at or after the log's first query")
      }
      guard i == 0 || step.start > schedule[i - 1].start else {
        throw InputError(
          file: source, "window \(i + 1) starts at \(step.start) ns, not after window \(i)'s \(schedule[i - 1].start)",
          fix: "export a plan inferline wrote: its windows are in time order")
      }
    }
    for (i, step) in schedule.enumerated() {
      guard step.seconds.isFinite, step.seconds >= 1e-9, step.seconds <= 366 * 86_400 else {
        throw InputError(
          file: source, "window \(i + 1) lasts \(step.seconds) s, outside a nanosecond to a year",
          fix: "export a plan inferline wrote")
      }
      if let c = step.configuration { try checkStages(c, "window \(i + 1)") }
    }
  }

  /// Whether the per-window schedule is what to apply: the report recommends it, or nothing was replayed.
  public var appliesSchedule: Bool { recommendation == nil || recommendation == "schedule" }

  /// From the output of `plan --json` (a list of windows) and the pipeline it planned: the busiest planned window
  /// is deployed; a window lasts until the next one starts.
  /// - Throws: `InputError` when the file is not such a list, names another number of stages, or plans nothing.
  public init(planOutput data: Data, spec: PipelineSpec, source: String) throws {
    struct Entry: Decodable {
      struct Recommended: Decodable { var configuration: PipelineConfiguration }
      var start: Int64
      var queries: Int
      var recommended: Recommended?
      /// The pipeline and its stages, in the order of each configuration (written since 0.9; older files lack
      /// them and are matched by stage count).
      var pipeline: String?
      var stageNames: [String]?
    }
    let entries: [Entry]
    do {
      entries = try JSONDecoder().decode([Entry].self, from: data)
    } catch {
      throw InputError(
        file: source, "is not the output of `plan --json`: \(DecodingErrorText.describe(error))",
        fix: "name a file written by `inferline plan ... --json`, or a report.json")
    }
    let names = spec.stages.map(\.name)
    for (i, e) in entries.enumerated() {
      if let planned = e.pipeline, planned != spec.name {
        throw InputError(
          file: source,
          "window \(i + 1) is a plan of pipeline '\(TerminalText.safe(planned))', not of '\(TerminalText.safe(spec.name))'",
          fix: "give the --pipeline file the plan was made for")
      }
      if let planned = e.stageNames, planned != names {
        throw InputError(
          file: source,
          "window \(i + 1) plans the stages \(TerminalText.safe(planned.joined(separator: ", "))), but pipeline '\(TerminalText.safe(spec.name))' has \(TerminalText.safe(names.joined(separator: ", ")))",
          fix: "give the --pipeline file the plan was made for")
      }
      if let c = e.recommended?.configuration, c.stages.count != spec.stages.count {
        throw InputError(
          file: source,
          "window \(i + 1) plans \(c.stages.count) stages, but pipeline '\(TerminalText.safe(spec.name))' has \(spec.stages.count)",
          fix: "give the --pipeline file the plan was made for")
      }
    }
    guard let busiest = entries.filter({ $0.recommended != nil }).max(by: { $0.queries < $1.queries }) else {
      throw InputError(
        file: source, "has no planned window", fix: "plan a log with enough queries for the SLO's percentile")
    }
    // Differences as doubles: hand-written starts may be anywhere in Int64 (`check` refuses them after).
    let seconds: [Double] = entries.indices.map { i in
      i + 1 < entries.count
        ? (Double(entries[i + 1].start) - Double(entries[i].start)) / 1e9
        : (i > 0 ? (Double(entries[i].start) - Double(entries[i - 1].start)) / 1e9 : 3600)
    }
    self.init(
      pipelineName: spec.name, stages: spec.stages.map { Stage(name: $0.name, model: $0.model) },
      configuration: busiest.recommended!.configuration,
      schedule: entries.indices.map {
        Step(start: entries[$0].start, seconds: seconds[$0], configuration: entries[$0].recommended?.configuration)
      }, instances: [:], source: source)
    try check()
  }

  /// Whether a hardware type is a CPU instance (no accelerator): the catalog's convention names it `CPU`.
  public static func isCPU(_ hardware: String) -> Bool { hardware.uppercased().hasPrefix("CPU") }
}
