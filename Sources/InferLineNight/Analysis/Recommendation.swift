import Foundation
public import InferLine

/// What the report recommends for one pipeline: the cheapest provisioning among those replayed over the whole log
/// that met the SLO there: at most `1 - percentile` of queries over it, and fewer than `minuteAllowance` (2%) of
/// its minutes with more than that share over it (a P99 alert evaluated per minute rarely fires). It is measured,
/// never assumed: the tuner is recommended only when its replay met the SLO and nothing cheaper did.
public struct Recommendation: Sendable, Equatable, Codable {
  /// One replayed provisioning.
  public struct Candidate: Sendable, Equatable, Codable {
    /// The replay's policy (`inferline`, `static`, `schedule`, `predictive`, `hpa`, `CG-Peak`, ...).
    public var policy: String
    /// Dollars over the log.
    public var cost: Double
    public var missRate: Double
    /// Minutes with more than the allowance over the SLO, and minutes in all (nil in reports before they were
    /// counted).
    public var minutesOver: Int?
    public var minutes: Int?
    public var meetsSLO: Bool
  }

  /// Every provisioning replayed, in the report's order.
  public var candidates: [Candidate]
  /// The policy recommended: the cheapest that met the SLO or, when none did, the one with the fewest misses.
  public var policy: String
  /// False when no replayed provisioning met the SLO over the log: the report says so first, and `report` exits 4.
  public var meetsSLO: Bool
  /// The share of queries the SLO percentile allows over it.
  public var allowedMissRate: Double
  /// When the InferLine tuner missed its SLO: where and why.
  public var tunerShortfall: Shortfall?

  /// Where a replay missed its SLO: the minutes over the allowance and the scaling decisions just before the
  /// first of them.
  public struct Shortfall: Sendable, Equatable, Codable {
    public var missRate: Double
    /// Minutes (from the first arrival) whose share over the SLO exceeds the allowance, and that share; at most
    /// `Shortfall.minuteLimit` of the worst, in time order.
    public var minutes: [Minute]
    /// Minutes over the allowance in all.
    public var minutesOver: Int
    /// The replica decisions within one provisioning delay (and a minute) before the first bad minute.
    public var decisionsBefore: [Decision]
    /// The reason in words, computed from the decisions: replicas released shortly before, or capacity asked for
    /// too late to serve.
    public var reason: String

    public struct Minute: Sendable, Equatable, Codable {
      /// Minutes since the first arrival.
      public var index: Int
      public var missRate: Double
    }
    public struct Decision: Sendable, Equatable, Codable {
      /// Nanoseconds in the trace's time base.
      public var time: Int64
      public var stage: String
      public var from: Int
      public var to: Int
    }
    static let minuteLimit = 10

    /// The shortfall in one sentence, for every page that shows it: the share over the SLO against `allowed`, the
    /// minutes over the allowance and the reason.
    public func summary(allowed: Double) -> String {
      String(
        format: "%.3f%% of queries over the SLO (%g%% allowed), %d minute(s) above the allowance; %@.",
        missRate * 100, allowed * 100, minutesOver, reason)
    }
  }

  /// The recommendation from the replays of one pipeline (the standard policies and the baselines).
  /// - Parameters:
  ///   - percentile: the SLO percentile (99 for P99).
  ///   - start: the first arrival, nanoseconds; `lookBack` the longest provisioning delay, nanoseconds.
  /// - Complexity: O(replays + minutes + decisions).
  public static func choose(
    replays: [ReplayResult], percentile: Double, start: Int64 = 0, lookBack: Int64 = 120_000_000_000
  ) -> Recommendation? {
    guard !replays.isEmpty else { return nil }
    let allowed = PipelineSpec.SLO.allowance(percentile)
    let candidates = replays.map {
      Candidate(
        policy: $0.policy, cost: $0.cost, missRate: $0.missRate, minutesOver: minutesOver($0, allowed),
        minutes: $0.missRatePerMinute.count, meetsSLO: meets($0, allowed))
    }
    let meeting = candidates.filter(\.meetsSLO)
    // Among those costing the same as the cheapest (as the savings table says it), the fewest queries over; ties in
    // that go to the earlier candidate (the report's order puts the tuner first).
    let cheapest = meeting.map(\.cost).min()
    let chosen =
      cheapest.flatMap { c in meeting.filter { CostComparison.sameCost($0.cost, c) }.min { $0.missRate < $1.missRate } }
      ?? candidates.min { $0.missRate < $1.missRate || ($0.missRate == $1.missRate && $0.cost < $1.cost) }!
    let tuner = replays.first { $0.policy == "inferline" }
    return Recommendation(
      candidates: candidates, policy: chosen.policy, meetsSLO: chosen.meetsSLO, allowedMissRate: allowed,
      tunerShortfall: tuner.flatMap {
        meets($0, allowed) ? nil : shortfall($0, allowed: allowed, start: start, lookBack: lookBack)
      })
  }

  /// Fewer than this share of a replay's minutes may have more than the allowance over the SLO (0.02: 2%).
  public static let minuteAllowance = 0.02

  /// Minutes of a replay with more than `allowed` of their queries over the SLO. - Complexity: O(minutes).
  public static func minutesOver(_ r: ReplayResult, _ allowed: Double) -> Int {
    r.missRatePerMinute.filter { $0 > allowed + 1e-12 }.count
  }

  /// Whether a replay kept the SLO: at most `allowed` of its queries over it, and fewer than `minuteAllowance` of
  /// its minutes with more than `allowed` over it. - Complexity: O(minutes).
  public static func meets(_ r: ReplayResult, _ allowed: Double) -> Bool {
    meets(r.missRate, allowed)
      && Double(minutesOver(r, allowed)) < minuteAllowance * Double(max(1, r.missRatePerMinute.count)) - 1e-9
  }

  /// True when a miss rate is within the allowance (a rounding error's tolerance); the share of queries only (a
  /// replay also counts its minutes: `meets(_:_:)` with a `ReplayResult`).
  public static func meets(_ missRate: Double, _ allowed: Double) -> Bool { missRate <= allowed + 1e-12 }

  /// Where and why a replay missed. - Complexity: O(minutes + decisions).
  static func shortfall(_ r: ReplayResult, allowed: Double, start: Int64, lookBack: Int64) -> Shortfall {
    let over = r.missRatePerMinute.enumerated().filter { $0.element > allowed + 1e-12 }
    let worst = over.sorted { $0.element > $1.element }.prefix(Shortfall.minuteLimit).sorted { $0.offset < $1.offset }
    var decisions: [Shortfall.Decision] = []
    if let first = over.first {
      let bad = start + Int64(first.offset) * 60_000_000_000
      let from = bad - lookBack - 60_000_000_000
      for t in r.timelines {
        for (i, p) in t.points.enumerated() where i > 0 && p.time >= from && p.time < bad + 60_000_000_000 {
          decisions.append(.init(time: p.time, stage: t.stage, from: t.points[i - 1].replicas, to: p.replicas))
        }
      }
      decisions.sort { $0.time < $1.time }
    }
    let reason: String
    if over.isEmpty {
      reason = "misses spread thinly over the log, no single minute over the allowance"
    } else if decisions.contains(where: { $0.to < $0.from }) {
      reason =
        "replicas were released shortly before, and the traffic came back before new ones could be provisioned"
    } else if decisions.contains(where: { $0.to > $0.from }) {
      reason = "replicas were added, but the traffic rose faster than they could be provisioned"
    } else {
      reason = "the replicas held through the minute were too few for its traffic"
    }
    return Shortfall(
      missRate: r.missRate, minutes: worst.map { .init(index: $0.offset, missRate: $0.element) },
      minutesOver: over.count, decisionsBefore: Array(decisions.prefix(12)), reason: reason)
  }
}

/// One side of a cost comparison: a provisioning's cost and whether it kept the SLO, with how far it missed.
public struct ComparedSide: Sendable, Equatable {
  public var cost: Double
  public var meetsSLO: Bool
  /// How far it missed, in words ("0.500% over, 1% allowed"); shown only when it misses.
  public var missDetail: String

  /// A replay's side: its share of queries over the SLO and its minutes over the allowance
  /// (`Recommendation.meets`); the detail names whichever it broke.
  public init(replay r: ReplayResult, allowed: Double) {
    cost = r.cost
    meetsSLO = Recommendation.meets(r, allowed)
    let over = Recommendation.minutesOver(r, allowed)
    let minutes = max(1, r.missRatePerMinute.count)
    missDetail =
      Recommendation.meets(r.missRate, allowed)
      ? String(
        format: "%d of %d minutes over %g%%, fewer than %g%% allowed", over, minutes, allowed * 100,
        Recommendation.minuteAllowance * 100)
      : String(format: "%.3f%% over, %g%% allowed", r.missRate * 100, allowed * 100)
  }

  /// A fleet's side, or any other whose verdict is known.
  public init(cost: Double, meetsSLO: Bool, missDetail: String) {
    self.cost = cost
    self.meetsSLO = meetsSLO
    self.missDetail = missDetail
  }
}

/// The one place that words a comparison of two provisionings: "cheaper", "both meet", "dearer because" are all
/// computed here from both sides' costs and misses, so no sentence is true of one side only.
public enum CostComparison {
  /// How `a` compares with `b` in cost: within half a cent (or 0.05%) is the same.
  public enum Order: Sendable, Equatable { case cheaper, same, dearer }

  public static func order(_ a: ComparedSide, _ b: ComparedSide) -> Order {
    if sameCost(a.cost, b.cost) { return .same }
    return a.cost < b.cost ? .cheaper : .dearer
  }

  /// Whether two costs (dollars) are the same as the report says it: within half a cent or 0.05% of the larger.
  public static func sameCost(_ a: Double, _ b: Double) -> Bool {
    abs(a - b) <= max(0.005, 0.0005 * max(abs(a), abs(b)))
  }

  /// `a` against `b` in one sentence, from `a`'s side: its cost relative to `b`'s (a percentage of `b`'s) and which
  /// of the two meet the SLO, with the shares over it of those that miss.
  /// - Parameters: aName, bName: how the sentence names each side ("the recommendation", "this alternative").
  public static func sentence(
    _ a: ComparedSide, _ b: ComparedSide, aName: String = "the recommendation", bName: String = "this alternative"
  ) -> String {
    let costPart: String
    switch order(a, b) {
    case .same: costPart = "costs the same"
    case .cheaper:
      costPart = b.cost > 0 ? String(format: "%.1f%% cheaper", (b.cost - a.cost) / b.cost * 100) : "cheaper"
    case .dearer:
      costPart = b.cost > 0 ? String(format: "%.1f%% dearer", (a.cost - b.cost) / b.cost * 100) : "dearer"
    }
    func over(_ s: ComparedSide) -> String { s.missDetail }
    switch (a.meetsSLO, b.meetsSLO) {
    case (true, true): return "\(costPart), and both meet the SLO"
    case (true, false):
      return order(a, b) == .dearer
        ? "\(costPart) because \(bName) misses the SLO (\(over(b)))"
        : "\(costPart), and only \(aName) meets the SLO (\(bName): \(over(b)))"
    case (false, true):
      return "\(costPart), but \(aName) misses the SLO (\(over(a))) where \(bName) meets it"
    case (false, false):
      return "\(costPart); both miss the SLO (\(aName): \(over(a)); \(bName): \(over(b)))"
    }
  }
}

/// What a replay's policy is called for a reader.
public enum PolicyTitle {
  /// `inferline` -> "InferLine tuner", `schedule` -> "per-window schedule", ...; unknown names as they are.
  public static func of(_ policy: String) -> String {
    switch policy {
    case "inferline": "InferLine tuner"
    case "static": "static busiest-window plan"
    case Headroom.staticPolicy: "static plan with headroom"
    case Headroom.tunerPolicy: "InferLine tuner from the plan with headroom"
    case "schedule": "per-window schedule"
    case "predictive": "predictive scaling"
    case "hpa": "Kubernetes HPA"
    case "ray": "Ray Serve autoscaler"
    case "kpa": "Knative KPA"
    case BaselineResult.peak: "\(BaselineResult.peak) (one unit, static)"
    case BaselineResult.mean: "\(BaselineResult.mean) (one unit, static)"
    case CapacityAnalysis.coarseGrainedAutoscaling: "CG unit under HPA"
    default: policy
    }
  }
}

/// This night's figures beside the InferLine paper's headline (SoCC 2020): up to 7.6x lower cost than CG-Peak,
/// up to 34.5x fewer SLO misses than coarse-grained autoscaling.
public struct PaperHeadline: Sendable, Equatable {
  public static let paperCostRatio = 7.6
  public static let paperMissRatio = 34.5

  public struct Row: Sendable, Equatable {
    /// "cost against CG-Peak" or "SLO misses against coarse-grained autoscaling", and whose.
    public var claim: String
    public var paper: Double
    /// The other side's figure over ours (cost or miss rate); nil when undefined (see `text`).
    public var ratio: Double?
    /// The ratio in words, whichever way it falls.
    public var text: String
    /// The two figures it comes from.
    public var from: String
  }
  public var rows: [Row]

  /// The rows for the recommended provisioning and, when it is another, for the InferLine tuner; empty when the
  /// report has no CG-Peak or CG unit under HPA replay.
  public init(_ r: CapacityReport) {
    var subjects: [ReplayResult] = []
    if let rec = r.recommendedReplay { subjects.append(rec) }
    if let t = r.tunerReplay, !subjects.contains(where: { $0.policy == t.policy }) { subjects.append(t) }
    let peak = r.baselineReplays.first { $0.policy == BaselineResult.peak }
    let cg = r.baselineReplays.first { $0.policy == CapacityAnalysis.coarseGrainedAutoscaling }
    rows = []
    for s in subjects {
      let name = PolicyTitle.of(s.policy) + (s.policy == r.recommendation?.policy ? " (recommended)" : "")
      if let peak {
        let ratio = s.cost > 0 ? peak.cost / s.cost : nil
        rows.append(
          Row(
            claim: "cost against CG-Peak, \(name)", paper: Self.paperCostRatio, ratio: ratio,
            text: ratio.map { Self.times($0, better: "cheaper", worse: "dearer") } ?? "n/a (no cost)",
            from: String(format: "CG-Peak $%.2f, %@ $%.2f over the log", peak.cost, name, s.cost)))
      }
      if let cg {
        let ratio: Double? = s.missRate > 0 && cg.missRate > 0 ? cg.missRate / s.missRate : nil
        let text: String
        if let ratio {
          text = Self.times(ratio, better: "fewer misses", worse: "more misses")
        } else if s.missRate > 0 {
          text = "more misses: the CG unit under HPA misses none"
        } else {
          text = cg.missRate > 0 ? "no misses, against the CG unit's" : "neither misses"
        }
        rows.append(
          Row(
            claim: "SLO misses against the CG unit under HPA, \(name)", paper: Self.paperMissRatio, ratio: ratio,
            text: text,
            from: String(
              format: "CG unit under HPA %.3f%%, %@ %.3f%% of queries over the SLO", cg.missRate * 100, name,
              s.missRate * 100)))
      }
    }
  }

  /// "3.1x cheaper", "1.00x (the same)", "0.8x: 1.25x dearer".
  static func times(_ ratio: Double, better: String, worse: String) -> String {
    if abs(ratio - 1) < 0.005 { return "1.00x (the same)" }
    return ratio > 1
      ? String(format: "%.2fx %@", ratio, better) : String(format: "%.2fx: %.2fx %@", ratio, 1 / ratio, worse)
  }
}
