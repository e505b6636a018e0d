import Foundation
public import InferLine

/// What a capacity review decides, read from the recommended provisioning's replay: how many machines of each
/// hardware type to run at peak, when that count changes over the day (runs of windows with the same machines),
/// what it costs, and how far inside the SLO it stayed. Without a replay, the busiest window's plan, all day.
public struct ProvisioningDecision: Sendable, Equatable, Codable {
  /// Consecutive windows with the same machines.
  public struct Run: Sendable, Equatable, Codable {
    /// Nanoseconds in the log's time base: the first window's start, the last window's end.
    public var start: Int64
    public var end: Int64
    /// The most machines (replicas) of each hardware type at any moment of these windows.
    public var machines: [String: Int]
  }

  /// The recommended provisioning (`PolicyTitle` names it); nil when nothing was replayed.
  public var policy: String?
  /// The run with the most machines by cost per hour (the first of equals): what to run at peak.
  public var peak: Run
  public var runs: [Run]
  /// Dollars per day of the recommended provisioning.
  public var costPerDay: Double
  /// The replay's latency at the SLO's percentile, milliseconds; nil without a replay.
  public var percentileLatencyMs: Double?
  public var sloMs: Double
  public var percentile: Double
  /// Share of queries over the SLO in the replay; nil without one.
  public var missRate: Double?
  public var meetsSLO: Bool
  /// The log's instants are offsets from its start (no clock time).
  public var isRelative: Bool
  /// For a provisioning that scales on live traffic (an autoscaler, the tuner): the fewest machines of each type
  /// at any moment, the mean over the replay (replica-seconds over its span) and how many decisions it made; nil
  /// for a static plan or a schedule, whose runs say it all.
  public var scaling: Scaling? = nil

  public struct Scaling: Sendable, Equatable, Codable {
    public var least: [String: Int]
    public var mean: [String: Double]
    public var decisions: Int
  }

  /// Machines per hardware type of a configuration.
  public static func machines(_ c: PipelineConfiguration) -> [String: Int] {
    c.stages.reduce(into: [:]) { $0[$1.hardware, default: 0] += $1.replicas }
  }

  /// Replicas of each hardware type at instant t. - Complexity: O(timelines x points).
  static func machines(_ timelines: [ReplicaTimeline], at t: Int64) -> [String: Int] {
    timelines.reduce(into: [:]) { $0[$1.hardware, default: 0] += $1.replicas(at: t) }
  }

  /// The most replicas of each hardware type at any instant of `[from, to)`: at `from` and at every change inside.
  /// - Complexity: O(changes x timelines x points).
  static func most(_ timelines: [ReplicaTimeline], from: Int64, to: Int64) -> [String: Int] {
    let instants = Set([from] + timelines.flatMap { $0.points.map(\.time).filter { $0 > from && $0 < to } })
    return instants.reduce(into: [:]) { best, t in best.merge(machines(timelines, at: t), uniquingKeysWith: max) }
  }

  /// The fewest replicas of each hardware type at any instant of the timelines. - Complexity: O(changes x
  /// timelines x points).
  static func least(_ timelines: [ReplicaTimeline]) -> [String: Int] {
    let instants = Set(timelines.flatMap { $0.points.map(\.time) })
    return instants.reduce(into: [:]) { fewest, t in fewest.merge(machines(timelines, at: t), uniquingKeysWith: min) }
  }

  /// The day in one line for a provisioning that scales: "scales on live traffic from 2 CPU and 1 T4 up to the
  /// peak's, 2.4 CPU and 2.2 T4 on average (31 decisions)"; nil for a static plan or a schedule.
  public var scalingLine: String? {
    scaling.map { s in
      let mean = s.mean.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        .map { String(format: "%.1f %@", $0.value, $0.key) }
      let average =
        mean.count > 1 ? mean.dropLast().joined(separator: ", ") + " and " + mean.last! : (mean.first ?? "none")
      return
        "scales on live traffic from \(Self.text(s.least)) up to the peak's, \(average) on average (\(s.decisions) decisions)"
    }
  }

  /// "3 T4 and 2 CPU": counts by hardware type, the most first (then by name); "no machines" when empty.
  public static func text(_ m: [String: Int]) -> String {
    let parts = m.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map {
      "\($0.value) \($0.key)"
    }
    switch parts.count {
    case 0: return "no machines"
    case 1: return parts[0]
    default: return parts.dropLast().joined(separator: ", ") + " and " + parts.last!
    }
  }

  /// The day's changes in one line: "2 T4 and 1 CPU at least; 14:00-18:00 add 2 T4", or "the same all day".
  /// At most `limit` changes are listed, then how many more. Times in `zone` (clock times from the log's start
  /// for a relative log).
  public func scheduleLine(zone: DefaultTimeZone, limit: Int = 4) -> String {
    guard runs.count > 1 else { return "the same all day" }
    var base: [String: Int] = runs[0].machines
    for run in runs {
      for h in Set(base.keys).union(run.machines.keys) { base[h] = min(base[h] ?? 0, run.machines[h] ?? 0) }
    }
    let extra = runs.compactMap { run -> String? in
      let added = run.machines.reduce(into: [String: Int]()) { $0[$1.key] = $1.value - (base[$1.key] ?? 0) }
        .filter { $0.value > 0 }
      guard !added.isEmpty else { return nil }
      return "\(ClockText.span(run.start, run.end, zone: zone, relative: isRelative)) add \(Self.text(added))"
    }
    let shown = extra.prefix(limit).joined(separator: "; ")
    let more = extra.count > limit ? "; and \(extra.count - limit) more changes (see the replica timeline)" : ""
    return "\(Self.text(base)) at least; " + shown + more
  }

  /// "P99 277 ms against the 400 ms SLO (31% to spare), 0.08% of queries over (1% allowed)", or what it missed.
  public var marginText: String {
    let allowed = PipelineSpec.SLO.allowance(percentile)
    let p = Self.number(percentile)
    guard let latency = percentileLatencyMs, let missRate else {
      return "planned for P\(p) within the \(Self.number(sloMs)) ms SLO; nothing was replayed"
    }
    let over = String(format: "%.2f%% of queries over (%@%% allowed)", missRate * 100, Self.number(allowed * 100))
    if !meetsSLO { return "misses the SLO: \(over), P\(p) \(Self.number(latency.rounded())) ms" }
    let spare = (1 - latency / sloMs) * 100
    let margin = spare >= 0 ? String(format: "%.0f%% to spare", spare) : "over it at the percentile"
    return
      "P\(p) \(Self.number(latency.rounded())) ms against the \(Self.number(sloMs)) ms SLO (\(margin)), \(over)"
  }

  static func number(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(format: "%g", x)
  }
}

extension ProvisioningDecision {
  /// - Returns: nil when the report has neither a replay nor a plan (no window could be planned).
  /// - Complexity: O(windows x timeline points x stages).
  public init?(_ r: CapacityReport) {
    let length = Int64(r.windowLengthSeconds * 1e9)
    let starts = r.windows.map(\.start)
    let first = starts.first ?? r.workload.start
    var perWindow: [[String: Int]]
    if let replay = r.recommendedReplay, !replay.timelines.isEmpty {
      perWindow = starts.map { ProvisioningDecision.most(replay.timelines, from: $0, to: $0 + length) }
      if replay.decisions > 0 && replay.policy != "schedule" {
        let seconds = max(replay.hours * 3600, 1e-9)
        scaling = Scaling(
          least: ProvisioningDecision.least(replay.timelines),
          mean: replay.replicaSecondsByHardware.mapValues { $0 / seconds }, decisions: replay.decisions)
      }
      policy = replay.policy
      percentileLatencyMs = replay.percentileLatencyMs
      missRate = replay.missRate
      meetsSLO = r.recommendationMeetsSLO
    } else if let plan = r.recommended {
      let all = ProvisioningDecision.machines(plan)
      perWindow = starts.map { _ in all }
      policy = nil
      percentileLatencyMs = nil
      missRate = nil
      meetsSLO = r.unattainableWindows == 0 && (r.windowsWithoutPlanFound ?? 0) == 0
    } else {
      return nil
    }
    if perWindow.isEmpty { perWindow = [[:]] }
    var runs: [Run] = []
    for (i, machines) in perWindow.enumerated() {
      let start = i < starts.count ? starts[i] : first
      if let last = runs.last, last.machines == machines {
        runs[runs.count - 1].end = start + length
      } else {
        runs.append(Run(start: start, end: start + length, machines: machines))
      }
    }
    self.runs = runs
    let prices = r.hardwarePrices
    func perHour(_ m: [String: Int]) -> Double { m.reduce(0) { $0 + Double($1.value) * (prices[$1.key] ?? 0) } }
    peak = runs.reduce(runs[0]) { perHour($1.machines) > perHour($0.machines) + 1e-12 ? $1 : $0 }
    costPerDay = r.costPerDay
    sloMs = r.sloMs
    percentile = r.percentile
    isRelative = r.workload.isRelative
  }
}

/// Clock times of the log's instants for people: `14:00`, `14:00-15:00`, in a zone.
public enum ClockText {
  /// `HH:mm` of instant t (nanoseconds) in `zone`; for a relative log, hours and minutes from its start.
  public static func time(_ t: Int64, zone: DefaultTimeZone, relative: Bool) -> String {
    let seconds = wholeSeconds(t)
    let local = relative ? seconds : seconds + Int64(offset(zone, at: seconds))
    if relative && local >= 86_400 {
      return String(format: "%d:%02d", Int(local / 3600), Int(local % 3600 / 60))
    }
    let day = ((local % 86_400) + 86_400) % 86_400
    return String(format: "%02d:%02d", Int(day / 3600), Int(day % 3600 / 60))
  }

  /// `2026-11-28`: the date of instant t (nanoseconds) in `zone`.
  public static func date(_ t: Int64, zone: DefaultTimeZone) -> String {
    let seconds = wholeSeconds(t)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(secondsFromGMT: offset(zone, at: seconds)) ?? TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
  }

  /// Whole seconds since the epoch of instant t (nanoseconds), rounded down.
  static func wholeSeconds(_ t: Int64) -> Int64 {
    t / 1_000_000_000 - (t < 0 && t % 1_000_000_000 != 0 ? 1 : 0)
  }

  /// `14:00-15:00`.
  public static func span(_ start: Int64, _ end: Int64, zone: DefaultTimeZone, relative: Bool) -> String {
    time(start, zone: zone, relative: relative) + "-" + time(end, zone: zone, relative: relative)
  }

  /// The zone's offset from UTC at an instant (seconds since the epoch), seconds.
  static func offset(_ zone: DefaultTimeZone, at seconds: Int64) -> Int {
    switch zone {
    case .utc: 0
    case .fixed(seconds: let s): s
    case .named(let z): z.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
  }
}
