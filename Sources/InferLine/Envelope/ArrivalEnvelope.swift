import Dispatch

/// The empirical arrival curve of a trace: `alpha(D)`, the most arrivals in any half-open interval of length `D`.
///
/// `alpha(D) = max over i of #{ j : t_i <= t_j < t_i + D }`, computed exactly with two pointers.
public struct ArrivalEnvelope: Sendable, Equatable, Codable {
  /// Window sizes, nanoseconds, ascending.
  public var windowSizes: [Int64]
  /// `maxArrivals[k]` = alpha(windowSizes[k]).
  public var maxArrivals: [Int]

  /// Computes alpha at each window size, in one pass over the arrivals.
  /// - Complexity: O(N x number of window sizes).
  public init(arrivals: [Int64], windowSizes: [Int64]) {
    self.windowSizes = windowSizes
    maxArrivals = Self.maxArrivals(arrivals, within: windowSizes)
  }

  /// Rate at each window size, queries per second: `alpha(D) / D`.
  public var rates: [Double] {
    zip(maxArrivals, windowSizes).map { Double($0) / (Double($1) / 1e9) }
  }

  /// The most arrivals in any interval `[t, t + window)` of a sorted trace.
  /// - Complexity: O(N), two pointers.
  public static func maxArrivals(_ arrivals: [Int64], within window: Int64) -> Int {
    maxArrivals(arrivals, within: [window])[0]
  }

  /// `maxArrivals(_:within:)` for several window sizes.
  ///
  /// The busiest interval `[t_i, t_i + D)` holds as many arrivals as the busiest `(t_j - D, t_j]`, so for each
  /// arrival `j` a trailing pointer `i` moves past arrivals at or before `t_j - D` and `j - i + 1` is a candidate.
  /// The arrivals are cut into lanes, each starting its `i` by binary search: lanes are independent, so four of
  /// them run interleaved in one loop (the pointer chase of one hides the load latency of the others), and large
  /// traces spread lanes and window sizes over every core.
  /// - Complexity: O(N x number of sizes); no allocation beyond the result.
  /// - Parameter parallel: false keeps the work on the calling thread (benchmarks measure one core).
  public static func maxArrivals(_ arrivals: [Int64], within windows: [Int64], parallel: Bool = true) -> [Int] {
    precondition(windows.allSatisfy { $0 > 0 }, "window sizes must be positive")
    guard !arrivals.isEmpty else { return [Int](repeating: 0, count: windows.count) }
    let chunks = arrivals.count >= 1 << 20 ? 4 : 1
    return withParallelBuffer(count: windows.count * chunks, repeating: 0) { best in
      arrivals.withUnsafeBufferPointer { t in
        let trace = ParallelView(t)
        let body: @Sendable (Int) -> Void = { task in
          let k = task / chunks
          let chunk = task % chunks
          let n = trace.buffer.count
          best[task] = maxInRange(
            trace.buffer, window: windows[k], from: n * chunk / chunks, to: n * (chunk + 1) / chunks)
        }
        let tasks = windows.count * chunks
        if parallel && tasks > 1 && arrivals.count >= 1 << 16 {
          DispatchQueue.concurrentPerform(iterations: tasks, execute: body)
        } else {
          for task in 0..<tasks { body(task) }
        }
      }
      return windows.indices.map { k in (0..<chunks).map { best[k * chunks + $0] }.max()! }
    }
  }

  /// First index `i` with `t[i] > value`, searching `[0, high)`.
  @inline(__always)
  static func firstAfter(_ t: UnsafeBufferPointer<Int64>, _ value: Int64, below high: Int) -> Int {
    var low = 0, high = high
    while low < high {
      let middle = (low &+ high) / 2
      if t[middle] <= value { low = middle &+ 1 } else { high = middle }
    }
    return low
  }

  /// The largest `j - i + 1` for `j` in `[from, to)`: four interleaved lanes, then the remainder.
  static func maxInRange(_ t: UnsafeBufferPointer<Int64>, window: Int64, from: Int, to: Int) -> Int {
    guard from < to else { return 0 }
    let lane = (to - from) / 4
    var top = 0
    var tailStart = from
    if lane > 0 {
      let j0 = from, j1 = from + lane, j2 = from + 2 * lane, j3 = from + 3 * lane
      var i0 = firstAfter(t, t[j0] &- window, below: j0)
      var i1 = firstAfter(t, t[j1] &- window, below: j1)
      var i2 = firstAfter(t, t[j2] &- window, below: j2)
      var i3 = firstAfter(t, t[j3] &- window, below: j3)
      var best0 = 0, best1 = 0, best2 = 0, best3 = 0
      for m in 0..<lane {
        let f0 = t[j0 &+ m] &- window, f1 = t[j1 &+ m] &- window
        let f2 = t[j2 &+ m] &- window, f3 = t[j3 &+ m] &- window
        // On average a pointer moves once per arrival: take up to three steps without a branch (a step past
        // the floor is never taken), loop only for bursts, so that the loop's branches are predictable.
        i0 &+= t[i0] <= f0 ? 1 : 0
        i1 &+= t[i1] <= f1 ? 1 : 0
        i2 &+= t[i2] <= f2 ? 1 : 0
        i3 &+= t[i3] <= f3 ? 1 : 0
        i0 &+= t[i0] <= f0 ? 1 : 0
        i1 &+= t[i1] <= f1 ? 1 : 0
        i2 &+= t[i2] <= f2 ? 1 : 0
        i3 &+= t[i3] <= f3 ? 1 : 0
        i0 &+= t[i0] <= f0 ? 1 : 0
        i1 &+= t[i1] <= f1 ? 1 : 0
        i2 &+= t[i2] <= f2 ? 1 : 0
        i3 &+= t[i3] <= f3 ? 1 : 0
        while t[i0] <= f0 { i0 &+= 1 }
        while t[i1] <= f1 { i1 &+= 1 }
        while t[i2] <= f2 { i2 &+= 1 }
        while t[i3] <= f3 { i3 &+= 1 }
        let c0 = j0 &+ m &- i0, c1 = j1 &+ m &- i1, c2 = j2 &+ m &- i2, c3 = j3 &+ m &- i3
        best0 = c0 > best0 ? c0 : best0
        best1 = c1 > best1 ? c1 : best1
        best2 = c2 > best2 ? c2 : best2
        best3 = c3 > best3 ? c3 : best3
      }
      top = Swift.max(Swift.max(best0, best1), Swift.max(best2, best3)) &+ 1
      tailStart = from + 4 * lane
    }
    if tailStart < to {
      var i = firstAfter(t, t[tailStart] &- window, below: tailStart)
      for j in tailStart..<to {
        let floor = t[j] &- window
        while t[i] <= floor { i &+= 1 }
        top = Swift.max(top, j &- i &+ 1)
      }
    }
    return top
  }
}
