import Foundation

/// The envelope of one shard of a trace (an hour, a day, a file), kept so that shards computed apart merge into
/// exactly the envelope of the whole.
///
/// Besides `alpha(D)` of its own arrivals, a shard keeps its first and last `D_max` of arrivals: an interval that
/// crosses into the next shard can only hold arrivals from those.
public struct EnvelopeShard: Sendable, Equatable, Codable {
  /// Window sizes, nanoseconds, ascending.
  public var windowSizes: [Int64]
  /// alpha at each window size, within this shard.
  public var maxArrivals: [Int]
  public var count: Int
  /// First and last arrival, nanoseconds.
  public var first: Int64
  public var last: Int64
  /// Arrivals before `first + D_max`.
  public var head: [Int64]
  /// Arrivals after `last - D_max`.
  public var tail: [Int64]

  /// - Parameter arrivals: the shard's arrivals, sorted, at least one.
  /// - Complexity: O(N x number of window sizes).
  public init(arrivals: [Int64], windowSizes: [Int64]) {
    precondition(!arrivals.isEmpty, "a shard needs at least one arrival")
    precondition(!windowSizes.isEmpty && windowSizes == windowSizes.sorted(), "window sizes must be ascending")
    self.windowSizes = windowSizes
    maxArrivals = ArrivalEnvelope.maxArrivals(arrivals, within: windowSizes)
    count = arrivals.count
    let start = arrivals[0]
    first = start
    last = arrivals[arrivals.count - 1]
    let dMax = windowSizes[windowSizes.count - 1]
    head = Array(arrivals.prefix { $0 < start &+ dMax })
    tail = Array(arrivals.suffix(from: Self.firstIndex(arrivals, after: last &- dMax)))
  }

  /// Index of the first arrival strictly after `value`.
  static func firstIndex(_ t: [Int64], after value: Int64) -> Int {
    var low = 0, high = t.count
    while low < high {
      let middle = (low + high) / 2
      if t[middle] <= value { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// The shard of `earlier` followed by `later`.
  /// - Throws: `InputError` when the window sizes differ or the shards overlap in time.
  /// - Complexity: O(size of the kept heads and tails x number of window sizes).
  public static func merge(_ earlier: EnvelopeShard, _ later: EnvelopeShard) throws -> EnvelopeShard {
    guard earlier.windowSizes == later.windowSizes else {
      throw InputError("envelope shards have different window sizes", fix: "compute every shard with the same sizes")
    }
    guard earlier.last <= later.first else {
      throw InputError(
        "envelope shards overlap in time (one ends at \(earlier.last) ns, the next starts at \(later.first) ns)",
        fix: "merge shards in time order, each holding a separate stretch of the trace")
    }
    let dMax = earlier.windowSizes[earlier.windowSizes.count - 1]
    // Intervals inside one shard are counted already; those that cross use only the earlier tail and later head.
    let crossing = ArrivalEnvelope.maxArrivals(earlier.tail + later.head, within: earlier.windowSizes)
    var merged = earlier
    merged.maxArrivals = (0..<earlier.maxArrivals.count).map {
      max(earlier.maxArrivals[$0], later.maxArrivals[$0], crossing[$0])
    }
    merged.count = earlier.count + later.count
    merged.last = later.last
    merged.head = earlier.head + later.head.prefix { $0 < earlier.first &+ dMax }
    merged.tail = earlier.tail.filter { $0 > later.last &- dMax } + later.tail
    return merged
  }

  public var envelope: ArrivalEnvelope {
    var e = ArrivalEnvelope(arrivals: [], windowSizes: windowSizes)
    e.maxArrivals = maxArrivals
    return e
  }
}

/// Lists of window sizes for envelopes.
public enum WindowSizes {
  /// InferLine's tuner sizes: from `smallest` (the smallest service time), doubling, up to and including `largest`.
  public static func doubling(from smallest: Int64, to largest: Int64 = 60_000_000_000) -> [Int64] {
    precondition(smallest > 0 && largest >= smallest)
    var sizes: [Int64] = []
    var size = smallest
    while size < largest {
      sizes.append(size)
      guard size <= Int64.max / 2 else { break }
      size *= 2
    }
    sizes.append(largest)
    return sizes
  }

  /// `count` sizes spaced evenly on a log scale from `smallest` to `largest` (for plotting), without repeats.
  public static func logSpaced(from smallest: Int64, to largest: Int64, count: Int) -> [Int64] {
    precondition(smallest > 0 && largest >= smallest && count >= 2)
    let ratio = Double(largest) / Double(smallest)
    var sizes: [Int64] = []
    for k in 0..<count {
      let size = Int64((Double(smallest) * pow(ratio, Double(k) / Double(count - 1))).rounded())
      if sizes.last != size { sizes.append(size) }
    }
    sizes[sizes.count - 1] = largest
    return sizes
  }
}
