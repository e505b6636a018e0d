import Foundation

/// A token bucket: at most `burst + rate x D` arrivals in any interval of length `D`.
public struct TokenBucket: Sendable, Equatable, Codable {
  /// Sustained rate, queries per second.
  public var rate: Double
  /// Burst, queries.
  public var burst: Double

  public init(rate: Double, burst: Double) {
    self.rate = rate
    self.burst = burst
  }

  /// The smallest burst `sigma(rho)` such that every interval of the trace conforms to `sigma + rho x D`:
  /// `max over i <= j of (j - i + 1 - rho (t_j - t_i))`.
  ///
  /// One pass: for each `j`, `j + 1 - rho t_j` plus the running maximum of `rho t_i - i`. Times are taken in seconds
  /// from the first arrival, so the products stay small and exact to about 1e-12 of a query.
  /// - Complexity: O(N).
  public static func fit(_ arrivals: [Int64], rate: Double) -> TokenBucket {
    precondition(rate >= 0 && rate.isFinite, "a token bucket's rate must be a finite non-negative number")
    guard let first = arrivals.first else { return TokenBucket(rate: rate, burst: 0) }
    var best = 0.0
    var bestStart = -Double.infinity  // max over i <= j of (rho t_i - i)
    arrivals.withUnsafeBufferPointer { t in
      for j in 0..<t.count {
        let seconds = Double(t[j] &- first) * 1e-9
        let start = rate * seconds - Double(j)
        if start > bestStart { bestStart = start }
        let value = Double(j + 1) - rate * seconds + bestStart
        if value > best { best = value }
      }
    }
    return TokenBucket(rate: rate, burst: best)
  }

  /// Arrivals allowed in an interval of `seconds`.
  public func bound(seconds: Double) -> Double { burst + rate * seconds }
}

/// A concave piecewise-linear arrival curve `min over k of (sigma_k + rho_k D)`, from token-bucket fits at several
/// rates.
public struct TokenBucketCurve: Sendable, Equatable, Codable {
  /// The fits, by increasing rate (so by non-increasing burst).
  public var buckets: [TokenBucket]

  public init(buckets: [TokenBucket]) {
    self.buckets = buckets.sorted { $0.rate < $1.rate }
  }

  /// Fits a bucket at each rate.
  /// - Complexity: O(N x number of rates).
  public init(arrivals: [Int64], rates: [Double]) {
    self.init(buckets: rates.map { TokenBucket.fit(arrivals, rate: $0) })
  }

  /// Eight rates from the trace's mean rate to its peak rate over `shortestWindow`, spaced geometrically: the
  /// mean gives the smallest rate that is ever sustainable, the peak the rate at which the burst is about one
  /// window's worth.
  public static func defaultRates(_ arrivals: [Int64], shortestWindow: Int64, count: Int = 8) -> [Double] {
    guard arrivals.count >= 2, let first = arrivals.first, let last = arrivals.last, last > first else {
      return [1]
    }
    let mean = Double(arrivals.count) / (Double(last - first) * 1e-9)
    let peak = max(
      mean, Double(ArrivalEnvelope.maxArrivals(arrivals, within: shortestWindow)) / (Double(shortestWindow) * 1e-9))
    guard count > 1, peak > mean else { return [mean] }
    return (0..<count).map { k in mean * exp(log(peak / mean) * Double(k) / Double(count - 1)) }
  }

  /// The curve's value: most arrivals in any interval of `seconds`.
  public func bound(seconds: Double) -> Double {
    buckets.map { $0.bound(seconds: seconds) }.min() ?? .infinity
  }

  /// The lines that form the lower envelope, with the interval lengths (seconds) where each one takes over:
  /// `[(start, bucket)]`, starting at 0 with the largest rate. A line that is never the minimum is left out.
  public var pieces: [(start: Double, bucket: TokenBucket)] {
    // From D = 0 the smallest burst wins (ties: the smaller rate); then lines of smaller rate take over.
    guard var current = buckets.min(by: { ($0.burst, $0.rate) < ($1.burst, $1.rate) }) else { return [] }
    var result: [(Double, TokenBucket)] = [(0, current)]
    var at = 0.0
    while true {
      // The next line to cross below the current one: smallest crossing point among lines of smaller rate.
      var next: (Double, TokenBucket)? = nil
      for b in buckets where b.rate < current.rate {
        let crossing = (b.burst - current.burst) / (current.rate - b.rate)
        if crossing >= at, next == nil || crossing < next!.0 || (crossing == next!.0 && b.rate < next!.1.rate) {
          next = (crossing, b)
        }
      }
      guard let (crossing, bucket) = next else { return result }
      result.append((crossing, bucket))
      at = crossing
      current = bucket
    }
  }
}
