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

  /// The k-th smallest values (0-based ranks, ascending) without sorting all of them: one pass counts the values
  /// in 14,337 buckets that keep their order (the bit length and the next 8 bits, so a bucket spans under 0.4% of
  /// its values' size), a second copies the values of the buckets that hold the ranks, each bucket's to its own
  /// stretch of one buffer, and quickselect finds each rank among those.
  /// A bucket holding more than eight of the ranks is sorted instead (a selection per rank would be O(N) each).
  /// Both passes are branch-free and take the values in four interleaved streams (positions modulo 4), each with
  /// its own counts and its own part of each bucket's stretch: a run of similar values, as a latency stream has,
  /// otherwise chains each count's or copy's update on the last one's store.
  /// One rank in the top eighth (a replay's SLO percentile alone) takes `tailIfNarrow` first: one pass reading the
  /// values. When the buckets holding the ranks hold more than `refiningAbove` values, `refinedRanks` splits them
  /// before copying.
  /// - Complexity: O(N) for two passes, plus selection within the buckets found (O(N) expected even when every
  ///   value falls in one bucket; O(M log M) for a bucket of M values sorted). Memory: the values of those buckets,
  ///   at most `refiningAbove` of them.
  static func ranks(
    _ ranks: [Int], in values: UnsafeBufferPointer<Int64>, refiningAbove: Int = refiningThreshold
  ) -> [Int64] {
    if ranks.count == 1, let value = tailIfNarrow(in: values, ranks[0]) { return [value] }
    let streams = 4
    // `table[r * bucketCount + b]`: stream r's count in bucket b, then where its next value of b goes.
    let table = UnsafeMutablePointer<Int>.allocate(capacity: streams * bucketCount)
    defer { table.deallocate() }
    table.initialize(repeating: 0, count: streams * bucketCount)
    let t1 = table + bucketCount, t2 = t1 + bucketCount, t3 = t2 + bucketCount
    inStreams(values) { v, r in table[r &* bucketCount &+ bucket(v)] += 1 }
    // The bucket of each rank and its rank within the bucket.
    var wanted: [(bucket: Int, rank: Int)] = []
    var below = 0
    var next = 0
    for b in 0..<bucketCount where next < ranks.count {
      let count = table[b] + t1[b] + t2[b] + t3[b]
      while next < ranks.count && ranks[next] < below + count {
        wanted.append((b, ranks[next] - below))
        next += 1
      }
      below += count
    }
    precondition(wanted.count == ranks.count, "ranks must be ascending and below the count")
    let buckets = Array(Set(wanted.map(\.bucket))).sorted()
    var held = 0
    for b in buckets { held += table[b] + t1[b] + t2[b] + t3[b] }
    if held > refiningAbove { return refinedRanks(wanted, buckets: buckets, in: values) }
    return selectInGroups(
      wanted.map { ($0.bucket, $0.rank) }, chosen: buckets, width: bucketCount, table: table, in: values,
      group: bucket)
  }

  /// How many values the buckets holding the ranks may hold before `ranks` splits them (`refinedRanks`): a
  /// million (8 MB).
  static let refiningThreshold = 1 << 20

  /// `ranks` once the first pass has found the buckets holding them, when those hold many values (a day's
  /// latency CDF: 62-130 MB of them, copied at the end of every replay, two replays at once on two cores). A second
  /// counting pass splits each of those buckets into 256 parts by the 8 bits after its own, keeping each part's
  /// least and greatest value, and only the values of the parts that hold ranks and more than one value are
  /// copied: one more pass over the values, for a copy of a few of them.
  /// - Complexity: O(N) for two more passes, plus selection within the parts found. Memory: 96 bytes per part of
  ///   the buckets holding ranks (256 per bucket), and the values of the parts holding ranks.
  static func refinedRanks(
    _ wanted: [(bucket: Int, rank: Int)], buckets: [Int], in values: UnsafeBufferPointer<Int64>
  ) -> [Int64] {
    let streams = 4
    var bucketSlot = [Int](repeating: -1, count: bucketCount)
    for (k, b) in buckets.enumerated() { bucketSlot[b] = k }
    // Part 256 k + s: the values of wanted bucket k whose 8 bits after the bucket's are s. `parts` is the scratch
    // part of every other value.
    let parts = buckets.count * 256
    let width = parts + 1
    // `table[r * width + p]`: stream r's count in part p, then where its next value of p goes; `least` and
    // `most`, its least and greatest value (a part of one value, as most queries' latencies in a run without
    // queueing are, is not copied).
    let table = UnsafeMutablePointer<Int>.allocate(capacity: streams * width)
    defer { table.deallocate() }
    table.initialize(repeating: 0, count: streams * width)
    let t1 = table + width, t2 = t1 + width, t3 = t2 + width
    let least = UnsafeMutablePointer<Int64>.allocate(capacity: streams * width)
    defer { least.deallocate() }
    least.initialize(repeating: .max, count: streams * width)
    let most = UnsafeMutablePointer<Int64>.allocate(capacity: streams * width)
    defer { most.deallocate() }
    most.initialize(repeating: .min, count: streams * width)
    return bucketSlot.withUnsafeBufferPointer { bucketSlot in
      // Within a bucket (bit length and the 8 bits after the leading one) values order by their lower bits; the
      // part is the top 8 of those (all of them below 8). Negative values share bucket 0 and take part 0.
      @inline(__always) func part(_ v: Int64) -> Int {
        let (b, shift) = bucketAndShift(v)
        let low = UInt64(bitPattern: v) & ((1 &<< UInt64(truncatingIfNeeded: shift)) &- 1)
        let s = Int(truncatingIfNeeded: low &>> UInt64(truncatingIfNeeded: max(0, shift - 8)))
        let k = bucketSlot[b]
        return k < 0 ? parts : k &* 256 &+ (v < 0 ? 0 : s)
      }
      inStreams(values) { v, r in
        let p = r &* width &+ part(v)
        table[p] += 1
        least[p] = min(least[p], v)
        most[p] = max(most[p], v)
      }
      // Each rank's part and its rank within the part.
      var inParts: [(part: Int, rank: Int)] = []
      for (bucket, rank) in wanted {
        var p = bucketSlot[bucket] * 256
        var below = 0
        while true {
          let count = table[p] + t1[p] + t2[p] + t3[p]
          if rank < below + count { break }
          below += count
          p += 1
        }
        inParts.append((p, rank - below))
      }
      // The value of each part holding ranks that holds one value only; the others are copied.
      var only: [Int: Int64] = [:]
      for p in Set(inParts.map(\.part)) {
        let low = (0..<streams).map { least[$0 * width + p] }.min()!
        if low == (0..<streams).map({ most[$0 * width + p] }).max()! { only[p] = low }
      }
      let copied = inParts.filter { only[$0.part] == nil }
      var found = selectInGroups(
        copied.map { ($0.part, $0.rank) }, chosen: Array(Set(copied.map(\.part))).sorted(), width: width, table: table,
        in: values,
        group: part
      ).makeIterator()
      return inParts.map { only[$0.part] ?? found.next()! }
    }
  }

  /// The ranks `located` in their groups: the values of each group in `chosen` (ascending; `group(v)` is in
  /// 0 ..< width) copied to a stretch of one buffer of their own, every other value to a scratch slot past the end
  /// (no branch), in four interleaved streams whose counts are in `table` (stream r's at `r * width`; made
  /// cursors here); then each rank selected in its group, or the group sorted when it holds more than eight.
  /// - Complexity: O(N) for the pass, plus the selections. Memory: the values of the chosen groups.
  @inline(__always)
  static func selectInGroups(
    _ located: [(group: Int, rank: Int)], chosen: [Int], width: Int, table: UnsafeMutablePointer<Int>,
    in values: UnsafeBufferPointer<Int64>, group: (Int64) -> Int
  ) -> [Int64] {
    let streams = 4
    // Each chosen group's stretch of `kept`, its streams' parts in turn.
    var slot = [Int](repeating: -1, count: width)
    var starts = [Int](repeating: 0, count: chosen.count + 1)
    var keptCount = 0
    for (k, g) in chosen.enumerated() {
      slot[g] = k
      starts[k] = keptCount
      for r in 0..<streams {
        let count = table[r * width + g]
        table[r * width + g] = keptCount
        keptCount += count
      }
    }
    starts[chosen.count] = keptCount
    for r in 0..<streams {
      for g in 0..<width where slot[g] < 0 { table[r * width + g] = keptCount }
    }
    let kept = UnsafeMutablePointer<Int64>.allocate(capacity: keptCount + 1)
    defer { kept.deallocate() }
    slot.withUnsafeBufferPointer { slot in
      inStreams(values) { v, r in
        let g = group(v)
        let cursor = table + (r &* width &+ g)
        let at = cursor.pointee
        kept[at] = v
        cursor.pointee = at + (slot[g] >= 0 ? 1 : 0)
      }
    }
    var ranksIn = [Int](repeating: 0, count: chosen.count)
    for (g, _) in located { ranksIn[slot[g]] += 1 }
    for k in chosen.indices where ranksIn[k] > 8 {
      var members = UnsafeMutableBufferPointer(start: kept + starts[k], count: starts[k + 1] - starts[k])
      members.sort()
    }
    return located.map { g, rank in
      let k = slot[g]
      let members = UnsafeMutableBufferPointer(start: kept + starts[k], count: starts[k + 1] - starts[k])
      return ranksIn[k] > 8 ? members[rank] : select(in: members, rank)
    }
  }

  /// Buckets: negative values in 0; then values below 512 one per bucket; then by bit length and the 8 bits
  /// after the leading one.
  static let bucketCount = 1 + 54 * 256 + 512

  @inline(__always)
  static func bucket(_ v: Int64) -> Int { bucketAndShift(v).bucket }

  /// A value's bucket, and its shift: the bits below the 8 after its leading one (the bit length less 9, at least
  /// 0), which order the values within the bucket. Branch-free (twice as fast as with branches on the sign and the
  /// size, in a pass over a day's latencies): below 512 the shift is 0 and the bucket 1 + v; a negative value's
  /// bucket, computed from its bits, is discarded.
  @inline(__always)
  static func bucketAndShift(_ v: Int64) -> (bucket: Int, shift: Int) {
    let u = UInt64(bitPattern: v)
    let shift = max(0, 55 - u.leadingZeroBitCount)
    let b = 1 + shift << 8 + Int(truncatingIfNeeded: u >> UInt64(truncatingIfNeeded: shift))
    return (v < 0 ? 0 : b, shift)
  }

  /// Calls `body` with each value and its stream (its position modulo 4, the last few values in stream 0), the
  /// four streams interleaved: each stream keeps its own counts or cursors, so that a run of similar values does
  /// not chain each update on the last one's store. - Complexity: O(N).
  @inline(__always)
  static func inStreams(_ values: UnsafeBufferPointer<Int64>, _ body: (Int64, Int) -> Void) {
    let n = values.count
    let whole = n / 4 * 4
    var i = 0
    while i < whole {
      body(values[i], 0)
      body(values[i + 1], 1)
      body(values[i + 2], 2)
      body(values[i + 3], 3)
      i += 4
    }
    for i in whole..<n { body(values[i], 0) }
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
