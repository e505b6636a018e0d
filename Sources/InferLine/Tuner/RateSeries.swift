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
  /// and `t_i + D <= t`) form a sliding range whose maximum a monotonic deque keeps, as (i, c_i) pairs compacted
  /// as its front passes.
  /// - Complexity: O((N + ticks) x sizes); sizes run in parallel. Memory: the deque, at most the arrivals of one
  ///   `history` per size (two arrays of the whole trace per size were a quarter of a day's report's peak).
  static func envelopeRates(_ arrivals: [Int64], ticks: [Int64], sizes: [Int64], history: Int64) -> [[Double]] {
    return withParallelBuffer(count: sizes.count * ticks.count, repeating: 0.0) { result in
      arrivals.withUnsafeBufferPointer { t in
        let trace = ParallelView(t)
        DispatchQueue.concurrentPerform(iterations: sizes.count) { k in
          let a = trace.buffer
          let d = sizes[k]
          let n = a.count
          var countEnd = 0  // two-pointer end for c_i
          // Window starts and their counts, counts decreasing from `head` on; entries before `head` are dropped.
          var starts: [Int32] = []
          var counts: [Int32] = []
          var head = 0
          var added = 0  // next i to consider adding
          for (tickIndex, now) in ticks.enumerated() {
            // Add every i whose window [t_i, t_i + D) has closed by now.
            while added < n, a[added] + d <= now {
              if countEnd < added { countEnd = added }
              while countEnd < n, a[countEnd] < a[added] + d { countEnd += 1 }
              let count = Int32(countEnd - added)
              while counts.count > head, counts[counts.count - 1] <= count {
                counts.removeLast()
                starts.removeLast()
              }
              starts.append(Int32(added))
              counts.append(count)
              added += 1
            }
            // Drop windows that started before the history.
            while counts.count > head, a[Int(starts[head])] < now - history { head += 1 }
            if head >= 4096 && head * 2 >= counts.count {
              starts.removeFirst(head)
              counts.removeFirst(head)
              head = 0
            }
            let best = counts.count > head ? Int(counts[head]) : 0
            result[k * ticks.count + tickIndex] = Double(best) / (Double(d) / 1e9)
          }
        }
      }
      return (0..<sizes.count).map { k in Array(result.buffer[(k * ticks.count)..<((k + 1) * ticks.count)]) }
    }
  }
}
