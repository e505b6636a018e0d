import Foundation
import InferLine
import InferLineNight

/// The budget from history (`BudgetForecast`) in words, for the page, the summary and the fleet's budget table.
/// Every sentence is computed from the forecast's own figures.
enum ForecastText {
  /// "days 1-30" for the next month, "days 61-90" for the third.
  static func horizon(_ m: BudgetForecast.Month) -> String {
    m.firstDay == 1 ? "next 30 days" : "days \(m.firstDay)-\(m.lastDay)"
  }

  /// What the forecast read: "42 nights from 2026-10-19 to 2026-11-30 (41 from logs, tonight's); 2 left out".
  static func nightsSentence(_ f: BudgetForecast) -> String {
    guard let first = f.nights.first, let last = f.nights.last else { return "no nights" }
    let fromReports = f.nights.dropLast().filter { $0.costPerDay != nil }.count
    let fromLogs = f.nights.count - 1 - fromReports
    var parts = [
      "\(f.nights.count) night\(f.nights.count == 1 ? "" : "s") from \(first.date) to \(last.date) (tonight's, \(fromReports) from earlier reports, \(fromLogs) from logs)"
    ]
    if !f.filledDays.isEmpty {
      parts.append("\(f.filledDays.count) missing day\(f.filledDays.count == 1 ? "" : "s") filled by interpolation")
    }
    if !f.leftOut.isEmpty { parts.append("\(f.leftOut.count) left out (listed below)") }
    let skipped = f.skippedLines.values.reduce(0, +)
    if skipped > 0 { parts.append("\(skipped) malformed log lines skipped") }
    if f.otherFiles > 0 {
      parts.append("\(f.otherFiles) other file\(f.otherFiles == 1 ? "" : "s") (pages, charts) not read")
    }
    return parts.joined(separator: "; ")
  }

  /// "Holt-Winters, weekly season, linear trend (alpha 0.05, beta 0.01, gamma 0.2, sigma 3,044); held-out error
  /// 2.1% against 3.4% for the next best of 11 methods".
  static func methodSentence(_ d: DailyForecast) -> String {
    let order = ["alpha", "beta", "gamma", "phi", "sigma"]
    let parameters = order.compactMap { key in
      d.parameters[key].map { key + " " + (abs($0) >= 100 ? String(format: "%.0f", $0) : String(format: "%.3g", $0)) }
    }
    let others = d.heldOutErrors.filter { $0.key != d.method }.values.sorted()
    var text = "\(d.method) (\(parameters.joined(separator: ", ")))"
    if let chosen = d.heldOutErrors[d.method] {
      text += String(format: "; held-out error %.1f%%", chosen * 100)
      if let next = others.first {
        text += String(format: " against %.1f%% for the next best of %d methods", next * 100, d.heldOutErrors.count)
      }
      text += " (\(d.folds) fold\(d.folds == 1 ? "" : "s") of \(d.heldOutDays) days)"
    }
    return text
  }

  /// The first screen's and the summary's line: the next month's expected cost and its upper bounds.
  static func budgetLine(_ f: BudgetForecast) -> String? {
    guard let month = f.months.first else { return nil }
    let costs = month.lines.map { l in l.costPerMonth.map { "$" + ReportWriter.money($0) } ?? "no plan" }
    guard costs.count == 3 else { return nil }
    return
      "Budget for the next 30 days from \(f.nights.count) nights: \(costs[0]) expected, \(costs[1]) at the 80% upper bound, \(costs[2]) at the 95% (\(String(format: "%.0f", month.queriesPerDay.mean)) queries a day expected)"
  }

  /// The first screen's warning when tonight's recommendation would have missed the SLO on a night of the week
  /// before: which nights, and the worst's share over. nil when it would have kept it on every recent night.
  static func backtestWarning(_ f: BudgetForecast) -> String? {
    guard let b = f.backtest, let tonight = f.nights.last?.date else { return nil }
    let week = b.recent(before: tonight)
    let misses = week.filter { !$0.meetsSLO }
    guard let worst = misses.max(by: { $0.missRate < $1.missRate }) else { return nil }
    return String(
      format:
        "Tonight's recommendation (%@) would have missed the SLO on %d of the %d nights of the week before: worst %@, %.2f%% of queries over it (%.2f%% allowed), %d minutes over; --robust %d plans every window for those nights too",
      PolicyTitle.of(b.policy), misses.count, week.count, worst.date, worst.missRate * 100, b.allowedMissRate * 100,
      worst.minutesOver, week.count)
  }

  /// What the backtest found, in a sentence computed from its nights.
  static func backtestSentence(_ b: Backtest) -> String {
    var text =
      "Tonight's recommendation (\(PolicyTitle.of(b.policy))) replayed on \(ReportWriter.counted(b.nights.count, "earlier night")) from logs"
    let missed = b.nights.filter { !$0.meetsSLO }
    if missed.isEmpty {
      text += b.nights.isEmpty ? "" : ": it would have kept the SLO on every one"
    } else if let worst = b.worst {
      text += String(
        format: ": it would have missed the SLO on %d; the worst, %@, had %.2f%% of queries over it (%.2f%% allowed)",
        missed.count, worst.date, worst.missRate * 100, b.allowedMissRate * 100)
    }
    if b.withoutQueries > 0 {
      text += "; \(ReportWriter.counted(b.withoutQueries, "night")) from reports hold no queries to replay"
    }
    return text
  }

  /// The rows of the forecast table: per month and bound.
  static func rows(_ f: BudgetForecast, stageNames: [String]) -> [[String: Any]] {
    f.months.flatMap { m in
      m.lines.map { l -> [String: Any] in
        let queries =
          l.bound == "expected"
          ? m.queriesPerDay.mean : l.bound.hasPrefix("80") ? m.queriesPerDay.upper80 : m.queriesPerDay.upper95
        let plan = l.plan.map { p in
          p.configuration.map { $0.describe(stageNames: stageNames, separator: "; ") } ?? (p.note ?? "none")
        }
        return [
          "horizon": horizon(m), "bound": l.bound, "queries": String(format: "%.0f", queries),
          "peak": String(format: "%.2f", l.peakRate), "factor": String(format: "%.2fx", l.factor),
          "cost": ReportWriter.money(l.plan?.costPerHour), "month": ReportWriter.money(l.costPerMonth),
          "plan": plan ?? "not planned", "proof": l.plan.map(ReportWriter.growthProof) ?? "",
        ]
      }
    }
  }

  /// The template's values for the forecast section.
  static func context(_ f: BudgetForecast, _ r: CapacityReport) -> [String: Any] {
    var c: [String: Any] = [
      "nights": nightsSentence(f),
      "leftOut": f.leftOut.map { ["source": $0.source, "date": $0.date ?? "", "reason": $0.reason] },
      "hasLeftOut": !f.leftOut.isEmpty, "hasRows": !f.months.isEmpty,
      "rows": rows(f, stageNames: r.stages.map(\.name)),
    ]
    if let note = f.note { c["note"] = note }
    if let q = f.queries, let p = f.peakRate {
      c["queriesMethod"] = methodSentence(q)
      c["peakMethod"] = methodSentence(p)
      c["seed"] = String(q.seed)
    }
    if let line = budgetLine(f) { c["headline"] = line }
    if let b = f.backtest {
      c["backtest"] =
        [
          "sentence": backtestSentence(b), "hasNights": !b.nights.isEmpty,
          "nights": b.nights.map { n -> [String: Any] in
            [
              "date": n.date, "queries": n.queries, "cost": ReportWriter.money(n.cost),
              "misses": ReportWriter.percent(n.missRate), "minutes": n.minutesOver,
              "verdict": n.meetsSLO ? "kept" : "missed", "class": n.meetsSLO ? "" : "bad",
            ]
          },
        ] as [String: Any]
    }
    return c
  }
}
