import Foundation
public import InferLine

/// The budget from history (`report --history`): the pipeline's daily queries and peak rate forecast 30 and 90 days
/// ahead from its earlier nights and tonight's (`DailyForecast`), and each month's cost at its expected peak and at
/// the 80% and 95% upper bounds, each found by planning the busiest window at that traffic (the window's arrivals
/// closer together, as the growth what-ifs do) and costed as the growth table does: the month's replay cost of
/// tonight's recommendation times the plan's cost over tonight's plan's.
public struct BudgetForecast: Sendable, Equatable, Codable {
  /// The nights used, oldest first, tonight's last.
  public var nights: [HistoryNight]
  /// Nights read but not used, with why.
  public var leftOut: [LeftOutNight]
  /// Days between the first night and tonight with no night, filled by interpolation.
  public var filledDays: [String]
  /// Files of the history folder that are neither reports nor logs, not read; malformed lines its logs skipped.
  public var otherFiles = 0
  public var skippedLines: [String: Int] = [:]
  /// The forecasts of daily queries and of the busiest window's rate (nil with fewer than a week of nights).
  public var queries: DailyForecast?
  public var peakRate: DailyForecast?
  /// The months ahead: days 1-30 and 61-90.
  public var months: [Month]
  /// Why there is no forecast, when there is none.
  public var note: String?
  /// Tonight's recommendation replayed on the earlier nights from logs (nil without a recommendation).
  public var backtest: Backtest? = nil

  /// A month ahead: its forecast traffic and, per bound, the plan for its peak and what the month would cost.
  public struct Month: Sendable, Equatable, Codable {
    /// Days after tonight, inclusive.
    public var firstDay: Int
    public var lastDay: Int
    public var queriesPerDay: DailyForecast.Stretch
    public var peakRate: DailyForecast.Stretch
    /// `expected`, `80% upper` and `95% upper`.
    public var lines: [Line]
  }

  /// One bound of a month: the peak rate planned for, its factor over tonight's, and the plan and month it gives.
  public struct Line: Sendable, Equatable, Codable {
    public var bound: String
    /// Queries per second in the busiest window.
    public var peakRate: Double
    /// `peakRate` over tonight's busiest window's.
    public var factor: Double
    /// The plan at that traffic (nil before planning, or when the search found none: `note`).
    public var plan: CapacityReport.GrowthScenario?
    /// Dollars for the 30 days: tonight's recommended provisioning's month times the plan's cost per hour over
    /// tonight's plan's.
    public var costPerMonth: Double?
  }

  /// The forecast before planning: nights, forecasts and each month's bounds with their factors.
  /// - Parameters:
  ///   - tonight: tonight's night (nil for a log of relative times).
  /// - Complexity: O(nights x candidates x grid + paths x 90).
  public static func prepare(history: NightHistory, tonight: HistoryNight?, seed: UInt64) -> BudgetForecast {
    var forecast = BudgetForecast(
      nights: [], leftOut: history.leftOut, filledDays: [], queries: nil, peakRate: nil, months: [], note: nil)
    forecast.otherFiles = history.otherFiles
    forecast.skippedLines = history.skippedLines
    guard let tonight else {
      forecast.note = "tonight's log has relative times, so it has no date to follow the earlier nights"
      return forecast
    }
    var used: [HistoryNight] = []
    var seen: [String: String] = [:]
    for night in history.nights.sorted(by: { ($0.date, $0.source) < ($1.date, $1.source) }) {
      if night.date >= tonight.date {
        forecast.leftOut.append(
          .init(
            source: night.source, date: night.date,
            reason: night.date == tonight.date ? "the same day as tonight's log" : "later than tonight's log"))
      } else if let first = seen[night.date] {
        forecast.leftOut.append(.init(source: night.source, date: night.date, reason: "the same night as \(first)"))
      } else {
        seen[night.date] = night.source
        used.append(night)
      }
    }
    forecast.nights = used + [tonight]
    let queries = NightHistory.series(used, tonight: tonight) { $0.dailyQueries }
    let peaks = NightHistory.series(used, tonight: tonight) { $0.peakRate }
    forecast.filledDays = queries.filled
    // A level shift (tonight far from the last week's nights) is not something smoothing can forecast: say so
    // rather than extrapolate it.
    for (name, series) in [("queries", queries.values), ("busiest window's rate", peaks.values)] where series.count > 1
    {
      let week = series.dropLast().suffix(7).sorted()
      let median = week[week.count / 2]
      let ratio = series.last! / median
      if !(ratio <= Self.levelShift && ratio >= 1 / Self.levelShift) {
        let what = name == "queries" ? "tonight's queries are" : "tonight's busiest window's rate is"
        forecast.note = String(
          format:
            "%@ %.2fx the median of the week before: a change of level the earlier nights cannot forecast (within %gx is forecast); a history of this traffic is needed",
          what, ratio, Self.levelShift)
        return forecast
      }
    }
    let months = [1...30, 61...90]
    if let empty = forecast.nights.first(where: { !($0.dailyQueries > 0 && $0.peakRate > 0) }) {
      forecast.note = "the night of \(empty.date) (\(empty.source)) has no queries to forecast from"
      return forecast
    }
    guard let q = DailyForecast.fit(queries.values, horizon: 90, stretches: months, seed: seed),
      let p = DailyForecast.fit(peaks.values, horizon: 90, stretches: months, seed: seed)
    else {
      forecast.note =
        "\(queries.values.count) day\(queries.values.count == 1 ? "" : "s") of history with tonight's; a forecast needs at least \(DailyForecast.minimumDays)"
      return forecast
    }
    forecast.queries = q
    forecast.peakRate = p
    forecast.months = zip(q.stretches, p.stretches).map { qs, ps in
      Month(
        firstDay: ps.firstDay, lastDay: ps.lastDay, queriesPerDay: qs, peakRate: ps,
        lines: [("expected", ps.mean), ("80% upper", ps.upper80), ("95% upper", ps.upper95)].map { bound, rate in
          // A trend on the values themselves may run below zero or far above: planned within the growth
          // what-ifs' range, 0.01x to 1000x tonight's.
          let factor = min(max(rate / tonight.peakRate, 0.01), 1000)
          return Line(
            bound: bound, peakRate: factor * tonight.peakRate, factor: factor, plan: nil, costPerMonth: nil)
        })
    }
    return forecast
  }

  /// The most tonight may be above or below the median of the week before it for a forecast.
  public static let levelShift = 3.0

  /// The traffic factors to plan, each once, in order of first appearance.
  public var factors: [Double] {
    var seen: [Double] = []
    for line in months.flatMap(\.lines) where !seen.contains(line.factor) { seen.append(line.factor) }
    return seen
  }

  /// The forecast with each line's plan (`plans[i]` is the plan at `factors[i]`) and month's cost.
  /// - Parameters:
  ///   - costPerMonth: tonight's recommended provisioning's month; `todayPerHour`: tonight's busiest window's plan.
  public func costed(
    _ plans: [CapacityReport.GrowthScenario], costPerMonth: Double, todayPerHour: Double?
  )
    -> BudgetForecast
  {
    var result = self
    let factors = self.factors
    if !result.nights.isEmpty { result.nights[result.nights.count - 1].costPerDay = costPerMonth / 30 }
    for m in result.months.indices {
      for l in result.months[m].lines.indices {
        let line = result.months[m].lines[l]
        guard let i = factors.firstIndex(of: line.factor), i < plans.count else { continue }
        result.months[m].lines[l].plan = plans[i]
        if let cost = plans[i].costPerHour, let today = todayPerHour, today > 0 {
          result.months[m].lines[l].costPerMonth = costPerMonth * cost / today
        }
      }
    }
    return result
  }
}
