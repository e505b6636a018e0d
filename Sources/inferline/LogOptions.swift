import ArgumentParser
import InferLine

/// Flags for reading query logs, shared by every command that reads them.
struct LogOptions: ParsableArguments {
  @Option(help: "Timestamp column or JSON key (default: found among timestamp, ts, time, arrival_time, ...).")
  var timeColumn: String?

  @Option(help: "Unit of numeric timestamps: s, ms, us, ns or relative (default: guessed from the magnitude).")
  var timeUnit: String?

  @Option(help: "Zone for ISO-8601 times without an offset: UTC, +05:30 or an IANA name such as Europe/Berlin.")
  var timezone: String = "UTC"

  @Option(help: "Column naming the pipeline, for logs that hold several (default: 'pipeline' if present).")
  var pipelineColumn: String?

  @Option(help: "Column of observed end-to-end latency in milliseconds (default: 'latency_ms' if present).")
  var latencyColumn: String?

  @Flag(help: "Stop at the first malformed line instead of counting and skipping it.")
  var strict = false

  func readOptions() throws -> LogReadOptions {
    var options = LogReadOptions()
    options.timeColumn = timeColumn
    if let timeUnit {
      guard let unit = TimeUnit(rawValue: timeUnit.lowercased()) else {
        throw ValidationError("--time-unit must be one of s, ms, us, ns, relative (got '\(timeUnit)')")
      }
      options.timeUnit = unit
    }
    guard let zone = DefaultTimeZone(parsing: timezone) else {
      throw ValidationError("--timezone '\(timezone)' is not UTC, an offset such as +05:30, or a known IANA zone name")
    }
    options.timeZone = zone
    options.pipelineColumn = pipelineColumn
    options.latencyColumn = latencyColumn
    options.strict = strict
    return options
  }
}

/// `--window 15m|1h|1d`.
struct WindowOption: ParsableArguments {
  @Option(help: "Workload window length, aligned to the clock: 15m, 1h, 1d, ...")
  var window: String = "1h"

  func nanoseconds() throws -> Int64 {
    guard let ns = DurationText.nanoseconds(window) else {
      throw ValidationError(
        "--window '\(window)' is not a duration of at least 1 ns such as 15m, 1h or 1d (a bare number is seconds)")
    }
    return ns
  }
}
