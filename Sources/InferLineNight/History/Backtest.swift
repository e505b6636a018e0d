import Dispatch
import Foundation
public import InferLine

/// Tonight's recommended provisioning replayed on each earlier night of the history that came from a log: the
/// cost and misses it would have had there, so that a plan that would have missed its SLO on a recent night is
/// flagged. Nights from reports hold no queries to replay and are counted, not replayed. The per-window schedule is
/// applied by time of day (moved by whole days onto each night).
public struct Backtest: Sendable, Equatable, Codable {
  /// One earlier night under tonight's recommendation.
  public struct Night: Sendable, Equatable, Codable {
    public var date: String
    public var source: String
    public var queries: Int
    /// Dollars over the night's log.
    public var cost: Double
    public var missRate: Double
    /// Minutes with more than the allowance over the SLO.
    public var minutesOver: Int
    /// As the recommendation judges a replay: at most the allowance over, and few minutes over it.
    public var meetsSLO: Bool
  }

  /// The provisioning replayed (the recommendation's policy name).
  public var policy: String
  public var nights: [Night]
  /// Nights of the history from reports (no queries to replay).
  public var withoutQueries: Int
  /// The share of queries the SLO allows over it.
  public var allowedMissRate: Double

  /// The night with the most queries over the SLO.
  public var worst: Night? { nights.max { ($0.missRate, $0.date) < ($1.missRate, $1.date) } }

  /// The nights within `days` before `tonight` (a `YYYY-MM-DD`).
  public func recent(before tonight: String, days: Int = 7) -> [Night] {
    guard let last = HistoryNight.dayNumber(tonight) else { return [] }
    return nights.filter { n in HistoryNight.dayNumber(n.date).map { last - $0 <= days } ?? false }
  }

  /// The policy, configuration and unit flag that replay `recommended` (a replay of the report) again, or nil for a
  /// policy this does not know. - Parameter schedule: the per-window schedule, for `schedule`.
  public static func provisioning(
    of recommended: ReplayResult, configuration: PipelineConfiguration, schedule: ScheduledScaling?
  ) -> (policy: ScalingPolicy, configuration: PipelineConfiguration, unit: Bool)? {
    let own = recommended.configuration ?? configuration
    switch recommended.policy {
    case "schedule": return schedule.map { (.scheduled($0), configuration, false) }
    case BaselineResult.peak, BaselineResult.mean: return (.fixed, own, true)
    case CapacityAnalysis.coarseGrainedAutoscaling: return (.hpa(HorizontalPodAutoscaler()), own, true)
    case Headroom.staticPolicy: return (.fixed, own, false)
    case Headroom.tunerPolicy: return (.inferline(InferLineTuner()), own, false)
    default:
      return CapacityAnalysis.standardPolicies.first { $0.name == recommended.policy }.map { ($0, own, false) }
    }
  }

  /// Replays the recommendation on every night of `nights` that came from a log (each log read once; its nights
  /// replayed side by side), in date order.
  /// - Parameters:
  ///   - planning: tonight's busiest window's arrivals (the tuner's calibration).
  ///   - tonightDay: tonight's UTC day, `YYYY-MM-DD` (the schedule is moved by whole days from it).
  /// - Throws: `InputError` when a log can no longer be read. - Complexity: one replay per night.
  public static func run(
    nights: [HistoryNight], model: PipelineModel, recommended: ReplayResult, configuration: PipelineConfiguration,
    schedule: ScheduledScaling?, planning: [Int64], tonightDay: String, options: CapacityAnalysis.Options
  ) throws -> Backtest? {
    guard let (policy, own, unit) = provisioning(of: recommended, configuration: configuration, schedule: schedule)
    else { return nil }
    let allowed = PipelineSpec.SLO.allowance(model.inputs.pipeline.slo.percentile)
    let fromLogs = nights.filter { $0.logFile != nil && $0.date < tonightDay }
    var result = Backtest(
      policy: recommended.policy, nights: [], withoutQueries: nights.count - fromLogs.count, allowedMissRate: allowed)
    let tonight = HistoryNight.dayNumber(tonightDay) ?? 0
    try NightHistory.dayArrivals(of: fromLogs, pipeline: model.name, log: options.log) { mine in
      let slots = ResultSlots<Result<Night, any Error>>(count: mine.count)
      DispatchQueue.concurrentPerform(iterations: mine.count) { i in
        slots[i] = Result {
          let (night, day) = mine[i]
          var dayPolicy = policy
          if case .scheduled(let s) = policy {
            let shift = Int64(HistoryNight.dayNumber(night.date)! - tonight) * NightHistory.day
            dayPolicy = .scheduled(ScheduledScaling(starts: s.starts.map { $0 + shift }, replicas: s.replicas))
          }
          let replay = try Replay.run(
            arrivals: Array(day), model: model, configuration: own, planning: planning, policy: dayPolicy,
            unit: unit, seed: options.seed)
          return Night(
            date: night.date, source: night.source, queries: day.count, cost: replay.cost,
            missRate: replay.missRate, minutesOver: Recommendation.minutesOver(replay, allowed),
            meetsSLO: Recommendation.meets(replay, allowed))
        }
      }
      for i in mine.indices { result.nights.append(try slots[i]!.get()) }
    }
    result.nights.sort { ($0.date, $0.source) < ($1.date, $1.source) }
    return result
  }
}

extension Array where Element == Int64 {
  /// The first index whose element satisfies `belongs` (false before it, true from it on). - Complexity: O(log n).
  func partitioningIndex(where belongs: (Int64) -> Bool) -> Int {
    var low = 0, high = count
    while low < high {
      let mid = (low + high) / 2
      if belongs(self[mid]) { high = mid } else { low = mid + 1 }
    }
    return low
  }
}
