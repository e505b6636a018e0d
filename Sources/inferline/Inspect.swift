import ArgumentParser
import Foundation
import InferLine
import InferLineNight

extension InferLineCommand {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Summarise query logs: queries, span, mean and peak rates, burstiness, per-window counts.",
      discussion: """
        Several files are read as one log: queries of the same pipeline are merged in time order.

        Exit status 0 on success, 64 for a usage error, 65 for a log that cannot be read, 74 when standard output cannot be written.
        """)

    @Argument(help: "Query logs: CSV, TSV or JSON Lines, each optionally gzip-compressed.")
    var logs: [String]

    @OptionGroup var log: LogOptions
    @OptionGroup var window: WindowOption

    @Flag(help: "Print JSON for machines instead of tables.")
    var json = false

    @Flag(help: "Print the time each phase took to stderr.")
    var timings = false

    static func seconds(_ d: Duration) -> String {
      String(format: "%.3f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    struct Output: Encodable {
      var files: [IngestionReport]
      var traces: [TraceSummary]
    }

    /// The most windows `inspect` lists per trace.
    static let windowLimit: Int64 = 1_000_000

    @OptionGroup var quietOption: QuietOption

    func run() throws {
      quietOption.apply()
      let options = try log.readOptions()
      let windowLength = try window.nanoseconds()
      let clock = ContinuousClock()
      let started = clock.now
      let set = try reportingInputErrors { try QueryLogSet.read(paths: logs, options: options) }
      let read = clock.now
      // Estimated before the work: a tiny window on a long log (or an outlier timestamp years away) would list
      // millions of windows. The figures are still given, the list is left out, and the note says why.
      let summaries = set.traces.map {
        TraceSummary(trace: $0, windowLength: windowLength, windowLimit: Self.windowLimit)
      }
      for s in summaries {
        if let count = s.windowsLeftOut {
          note(
            "\(s.pipeline.map { "pipeline '\(TerminalText.safe($0))': " } ?? "")the span cuts into \(count) windows of \(window.text), more than the \(Self.windowLimit) inspect lists; per-window counts left out (look for outlier timestamps, or choose a longer --window)"
          )
        }
      }
      if timings {
        note("timings: ingest \(Self.seconds(read - started)), statistics \(Self.seconds(clock.now - read))")
      }
      if json {
        try printJSON(Output(files: set.reports, traces: summaries))
        return
      }
      for report in set.reports { say(Self.describe(report)) }
      for summary in summaries { say(Self.describe(summary)) }
    }

    static func describe(_ r: IngestionReport) -> String {
      var format = r.format.rawValue.uppercased()
      if r.gzip { format += ", gzip" }
      let unit = r.isoTimestamps ? "ISO-8601" : r.timeUnit.describeForPeople + (r.timeUnitDetected ? " (detected)" : "")
      var lines = [
        "\(r.file): \(r.queries) queries from \(r.lines) lines (\(format), \(Self.bytes(r.contentBytes)))",
        "  timestamp column '\(r.timeColumn)', \(unit), times without offset read as \(r.timeZone)",
      ]
      if let p = r.pipelineColumn { lines.append("  pipeline column '\(p)'") }
      if let l = r.latencyColumn {
        lines.append(
          "  latency column '\(l)'"
            + (r.unreadableLatencies > 0 ? ", \(r.unreadableLatencies) unreadable values kept as missing" : ""))
      }
      if let z = r.sizeColumn {
        let unreadable = r.unreadableSizes ?? 0
        lines.append(
          "  size column '\(z)' (service times follow it where a profile gives latency by size)"
            + (unreadable > 0 ? ", \(unreadable) unreadable values: those queries take the largest size bucket" : ""))
      }
      if let ignored = r.ignoredColumns, let count = r.ignoredColumnCount, count > 0 {
        lines.append(
          "  not read: " + ignored.map { "'\($0)'" }.joined(separator: ", ")
            + (count > ignored.count ? " and \(count - ignored.count) more" : "")
            + " (plans use arrival times; service times come from the profiles\(r.sizeColumn == nil ? "" : " and the size column"))"
        )
      }
      if r.malformedLines > 0 {
        lines.append("  skipped \(r.malformedLines) malformed line\(r.malformedLines == 1 ? "" : "s"); the first:")
        for s in r.skipped { lines.append("    line \(s.line): \(s.reason)") }
      } else {
        lines.append("  no malformed lines")
      }
      if r.blankLines > 0 { lines.append("  \(r.blankLines) blank line\(r.blankLines == 1 ? "" : "s")") }
      for warning in r.warnings { lines.append("  warning: \(warning)") }
      if r.outOfOrder > 0 {
        lines.append(
          "  \(r.outOfOrder) line\(r.outOfOrder == 1 ? " was" : "s were") stamped earlier than the line before (out of order); the trace was sorted"
        )
      }
      return lines.joined(separator: "\n")
    }

    static func describe(_ s: TraceSummary) -> String {
      let name = s.pipeline.map { "pipeline '\($0)'" } ?? "all queries"
      var lines = [
        "",
        "\(name): \(s.queries) queries, \(InstantText.describe(s.first, relative: s.isRelative)) to \(InstantText.describe(s.last, relative: s.isRelative)) (\(Self.duration(s.spanSeconds)))",
        String(
          format: "  mean %.2f q/s; peak %.0f q/s over 1 s, %.1f over 10 s, %.1f over 60 s; inter-arrival CV %@",
          s.meanRate, s.peakRate1s, s.peakRate10s, s.peakRate60s,
          s.interArrivalCV.map { String(format: "%.2f", $0) } ?? "n/a"),
        "  windows of \(DurationText.describe(nanoseconds: Int64(s.windowLengthSeconds * 1e9))):",
      ]
      let shown = s.windows.count > 48 ? Array(s.windows.prefix(24)) + Array(s.windows.suffix(24)) : s.windows
      for (i, w) in shown.enumerated() {
        if s.windows.count > 48 && i == 24 { lines.append("    ... \(s.windows.count - 48) more windows ...") }
        lines.append(
          "    \(InstantText.describe(w.start, relative: s.isRelative).padding(toLength: 26, withPad: " ", startingAt: 0)) \(w.queries)"
        )
      }
      return lines.joined(separator: "\n")
    }

    static func bytes(_ n: Int) -> String {
      n >= 1 << 30
        ? String(format: "%.2f GB", Double(n) / 1e9)
        : n >= 1 << 20
          ? String(format: "%.1f MB", Double(n) / 1e6)
          : n >= 1024 ? String(format: "%.1f kB", Double(n) / 1e3) : "\(n) bytes"
    }

    static func duration(_ seconds: Double) -> String {
      if seconds >= 86_400 { return String(format: "%.2f days", seconds / 86_400) }
      if seconds >= 3600 { return String(format: "%.2f hours", seconds / 3600) }
      if seconds >= 60 { return String(format: "%.1f minutes", seconds / 60) }
      return String(format: "%.3f s", seconds)
    }
  }
}

extension TimeUnit {
  var describeForPeople: String {
    switch self {
    case .seconds: "epoch seconds"
    case .milliseconds: "epoch milliseconds"
    case .microseconds: "epoch microseconds"
    case .nanoseconds: "epoch nanoseconds"
    case .relativeSeconds: "relative seconds"
    }
  }
}
