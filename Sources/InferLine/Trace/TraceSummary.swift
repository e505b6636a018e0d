import Foundation

/// The figures `inferline inspect` shows for one trace.
public struct TraceSummary: Codable, Sendable, Equatable {
  public var pipeline: String?
  public var queries: Int
  /// First and last arrival, nanoseconds.
  public var first: Int64
  public var last: Int64
  public var spanSeconds: Double
  /// Queries per second over the span (`PipelineModel.meanRate`: N / span, N when all share one stamp).
  public var meanRate: Double
  /// Peak rates, queries per second, over sliding windows of 1 s, 10 s and 60 s.
  public var peakRate1s: Double
  public var peakRate10s: Double
  public var peakRate60s: Double
  /// Coefficient of variation of the inter-arrival gaps (1 for Poisson); nil for fewer than three queries.
  public var interArrivalCV: Double?
  public var isRelative: Bool
  public var windowLengthSeconds: Double
  public var windows: [WindowCount]
  /// How many windows the span cuts into when that is more than the limit the summary was asked for: then
  /// `windows` is empty (listing them would take gigabytes); nil otherwise.
  public var windowsLeftOut: Int64? = nil

  public struct WindowCount: Codable, Sendable, Equatable {
    /// Window start, nanoseconds.
    public var start: Int64
    public var queries: Int
  }

  /// - Parameter windowLimit: the most windows to count; a span cut into more leaves `windows` empty and says how
  ///   many in `windowsLeftOut`.
  /// - Complexity: O(N + windows).
  public init(trace: ArrivalTrace, windowLength: Int64, windowLimit: Int64 = .max) {
    let t = trace.arrivals
    pipeline = trace.pipeline
    queries = t.count
    first = t.first ?? 0
    last = t.last ?? 0
    spanSeconds = Double(trace.spanNanoseconds) / 1e9
    meanRate = PipelineModel.meanRate(t)
    let peaks = ArrivalEnvelope.maxArrivals(t, within: [1_000_000_000, 10_000_000_000, 60_000_000_000])
    peakRate1s = Double(peaks[0])
    peakRate10s = Double(peaks[1]) / 10
    peakRate60s = Double(peaks[2]) / 60
    if t.count >= 3 {
      // The mean gap is exact (span / count); the variance sums squared deviations from it.
      let n = Double(t.count - 1)
      let mean = Double(t[t.count - 1] - t[0]) / n
      var squares = 0.0
      t.withUnsafeBufferPointer { t in
        for i in 1..<t.count {
          let d = Double(t[i] &- t[i &- 1]) - mean
          squares += d * d
        }
      }
      interArrivalCV = mean > 0 ? (squares / n).squareRoot() / mean : nil
    } else {
      interArrivalCV = nil
    }
    isRelative = trace.isRelative
    windowLengthSeconds = Double(windowLength) / 1e9
    let count = t.isEmpty ? 0 : (last - first) / windowLength + 1
    if count > windowLimit {
      windows = []
      windowsLeftOut = count
    } else {
      windows = trace.windows(length: windowLength).map { WindowCount(start: $0.start, queries: $0.count) }
    }
  }
}

/// A time length written as `90s`, `15m`, `1h`, `1d` (or a plain number of seconds).
public enum DurationText {
  /// Nanoseconds in the text; nil when it is not a positive duration.
  public static func nanoseconds(_ text: String) -> Int64? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
    for (suffix, seconds) in units where t.hasSuffix(suffix) {
      guard let value = Double(t.dropLast(suffix.count)), value > 0, value.isFinite else { return nil }
      let ns = value * seconds * 1e9
      return ns >= 1 && ns < 9e18 ? Int64(ns.rounded()) : nil
    }
    // A bare number is seconds; like the suffixed forms it must come to at least one nanosecond (a window of
    // 1e-12 s would round to 0 and divide by zero downstream).
    guard let value = Double(t), value > 0, value.isFinite, value * 1e9 >= 1, value * 1e9 < 9e18 else { return nil }
    return Int64((value * 1e9).rounded())
  }

  /// `3600000000000` → `1h`, `90000000000` → `90s`.
  public static func describe(nanoseconds: Int64) -> String {
    let s = Double(nanoseconds) / 1e9
    if s >= 86_400, s.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(s / 86_400))d" }
    if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600))h" }
    if s >= 60, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60))m" }
    if s < 1 {
      let ms = Milliseconds.of(nanoseconds)
      return ms == ms.rounded() ? "\(Int(ms))ms" : String(format: "%gms", ms)
    }
    return s == s.rounded() ? "\(Int(s))s" : String(format: "%gs", s)
  }
}

/// Formats nanosecond instants for people: UTC ISO-8601 for absolute traces, seconds for relative ones.
public enum InstantText {
  public static func describe(_ t: Int64, relative: Bool) -> String {
    if relative { return String(format: "%.3f s", Double(t) / 1e9) }
    var buffer: [UInt8] = []
    QueryLogWriter.appendTime(t / 1_000_000 * 1_000_000, origin: 0, format: .iso8601, to: &buffer)
    // Milliseconds are enough for people: drop the last three digits of the microseconds.
    var text = String(decoding: buffer, as: UTF8.self)
    if text.count > 5 {
      text.removeSubrange(text.index(text.endIndex, offsetBy: -4)..<text.index(text.endIndex, offsetBy: -1))
    }
    return text
  }
}
