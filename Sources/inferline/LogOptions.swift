import ArgumentParser
import InferLine
import InferLineNight

/// Flags for reading query logs, shared by every command that reads them. Unset options take `ReportRequest`'s
/// defaults (`report --config` may set them).
struct LogOptions: ParsableArguments {
  @Option(help: "Timestamp column or JSON key (default: found among timestamp, ts, time, arrival_time, ...).")
  var timeColumn: String?

  @Option(help: "Unit of numeric timestamps: s, ms, us, ns or relative (default: guessed from the magnitude).")
  var timeUnit: String?

  @Option(
    help:
      "Zone for ISO-8601 times without an offset: UTC, +05:30 or an IANA name such as Europe/Berlin (default: \(ReportRequest.LogSettings().timezone))."
  )
  var timezone: String?

  @Option(help: "Column naming the pipeline, for logs that hold several (default: 'pipeline' if present).")
  var pipelineColumn: String?

  @Option(help: "Column of observed end-to-end latency in milliseconds (default: 'latency_ms' if present).")
  var latencyColumn: String?

  @Option(
    help:
      "Column of each query's size (tokens, pixels, items) for profiles with a size column (default: 'size', 'tokens' or similar if present)."
  )
  var sizeColumn: String?

  @Flag(help: "Stop at the first malformed line instead of counting and skipping it.")
  var strict = false

  /// `settings` with the options given here in place of its own.
  func applied(to settings: ReportRequest.LogSettings) -> ReportRequest.LogSettings {
    var s = settings
    if let timeColumn { s.timeColumn = timeColumn }
    if let timeUnit { s.timeUnit = timeUnit }
    if let timezone { s.timezone = timezone }
    if let pipelineColumn { s.pipelineColumn = pipelineColumn }
    if let latencyColumn { s.latencyColumn = latencyColumn }
    if let sizeColumn { s.sizeColumn = sizeColumn }
    if strict { s.strict = true }
    return s
  }

  /// The configuration keys these options set.
  var givenKeys: Set<String> {
    var keys: Set<String> = []
    if timeColumn != nil { keys.insert("time_column") }
    if timeUnit != nil { keys.insert("time_unit") }
    if timezone != nil { keys.insert("timezone") }
    if pipelineColumn != nil { keys.insert("pipeline_column") }
    if latencyColumn != nil { keys.insert("latency_column") }
    if sizeColumn != nil { keys.insert("size_column") }
    if strict { keys.insert("strict") }
    return keys
  }

  func readOptions() throws -> LogReadOptions {
    try usage { () throws(ReportRequest.SettingError) in try applied(to: .init()).readOptions() }
  }
}

/// `--window 15m|1h|1d`.
struct WindowOption: ParsableArguments {
  @Option(help: "Workload window length, aligned to the clock: 15m, 1h, 1d, ... (default: \(ReportRequest().window))")
  var window: String?

  /// The window given, or the default.
  var text: String { window ?? ReportRequest().window }

  func nanoseconds() throws -> Int64 {
    var request = ReportRequest()
    request.window = text
    return try usage { () throws(ReportRequest.SettingError) in try request.windowNanoseconds() }
  }
}

/// A setting's problem as a usage error (exit 64) that names the flag.
func usage<T>(_ body: () throws(ReportRequest.SettingError) -> T) throws -> T {
  do {
    return try body()
  } catch {
    throw ValidationError(error.description)
  }
}
