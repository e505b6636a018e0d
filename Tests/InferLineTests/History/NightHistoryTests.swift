import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// Nights from logs and reports, the daily series with its gaps filled, and what makes a night another pipeline's.
@Suite struct NightHistoryTests {
  /// Day numbers and their dates agree with Foundation's Gregorian calendar over 400 years and either side of 1970.
  @Test func datesAreTheCalendars() {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let formatter = DateFormatter()
    formatter.calendar = calendar
    formatter.timeZone = calendar.timeZone
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd"
    for day in stride(from: -40_000, through: 110_000, by: 37) {
      let text = HistoryNight.dayText(day)
      #expect(text == formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400)))
      #expect(HistoryNight.dayNumber(text) == day)
    }
    #expect(HistoryNight.day(-1) == "1969-12-31" && HistoryNight.day(0) == "1970-01-01")
    #expect(HistoryNight.dayNumber("2026-13-01") == nil && HistoryNight.dayNumber("yesterday") == nil)
  }

  /// A generated 5-day log from noon: the three whole days are nights with each day's queries and busiest hour; the
  /// half days at either end are left out and named.
  @Test func aLogOfSeveralDaysIsANightPerWholeDay() throws {
    let monday = Int64(1_793_577_600) * 1_000_000_000  // 2026-11-02
    let start = monday + 12 * 3_600_000_000_000
    let arrivals = TraceGenerator.arrivals(
      .diurnal(meanRate: 0.2, peakToTrough: 3), duration: 4 * 86_400, start: start, seed: 4,
      pattern: try DailyPattern(trendPerDay: 0.1)
    ).arrivals
    let hour: Int64 = 3_600_000_000_000
    let (nights, leftOut) = NightHistory.nights(ofLog: arrivals, windowLength: hour, source: "week.csv")
    #expect(nights.map(\.date) == ["2026-11-03", "2026-11-04", "2026-11-05"])
    #expect(leftOut.map(\.date) == ["2026-11-02", "2026-11-06"])
    #expect(leftOut.allSatisfy { $0.reason.contains("less than the 23 h a night needs") })
    for (k, night) in nights.enumerated() {
      let dayStart = monday + Int64(k + 1) * 24 * hour
      let day = arrivals.filter { $0 >= dayStart && $0 < dayStart + 24 * hour }
      #expect(night.dailyQueries == Double(day.count))
      let busiest = (0..<24).map { h in day.filter { $0 >= dayStart + h * hour && $0 < dayStart + (h + 1) * hour }.count
      }
      .max()!
      #expect(night.peakRate == Double(busiest) / 3600)
      #expect(night.source == "week.csv (\(night.date))" && night.costPerDay == nil)
    }
    #expect(nights[2].dailyQueries > nights[0].dailyQueries)
  }

  /// Missing days are filled on the straight line between their neighbours and named; nights on or after tonight's
  /// day are not in the series.
  @Test func theSeriesFillsGapsAndStopsAtTonight() {
    func night(_ date: String, _ q: Double) -> HistoryNight {
      HistoryNight(date: date, source: date, dailyQueries: q, hours: 24, peakRate: q / 1000)
    }
    let tonight = night("2026-11-10", 700)
    let (values, filled) = NightHistory.series(
      [night("2026-11-05", 100), night("2026-11-08", 400), night("2026-11-10", 5), night("2026-11-12", 9)],
      tonight: tonight
    ) { $0.dailyQueries }
    #expect(values == [100, 200, 300, 400, 550, 700])
    #expect(filled == ["2026-11-06", "2026-11-07", "2026-11-09"])
  }

  /// Tonight's report against an earlier one that differs in one thing at a time: each difference is named.
  @Test func anotherVersionCatalogSLOOrWindowIsNamed() throws {
    let base = NightHistory.Identity(
      pipeline: "p", stages: ["a (resnet)"], edges: [], catalog: "aws", prices: ["T4": 0.5], slo: "P99 <= 100 ms",
      windowSeconds: 3600)
    #expect(base.mismatch(base) == nil)
    var other = base
    other.stages = ["a (resnet101)"]
    #expect(base.mismatch(other)?.hasPrefix("another pipeline version") == true)
    other = base
    other.prices = ["T4": 0.6]
    #expect(base.mismatch(other) == "another hardware catalog ('aws'; prices differ for T4)")
    other = base
    other.slo = "P99 <= 200 ms"
    #expect(base.mismatch(other) == "another SLO (P99 <= 200 ms; tonight P99 <= 100 ms)")
    other = base
    other.windowSeconds = 1800
    #expect(base.mismatch(other) == "another window (30m; tonight 1h)")
  }
}

/// What the budget forecast refuses to forecast, and says so: too few nights, a change of level, no date.
@Suite struct BudgetForecastTests {
  static func nights(_ values: [Double], from day: Int = 20_400) -> [HistoryNight] {
    values.enumerated().map { k, v in
      HistoryNight(
        date: HistoryNight.dayText(day + k), source: "n\(k)", dailyQueries: v * 1000, hours: 24, peakRate: v)
    }
  }

  @Test func itSaysWhyThereIsNoForecast() throws {
    let steady = Self.nights((0..<20).map { 10 + Double($0 % 7) })
    func tonight(_ rate: Double) -> HistoryNight {
      HistoryNight(
        date: HistoryNight.dayText(20_420), source: "tonight", dailyQueries: rate * 1000, hours: 24, peakRate: rate)
    }
    let ok = BudgetForecast.prepare(history: .init(nights: steady), tonight: tonight(12), seed: 1)
    #expect(ok.note == nil && ok.months.count == 2 && ok.factors.count <= 6 && ok.nights.count == 21)
    #expect(ok.months[0].lines.map(\.bound) == ["expected", "80% upper", "95% upper"])
    let jump = BudgetForecast.prepare(history: .init(nights: steady), tonight: tonight(40), seed: 1)
    #expect(jump.months.isEmpty && jump.factors.isEmpty)
    #expect(jump.note?.hasPrefix("tonight's queries are 3.08x the median of the week before") == true)
    let short = BudgetForecast.prepare(history: .init(nights: Array(steady.suffix(4))), tonight: tonight(12), seed: 1)
    #expect(short.note == "5 days of history with tonight's; a forecast needs at least 7" && short.months.isEmpty)
    var quiet = steady
    quiet[3].dailyQueries = 0
    quiet[3].peakRate = 0
    let empty = BudgetForecast.prepare(history: .init(nights: quiet), tonight: tonight(12), seed: 1)
    #expect(empty.note == "the night of \(quiet[3].date) (n3) has no queries to forecast from" && empty.months.isEmpty)
    // A steady fall: a trend on the values would cross zero within 90 days; forecasts stay at zero or above and the
    // traffic planned stays within the growth what-ifs' range.
    let falling = Self.nights((0..<20).map { 100 - 4.5 * Double($0) })
    let down = BudgetForecast.prepare(
      history: .init(nights: falling),
      tonight: HistoryNight(
        date: HistoryNight.dayText(20_420), source: "tonight", dailyQueries: 10_000, hours: 24, peakRate: 10),
      seed: 1)
    #expect(
      down.note == nil && down.queries!.lower95.allSatisfy { $0 >= 0 } && down.queries!.mean.allSatisfy { $0 >= 0 })
    #expect(down.factors.allSatisfy { $0 >= 0.01 && $0 <= 1000 } && !down.factors.isEmpty)
    let relative = BudgetForecast.prepare(history: .init(nights: steady), tonight: nil, seed: 1)
    #expect(relative.note?.contains("relative times") == true)
    // A night on tonight's day or after it is named, not used; two nights of one day are one.
    let later = BudgetForecast.prepare(
      history: .init(nights: steady + Self.nights([11], from: 20_420) + Self.nights([11], from: 20_419)),
      tonight: tonight(12), seed: 1)
    #expect(later.leftOut.map(\.reason) == ["the same night as n0", "the same day as tonight's log"])
  }
}
