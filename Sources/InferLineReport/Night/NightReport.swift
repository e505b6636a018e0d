public import Foundation
public import InferLine
public import InferLineNight

/// One night's report, from its settings (`ReportRequest`) to the `FleetReport` that `inferline report` writes: the
/// only place that sequences a night. It checks the settings, loads the inputs, fits the calibration first when
/// asked (and plans with the fit when it explains the observations), runs the single pipeline or the fleet on one
/// machine, a shard's share, or the merge of every shard's part, and compares with the previous night. The command
/// line parses, calls and prints.
public struct NightReport: Sendable {
  public let request: ReportRequest
  /// The analysis settings, checked.
  public let options: CapacityAnalysis.Options
  /// The pipelines (the calibrated one, when a fit explained the log).
  public let models: [PipelineModel]
  /// The fit, when `request.calibrate` names the deployed configuration.
  public let calibration: Calibration?
  /// The per-stage fit, when `request.calibrationTraces` names span files too.
  public let stageCalibration: StageCalibration?
  /// The input files as read (role, path, size, SHA-256): a part records them; a merge compares.
  public let inputs: [CapacityReport.InputFile]
  /// The pipeline files', catalog's and profiles' warnings, each once.
  public let warnings: [Diagnostic]

  public var isFleet: Bool { models.count > 1 }

  /// Checks the settings and loads the inputs; fits the calibration when asked.
  /// - Parameter sharded: the night runs as shards or their merge (no calibration there: fit, then shard).
  /// - Throws: `ReportRequest.SettingError` for a setting that cannot be used; `InputError` or `DiagnosticsError`
  ///   for inputs that cannot be read; `InputError` for a calibration that cannot be fitted.
  public init(_ request: ReportRequest, sharded: Bool = false) throws {
    guard !request.logs.isEmpty, !request.pipelines.isEmpty, let hardware = request.hardware,
      let profiles = request.profiles
    else {
      throw InputError(
        "a report needs the logs, the pipelines, the hardware catalog and the profiles",
        fix: "give them as flags (the logs, --pipeline, --hardware, --profiles) or in the --config file")
    }
    self.request = request
    var options = try request.analysisOptions()
    var warnings: [Diagnostic] = []
    var models = try request.pipelines.map { file in
      var inputs = try PlanningInputs.load(pipeline: file, hardware: hardware, profiles: profiles)
      for w in inputs.warnings where !warnings.contains(where: { $0.description == w.description }) {
        warnings.append(w)
      }
      if let slo = request.sloMs { inputs.pipeline.slo.latencyMs = slo }
      return PipelineModel(inputs)
    }
    if request.calibrate != nil && models.count > 1 {
      throw ReportRequest.SettingError(
        key: "calibrate", flag: "--calibrate", "takes one --pipeline (the deployed configuration is that pipeline's)")
    }
    if request.calibrate != nil && sharded {
      throw ReportRequest.SettingError(
        key: "calibrate", flag: "--calibrate",
        "is not available with --shard or --merge: fit first, then shard the report")
    }
    // The fit comes first: when it explains the observations, everything is planned with it.
    if let deployed = request.calibrate, !request.calibrationTraces.isEmpty {
      calibration = nil
      stageCalibration = try StageCalibration.fit(
        inputs: models[0].inputs, deployed: deployed, traces: request.calibrationTraces,
        windowLength: options.windowLength)
    } else {
      stageCalibration = nil
      calibration = try request.calibrate.map { deployed in
        try Calibration.fit(
          inputs: models[0].inputs, deployed: deployed, logs: request.logs, log: options.log,
          windowLength: options.windowLength, seed: request.seed)
      }
    }
    if let calibration, calibration.explained {
      models[0] = PipelineModel(
        models[0].inputs.calibrated(multiplier: calibration.multiplier, overheadMs: calibration.overheadMs))
    }
    if let stageCalibration, stageCalibration.explained {
      models[0] = PipelineModel(stageCalibration.apply(to: models[0].inputs))
    }
    if let stageCalibration, request.measuredRoutes {
      var inputs = models[0].inputs
      for (k, route) in stageCalibration.routes.enumerated() where route.measuredProbability.isFinite {
        inputs.pipeline.edges[k].probability = route.measuredProbability
      }
      models[0] = PipelineModel(inputs)
    }
    options.whatIfs = try request.whatIfs.request(models[0])
    if let history = request.history {
      options.history = try HistoryFolder.read(
        history, models: models, windowLength: options.windowLength, log: options.log)
    }
    if let escalation = request.escalation {
      let edge = try EscalationSweep.Request.parse(escalation)
      guard models.contains(where: { EscalationSweep.applies(edge, to: $0) }) else {
        let names = models.map { "'\($0.name)'" }.joined(separator: ", ")
        throw InputError(
          "--escalation: no pipeline (\(names)) has an edge '\(edge.parent) -> \(edge.child)'",
          fix: "name an edge of a pipeline file as its edges section writes it")
      }
      options.escalation = edge
    }
    self.options = options
    self.models = models
    self.warnings = warnings
    var files: [(String, String)] = request.logs.map { ("log", $0) }
    files += request.calibrationTraces.map { ("spans", $0) }
    files += request.pipelines.map { ("pipeline", $0) }
    files += [("hardware", hardware), ("profiles", profiles)]
    inputs = ReportWriter.describeInputs(files)
  }

  /// What a run read and found: the report, and what reading the logs skipped or adjusted.
  public struct Outcome: Sendable {
    public var report: FleetReport
    public var ingestion: [IngestionReport]
  }

  /// The night on this machine, or with `parts` (each shard's, read from its path) their merge; compared with
  /// `previous` when given.
  /// - Throws: `InputError` for unreadable logs, parts that are not this night's, or inputs changed since the
  ///   shards read them. - Complexity: the night's work (none of it for a merge but reading the logs).
  public func run(
    parts: [(path: String, part: NightShards.Part)] = [], previous: FleetReport? = nil,
    progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
  ) throws -> Outcome {
    var reports: [CapacityReport]
    var unplanned: [String: Int] = [:]
    if !parts.isEmpty {
      for (path, part) in parts where part.request != request.analysis {
        throw InputError(
          file: path, "cut from other settings than this night's (compare `report --dump-config` of the two runs)",
          fix: "merge the parts of one run, with the settings they were cut from")
      }
      try ShardParts.checkInputs(parts.map(\.part), against: inputs)
      progress(0, "merging \(parts.count) parts")
      let read = Date()
      let (set, workloads, missing) = try CapacityAnalysis.readNight(
        logs: request.logs, models: models, options: options)
      for (path, part) in parts {
        try part.check(models: models, windowCounts: workloads.map(\.windows.count), file: path)
      }
      let ingest = Date().timeIntervalSince(read)
      reports = try NightShards.merge(
        models: models, workloads: workloads, ingestion: set.reports, options: options, parts: parts.map(\.part))
      for i in reports.indices { reports[i].timings["ingest (merge)"] = ingest / Double(reports.count) }
      unplanned = missing
    } else if isFleet {
      let fleet = try CapacityAnalysis.runFleet(
        logs: request.logs, models: models, options: options, progress: progress)
      reports = fleet.pipelines
      unplanned = fleet.unplannedQueries
    } else {
      reports = [try CapacityAnalysis.run(logs: request.logs, model: models[0], options: options, progress: progress)]
    }
    if let calibration {
      reports[0].calibration = calibration
      reports[0].assumptions.append(calibration.summary)
    }
    if let stageCalibration {
      reports[0].stageCalibration = stageCalibration
      reports[0].assumptions.append(stageCalibration.summary)
      if request.measuredRoutes {
        let routes = stageCalibration.routes.map {
          String(format: "%@ -> %@ %.3f (file %.3f)", $0.parent, $0.child, $0.measuredProbability, $0.fileProbability)
        }
        reports[0].assumptions.append(
          "Planned with the edge probabilities measured from the calibration traces: \(routes.joined(separator: ", "))."
        )
      }
    }
    for i in reports.indices {
      // Each pipeline's report lists the logs, the shared catalog and profiles, and its own pipeline file.
      reports[i].inputs = inputs.filter { $0.role != "pipeline" || $0.path == request.pipelines[i] }
      reports[i].timeZone = request.log.timezone
      if let old = previous?.pipelines.first(where: { $0.pipelineName == reports[i].pipelineName }) {
        reports[i].previous = CapacityReport.Comparison(
          previousGeneratedAt: old.generatedAt, previousCostPerDay: old.costPerDay,
          costPerDayChange: reports[i].costPerDay - old.costPerDay, changes: reports[i].differences(from: old))
      }
    }
    var fleet = FleetReport(pipelines: reports, unplannedQueries: unplanned, seed: request.seed)
    if let old = previous {
      fleet.previous = CapacityReport.Comparison(
        previousGeneratedAt: old.generatedAt, previousCostPerDay: old.totals.costPerDay,
        costPerDayChange: fleet.totals.costPerDay - old.totals.costPerDay, changes: fleet.differences(from: old))
    }
    return Outcome(report: fleet, ingestion: reports[0].ingestion)
  }

  /// Shard `k` of `n`'s share of the night, as the part it writes (timed from `started`).
  /// - Throws: `InputError` for unreadable logs. - Complexity: the shard's units.
  public func shard(
    _ k: Int, of n: Int, started: Date = Date(), progress: @escaping @Sendable (String) -> Void = { _ in }
  ) throws -> (part: NightShards.Part, ingestion: [IngestionReport]) {
    let cpuStarted = ShardParts.cpuSeconds()
    let (set, workloads, _) = try CapacityAnalysis.readNight(logs: request.logs, models: models, options: options)
    let units = NightShards.assign(
      NightShards.bundles(workloads: workloads, models: models, options: options), shards: n)[k]
    progress("\(units.count) units")
    let pipelines = try NightShards.run(models: models, workloads: workloads, options: options, units: units) {
      _, line in progress(line)
    }
    let part = NightShards.Part(
      shard: k, shards: n, request: request.analysis, inputs: inputs, units: units, pipelines: pipelines,
      seconds: Date().timeIntervalSince(started), cpuSeconds: ShardParts.cpuSeconds() - cpuStarted)
    return (part, set.reports)
  }
}
