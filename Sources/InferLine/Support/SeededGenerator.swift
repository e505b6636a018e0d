import Foundation

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random choice in inferline takes one of these, so the same seed gives the same result on every machine.
/// - Complexity: O(1) per number.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  public init(seed: UInt64) {
    let step: UInt64 = 0x9E37_79B9_7F4A_7C15
    s0 = Self.splitMix64(seed)
    s1 = Self.splitMix64(seed &+ step)
    s2 = Self.splitMix64(seed &+ 2 &* step)
    s3 = Self.splitMix64(seed &+ 3 &* step)
  }

  /// SplitMix64's output for state `x` (the state advanced by the golden-ratio step, then mixed): the seeding
  /// function, and a hash of a key for draws that must not depend on their order. - Complexity: O(1).
  @inline(__always)
  static func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  @inlinable @inline(__always)
  static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  public mutating func next() -> UInt64 {
    let result = Self.rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = Self.rotl(s3, 45)
    return result
  }

  /// A uniform double in the open interval (0, 1): never 0, so `log` of it is finite.
  public mutating func nextUnitInterval() -> Double {
    (Double(next() >> 11) + 0.5) * 0x1.0p-53
  }

  /// An exponential variate with the given mean.
  public mutating func nextExponential(mean: Double) -> Double {
    -mean * log(nextUnitInterval())
  }

  /// A standard normal variate (Box-Muller; one of the pair is discarded to keep the state simple).
  public mutating func nextStandardNormal() -> Double {
    let u1 = nextUnitInterval(), u2 = nextUnitInterval()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }

  /// A gamma variate with the given shape and scale (Marsaglia and Tsang, 2000).
  public mutating func nextGamma(shape: Double, scale: Double) -> Double {
    if shape < 1 {
      // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
      let u = nextUnitInterval()
      return nextGamma(shape: shape + 1, scale: scale) * pow(u, 1 / shape)
    }
    let d = shape - 1.0 / 3.0
    let c = 1 / (9 * d).squareRoot()
    while true {
      var x: Double, v: Double
      repeat {
        x = nextStandardNormal()
        v = 1 + c * x
      } while v <= 0
      v = v * v * v
      let u = nextUnitInterval()
      if u < 1 - 0.0331 * x * x * x * x { return d * v * scale }
      if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v * scale }
    }
  }
}

/// The independent random streams one seed gives: each its own offset of the seed, listed in one place so that two
/// streams never share one by accident and every stream is reproducible from the seed a report records.
public enum RandomStream: Sendable, CaseIterable {
  /// Lognormal or exponential service times (the estimator).
  case serviceTimes
  /// Random and power-of-choices dispatch to replicas (the estimator).
  case dispatch
  /// The per-stage share of a correlated service-time factor (the estimator; the shared part uses the seed).
  case ownServiceFactor
  /// `generate --with-latency`: a made-up latency column.
  case generatedLatencies
  /// `generate --sizes`: a size column.
  case generatedSizes
  /// `generate` with several pipelines: which pipeline each query belongs to.
  case pipelineOfQuery
  /// `generate --observe`: the noise on each observed latency.
  case observationNoise
  /// `generate` over several days: each day's level noise (`DailyPattern`).
  case dayLevels
  /// `generate` over several days: day k's arrivals draw from this stream's seed plus k.
  case dayArrivals
  /// The forecast's simulated future paths (`DailyForecast`).
  case forecastPaths

  /// The seed of this stream from the run's seed.
  public func seed(_ base: UInt64) -> UInt64 {
    switch self {
    case .serviceTimes: base ^ 0x5EED_5EED
    case .dispatch: base ^ 0xD15_9A7C4
    case .ownServiceFactor: base ^ 0xC0_55E5
    case .generatedLatencies: base &+ 0x5EED
    case .generatedSizes: base &+ 0x512E
    case .pipelineOfQuery: base &+ 0x919E
    case .observationNoise: base &+ 0x0B5E
    case .dayLevels: base ^ 0xDA7_1E7E
    case .dayArrivals: base ^ 0xDA7_A000_0000
    case .forecastPaths: base ^ 0xF0CA_57
    }
  }
}
