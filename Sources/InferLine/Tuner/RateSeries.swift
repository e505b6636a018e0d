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
  /// Per size: `c_i` = arrivals in `[t_i, t_i + D)` (two pointers); at each tick the eligible i (`t_i >= t - history`
  /// and `t_i + D <= t`) form a sliding range whose maximum a monotonic deque keeps, as (t_i, c_i) pairs.
  /// - Complexity: O((N + ticks) x sizes); sizes run in parallel. Memory: the deque, at most the arrivals of one
  ///   `history` per size (two arrays of the whole trace per size were a quarter of a day's report's peak).
  static func envelopeRates(_ arrivals: [Int64], ticks: [Int64], sizes: [Int64], history: Int64) -> [[Double]] {
    return withParallelBuffer(count: sizes.count * ticks.count, repeating: 0.0) { result in
      arrivals.withUnsafeBufferPointer { t in
        let trace = ParallelView(t)
        ticks.withUnsafeBufferPointer { tickBuffer in
          let tickView = ParallelView(tickBuffer)
          DispatchQueue.concurrentPerform(iterations: sizes.count) { k in
            let row = UnsafeMutableBufferPointer(rebasing: result.buffer[(k * ticks.count)..<((k + 1) * ticks.count)])
            envelopeRow(trace.buffer, ticks: tickView.buffer, size: sizes[k], history: history, into: row)
          }
        }
      }
      return (0..<sizes.count).map { k in Array(result.buffer[(k * ticks.count)..<((k + 1) * ticks.count)]) }
    }
  }

  /// One size's row of `envelopeRates`: raw pointers for the deque (array appends and removals, with their
  /// uniqueness checks, were most of a tuner's replay's own work).
  /// - Complexity: O(N + ticks); memory O(arrivals in one `history`).
  private static func envelopeRow(
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
