import Foundation

/// How long a stage's bursts stay away, learned from its need over time: per stage and per replica count j, the
/// last tick whose need reached j and the quiet gaps after which a need of j came back as a burst. InferLine's
/// tuner releases the j-th replica only once the need has stayed below j longer than those gaps say a burst may
/// still come (`horizon`) plus a provisioning delay: on on-off traffic (quiet minutes, then a burst) a replica
/// released in a shorter gap would not be serving again when the next burst comes.
///
/// A gap is learned only when the need came back as a burst: from half of j or less to j within one provisioning
/// delay, faster than a replica asked for when it started to rise could serve. A need that climbs over minutes (a
/// diurnal afternoon) or hovers between j - 1 and j is load the reactive rule follows, and learning its gaps would
/// keep replicas it does not need. Gaps longer than `longestGap` are not counted either: they are the day's shape.
struct BurstRecurrence: Equatable {
  /// Nanoseconds; gaps up to this long are learned.
  let longestGap: Int64
  /// Nanoseconds between ticks: a need that holds from one tick to the next has no gap.
  let interval: Int64
  /// Per stage, nanoseconds from a scale-up decision until the replica serves.
  let delays: [Int64]
  /// `lastSeen[s][j - 1]`: the last tick whose need at stage s was at least j (nil: never).
  var lastSeen: [[Int64?]]
  /// `gap[s][j - 1]`: the longest gap learned between two ticks with need at least j, nanoseconds.
  var gap: [[Int64]]
  /// `total[s][j - 1]` and `count[s][j - 1]`: the sum (nanoseconds) and number of the gaps learned at j.
  var total: [[Double]]
  var count: [[Int]]
  /// `atOrBelow[s][l]`: the last tick whose need at stage s was l or less (nil: never).
  var atOrBelow: [[Int64?]]

  init(longestGap: Int64, interval: Int64, delays: [Int64]) {
    self.longestGap = longestGap
    self.interval = interval
    self.delays = delays
    lastSeen = Array(repeating: [], count: delays.count)
    gap = Array(repeating: [], count: delays.count)
    total = Array(repeating: [], count: delays.count)
    count = Array(repeating: [], count: delays.count)
    atOrBelow = Array(repeating: [], count: delays.count)
  }

  /// Records stage s's need at the tick `time` (ticks in increasing order). - Complexity: O(highest need seen).
  mutating func observe(_ s: Int, need: Int, at time: Int64) {
    let need = max(0, need)
    if atOrBelow[s].count <= need { atOrBelow[s] += Array(repeating: nil, count: need + 1 - atOrBelow[s].count) }
    for l in need..<atOrBelow[s].count { atOrBelow[s][l] = time }
    guard need > 0 else { return }
    if lastSeen[s].count < need {
      lastSeen[s] += Array(repeating: nil, count: need - lastSeen[s].count)
      gap[s] += Array(repeating: 0, count: need - gap[s].count)
      total[s] += Array(repeating: 0, count: need - total[s].count)
      count[s] += Array(repeating: 0, count: need - count[s].count)
    }
    for j in 0..<need {
      if let last = lastSeen[s][j] {
        let g = time - last
        // Level j + 1 came back as a burst: the need was at half of it or less within one provisioning delay.
        let low = atOrBelow[s][(j + 1) / 2]
        if g > interval, g <= longestGap, let low, time - low <= delays[s] + interval {
          gap[s][j] = max(gap[s][j], g)
          total[s][j] += Double(g)
          count[s][j] += 1
        }
      }
      lastSeen[s][j] = time
    }
  }

  /// Forgets when needs were last seen (keeps the gaps learned): between the planning trace and the replay.
  mutating func forgetTimes() {
    for s in lastSeen.indices {
      lastSeen[s] = lastSeen[s].map { _ in nil }
      atOrBelow[s] = atOrBelow[s].map { _ in nil }
    }
  }

  /// How long a need of j at stage s may stay away and still come back, nanoseconds: the larger of `margin` times
  /// the longest gap learned and the `quantile` of an exponential gap whose mean is the upper `confidence` bound of
  /// the learned gaps' mean (`-ln(1 - q) x 2 n mean / chi2(1 - confidence; 2 n)`: quiet gaps are close to
  /// memoryless, and a few short ones seen say little about the next; 0 confidence: the mean itself). 0 when none.
  func horizon(_ s: Int, level j: Int, margin: Double, quantile: Double, confidence: Double = 0) -> Double {
    guard j >= 1, j <= gap[s].count, count[s][j - 1] > 0 else { return 0 }
    let n = count[s][j - 1]
    let mean = total[s][j - 1] / Double(n)
    let bound = confidence > 0 ? mean * ExponentialMean.upperBoundFactor(samples: n, confidence: confidence) : mean
    return max(margin * Double(gap[s][j - 1]), -log(1 - quantile) * bound)
  }

  /// The most replicas stage s must keep at `time`: the highest j, at most `limit`, whose need was seen within its
  /// `horizon` plus `delay` (0 when none). - Complexity: O(replicas seen).
  func kept(
    _ s: Int, at time: Int64, delay: Int64, margin: Double = 1, quantile: Double = 0, confidence: Double = 0,
    limit: Int = .max
  ) -> Int {
    var j = min(lastSeen[s].count, limit)
    while j > 0 {
      if let last = lastSeen[s][j - 1],
        Double(time - last)
          < horizon(s, level: j, margin: margin, quantile: quantile, confidence: confidence) + Double(delay)
      {
        return j
      }
      j -= 1
    }
    return 0
  }
}

/// Confidence bounds on the mean of exponential samples.
enum ExponentialMean {
  /// The factor by which n samples' mean is multiplied to give the upper `confidence` bound of the true mean:
  /// `n / g`, with g the `1 - confidence` quantile of Gamma(n, 1) (the sum of n exponential samples over their
  /// mean). One sample at 95%: 19.5; three: 3.67; thirty: 1.39. Exact (bisection on the Gamma CDF) up to
  /// `exactUpTo` samples, the 95% factors kept in a table; beyond, Wilson and Hilferty's cube-root normal
  /// approximation (relative error under 1e-4 there). - Complexity: O(1) from the table, O(n) otherwise.
  static func upperBoundFactor(samples n: Int, confidence: Double) -> Double {
    guard n > 0, confidence > 0, confidence < 1 else { return 1 }
    if n > exactUpTo {
      let z = standardNormalQuantile(1 - confidence)
      let c = 1 - 1 / (9 * Double(n)) + z / (3 * Double(n).squareRoot())
      return 1 / (c * c * c)
    }
    if confidence == 0.95 { return table95[n] }
    return exactFactor(samples: n, confidence: confidence)
  }

  static let exactUpTo = 256
  /// `table95[n]`: the exact 95% factor for n samples (index 0 unused).
  static let table95: [Double] = [1] + (1...exactUpTo).map { exactFactor(samples: $0, confidence: 0.95) }

  /// By bisection on the Gamma(n, 1) CDF `1 - sum_{i < n} e^-x x^i / i!`. - Complexity: O(n) per step, 100 steps.
  static func exactFactor(samples n: Int, confidence: Double) -> Double {
    let alpha = 1 - confidence
    func cdf(_ x: Double) -> Double {
      var sum = 0.0
      for i in 0..<n { sum += exp(-x + Double(i) * log(x) - lgamma(Double(i + 1))) }
      return 1 - sum
    }
    var low = 0.0
    var high = Double(n) + 10 * Double(n).squareRoot() + 10
    for _ in 0..<100 {
      let mid = (low + high) / 2
      if cdf(mid) < alpha { low = mid } else { high = mid }
    }
    return Double(n) / ((low + high) / 2)
  }

  /// The standard normal p-quantile, by bisection on `erfc` to 1e-12. - Complexity: O(1), 80 steps.
  static func standardNormalQuantile(_ p: Double) -> Double {
    var low = -40.0
    var high = 40.0
    for _ in 0..<80 {
      let mid = (low + high) / 2
      if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { low = mid } else { high = mid }
    }
    return (low + high) / 2
  }
}
