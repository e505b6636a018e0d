import ArgumentParser
import Foundation
import InferLine
import InferLineNight

extension InferLineCommand {
  struct Envelope: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Arrival envelopes of query logs: the most queries in any window, and token-bucket fits.",
      discussion: """
        For each window size D: alpha(D), the most queries that arrive in any interval of length D, and the rate \
        alpha(D) / D. Sizes double from --min-window (InferLine uses the smallest service time) up to \
        --max-window. Then, for each rate rho, the smallest burst sigma such that every interval conforms to \
        sigma + rho D.

        Exit status 0 on success, 64 for a usage error, 65 for a log that cannot be read, 74 when standard output cannot be written.
        """)

    @Argument(help: "Query logs: CSV, TSV or JSON Lines, each optionally gzip-compressed.")
    var logs: [String]

    @OptionGroup var log: LogOptions

    @Option(help: "Smallest window size (the smallest service time): 1ms, 10ms, 0.5s, ...")
    var minWindow: String = "10ms"

    @Option(help: "Largest window size.")
    var maxWindow: String = "60s"

    @Option(help: "Token-bucket rates, queries per second, comma-separated (default: 8 from the mean to the peak).")
    var rates: String?

    @Flag(help: "Print JSON for machines instead of tables.")
    var json = false

    struct Output: Encodable {
      var pipeline: String?
      var queries: Int
      var windowSizesSeconds: [Double]
      var maxArrivals: [Int]
      var rates: [Double]
      var tokenBuckets: [TokenBucket]
    }

    @OptionGroup var quietOption: QuietOption

    /// Rules of the window sizes and rates, before anything runs.
    func validate() throws { _ = try windowsAndRates() }

    /// The smallest and largest window sizes (nanoseconds) and the given rates, checked.
    /// - Throws: `ValidationError` naming the flag.
    func windowsAndRates() throws -> (smallest: Int64, largest: Int64, rates: [Double]?) {
      guard let smallest = DurationText.nanoseconds(minWindow) else {
        throw ValidationError("--min-window '\(minWindow)' is not a duration of at least 1 ns such as 10ms or 1s")
      }
      guard let largest = DurationText.nanoseconds(maxWindow), largest >= smallest, largest <= 366 * 86_400_000_000_000
      else {
        throw ValidationError("--max-window '\(maxWindow)' is not a duration from --min-window up to 366d")
      }
      guard let rates else { return (smallest, largest, nil) }
      let parsed = rates.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
      guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
        throw ValidationError("--rates must be non-negative numbers separated by commas (got '\(rates)')")
      }
      return (smallest, largest, parsed.map { $0! })
    }

    func run() throws {
      quietOption.apply()
      let options = try log.readOptions()
      let (smallest, largest, givenRates) = try windowsAndRates()
      let set = try reportingInputErrors { try QueryLogSet.read(paths: logs, options: options) }
      let sizes = WindowSizes.doubling(from: smallest, to: largest)
      var outputs: [Output] = []
      for trace in set.traces {
        let envelope = ArrivalEnvelope(arrivals: trace.arrivals, windowSizes: sizes)
        let rateList = givenRates ?? TokenBucketCurve.defaultRates(trace.arrivals, shortestWindow: smallest)
        let curve = TokenBucketCurve(arrivals: trace.arrivals, rates: rateList)
        outputs.append(
          Output(
            pipeline: trace.pipeline, queries: trace.count, windowSizesSeconds: sizes.map { Double($0) / 1e9 },
            maxArrivals: envelope.maxArrivals, rates: envelope.rates, tokenBuckets: curve.buckets))
      }
      if json {
        try printJSON(outputs)
        return
      }
      for (index, o) in outputs.enumerated() {
        if index > 0 { say() }
        say("\(o.pipeline.map { "pipeline '\($0)'" } ?? "all queries"): \(o.queries) queries")
        say("  window      max arrivals     rate (q/s)")
        for k in o.windowSizesSeconds.indices {
          let label = DurationText.describe(nanoseconds: sizes[k])
          say(
            "  " + label.padding(toLength: 10, withPad: " ", startingAt: 0)
              + String(format: "%14d %14.1f", o.maxArrivals[k], o.rates[k]))
        }
        say("  token buckets: rate (q/s)   burst (queries)")
        for b in o.tokenBuckets { say(String(format: "  %25.2f %17.1f", b.rate, b.burst)) }
      }
    }
  }
}
