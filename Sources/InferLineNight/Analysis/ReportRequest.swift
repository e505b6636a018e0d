public import Foundation
public import InferLine
internal import Yams

/// One night's report as a team describes it: the inputs, the analysis settings, the what-ifs and where the report
/// goes. The defaults live here and nowhere else. `report --config night.yaml` reads it (every key takes what its
/// flag takes; flags override), `report --dump-config` prints the effective one, and a shard's part records it
/// (without `out`, `templates` and `previous`) so that the merge runs the same night.
public struct ReportRequest: Codable, Equatable, Sendable {
  /// Query logs (CSV, TSV, JSON Lines, optionally gzip).
  public var logs: [String] = []
  /// Pipeline files; more than one makes a fleet report.
  public var pipelines: [String] = []
  public var hardware: String? = nil
  public var profiles: String? = nil
  /// Workload window length, as `--window` takes it (`15m`, `1h`, `1d`).
  public var window = "1h"
  /// SLO in milliseconds instead of the pipeline file's.
  public var sloMs: Double? = nil
  public var seed: UInt64 = 1
  /// Traffic growth factors of the what-if plans.
  public var growth: [Double] = [1.25, 1.5, 2]
  /// How much the planner's search may do per window before answering with a bound, as `--budget` takes it:
  /// simulations (`2000`, reproducible) or wall-clock time (`30s`).
  public var budget = SearchBudget.standard.text
  /// The escalation what-if of a cascade, as `--escalation` takes it: `cheap -> expensive = 0.1,0.25,0.5`.
  public var escalation: String? = nil
  /// The configuration deployed when the log was recorded: fit the profiles to the log's latencies first.
  public var calibrate: String? = nil
  /// Tracing span files recorded with `calibrate`'s configuration deployed: fit per stage from them instead of the
  /// log's end-to-end latencies (`StageCalibration`).
  public var calibrationTraces: [String] = []
  /// Plan with the edge probabilities the calibration traces show instead of the pipeline file's.
  public var measuredRoutes = false
  /// A folder of earlier nights (report.json files, logs of earlier days): a budget forecast from them.
  public var history: String? = nil
  /// Plan each window against the same window on the latest this many earlier nights of the history's logs too.
  public var robust: Int? = nil
  public var log = LogSettings()
  public var whatIfs = WhatIfSettings()
  /// Where the report folder goes, the team's templates and the previous night's report.json: how this run's
  /// report is written, not what it finds (a shard's part leaves them out).
  public var out: String? = nil
  public var templates: String? = nil
  public var previous: String? = nil

  public init() {}

  /// How the logs are read (`--time-column`, `--time-unit`, ...).
  public struct LogSettings: Codable, Equatable, Sendable {
    public var timeColumn: String? = nil
    /// `s`, `ms`, `us`, `ns` or `relative`; guessed from the magnitude when nil.
    public var timeUnit: String? = nil
    public var timezone = "UTC"
    public var pipelineColumn: String? = nil
    public var latencyColumn: String? = nil
    /// Column of each query's size (tokens, pixels, items), for profiles with a `size` column; found among
    /// `size`, `tokens`, ... when nil.
    public var sizeColumn: String? = nil
    public var strict = false
    public init() {}
  }

  /// The serving what-ifs, each a section of the report, as their flags take them.
  public struct WhatIfSettings: Codable, Equatable, Sendable {
    /// A serverless tier of the catalog that takes the overflow.
    public var overflow: String? = nil
    /// `BATCHES:SLOWDOWN`, e.g. `20:3`.
    public var coldStart: String? = nil
    /// The pre-warming tuner's look-ahead, seconds (with `coldStart`).
    public var prewarmSeconds: Double? = nil
    /// `SIGMA:CORRELATION`, e.g. `0.3:0.8`.
    public var correlatedService: String? = nil
    public var balancers = false
    public init() {}
  }

  /// A setting that cannot be used: its configuration key, its flag, and what is wrong ("must be ...").
  public struct SettingError: Error, Equatable, CustomStringConvertible, Sendable {
    public var key: String
    public var flag: String
    public var problem: String
    public init(key: String, flag: String, _ problem: String) {
      self.key = key
      self.flag = flag
      self.problem = problem
    }
    /// The problem after the flag, as the command line says it: `--growth must be ...`.
    public var description: String { flag + (problem.hasPrefix(":") ? "" : " ") + problem }
    /// The problem after the key, as a configuration file's error says it: `'growth' must be ...`.
    public var configurationText: String { "'\(key)'" + (problem.hasPrefix(":") ? "" : " ") + problem }
  }

  /// The request without what only decides how this run's report is written (`out`, `templates`, `previous`):
  /// what a shard records and a merge compares.
  public var analysis: ReportRequest {
    var r = self
    r.out = nil
    r.templates = nil
    r.previous = nil
    return r
  }

  /// The analysis settings, checked.
  /// - Throws: `SettingError` for a window that is not a duration, growth factors outside 0.01-1000, a budget
  ///   that is neither at least one simulation nor a time, an unknown time unit or zone.
  public func analysisOptions() throws(SettingError) -> CapacityAnalysis.Options {
    var options = CapacityAnalysis.Options()
    options.windowLength = try windowNanoseconds()
    options.seed = seed
    guard !growth.isEmpty, growth.allSatisfy({ $0 >= 0.01 && $0 <= 1000 }) else {
      throw SettingError(
        key: "growth", flag: "--growth",
        "must be factors from 0.01 to 1000 separated by commas (got '\(growth.map { "\($0)" }.joined(separator: ","))')"
      )
    }
    options.growth = growth
    guard let searchBudget = SearchBudget(parsing: budget) else {
      throw SettingError(
        key: "budget", flag: "--budget",
        "'\(TerminalText.safe(budget))' is neither a number of simulations (at least 1, such as 2000) nor a time such as 30s or 2m"
      )
    }
    options.budget = searchBudget
    if let robust {
      guard robust >= 1, robust <= 28 else {
        throw SettingError(key: "robust", flag: "--robust", "must be a number of nights from 1 to 28 (got \(robust))")
      }
      guard history != nil else {
        throw SettingError(key: "robust", flag: "--robust", "needs --history: the folder with the earlier nights' logs")
      }
      options.robust = robust
    }
    if !calibrationTraces.isEmpty && calibrate == nil {
      throw SettingError(
        key: "calibration_traces", flag: "--calibration-traces",
        "needs --calibrate: the configuration that was deployed when the spans were recorded")
    }
    if measuredRoutes && calibrationTraces.isEmpty {
      throw SettingError(
        key: "measured_routes", flag: "--measured-routes",
        "needs --calibration-traces: the spans whose routes are measured")
    }
    options.log = try log.readOptions()
    if let sloMs, !PipelineSpec.SLO.isValidLatency(sloMs) {
      throw SettingError(
        key: "slo_ms", flag: "--slo", "\(sloMs) is not a latency: give milliseconds above 0 and at most a day, 86400000"
      )
    }
    return options
  }

  /// The window length, nanoseconds.
  public func windowNanoseconds() throws(SettingError) -> Int64 {
    guard let ns = DurationText.nanoseconds(window) else {
      throw SettingError(
        key: "window", flag: "--window",
        "'\(TerminalText.safe(window))' is not a duration of at least 1 ns such as 15m, 1h or 1d (a bare number is seconds)"
      )
    }
    return ns
  }

  // MARK: Configuration file

  /// Reads a configuration file (YAML). Relative paths in it are taken from the file's folder. Unknown keys are
  /// errors with their line and the nearest known key.
  /// - Throws: `DiagnosticsError` for syntax, unknown keys and wrong types.
  public static func load(path: String) throws -> ReportRequest {
    var sink = DiagnosticSink(file: path)
    guard let document = YAMLDocument.load(path: path, sink: &sink) else {
      throw DiagnosticsError(diagnostics: sink.items)
    }
    if let top = YAMLMapping(document.root, what: "the configuration", sink: &sink) {
      top.checkKeys(CodingKeys.allCases.map(\.rawValue), in: "the configuration", sink: &sink)
      for (key, known) in [
        ("log", LogSettings.CodingKeys.allCases.map(\.rawValue)),
        ("what_ifs", WhatIfSettings.CodingKeys.allCases.map(\.rawValue)),
      ] {
        if let node = top[key], let nested = YAMLMapping(node, what: "'\(key)'", sink: &sink) {
          nested.checkKeys(known, in: "'\(key)'", sink: &sink)
        }
      }
    }
    guard !sink.hasErrors else { throw DiagnosticsError(diagnostics: sink.items) }
    var request: ReportRequest
    do {
      request = try YAMLDecoder().decode(ReportRequest.self, from: document.root)
    } catch {
      // The line of the value at fault: its key's, at the top level or one level down.
      let keys = DecodingErrorText.codingPath(error).map(\.stringValue)
      var line: Int? = nil
      if case .mapping(let top) = document.root, let first = keys.first,
        let (key, value) = top.first(where: { $0.key.string == first })
      {
        line = key.line
        if keys.count > 1, case .mapping(let nested) = value,
          let inner = nested.first(where: { $0.key.string == keys[1] })
        {
          line = inner.key.line
        }
      }
      sink.error(line, DecodingErrorText.describe(error))
      throw DiagnosticsError(diagnostics: sink.items)
    }
    request = request.resolvingPaths(from: URL(fileURLWithPath: path).deletingLastPathComponent())
    return request
  }

  /// The request with its relative paths taken from `folder`.
  public func resolvingPaths(from folder: URL) -> ReportRequest {
    func resolve(_ p: String) -> String {
      p.hasPrefix("/") || p == "-" ? p : folder.appendingPathComponent(p).standardizedFileURL.path
    }
    var r = self
    r.logs = logs.map(resolve)
    r.pipelines = pipelines.map(resolve)
    r.hardware = hardware.map(resolve)
    r.profiles = profiles.map(resolve)
    r.calibrate = calibrate.map(resolve)
    r.calibrationTraces = calibrationTraces.map(resolve)
    r.history = history.map(resolve)
    r.out = out.map(resolve)
    r.templates = templates.map(resolve)
    r.previous = previous.map(resolve)
    return r
  }

  /// The request as a configuration file: every key, unset ones as `null`, numbers as Swift prints them (`1.25`,
  /// not Yams' `1.25e+0`), which `load(path:)` reads back to the same request.
  public func yaml() -> String {
    func plain(_ node: Node) -> Node {
      switch node {
      case .scalar(let scalar) where scalar.style == .plain && scalar.string.contains("e"):
        guard let x = Double(scalar.string), x.isFinite else { return node }
        return Node("\(x)", Tag(.float))
      case .mapping(let mapping):
        return .mapping(Node.Mapping(mapping.map { ($0.key, plain($0.value)) }, mapping.tag, mapping.style))
      case .sequence(let sequence):
        return .sequence(Node.Sequence(sequence.map(plain), sequence.tag, sequence.style))
      default:
        return node
      }
    }
    let node = (try? YAMLEncoder().encode(self)).flatMap { try? Yams.compose(yaml: $0) }
    let body = node.flatMap { try? Yams.serialize(node: plain($0)) } ?? ""
    return "# inferline report configuration (inferline report --config FILE; flags override)\n" + body
  }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case logs, pipelines, hardware, profiles, window
    case sloMs = "slo_ms"
    case seed, growth, budget
    case escalation
    /// `escalation`'s earlier name, still read.
    case sweepEdge = "sweep_edge"
    case calibrate
    case calibrationTraces = "calibration_traces"
    case measuredRoutes = "measured_routes"
    case history, robust, log
    case whatIfs = "what_ifs"
    case out, templates, previous
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = ReportRequest()
    logs = try c.decodeIfPresent([String].self, forKey: .logs) ?? d.logs
    pipelines = try c.decodeIfPresent([String].self, forKey: .pipelines) ?? d.pipelines
    hardware = try c.decodeIfPresent(String.self, forKey: .hardware)
    profiles = try c.decodeIfPresent(String.self, forKey: .profiles)
    window = try c.decodeIfPresent(String.self, forKey: .window) ?? d.window
    sloMs = try c.decodeIfPresent(Double.self, forKey: .sloMs)
    seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    growth = try c.decodeIfPresent([Double].self, forKey: .growth) ?? d.growth
    // A number of simulations or a duration: `budget: 2000` or `budget: 30s`.
    budget =
      try (try? c.decodeIfPresent(Int.self, forKey: .budget)).map { "\($0)" }
      ?? c.decodeIfPresent(String.self, forKey: .budget) ?? d.budget
    escalation =
      try c.decodeIfPresent(String.self, forKey: .escalation) ?? c.decodeIfPresent(String.self, forKey: .sweepEdge)
    calibrate = try c.decodeIfPresent(String.self, forKey: .calibrate)
    calibrationTraces = try c.decodeIfPresent([String].self, forKey: .calibrationTraces) ?? d.calibrationTraces
    measuredRoutes = try c.decodeIfPresent(Bool.self, forKey: .measuredRoutes) ?? d.measuredRoutes
    history = try c.decodeIfPresent(String.self, forKey: .history)
    robust = try c.decodeIfPresent(Int.self, forKey: .robust)
    log = try c.decodeIfPresent(LogSettings.self, forKey: .log) ?? d.log
    whatIfs = try c.decodeIfPresent(WhatIfSettings.self, forKey: .whatIfs) ?? d.whatIfs
    out = try c.decodeIfPresent(String.self, forKey: .out)
    templates = try c.decodeIfPresent(String.self, forKey: .templates)
    previous = try c.decodeIfPresent(String.self, forKey: .previous)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(logs, forKey: .logs)
    try c.encode(pipelines, forKey: .pipelines)
    try c.encode(hardware, forKey: .hardware)
    try c.encode(profiles, forKey: .profiles)
    try c.encode(window, forKey: .window)
    try c.encode(sloMs, forKey: .sloMs)
    try c.encode(seed, forKey: .seed)
    try c.encode(growth, forKey: .growth)
    if let simulations = Int(budget) {
      try c.encode(simulations, forKey: .budget)
    } else {
      try c.encode(budget, forKey: .budget)
    }
    try c.encode(escalation, forKey: .escalation)
    try c.encode(calibrate, forKey: .calibrate)
    try c.encode(calibrationTraces, forKey: .calibrationTraces)
    try c.encode(measuredRoutes, forKey: .measuredRoutes)
    try c.encode(history, forKey: .history)
    try c.encode(robust, forKey: .robust)
    try c.encode(log, forKey: .log)
    try c.encode(whatIfs, forKey: .whatIfs)
    try c.encode(out, forKey: .out)
    try c.encode(templates, forKey: .templates)
    try c.encode(previous, forKey: .previous)
  }
}

extension ReportRequest.LogSettings {
  enum CodingKeys: String, CodingKey, CaseIterable {
    case timeColumn = "time_column"
    case timeUnit = "time_unit"
    case timezone
    case pipelineColumn = "pipeline_column"
    case latencyColumn = "latency_column"
    case sizeColumn = "size_column"
    case strict
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    timeColumn = try c.decodeIfPresent(String.self, forKey: .timeColumn)
    timeUnit = try c.decodeIfPresent(String.self, forKey: .timeUnit)
    timezone = try c.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC"
    pipelineColumn = try c.decodeIfPresent(String.self, forKey: .pipelineColumn)
    latencyColumn = try c.decodeIfPresent(String.self, forKey: .latencyColumn)
    sizeColumn = try c.decodeIfPresent(String.self, forKey: .sizeColumn)
    strict = try c.decodeIfPresent(Bool.self, forKey: .strict) ?? false
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(timeColumn, forKey: .timeColumn)
    try c.encode(timeUnit, forKey: .timeUnit)
    try c.encode(timezone, forKey: .timezone)
    try c.encode(pipelineColumn, forKey: .pipelineColumn)
    try c.encode(latencyColumn, forKey: .latencyColumn)
    try c.encode(sizeColumn, forKey: .sizeColumn)
    try c.encode(strict, forKey: .strict)
  }

  /// The log reader's options, checked.
  /// - Throws: `SettingError` for an unknown time unit or zone.
  public func readOptions() throws(ReportRequest.SettingError) -> LogReadOptions {
    var options = LogReadOptions()
    options.timeColumn = timeColumn
    if let timeUnit {
      guard let unit = TimeUnit(rawValue: timeUnit.lowercased()) else {
        throw .init(
          key: "time_unit", flag: "--time-unit",
          "must be one of s, ms, us, ns, relative (got '\(TerminalText.safe(timeUnit))')")
      }
      options.timeUnit = unit
    }
    guard let zone = DefaultTimeZone(parsing: timezone) else {
      throw .init(
        key: "timezone", flag: "--timezone",
        "'\(TerminalText.safe(timezone))' is not UTC, an offset such as +05:30, or a known IANA zone name")
    }
    options.timeZone = zone
    options.pipelineColumn = pipelineColumn
    options.latencyColumn = latencyColumn
    options.sizeColumn = sizeColumn
    options.strict = strict
    return options
  }
}

extension ReportRequest.WhatIfSettings {
  enum CodingKeys: String, CodingKey, CaseIterable {
    case overflow
    case coldStart = "cold_start"
    case prewarmSeconds = "prewarm_seconds"
    case correlatedService = "correlated_service"
    case balancers
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    overflow = try c.decodeIfPresent(String.self, forKey: .overflow)
    coldStart = try c.decodeIfPresent(String.self, forKey: .coldStart)
    prewarmSeconds = try c.decodeIfPresent(Double.self, forKey: .prewarmSeconds)
    correlatedService = try c.decodeIfPresent(String.self, forKey: .correlatedService)
    balancers = try c.decodeIfPresent(Bool.self, forKey: .balancers) ?? false
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(overflow, forKey: .overflow)
    try c.encode(coldStart, forKey: .coldStart)
    try c.encode(prewarmSeconds, forKey: .prewarmSeconds)
    try c.encode(correlatedService, forKey: .correlatedService)
    try c.encode(balancers, forKey: .balancers)
  }

  /// Two numbers separated by a colon, each checked.
  static func pair(
    _ text: String, key: String, flag: String, meaning: String, _ valid: (Double, Double) -> Bool
  ) throws(ReportRequest.SettingError) -> (Double, Double) {
    let parts = text.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], valid(a, b) else {
      throw .init(key: key, flag: flag, "must be \(meaning) (got '\(TerminalText.safe(text))')")
    }
    return (a, b)
  }

  /// `coldStart`, checked.
  public func coldStartModel() throws(ReportRequest.SettingError) -> ColdStart? {
    guard let coldStart else { return nil }
    let (batches, slowdown) = try Self.pair(
      coldStart, key: "cold_start", flag: "--cold-start",
      meaning: "BATCHES:SLOWDOWN, a whole number of batches from 1 to 100000 and a slowdown from 1 to 1000, e.g. 20:3"
    ) { b, s in b >= 1 && b <= 100_000 && b == b.rounded() && s >= 1 && s <= 1000 }
    return ColdStart(batches: Int(batches), slowdown: slowdown)
  }

  /// `correlatedService`, checked.
  public func correlated() throws(ReportRequest.SettingError) -> ServingWhatIfs.CorrelatedService? {
    guard let correlatedService else { return nil }
    let (sigma, rho) = try Self.pair(
      correlatedService, key: "correlated_service", flag: "--correlated-service",
      meaning: "SIGMA:CORRELATION, a log-spread from 0 to 3 and a correlation from 0 to 1, e.g. 0.3:0.8"
    ) { s, r in s >= 0 && s <= 3 && r >= 0 && r <= 1 }
    return ServingWhatIfs.CorrelatedService(sigma: sigma, correlation: rho)
  }

  /// `prewarmSeconds`, checked: from 0 to an hour.
  public func checkPrewarm() throws(ReportRequest.SettingError) {
    if let prewarmSeconds, !(prewarmSeconds > 0 && prewarmSeconds <= 3600) {
      throw .init(
        key: "prewarm_seconds", flag: "--prewarm", "must be a look-ahead from 0 to 3600 seconds (got \(prewarmSeconds))"
      )
    }
  }

  /// The serverless tier `overflow` names in `model`'s catalog.
  public func tier(_ model: PipelineModel) throws(ReportRequest.SettingError) -> HardwareCatalog.ServerlessTier? {
    guard let overflow else { return nil }
    let catalog = model.inputs.catalog
    guard let tier = catalog.serverlessTier(type: overflow) else {
      let known = catalog.serverless.map(\.type)
      throw .init(
        key: "overflow", flag: "--overflow",
        ": the catalog \(TerminalText.safe(catalog.file)) has no serverless tier '\(TerminalText.safe(overflow))'; "
          + (known.isEmpty
            ? "add one to its 'serverless' list (type, runs_as, price_per_request, price_per_gb_second, memory_gb, cold_start_s, concurrency_limit, keep_warm_s)"
            : "it has \(known.map { TerminalText.safe($0) }.joined(separator: ", "))"))
    }
    return tier
  }

  /// The report's what-ifs, checked against `model`.
  public func request(_ model: PipelineModel) throws(ReportRequest.SettingError) -> ServingWhatIfs.Request {
    try checkPrewarm()
    if prewarmSeconds != nil && coldStart == nil {
      throw .init(
        key: "prewarm_seconds", flag: "--prewarm",
        "is the look-ahead of the cold-start what-if's pre-warming tuner: give --cold-start too (replay takes --prewarm alone)"
      )
    }
    var request = ServingWhatIfs.Request()
    if let tier = try tier(model) { request.whatIfs.append(OverflowToServerless(tier: tier)) }
    if let cold = try coldStartModel() {
      request.whatIfs.append(ColdStarts(cold, prewarmSeconds: prewarmSeconds ?? 60))
    }
    if let service = try correlated() { request.whatIfs.append(CorrelatedServiceTimes(service)) }
    if balancers { request.whatIfs.append(Balancers()) }
    if model.hasSizedProfiles { request.whatIfs.append(SizedServiceTimes()) }
    return request
  }
}
