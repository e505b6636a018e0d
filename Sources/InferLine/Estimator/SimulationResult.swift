/// End-to-end latency percentiles of a simulation, nanoseconds (nearest rank, integer ranks).
public struct LatencySummary: Sendable, Equatable, Codable {
  public var p50: Int64
  public var p95: Int64
  public var p99: Int64
  public var p999: Int64
  public var max: Int64
  public var mean: Double

  /// P50, P95, P99 and P99.9, made once.
  static let percentiles = [50, 95, 99, 99.9].map { Percentile(percent: $0) }

  /// Nearest-rank percentiles by `Selection.ranks` (no sort, no copy of the latencies).
  /// - Complexity: O(N).
  public init(latencies: [Int64]) {
    precondition(!latencies.isEmpty)
    let n = latencies.count
    var largest = Int64.min
    var sum = 0.0
    for v in latencies {
      if v > largest { largest = v }
      sum += Double(v)
    }
    let values = latencies.withUnsafeBufferPointer {
      Selection.ranks(Self.percentiles.map { $0.rank(of: n) - 1 }, in: $0)
    }
    p50 = values[0]
    p95 = values[1]
    p99 = values[2]
    p999 = values[3]
    max = largest
    mean = sum / Double(n)
  }
}

/// What one stage did during a simulation.
public struct StageStatistics: Sendable, Equatable, Codable {
  /// Queries served (visits).
  public var visits: Int
  public var batches: Int
  /// Replica time spent serving, nanoseconds.
  public var busyNanoseconds: Int64
  /// Replica time available (replicas x time, from the first arrival to the last finish), nanoseconds.
  public var replicaNanoseconds: Int64
  /// Sum of queueing delays (arrival at the stage's queue to the start of its batch), nanoseconds (a Double:
  /// an overloaded day's waits add up past 64-bit integers).
  public var totalWaitNanoseconds: Double
  /// Nearest-rank P99 of the queueing delay, nanoseconds (0 when statistics were not collected).
  public var p99WaitNanoseconds: Int64
  /// `batchSizeCounts[n]` = batches of n queries (index 0 unused).
  public var batchSizeCounts: [Int]
  /// The serverless tier's share, when the stage had one (`ServerlessOverflow`); its queries count in `visits`
  /// but not in `batches` or `busyNanoseconds`.
  public var overflow: OverflowStatistics? = nil

  public var utilisation: Double { replicaNanoseconds > 0 ? Double(busyNanoseconds) / Double(replicaNanoseconds) : 0 }
  public var meanWaitNanoseconds: Double { visits > 0 ? totalWaitNanoseconds / Double(visits) : 0 }
  public var meanBatchSize: Double { batches > 0 ? Double(visits) / Double(batches) : 0 }
}

/// What a stage's serverless overflow tier served.
public struct OverflowStatistics: Sendable, Equatable, Codable {
  /// Invocations (one query each).
  public var queries = 0
  /// Invocations that found no warm instance.
  public var coldStarts = 0
  /// Invocation time, cold starts included, nanoseconds (what a per-GB-second price bills).
  public var billedNanoseconds: Int64 = 0
  public init() {}
  public init(queries: Int, coldStarts: Int, billed: Int64) {
    self.queries = queries
    self.coldStarts = coldStarts
    billedNanoseconds = billed
  }
}

/// The outcome of a simulation.
public struct SimulationResult: Sendable {
  public var queries: Int
  /// End-to-end latency per query, in arrival order, nanoseconds; `Int64.max` for a query never fully served.
  /// Nil when the run stopped early.
  public var latencies: [Int64]?
  /// True when the run stopped as soon as more queries had missed the SLO than its percentile allows.
  public var stoppedEarly: Bool
  /// Queries over the SLO (counted up to the stop when stopped early).
  public var misses: Int
  /// The SLO percentile of end-to-end latency is within the SLO.
  public var feasible: Bool
  public var summary: LatencySummary?
  public var stages: [StageStatistics]
  /// Stage visits simulated (queries x stages on their routes), for throughput figures.
  public var stageVisits: Int
  /// Events handled.
  public var events: Int
  /// With `Estimator.Options.recordStageFinishes` (stage by stage only): each query's finish time at each stage,
  /// nanoseconds, stage-major (`stageFinishes[s * queries + q]`); `Int64.min` where the query did not visit the
  /// stage or the run stopped before it finished there.
  public var stageFinishes: [Int64]? = nil

  /// Fraction of queries over the SLO (nil when stopped early).
  public var fractionOverSLO: Double? { latencies == nil ? nil : Double(misses) / Double(Swift.max(queries, 1)) }
}

/// Quickselect: the k-th smallest value (0-based).
package enum Selection {
  /// Each window's latencies at `percents` (nearest rank), milliseconds: the values `latencies[positions[q]]`
  /// (`latencies[q]` without `positions`) of the window's queries `q`. What the calibration fits compare with the
  /// observed percentiles; here, in the optimised engine, because they run it once per candidate correction.
  /// - Complexity: O(W log W) per window of W queries for many percents (a sort), O(W) for a few (`ranks`).
  package static func windowPercentilesMs(
    _ latencies: [Int64], windows: [[Int]], positions: [Int]? = nil, percents: [Double]
  ) -> [[Double]] {
    var values: [Int64] = []
    return windows.map { queries in
      values.removeAll(keepingCapacity: true)
      if let positions {
        values.append(contentsOf: queries.lazy.map { latencies[positions[$0]] })
      } else {
        values.append(contentsOf: queries.lazy.map { latencies[$0] })
      }
      let ranks = percents.map { Percentile(percent: $0).rank(of: values.count) - 1 }
      // Twenty ranks of a window of a few thousand values: a sort is cheaper than twenty selections.
      if ranks.count > 8 {
        values.sort()
        return ranks.map { Milliseconds.of(values[$0]) }
      }
      return values.withUnsafeBufferPointer { Selection.ranks(ranks, in: $0) }.map(Milliseconds.of)
    }
  }

  /// The k-th smallest values (0-based ranks, ascending) without sorting or copying: one pass counts the values
  /// in 14,337 buckets that keep their order (the bit length and the next 8 bits, so a bucket spans under 0.4% of
  /// its values' size), a second collects the values of the buckets that hold the ranks, and quickselect finds
  /// each rank among those.
  /// A bucket holding more than eight of the ranks is sorted instead (a selection per rank would be O(N) each).
  /// - Complexity: O(N) for two passes, plus selection within the buckets found (O(N) expected even when every
  ///   value falls in one bucket; O(M log M) for a bucket of M values sorted).
  static func ranks(_ ranks: [Int], in values: UnsafeBufferPointer<Int64>) -> [Int64] {
    var counts = [Int](repeating: 0, count: bucketCount)
    counts.withUnsafeMutableBufferPointer { counts in
      for v in values { counts[bucket(v)] += 1 }
    }
    // The bucket of each rank and its rank within the bucket.
    var wanted: [(bucket: Int, rank: Int)] = []
    var below = 0
    var next = 0
    for b in 0..<bucketCount where next < ranks.count {
      while next < ranks.count && ranks[next] < below + counts[b] {
        wanted.append((b, ranks[next] - below))
        next += 1
      }
      below += counts[b]
    }
    precondition(wanted.count == ranks.count, "ranks must be ascending and below the count")
    let buckets = Array(Set(wanted.map(\.bucket))).sorted()
    var members = buckets.map { [Int64](unsafeUninitializedCapacity: counts[$0]) { _, count in count = 0 } }
    var slot = [Int32](repeating: -1, count: bucketCount)
    for (i, b) in buckets.enumerated() { slot[b] = Int32(i) }
    slot.withUnsafeBufferPointer { slot in
      for v in values {
        let i = slot[bucket(v)]
        if i >= 0 { members[Int(i)].append(v) }
      }
    }
    var ranksIn = [Int](repeating: 0, count: buckets.count)
    for (b, _) in wanted { ranksIn[Int(slot[b])] += 1 }
    for i in buckets.indices where ranksIn[i] > 8 { members[i].sort() }
    return wanted.map { bucket, rank in
      let i = Int(slot[bucket])
      return ranksIn[i] > 8 ? members[i][rank] : select(&members[i], rank)
    }
  }

  /// Buckets: negative values in 0; then values below 512 one per bucket; then by bit length and the 8 bits
  /// after the leading one.
  static let bucketCount = 1 + 54 * 256 + 512

  @inline(__always)
  static func bucket(_ v: Int64) -> Int {
    guard v >= 0 else { return 0 }
    let u = UInt64(v)
    if u < 512 { return 1 + Int(u) }
    let length = 64 - u.leadingZeroBitCount  // 10...63
    return 1 + (length - 9) * 256 + Int(u >> UInt64(length - 9))
  }

  /// The k-th smallest of `values` (0-based) for a k in the top eighth (a tail percentile), the value `select`
  /// returns: a strided sample of 1,024 values sets a cut a little below rank k, one branch-free pass copies the
  /// values at or above the cut, and quickselect runs on those (a few percent of N for a P99). When the copy
  /// overflows its room or rank k falls below the cut, `select` on all of `values`.
  /// - Complexity: O(N), one pass that reads `values` once in the usual case; `values` is reordered only then.
  package static func tail(_ values: inout [Int64], _ k: Int) -> Int64 {
    values.withUnsafeBufferPointer { tailIfNarrow(in: $0, k) } ?? select(&values, k)
  }

  /// `tail` without its way back: nil where it would run `select` on all of `values` (N below 65,536, k outside
  /// the top eighth, or the sample's cut missing). - Complexity: O(N), one pass reading `values`; no writes to it.
  static func tailIfNarrow(in v: UnsafeBufferPointer<Int64>, _ k: Int) -> Int64? {
    let n = v.count
    // Values at rank k or above.
    let above = n - k
    guard n >= 1 << 16, k >= 0, above * 8 <= n else { return nil }
    let sampleCount = 1_024
    let stride = n / sampleCount
    var sample = (0..<sampleCount).map { v[$0 * stride] }
    // Twice rank k's share of the sample above the cut, and 8 more: rank k is below the cut only by a wide miss.
    let share = min(sampleCount - 1, 2 * above * sampleCount / n + 8)
    let cut = select(&sample, sampleCount - 1 - share)
    let block = 4_096
    let room = 4 * share * stride + 2 * block
    let kept = UnsafeMutablePointer<Int64>.allocate(capacity: room)
    defer { kept.deallocate() }
    var count = 0
    var start = 0
    while start < n {
      guard count + block <= room else { return nil }
      let end = min(n, start + block)
      for i in start..<end {
        kept[count] = v[i]
        count += v[i] >= cut ? 1 : 0
      }
      start = end
    }
    guard k >= n - count else { return nil }
    return select(in: UnsafeMutableBufferPointer(start: kept, count: count), k - (n - count))
  }

  /// Moves the k-th smallest of `values[from...]` to index k (smaller ones before it) and returns it; `from` must
  /// be a position that already separates smaller values from the rest (0, or an earlier k).
  /// - Complexity: O(N) expected; in place.
  package static func select(_ values: inout [Int64], _ k: Int, from: Int = 0) -> Int64 {
    values.withUnsafeMutableBufferPointer { select(in: $0, k, from: from) }
  }

  /// `select` on a buffer.
  static func select(in v: UnsafeMutableBufferPointer<Int64>, _ k: Int, from: Int = 0) -> Int64 {
    var low = from, high = v.count - 1
    while low < high {
      // Median of three as the pivot.
      let mid = low + (high - low) / 2
      let a = v[low], b = v[mid], c = v[high]
      let pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b))
      var i = low, j = high
      while i <= j {
        while v[i] < pivot { i += 1 }
        while v[j] > pivot { j -= 1 }
        if i <= j {
          v.swapAt(i, j)
          i += 1
          j -= 1
        }
      }
      if k <= j { high = j } else if k >= i { low = i } else { return v[k] }
    }
    return v[k]
  }
}
