import Foundation

/// How long a batch takes in the event-driven simulator: the profiled L(n) (by the batch's largest input, when
/// batches follow their inputs' sizes), drawn around it when service times are random (`ServiceTimeModel`). Owns
/// the latency tables and the service-time generator. - Complexity: O(1) per batch, O(n) for sized or correlated
/// batches of n.
struct ServiceTimeSampler: ~Copyable {
  /// L(n) of stage s at `latency.base[latencyStart.base[s] + n - 1]`, nanoseconds.
  let latencyStart: Slab<Int>
  let latency: Slab<Int64>
  /// Service times are the profiled medians (no draw), and no batch follows its inputs' sizes: a table lookup.
  let profiledOnly: Bool
  /// Service times are the profiled medians (no draw).
  let deterministic: Bool
  let model: ServiceTimeModel
  /// Per stage, p99(n) beside the median, for lognormal draws.
  let p99Tables: [[Int64]?]
  /// Latency by input size, when batches follow their inputs' sizes (`hasSizes`).
  let sized: SizedBatches
  let hasSizes: Bool
  var random: SeededGenerator

  init(_ input: SimulationInput) {
    let (starts, table) = input.flatLatencyTables
    latencyStart = Slab(starts)
    latency = Slab(table)
    model = input.serviceTimes
    if case .deterministic = input.serviceTimes { deterministic = true } else { deterministic = false }
    p99Tables = input.stages.map(\.p99Table)
    sized = SizedBatches(input)
    hasSizes = input.querySizes != nil
    profiledOnly = deterministic && !hasSizes
    switch input.serviceTimes {
    case .deterministic, .correlated: random = SeededGenerator(seed: 0)
    case .lognormal(let seed), .exponential(let seed):
      random = SeededGenerator(seed: RandomStream.serviceTimes.seed(seed))
    }
  }

  /// The profiled L(n) of stage s, nanoseconds.
  @inline(__always)
  func profiled(stage s: Int, size: Int) -> Int64 { latency.base[latencyStart.base[s] + size - 1] }

  /// A batch of `size` queries at stage s (its queries at `batch[0 ..< size]`), nanoseconds.
  @inline(__always)
  mutating func duration(stage s: Int, size: Int, batch: UnsafeMutablePointer<Int32>) -> Int64 {
    let profiled = profiled(stage: s, size: size)
    if profiledOnly { return profiled }
    var median = profiled
    if hasSizes && sized.follows(stage: s) { median = sized.latency(stage: s, batch: size) { Int(batch[$0]) } }
    if deterministic { return median }
    switch model {
    case .deterministic:
      return median
    case .exponential:
      return max(1, Int64((-Double(median) * log(random.nextUnitInterval())).rounded()))
    case .lognormal:
      guard let p99 = p99Tables[s]?[size - 1], p99 > profiled else { return median }
      let sigma = log(Double(p99) / Double(profiled)) / 2.326_347_874_040_840_8
      return max(1, Int64((Double(median) * exp(sigma * random.nextStandardNormal())).rounded()))
    case .correlated(let seed, let sigma, let rho):
      var largest = 0.0
      for i in 0..<size {
        let q = UInt64(UInt32(bitPattern: batch[i]))
        let shared = HashedNormal.value(seed: seed, key: q)
        let own = HashedNormal.value(seed: RandomStream.ownServiceFactor.seed(seed), key: q << 8 | UInt64(s & 0xFF))
        largest = max(
          largest, exp(sigma * ((rho).squareRoot() * shared + (1 - rho).squareRoot() * own) - sigma * sigma / 2))
      }
      return max(1, Int64((Double(median) * largest).rounded()))
    }
  }
}

/// A standard normal number drawn from a seed and a key alone (SplitMix64 then Box-Muller), so that a query's
/// draw does not depend on when it is made.
enum HashedNormal {
  static func value(seed: UInt64, key: UInt64) -> Double {
    let mix = SeededGenerator.splitMix64
    let a = mix(seed ^ mix(key)), b = mix(a)
    let u1 = (Double(a >> 11) + 0.5) / 9_007_199_254_740_992.0, u2 = Double(b >> 11) / 9_007_199_254_740_992.0
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }
}
