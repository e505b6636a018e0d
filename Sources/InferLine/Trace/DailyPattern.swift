import Foundation

/// How a multi-day log's traffic changes from day to day: a weekly pattern, a compounding trend and day-to-day
/// noise, each day's level multiplying the arrival process's rates over that day (`generate --weekly --trend
/// --day-noise`). The truth a forecast of generated history is checked against.
public struct DailyPattern: Sendable, Equatable {
  /// Rate multipliers Monday first (7 values), scaled to mean 1.
  public var weekly: [Double]
  /// Growth per day, compounded: 0.01 is 1% a day.
  public var trendPerDay: Double
  /// Sigma of each day's lognormal level noise (its mean is 1): 0.05 is about 5%.
  public var noise: Double

  /// - Throws: `InputError` naming the flag for a pattern without 7 positive values, a trend of -100% or less, or
  ///   noise outside 0-1.
  public init(weekly: [Double] = Array(repeating: 1, count: 7), trendPerDay: Double = 0, noise: Double = 0) throws {
    guard weekly.count == 7, weekly.allSatisfy({ $0 > 0 && $0.isFinite }) else {
      throw InputError(
        "--weekly must be 7 positive multipliers, Monday first (got \(weekly.count) values)",
        fix: "e.g. --weekly 1.1,1.1,1.1,1.05,1,0.8,0.75")
    }
    guard trendPerDay > -1, trendPerDay.isFinite, trendPerDay < 10 else {
      throw InputError("--trend must be a growth per day above -1, e.g. 0.01 for 1% a day (got \(trendPerDay))")
    }
    guard noise >= 0, noise <= 1 else { throw InputError("--day-noise must be from 0 to 1 (got \(noise))") }
    let mean = weekly.reduce(0, +) / 7
    self.weekly = weekly.map { $0 / mean }
    self.trendPerDay = trendPerDay
    self.noise = noise
  }

  /// Day of the week of the UTC day holding `nanoseconds` since the epoch: 0 is Monday. - Complexity: O(1).
  public static func weekday(at nanoseconds: Int64) -> Int {
    let day = Int((nanoseconds - (nanoseconds < 0 ? 86_400_000_000_000 - 1 : 0)) / 86_400_000_000_000)
    return ((day + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday
  }

  /// Day `day`'s level without its noise: the trend times the weekday's multiplier.
  public func expectedLevel(day: Int, weekday: Int) -> Double {
    pow(1 + trendPerDay, Double(day)) * weekly[weekday % 7]
  }

  /// The levels of `days` days from a first day on `firstWeekday`, each with its noise (seeded; the same seed and
  /// count give the same levels, and a longer count extends a shorter one). - Complexity: O(days).
  public func levels(days: Int, firstWeekday: Int, seed: UInt64) -> [Double] {
    var rng = SeededGenerator(seed: RandomStream.dayLevels.seed(seed))
    return (0..<days).map { k in
      let z = rng.nextStandardNormal()
      return expectedLevel(day: k, weekday: firstWeekday + k) * exp(noise * z - noise * noise / 2)
    }
  }
}

extension ArrivalProcess {
  /// The same process with every rate times `factor` (the shape and burst lengths unchanged).
  public func scaled(by factor: Double) -> ArrivalProcess {
    switch self {
    case .poisson(let rate): return .poisson(rate: rate * factor)
    case .gamma(let rate, let cv): return .gamma(rate: rate * factor, cv: cv)
    case .diurnal(let mean, let ratio, let spikes, let cv):
      return .diurnal(meanRate: mean * factor, peakToTrough: ratio, spikes: spikes, cv: cv)
    case .spikes(let rate, let multiplier, let count, let duration):
      return .spikes(rate: rate * factor, multiplier: multiplier, count: count, duration: duration)
    case .onOff(var p):
      p.onRate *= factor
      p.offRate *= factor
      return .onOff(p)
    }
  }
}

extension TraceGenerator {
  /// Arrivals over several days: day k (the 24 hours from `start` + k days) draws `process` at that day's level
  /// of `pattern` from a stream of its own (`RandomStream.dayArrivals` + k), so a day's queries do not depend on
  /// the days before it. Spikes of `.spikes` and `.diurnal` are placed within each day.
  /// - Returns: the arrivals (sorted, nanoseconds) and each day's level. - Complexity: O(arrivals).
  public static func arrivals(
    _ process: ArrivalProcess, duration: Double, start: Int64, seed: UInt64, pattern: DailyPattern
  ) -> (arrivals: [Int64], levels: [Double]) {
    let days = Int((duration / 86_400).rounded(.up))
    let levels = pattern.levels(days: days, firstWeekday: DailyPattern.weekday(at: start), seed: seed)
    var times: [Int64] = []
    for (k, level) in levels.enumerated() {
      let dayStart = start + Int64(k) * 86_400_000_000_000
      let length = min(86_400, duration - Double(k) * 86_400)
      times += arrivals(
        process.scaled(by: level), duration: length, start: dayStart,
        seed: RandomStream.dayArrivals.seed(seed) &+ UInt64(k))
    }
    return (times, levels)
  }
}
