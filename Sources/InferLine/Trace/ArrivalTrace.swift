/// The arrival times of one pipeline's queries, sorted, in integer nanoseconds.
///
/// Absolute traces count from the Unix epoch; relative ones (a log of seconds from 0) from the log's own origin.
/// Duplicates are kept: equal stamps are common in millisecond logs and matter to batching.
public struct ArrivalTrace: Sendable, Equatable {
  /// The pipeline these queries belong to; nil when the log has no pipeline column.
  public var pipeline: String?
  /// Arrival times, non-decreasing, in nanoseconds.
  public var arrivals: [Int64]
  /// Observed end-to-end latency per query in milliseconds (NaN where unreadable), when the log has such a column.
  public var observedLatencyMs: [Float]?
  /// True when times are relative to the log's origin rather than the Unix epoch.
  public var isRelative: Bool
  /// Stages each query visited, one bit per pipeline stage, when the log has a route column.
  public var visitedStages: [UInt64]?
  /// Each query's size (tokens, pixels, items; NaN where unreadable), when the log has a size column.
  public var querySizes: [Float]? = nil
  /// The log's column the sizes came from.
  public var sizeColumn: String? = nil

  public init(pipeline: String? = nil, arrivals: [Int64], observedLatencyMs: [Float]? = nil, isRelative: Bool = false) {
    precondition(observedLatencyMs == nil || observedLatencyMs!.count == arrivals.count)
    self.pipeline = pipeline
    self.arrivals = arrivals
    self.observedLatencyMs = observedLatencyMs
    self.isRelative = isRelative
  }

  public var count: Int { arrivals.count }

  /// Time from the first to the last arrival, in nanoseconds (0 for fewer than two).
  public var spanNanoseconds: Int64 { arrivals.count < 2 ? 0 : arrivals[arrivals.count - 1] - arrivals[0] }

  /// Splits the trace into clock-aligned windows of `length` nanoseconds covering the first to the last arrival.
  ///
  /// Windows start at multiples of `length` (since the epoch, or since 0 for relative traces), so an hourly window
  /// starts on the hour in UTC. Empty windows between busy ones are kept, with no arrivals, so the timeline has no
  /// gaps.
  /// - Complexity: O(number of windows x log N).
  public func windows(length: Int64) -> [WorkloadWindow] { Self.windows(of: arrivals, length: length) }

  /// The clock-aligned windows of sorted `arrivals` (nanoseconds), as `windows(length:)`: the one definition of
  /// where a window starts, for the report and the calibration alike.
  public static func windows(of arrivals: [Int64], length: Int64) -> [WorkloadWindow] {
    precondition(length > 0)
    guard let first = arrivals.first, let last = arrivals.last else { return [] }
    func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
    var start = floorDiv(first, length) * length
    var result: [WorkloadWindow] = []
    var index = 0
    while start <= last {
      let end = start + length
      let from = index
      // First arrival at or after `end`, by binary search from `index`.
      var high = arrivals.count
      while index < high {
        let middle = (index + high) / 2
        if arrivals[middle] < end { index = middle + 1 } else { high = middle }
      }
      result.append(WorkloadWindow(start: start, length: length, range: from..<index))
      start = end
    }
    return result
  }
}

/// A contiguous slice of a trace planned on its own: `[start, start + length)`.
public struct WorkloadWindow: Sendable, Equatable, Codable {
  /// Window start in the trace's time base, nanoseconds.
  public var start: Int64
  /// Window length, nanoseconds.
  public var length: Int64
  /// The arrivals of the trace that fall in the window (indices into `ArrivalTrace.arrivals`).
  public var range: Range<Int>

  public var count: Int { range.count }

  /// This window's arrivals in nanoseconds since the window start.
  /// - Complexity: O(count).
  public func relativeArrivals(in trace: ArrivalTrace) -> [Int64] {
    trace.arrivals[range].map { $0 - start }
  }
}
