/// The empirical arrival curve of a trace: `alpha(D)`, the most arrivals in any half-open interval of length `D`.
///
/// `alpha(D) = max over i of #{ j : t_i <= t_j < t_i + D }`, computed exactly with two pointers.
public struct ArrivalEnvelope: Sendable, Equatable, Codable {
  /// Window sizes, nanoseconds, ascending.
  public var windowSizes: [Int64]
  /// `maxArrivals[k]` = alpha(windowSizes[k]).
  public var maxArrivals: [Int]

  /// Computes alpha at each window size.
  /// - Complexity: O(N) per window size.
  public init(arrivals: [Int64], windowSizes: [Int64]) {
    self.windowSizes = windowSizes
    maxArrivals = windowSizes.map { Self.maxArrivals(arrivals, within: $0) }
  }

  /// Rate at each window size, queries per second: `alpha(D) / D`.
  public var rates: [Double] {
    zip(maxArrivals, windowSizes).map { Double($0) / (Double($1) / 1e9) }
  }

  /// The most arrivals in any interval `[t, t + window)` of a sorted trace.
  /// - Complexity: O(N), two pointers.
  public static func maxArrivals(_ arrivals: [Int64], within window: Int64) -> Int {
    precondition(window > 0, "window sizes must be positive")
    return arrivals.withUnsafeBufferPointer { t in
      let n = t.count
      var best = 0
      var j = 0
      for i in 0..<n {
        let limit = t[i] &+ window
        if j < i { j = i }
        while j < n, t[j] < limit { j += 1 }
        if j - i > best { best = j - i }
      }
      return best
    }
  }
}
