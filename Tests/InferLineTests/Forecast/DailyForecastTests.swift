import Foundation
import Testing

@testable import InferLine

/// Forecasts of generated history against the truth the generator knows: a weekly season, a compounding trend and
/// day-to-day noise (`DailyPattern`).
@Suite struct DailyForecastTests {
  static let weekly = [1.1, 1.12, 1.08, 1.05, 1.0, 0.85, 0.8]

  /// `days` of history and `ahead` days after it, realised, and the noiseless truth of the days after.
  static func series(
    _ pattern: DailyPattern, days: Int, ahead: Int, seed: UInt64, base: Double = 1_000_000
  ) -> (history: [Double], realised: [Double], truth: [Double]) {
    let all = pattern.levels(days: days + ahead, firstWeekday: 0, seed: seed).map { $0 * base }
    let truth = (days..<(days + ahead)).map { base * pattern.expectedLevel(day: $0, weekday: $0) }
    return (Array(all[..<days]), Array(all[days...]), truth)
  }

  /// Six weeks and three months of history, 0.3% growth a day and 2% noise: the next 30 days' forecast is within 5%
  /// of the truth (mean absolute percentage error) for all but the odd seed with six weeks, for every seed with three
  /// months, and within 3% on average.
  @Test(arguments: [(42, 38), (90, 40)]) func aMonthAheadIsWithinFivePercentOfTheTruth(days: Int, within: Int) throws {
    let pattern = try DailyPattern(weekly: Self.weekly, trendPerDay: 0.003, noise: 0.02)
    var errors: [Double] = []
    for seed in UInt64(1)...40 {
      let s = Self.series(pattern, days: days, ahead: 30, seed: seed)
      let f = try #require(DailyForecast.fit(s.history, horizon: 30, seed: seed))
      var error = 0.0
      for h in 0..<30 { error += abs(f.mean[h] - s.truth[h]) / s.truth[h] / 30 }
      errors.append(error)
    }
    let within5: Int = errors.filter { $0 < 0.05 }.count
    let mean: Double = errors.reduce(0, +) / 40
    #expect(within5 >= within, "\(errors.sorted())")
    #expect(mean < 0.03)
  }

  /// Over 60 seeds' next 30 days, the 80% interval holds 70-90% of the realised days and the 95% interval 88-99%;
  /// and the month's mean lies under the month's 80% upper bound 70-95% of the time.
  @Test(arguments: [42, 90]) func intervalsCoverWhatTheySay(days: Int) throws {
    let pattern = try DailyPattern(weekly: Self.weekly, trendPerDay: 0.003, noise: 0.02)
    var inside80 = 0, inside95 = 0, total = 0, monthUnder80 = 0
    for seed in UInt64(100)..<160 {
      let s = Self.series(pattern, days: days, ahead: 30, seed: seed)
      let f = try #require(DailyForecast.fit(s.history, horizon: 30, stretches: [1...30], seed: seed))
      for h in 0..<30 {
        if s.realised[h] >= f.lower80[h] && s.realised[h] <= f.upper80[h] { inside80 += 1 }
        if s.realised[h] >= f.lower95[h] && s.realised[h] <= f.upper95[h] { inside95 += 1 }
        total += 1
      }
      #expect(f.stretches[0].upper80 < f.stretches[0].upper95 && f.stretches[0].mean < f.stretches[0].upper80)
      if s.realised.reduce(0, +) / 30 <= f.stretches[0].upper80 { monthUnder80 += 1 }
    }
    let c80 = Double(inside80) / Double(total), c95 = Double(inside95) / Double(total)
    #expect(c80 >= 0.7 && c80 <= 0.9, "80% interval covered \(c80)")
    #expect(c95 >= 0.88 && c95 <= 0.99, "95% interval covered \(c95)")
    #expect(monthUnder80 >= 42 && monthUnder80 <= 57, "month under its 80% bound \(monthUnder80) of 60")
  }

  /// The method is the candidate with the least held-out error, and it follows the data: a weekly series gets a
  /// seasonal method, a trending one a trend.
  @Test func theMethodIsPickedOnHeldOutError() throws {
    let weeklyOnly = try DailyPattern(weekly: [1.3, 1.3, 1.3, 1.3, 1.2, 0.3, 0.3], trendPerDay: 0, noise: 0.01)
    let trendOnly = try DailyPattern(trendPerDay: 0.01, noise: 0.005)
    for (pattern, seasonal) in [(weeklyOnly, true), (trendOnly, false)] {
      let s = Self.series(pattern, days: 42, ahead: 7, seed: 5)
      let f = try #require(DailyForecast.fit(s.history, horizon: 7, seed: 5))
      #expect(f.heldOutErrors[f.method] == f.heldOutErrors.values.min())
      #expect(f.heldOutErrors.count >= 10)
      if seasonal {
        #expect(f.method.contains("weekly season"), "\(f.method)")
      } else {
        #expect(f.parameters["beta"] != nil && !f.method.contains("no trend"), "\(f.method)")
      }
      #expect(f.folds >= 2 && f.historyDays == 42)
    }
  }

  /// Fewer than a week gives no forecast; fewer than three weeks no seasonal method; the same seed the same forecast.
  @Test func shortHistoriesAndSeeds() throws {
    let pattern = try DailyPattern(weekly: Self.weekly, trendPerDay: 0.01, noise: 0.02)
    let s = Self.series(pattern, days: 20, ahead: 1, seed: 3)
    #expect(DailyForecast.fit(Array(s.history.prefix(6)), horizon: 7, seed: 1) == nil)
    let short = try #require(DailyForecast.fit(s.history, horizon: 10, seed: 1))
    #expect(short.heldOutErrors.keys.allSatisfy { !$0.contains("season") && $0 != "seasonal naive" })
    #expect(short.mean.count == 10)
    #expect(DailyForecast.fit(s.history, horizon: 10, seed: 1) == short)
    #expect(DailyForecast.fit(s.history, horizon: 10, seed: 2)?.upper95 != short.upper95)
    #expect(DailyForecast.fit(s.history + [0], horizon: 10, seed: 1) == nil)
  }
}

/// Multi-day generated logs: each day's queries follow its level, and a day does not depend on the days before it.
@Suite struct DailyPatternTests {
  @Test func eachDayCarriesItsLevel() throws {
    let pattern = try DailyPattern(weekly: [1, 1, 1, 1, 1, 0.5, 0.5], trendPerDay: 0.02, noise: 0.05)
    // 2026-11-02 is a Monday.
    let start = Int64(1_793_577_600) * 1_000_000_000
    #expect(DailyPattern.weekday(at: start) == 0)
    #expect(DailyPattern.weekday(at: start + 5 * 86_400_000_000_000 + 1) == 5)
    let (arrivals, levels) = TraceGenerator.arrivals(
      .poisson(rate: 1), duration: 10 * 86_400, start: start, seed: 7, pattern: pattern)
    #expect(levels == pattern.levels(days: 10, firstWeekday: 0, seed: 7))
    var counts = [Double](repeating: 0, count: 10)
    for a in arrivals { counts[Int((a - start) / 86_400_000_000_000)] += 1 }
    for k in 0..<10 {
      let expected = 86_400 * levels[k]
      #expect(abs(counts[k] - expected) < 4 * expected.squareRoot(), "day \(k): \(counts[k]) against \(expected)")
    }
    #expect(arrivals == arrivals.sorted())
    // The weekend at half the weekdays' level (the noise is 5%).
    #expect(counts[5] < 0.65 * counts[4] && counts[6] < 0.65 * counts[7])
    // Eight days are the first eight of ten.
    let shorter = TraceGenerator.arrivals(
      .poisson(rate: 1), duration: 8 * 86_400, start: start, seed: 7, pattern: pattern)
    #expect(shorter.arrivals == arrivals.filter { $0 < start + 8 * 86_400_000_000_000 })
    #expect(throws: InputError.self) { try DailyPattern(weekly: [1, 2, 3]) }
    #expect(throws: InputError.self) { try DailyPattern(trendPerDay: -1) }
  }
}
