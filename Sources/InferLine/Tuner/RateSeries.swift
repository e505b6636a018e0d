import Dispatch

/// Arrival-rate signals sampled at ticks, computed in one pass over a sorted trace: what an autoscaler sees.
enum RateSeries {
  /// Ticks from the first arrival to the last, `tick` apart, nanoseconds.
  static func ticks(_ arrivals: [Int64], tick: Int64) -> [Int64] {
    guard let first = arrivals.first, let last = arrivals.last else { return [] }
    return Array(stride(from: first + tick, through: last + tick, by: Int(tick)))
  }

  /// Mean rate (queries per second) over `[t - window, t)` at each tick.
  /// - Complexity: O(N + ticks), two pointers.
  static func meanRate(_ arrivals: [Int64], ticks: [Int64], window: Int64) -> [Double] {
    var low = 0, high = 0
    return ticks.map { t in
      while high < arrivals.count, arrivals[high] < t { high += 1 }
      while low < high, arrivals[low] < t - window { low += 1 }
      return Double(high - low) / (Double(window) / 1e9)
    }
  }

  /// For each tick t and window size D: the most arrivals in any interval `[s, s + D)` inside `[t - history, t)`,
  /// as a rate `alpha(D) / D`. Returns `[size][tick]`.
  ///
  /// The busiest interval starts at an arrival, or ends at t: sliding `s` right loses an arrival only past one.
  /// Per size: `c_i` = arrivals in `[t_i, t_i + D)` (two pointers); at each tick the eligible i (`t_i >= t - history`
  /// and `t_i + D <= t`) form a sliding range. With evenly spaced ticks (`ticks(_:tick:)`) its maximum comes from
  /// each tick interval's largest `c_i` (`envelopeRowByBlocks`); otherwise a monotonic deque of (t_i, c_i) keeps it.
  /// Then the interval ending at t, `[t - D, t)` (`raiseToLatest`): at `D = history` the only one.
  /// - Complexity: O((N + ticks) x sizes); sizes run in parallel. Memory: two counts per tick per size, or the
  ///   deque, at most the arrivals of one `history` (two arrays of the whole trace per size were a quarter of a
  ///   day's report's peak).
  static func envelopeRates(_ arrivals: [Int64], ticks: [Int64], sizes: [Int64], history: Int64) -> [[Double]] {
    return withParallelBuffer(count: sizes.count * ticks.count, repeating: 0.0) { result in
      arrivals.withUnsafeBufferPointer { t in
        let trace = ParallelView(t)
        ticks.withUnsafeBufferPointer { tickBuffer in
          let tickView = ParallelView(tickBuffer)
          let spacing = evenSpacing(tickBuffer)
          DispatchQueue.concurrentPerform(iterations: sizes.count) { k in
            let row = UnsafeMutableBufferPointer(rebasing: result.buffer[(k * ticks.count)..<((k + 1) * ticks.count)])
            envelopeRow(
              trace.buffer, ticks: tickView.buffer, spacing: spacing, size: sizes[k], history: history, into: row)
          }
        }
      }
      return (0..<sizes.count).map { k in Array(result.buffer[(k * ticks.count)..<((k + 1) * ticks.count)]) }
    }
  }

  /// One size's row of `envelopeRates` (`spacing`: the ticks' `evenSpacing`). Each tick's value is its own, so a
  /// range of ticks can be computed apart from the rest (`BackgroundEnvelopeSeries`).
  static func envelopeRow(
    _ a: UnsafeBufferPointer<Int64>, ticks: UnsafeBufferPointer<Int64>, spacing: Int64?, size d: Int64,
    history: Int64, into row: UnsafeMutableBufferPointer<Double>
  ) {
    if d > 0, let tick = spacing {
      envelopeRowByBlocks(a, ticks: ticks, tick: tick, size: d, history: history, into: row)
    } else {
      envelopeRowByDeque(a, ticks: ticks, size: d, history: history, into: row)
    }
    raiseToLatest(a, ticks: ticks, size: d, history: history, into: row)
  }

  /// Raises each tick's rate to that of the arrivals in `[t - d, t)`, the interval of the history that ends at the
  /// tick (when `d` fits in the history). Ticks in increasing order. - Complexity: O(ticks x log(arrivals between
  /// ticks)), two pointers galloping.
  private static func raiseToLatest(
    _ a: UnsafeBufferPointer<Int64>, ticks: UnsafeBufferPointer<Int64>, size d: Int64, history: Int64,
    into row: UnsafeMutableBufferPointer<Double>
  ) {
    guard d > 0, d <= history else { return }
    let seconds = Double(d) / 1e9
    var low = 0, high = 0  // the first arrivals at or after t - d, and at or after t
    for j in 0..<ticks.count {
      low = firstAtOrAfter(ticks[j] - d, in: a, from: low)
      high = firstAtOrAfter(ticks[j], in: a, from: max(low, high))
      row[j] = max(row[j], Double(high - low) / seconds)
    }
  }

  /// Where each of `count` intervals `[start + k x step, start + (k + 1) x step)` begins in a sorted trace: the
  /// first index at or after its start, for k from 0 to `count` (the last: where the intervals end), so interval k
  /// holds indices `bounds[k] ..< bounds[k + 1]`. - Complexity: O(count x log(arrivals per interval)), galloping
  /// (no pass over the trace).
  static func bounds(_ a: UnsafeBufferPointer<Int64>, start: Int64, step: Int64, count: Int) -> [Int] {
    var bounds = [Int](repeating: 0, count: count + 1)
    var at = 0
    for k in 0...count {
      at = firstAtOrAfter(start + Int64(k) * step, in: a, from: at)
      bounds[k] = at
    }
    return bounds
  }

  /// The first index at or after `from` whose arrival is at or after `time` (`a.count` if none), galloping from
  /// `from`. - Complexity: O(log(distance)).
  static func firstAtOrAfter(_ time: Int64, in a: UnsafeBufferPointer<Int64>, from: Int) -> Int {
    let n = a.count
    guard from < n, a[from] < time else { return from }
    // a[low] < time; find high with a[high] >= time (or n).
    var low = from, step = 1
    var high = min(n, low + 1)
    while high < n && a[high] < time {
      low = high
      step <<= 1
      high = min(n, low + step)
    }
    while high - low > 1 {
      let mid = (low + high) >> 1
      if a[mid] < time { low = mid } else { high = mid }
    }
    return high
  }

  /// The ticks' common spacing, when they are evenly spaced (any positive spacing for a single tick); nil otherwise.
  static func evenSpacing(_ ticks: UnsafeBufferPointer<Int64>) -> Int64? {
    guard ticks.count > 1 else { return ticks.isEmpty ? nil : 1_000_000_000 }
    let tick = ticks[1] - ticks[0]
    guard tick > 0 else { return nil }
    for j in 1..<ticks.count where ticks[j] - ticks[j - 1] != tick { return nil }
    return tick
  }

  /// One size's row of `envelopeRates` for evenly spaced ticks. With `U_j = t_j - D` and `W = history - D`, the
  /// eligible starts at tick j are `[U_j - W, U_j]`. Block k holds the starts in `(U_(k-1), U_k]`, so the window is
  /// blocks `j - m + 1 ... j` whole (`m = W / tick`) and the last `W - m x tick` of block `j - m`, the same stretch
  /// of every block. One pass over the arrivals keeps each block's largest `c_i`, whole and in that last stretch
  /// (no deque per arrival, whose unpredictable pops were most of its time); a monotonic deque over blocks then
  /// slides over the ticks. - Complexity: O(N + ticks); memory two counts per block.
  private static func envelopeRowByBlocks(
    _ a: UnsafeBufferPointer<Int64>, ticks: UnsafeBufferPointer<Int64>, tick: Int64, size d: Int64, history: Int64,
    into row: UnsafeMutableBufferPointer<Double>
  ) {
    let n = a.count, tickCount = ticks.count
    let seconds = Double(d) / 1e9
    let width = history - d
    guard width >= 0, tickCount > 0 else {  // no start is both in the history and D before the tick
      for j in 0..<tickCount { row[j] = 0 }
      return
    }
    let m = Int(width / tick)
    let rest = width - Int64(m) * tick
    // Blocks from k = -(m + 1) (stored at k + offset); no tick's window reaches below block -m.
    let offset = m + 1
    let blockCount = tickCount + offset
    let whole = UnsafeMutablePointer<Int32>.allocate(capacity: blockCount)
    let last = UnsafeMutablePointer<Int32>.allocate(capacity: blockCount)
    whole.initialize(repeating: 0, count: blockCount)
    last.initialize(repeating: 0, count: blockCount)
    defer {
      whole.deallocate()
      last.deallocate()
    }
    let first = ticks[0] - d
    var right = first - Int64(offset) * tick  // U_k of the current block
    var block = 0
    var i = ArrivalEnvelope.firstAfter(a, right, below: n)
    let stop = max(i, ArrivalEnvelope.firstAfter(a, ticks[tickCount - 1] - d, below: n))
    // c_i, a chunk at a time (`windowCounts`, four merges at once; near the trace's end, where a window runs past
    // it, two pointers); then each block's largest, kept in registers while its starts go by (blocks come in
    // order, each once).
    let chunk = 4096
    let counts = UnsafeMutablePointer<Int32>.allocate(capacity: chunk + 1)
    defer { counts.deallocate() }
    var countEnd = i
    var blockWhole: Int32 = 0, blockLast: Int32 = 0
    while i < stop {
      let chunkEnd = min(stop, i + chunk)
      if a[n - 1] >= a[chunkEnd - 1] + d {
        countEnd = windowCounts(a, from: i, to: chunkEnd, size: d, after: countEnd, into: counts)
      } else {
        for k in i..<chunkEnd {
          if countEnd < k { countEnd = k }
          while countEnd < n && a[countEnd] < a[k] + d { countEnd += 1 }
          counts[k - i] = Int32(countEnd - k)
        }
      }
      for k in i..<chunkEnd {
        let start = a[k]
        if start > right {
          whole[block] = blockWhole
          last[block] = blockLast
          blockWhole = 0
          blockLast = 0
          repeat {
            block += 1
            right += tick
          } while start > right
        }
        let count = counts[k - i]
        blockWhole = max(blockWhole, count)
        blockLast = start >= right - rest ? max(blockLast, count) : blockLast
      }
      i = chunkEnd
    }
    whole[block] = blockWhole
    last[block] = blockLast
    // Tick j: the last stretch of block j - m and the whole blocks after it up to j (none when m is 0).
    let queue = UnsafeMutablePointer<Int>.allocate(capacity: blockCount)
    defer { queue.deallocate() }
    var head = 0, tail = 0
    // The blocks before the first tick's that its window holds whole.
    for b in 1..<offset where m > 0 {
      while tail > head && whole[queue[tail - 1]] <= whole[b] { tail -= 1 }
      queue[tail] = b
      tail += 1
    }
    for j in 0..<tickCount {
      let b = j + offset
      var best = last[b - m]
      if m > 0 {
        while tail > head && whole[queue[tail - 1]] <= whole[b] { tail -= 1 }
        queue[tail] = b
        tail += 1
        while queue[head] < b - m + 1 { head += 1 }
        best = max(best, whole[queue[head]])
      }
      row[j] = Double(best) / seconds
    }
  }

  /// `counts[q - from]` = arrivals in `[a[q], a[q] + d)` for q in `from..<to`, when every such window ends before the
  /// trace does (`a[n - 1] >= a[to - 1] + d`); returns the end of the last window. `hint`: an index at or before
  /// the first window's end (the ends are found by galloping from it). Four merges of the starts with the arrivals
  /// `d` later, over four quarters of the range in one loop: a step is the sign of a difference (no branch on the
  /// data), and each merge's step waits on its own last one, so four run at once where one ran before.
  /// - Complexity: O(to - from + the arrivals the windows span).
  static func windowCounts(
    _ a: UnsafeBufferPointer<Int64>, from: Int, to: Int, size d: Int64, after hint: Int,
    into counts: UnsafeMutablePointer<Int32>
  ) -> Int {
    /// The first j at or after `hint` with `a[j] >= a[x] + d` (one exists by the precondition).
    func end(_ x: Int, after hint: Int) -> Int { firstAtOrAfter(a[x] + d, in: a, from: max(hint, x + 1)) }
    @inline(__always) func step(_ q: inout Int, _ c: inout Int) {
      let takes = Int(truncatingIfNeeded: UInt64(bitPattern: a[c] &- (a[q] &+ d)) >> 63)
      c &+= takes
      counts[q &- from] = Int32(truncatingIfNeeded: c &- q)
      q &+= 1 &- takes
    }
    let quarter = (to - from) / 4
    let e0 = from + quarter, e1 = e0 + quarter, e2 = e1 + quarter
    var q0 = from, q1 = e0, q2 = e1, q3 = e2
    if quarter >= 16 {
      var c0 = end(q0, after: hint)
      let f0 = end(e0 - 1, after: c0)
      var c1 = end(q1, after: f0)
      let f1 = end(e1 - 1, after: c1)
      var c2 = end(q2, after: f1)
      let f2 = end(e2 - 1, after: c2)
      var c3 = end(q3, after: f2)
      let f3 = end(to - 1, after: c3)
      // Each merge takes one step per start and one per arrival its windows' end passes.
      let common = min(quarter + f0 - c0, quarter + f1 - c1, quarter + f2 - c2, to - e2 + f3 - c3)
      for _ in 0..<common {
        step(&q0, &c0)
        step(&q1, &c1)
        step(&q2, &c2)
        step(&q3, &c3)
      }
      while q0 < e0 { step(&q0, &c0) }
      while q1 < e1 { step(&q1, &c1) }
      while q2 < e2 { step(&q2, &c2) }
      while q3 < to { step(&q3, &c3) }
      return c3
    }
    var c = end(from, after: hint)
    while q0 < to { step(&q0, &c) }
    return c
  }

  /// One size's row of `envelopeRates`: raw pointers for the deque (array appends and removals, with their
  /// uniqueness checks, were most of a tuner's replay's own work).
  /// - Complexity: O(N + ticks); memory O(arrivals in one `history`).
  private static func envelopeRowByDeque(
    _ a: UnsafeBufferPointer<Int64>, ticks: UnsafeBufferPointer<Int64>, size d: Int64, history: Int64,
    into row: UnsafeMutableBufferPointer<Double>
  ) {
    let n = a.count
    let seconds = Double(d) / 1e9
    var countEnd = 0  // two-pointer end for c_i
    // Window starts (their times) and counts, counts decreasing from `head` to `tail`.
    var capacity = 1 << 12
    var startTimes = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
    var counts = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    defer {
      startTimes.deallocate()
      counts.deallocate()
    }
    var head = 0, tail = 0
    var added = 0  // next i to consider adding
    for tickIndex in 0..<ticks.count {
      let now = ticks[tickIndex]
      // Add every i whose window [t_i, t_i + D) has closed by now.
      while added < n, a[added] + d <= now {
        let windowEnd = a[added] + d
        if countEnd < added { countEnd = added }
        while countEnd < n, a[countEnd] < windowEnd { countEnd += 1 }
        let count = Int32(countEnd - added)
        while tail > head, counts[tail - 1] <= count { tail -= 1 }
        if _slowPath(tail == capacity) {
          // Full: drop the front, and double when what is kept fills more than half.
          let kept = tail - head
          if head > 0 {
            startTimes.update(from: startTimes + head, count: kept)
            counts.update(from: counts + head, count: kept)
          }
          if kept * 2 > capacity {
            var countCapacity = capacity
            counts = counts.movedToDoubled(count: kept, capacity: &countCapacity)
            startTimes = startTimes.movedToDoubled(count: kept, capacity: &capacity)
          }
          tail = kept
          head = 0
        }
        startTimes[tail] = a[added]
        counts[tail] = count
        tail += 1
        added += 1
      }
      // Drop windows that started before the history.
      let from = now - history
      while tail > head, startTimes[head] < from { head += 1 }
      row[tickIndex] = tail > head ? Double(counts[head]) / seconds : 0
    }
  }
}
