import Foundation
public import InferLine

/// The last N earlier nights' queries, for `report --robust N`: each window of tonight is planned against the same
/// clock window on each of them as well (`WindowPlanning.robustPlan`). Held as each night's arrivals (N days of
/// queries in memory); nights come from the history's logs only (a report holds no queries).
public struct EarlierWindows: Sendable {
  /// One earlier night: its day, and its arrivals moved onto tonight's day (nanoseconds).
  public struct Night: Sendable {
    public var date: String
    public var arrivals: [Int64]
  }
  public var nights: [Night]

  /// Each night's arrivals in `window`'s clock hours, nanoseconds from the window's start; nights with none left
  /// out. - Complexity: O(nights x log arrivals + the windows' queries).
  public func arrivals(for window: WorkloadWindow) -> [[Int64]] {
    nights.compactMap { night in
      let low = night.arrivals.partitioningIndex { $0 >= window.start }
      let high = night.arrivals.partitioningIndex { $0 >= window.start + window.length }
      return high > low ? night.arrivals[low..<high].map { $0 - window.start } : nil
    }
  }

  /// The `count` most recent nights of `history` from logs before `tonightDay`, read again from their logs.
  /// - Throws: `InputError` when fewer than `count` such nights are in the history, or a log cannot be read.
  public static func load(
    history: NightHistory, tonightDay: String, count: Int, log: LogReadOptions, pipeline: String
  ) throws -> EarlierWindows {
    let candidates = history.nights.filter { $0.logFile != nil && $0.date < tonightDay }
    var seen = Set<String>()
    let recent = candidates.sorted { ($0.date, $0.source) > ($1.date, $1.source) }.filter {
      seen.insert($0.date).inserted
    }
    .prefix(count)
    guard recent.count == count, let tonight = HistoryNight.dayNumber(tonightDay) else {
      throw InputError(
        "--robust \(count): the history holds \(recent.count) night\(recent.count == 1 ? "" : "s") of pipeline '\(TerminalText.safe(pipeline))' from logs before tonight",
        fix: "give --history a folder with the logs of the last \(count) nights, or a smaller --robust")
    }
    var nights: [Night] = []
    try NightHistory.dayArrivals(of: Array(recent), pipeline: pipeline, log: log) { days in
      for (night, arrivals) in days {
        let shift = Int64(tonight - HistoryNight.dayNumber(night.date)!) * NightHistory.day
        nights.append(Night(date: night.date, arrivals: arrivals.map { $0 + shift }))
      }
    }
    nights.sort { $0.date > $1.date }
    return EarlierWindows(nights: nights)
  }
}
