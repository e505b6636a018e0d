import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight
@testable import InferLineReport

/// The budget from history in words: every sentence from the forecast's own figures.
@Suite struct ForecastTextTests {
  static func night(_ date: String, missRate: Double, meets: Bool) -> Backtest.Night {
    .init(
      date: date, source: "days.csv (\(date))", queries: 1000, cost: 20, missRate: missRate,
      minutesOver: meets ? 0 : 40, meetsSLO: meets)
  }

  static func forecast(_ nights: [Backtest.Night]) -> BudgetForecast {
    var f = BudgetForecast(
      nights: [HistoryNight(date: "2026-11-28", source: "tonight", dailyQueries: 1, hours: 24, peakRate: 1)],
      leftOut: [], filledDays: [], queries: nil, peakRate: nil, months: [], note: nil)
    f.backtest = Backtest(policy: "inferline", nights: nights, withoutQueries: 2, allowedMissRate: 0.01)
    return f
  }

  /// A miss in the week before tonight is flagged with the worst night; one three weeks ago is not, but the
  /// backtest's sentence counts it.
  @Test func aRecentMissIsFlaggedAndAnOldOneIsCounted() {
    let old = Self.night("2026-11-07", missRate: 0.2, meets: false)
    let ok = Self.night("2026-11-25", missRate: 0.001, meets: true)
    let bad = Self.night("2026-11-26", missRate: 0.034, meets: false)
    #expect(ForecastText.backtestWarning(Self.forecast([old, ok])) == nil)
    #expect(
      ForecastText.backtestWarning(Self.forecast([old, ok, bad]))
        == "Tonight's recommendation (InferLine tuner) would have missed the SLO on 1 of the 2 nights of the week before: worst 2026-11-26, 3.40% of queries over it (1.00% allowed), 40 minutes over; --robust 2 plans every window for those nights too"
    )
    #expect(
      ForecastText.backtestSentence(Self.forecast([old, ok, bad]).backtest!)
        == "Tonight's recommendation (InferLine tuner) replayed on 3 earlier nights from logs: it would have missed the SLO on 2; the worst, 2026-11-07, had 20.00% of queries over it (1.00% allowed); 2 nights from reports hold no queries to replay"
    )
    #expect(
      ForecastText.backtestSentence(Self.forecast([ok]).backtest!).contains("it would have kept the SLO on every one"))
  }
}
