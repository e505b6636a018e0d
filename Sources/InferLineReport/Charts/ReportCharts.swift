import Foundation
import InferLine
public import InferLineNight

/// The report's charts, built from a `CapacityReport` (the renderer reads nothing else).
public enum ReportCharts {
  public static func all(_ r: CapacityReport) -> [Chart] {
    [
      arrivalRate(r), envelope(r), costPerWindow(r), hardwareMix(r), replicaTimeline(r), latencyCDF(r), frontier(r),
      baselines(r),
    ] + (r.forecast.map { historyCharts($0) } ?? [])
  }

  /// The history's charts: daily queries with the forecast's fan (when there is a forecast), cost per day with each
  /// forecast month's (when there are costs), and the backtest's share over the SLO per night (when it replayed any).
  static func historyCharts(_ f: BudgetForecast) -> [Chart] {
    guard let tonight = f.nights.last.flatMap({ HistoryNight.dayNumber($0.date) }) else { return [] }
    let days = f.nights.compactMap { n in HistoryNight.dayNumber(n.date).map { (n, Double($0 - tonight)) } }
    let axis = Chart.Axis(label: "days from tonight (\(f.nights.last!.date))")
    let tonightMarker = Chart.Marker(value: 0, vertical: true, label: "tonight")
    var charts: [Chart] = []
    if let q = f.queries {
      // A band as one closed outline: the upper bound forward, the lower bound back.
      func band(_ upper: [Double], _ lower: [Double]) -> [(x: Double, y: Double)] {
        upper.enumerated().map { (x: Double($0.offset + 1), y: $0.element) }
          + lower.enumerated().reversed().map { (x: Double($0.offset + 1), y: $0.element) }
      }
      charts.append(
        Chart(
          name: "history-traffic", title: "Queries a day: history and forecast",
          description:
            "Each night's queries (scaled to 24 h where its log was shorter), and the forecast for the next 90 days: its mean and the outlines of its 80% and 95% intervals.",
          x: axis, y: .init(label: "queries a day", includeZero: true),
          content: .xy(
            series: [
              .init(name: "nights", points: days.map { (x: $0.1, y: $0.0.dailyQueries) }),
              .init(
                name: "forecast mean", points: q.mean.enumerated().map { (x: Double($0.offset + 1), y: $0.element) }),
              .init(name: "80% interval", points: band(q.upper80, q.lower80), style: .dashed),
              .init(name: "95% interval", points: band(q.upper95, q.lower95), style: .dashed),
            ], markers: [tonightMarker])))
    }
    var costSeries: [Chart.Series] = []
    let costs = days.compactMap { n, x in n.costPerDay.map { (x: x, y: $0) } }
    if !costs.isEmpty { costSeries.append(.init(name: "nights' cost per day", points: costs, style: .points)) }
    for m in f.months {
      for line in m.lines {
        guard let month = line.costPerMonth else { continue }
        costSeries.append(
          .init(
            name: "\(ForecastText.horizon(m)), \(line.bound)",
            points: [(Double(m.firstDay), month / 30), (Double(m.lastDay), month / 30)],
            style: line.bound == "expected" ? .line : .dashed))
      }
    }
    if !f.months.isEmpty && !costSeries.isEmpty {
      charts.append(
        Chart(
          name: "history-cost", title: "Cost per day: history and forecast",
          description:
            "Each earlier report's cost per day, and the cost per day of the next 30 days and of days 61-90 at the forecast's expected busiest window and its 80% and 95% upper bounds (each planned).",
          x: axis, y: .init(label: "$ per day", includeZero: true),
          content: .xy(series: costSeries, markers: [tonightMarker])))
    }
    if let b = f.backtest, !b.nights.isEmpty {
      let points = b.nights.compactMap { n in
        HistoryNight.dayNumber(n.date).map { (x: Double($0 - tonight), y: n.missRate * 100) }
      }
      charts.append(
        Chart(
          name: "history-backtest", title: "Backtest: queries over the SLO on each earlier night",
          description:
            "The share of each earlier night's queries over the SLO when tonight's recommendation serves it; the horizontal line is the share the SLO allows.",
          x: axis, y: .init(label: "% of queries over the SLO", includeZero: true),
          content: .xy(
            series: [.init(name: "\(PolicyTitle.of(b.policy)) on the night", points: points, style: .points)],
            markers: [.init(value: b.allowedMissRate * 100, vertical: false, label: "allowed")])))
    }
    return charts
  }

  static func hours(_ t: Int64, _ r: CapacityReport) -> Double { Double(t - r.workload.start) / 3.6e12 }

  /// The log's start for a time axis: "00:00 UTC on 2026-11-28" in the reader's zone, or "the log's start".
  static func startLabel(_ r: CapacityReport) -> String {
    guard !r.workload.isRelative else { return "the log's start" }
    let zone = ReportWriter.zone(r)
    return
      "\(ClockText.time(r.workload.start, zone: zone, relative: false)) \(zone) on \(ClockText.date(r.workload.start, zone: zone))"
  }

  static func arrivalRate(_ r: CapacityReport) -> Chart {
    let points = r.workload.ratePerMinute.enumerated().map { (x: Double($0.offset) / 60, y: $0.element) }
    let boundaries = r.windows.dropFirst().map { Chart.Marker(value: hours($0.start, r), vertical: true) }
    return Chart(
      name: "arrival-rate", title: "Arrival rate over time",
      description: "Queries per second in each minute of the log, with the workload window boundaries dashed.",
      x: .init(label: "hours since \(startLabel(r))"), y: .init(label: "queries per second", includeZero: true),
      content: .xy(series: [.init(name: "queries per second, each minute's mean", points: points)], markers: boundaries)
    )
  }

  static func envelope(_ r: CapacityReport) -> Chart {
    let sizes = r.workload.envelopeSizesSeconds
    var series: [Chart.Series] = [
      .init(name: "observed (whole log)", points: zip(sizes, r.workload.envelopeRates).map { ($0, $1) }),
      .init(
        name: "planned (tuner's grid, busiest window)",
        points: zip(r.workload.plannedEnvelopeSizesSeconds, r.workload.plannedEnvelopeRates).map { ($0, $1) }),
    ]
    // The token-bucket fit as the one curve it is, the least of the buckets' bounds at each length: it hugs the
    // observed envelope from above, so it stays on the chart (a single bucket's line leaves it where it is loose).
    let buckets = r.workload.tokenBuckets
    if !buckets.isEmpty {
      series.append(
        .init(
          name: "token-bucket bound (\(buckets.count) buckets)",
          points: sizes.map { d in (d, buckets.map { ($0.burst + $0.rate * d) / d }.min()!) }, style: .dashed))
    }
    return Chart(
      name: "arrival-envelope", title: "Arrival envelope",
      description:
        "The most queries in any interval of each length, as a rate, for the whole log and for the busiest window the plan was made for, with the token-bucket bound: the least over the fitted buckets of (burst + rate x length) / length (log-log).",
      x: .init(label: "window length (s)", scale: .log), y: .init(label: "queries per second", scale: .log),
      content: .xy(series: series, markers: []))
  }

  static func hardwareTypes(_ r: CapacityReport) -> [String] {
    Array(Set(r.windows.flatMap { $0.costByHardware.keys }).union(r.recommended?.stages.map(\.hardware) ?? [])).sorted()
  }

  static func windowLabel(_ t: Int64, _ r: CapacityReport) -> String {
    let text = InstantText.describe(t, relative: r.workload.isRelative)
    return r.workload.isRelative ? text : String(text.dropFirst(11).prefix(5))
  }

  static func costPerWindow(_ r: CapacityReport) -> Chart {
    let types = hardwareTypes(r)
    let bars = r.windows.map { w in
      Chart.Bar(category: windowLabel(w.start, r), segments: types.map { w.costByHardware[$0] ?? 0 })
    }
    return Chart(
      name: "cost-per-window", title: "Planned cost per window, by hardware",
      description: "Dollars per hour of each window's plan, stacked by hardware type.",
      x: .init(label: "window start"), y: .init(label: "$ per hour", includeZero: true),
      content: .bars(bars: bars, segmentNames: types))
  }

  static func hardwareMix(_ r: CapacityReport) -> Chart {
    let types = hardwareTypes(r)
    let bars = r.stages.enumerated().map { i, stage in
      Chart.Bar(
        category: stage.name,
        segments: types.map { t in
          Double(r.windows.compactMap(\.configuration).filter { $0.stages[i].hardware == t }.count)
        })
    }
    return Chart(
      name: "hardware-mix", title: "Hardware mix per stage",
      description: "How many windows' plans put each stage on each hardware type.",
      x: .init(label: "stage"), y: .init(label: "windows", includeZero: true),
      content: .bars(bars: bars, segmentNames: types))
  }

  static func replicaTimeline(_ r: CapacityReport) -> Chart {
    let end = hours(r.workload.end, r)
    let series = ((r.recommendedReplay ?? r.tunerReplay)?.timelines ?? []).map { t -> Chart.Series in
      var points: [(x: Double, y: Double)] = t.points.map { p in (x: hours(p.time, r), y: Double(p.replicas)) }
      points.append((x: end, y: Double(t.points.last?.replicas ?? 0)))
      return Chart.Series(name: "\(t.stage) (\(t.hardware))", points: points, style: .step)
    }
    return Chart(
      name: "replica-timeline",
      title:
        "Replicas per stage under the \(PolicyTitle.of((r.recommendedReplay ?? r.tunerReplay)?.policy ?? "inferline"))",
      description:
        "Replica count of each stage over the log as the recommended provisioning decides it (billed from the decision).",
      x: .init(label: "hours since \(startLabel(r))"), y: .init(label: "replicas", includeZero: true, integer: true),
      content: .xy(series: series, markers: []))
  }

  static func latencyCDF(_ r: CapacityReport) -> Chart {
    // The share axis in "nines" (-log10 of the share over), so 90%, 99%, 99.9% and 99.99% are evenly spaced and the
    // tail that decides the SLO is not squeezed into the top pixels; 100% has no place on it and is left out.
    var points: [(x: Double, y: Double)] = []
    for (ms, percent) in zip(r.latencyCDFMs, r.cdfPercents) where ms.isFinite && ms > 0 && percent < 100 {
      points.append((x: ms, y: nines(percent)))
    }
    return Chart(
      name: "latency-cdf", title: "Predicted end-to-end latency",
      description: String(
        format:
          "Share of queries at or under each latency in the tuner's replay (%d points, the tail stretched: 90%%, 99%%, 99.9%% evenly spaced), with the SLO of %g ms marked.",
        points.count, r.sloMs),
      x: .init(label: "latency (ms)", scale: .log),
      y: .init(label: "% of queries at or under (tail stretched)", includeZero: true, format: ninesLabel),
      content: .xy(
        series: [.init(name: "InferLine tuner", points: points)],
        markers: [
          .init(value: r.sloMs, vertical: true, label: String(format: "SLO %g ms", r.sloMs)),
          .init(value: nines(r.percentile), vertical: false, label: String(format: "P%g", r.percentile)),
        ]))
  }

  /// `-log10(1 - percent / 100)`: 1 for 90%, 2 for 99%, 3 for 99.9%.
  static func nines(_ percent: Double) -> Double { -log10(1 - percent / 100) }

  /// The percent a position on the nines axis stands for, with the digits it needs (`99.9%`).
  @Sendable static func ninesLabel(_ v: Double) -> String {
    let percent = (1 - pow(10, -v)) * 100
    let digits = max(0, min(4, Int(v.rounded(.up)) - 2))
    return String(format: "%.\(digits)f%%", percent)
  }

  static func frontier(_ r: CapacityReport) -> Chart {
    let points = r.frontier.compactMap { p in p.costPerHour.map { (x: p.sloMs, y: $0) } }
    let chosen = r.frontier.filter { abs($0.sloMs - r.sloMs) < 1e-9 }.compactMap { p in
      p.costPerHour.map { (x: p.sloMs, y: $0) }
    }
    return Chart(
      name: "cost-vs-slo", title: "Cost against SLO (busiest window)",
      description:
        "The cheapest plan's cost for a range of SLOs: the budget each latency objective needs. The chosen SLO is the marked point.",
      x: .init(label: "SLO (ms)"), y: .init(label: "$ per hour", includeZero: true),
      content: .xy(
        series: [.init(name: "frontier", points: points), .init(name: "chosen SLO", points: chosen, style: .points)],
        markers: []))
  }

  static func baselines(_ r: CapacityReport) -> Chart {
    let all = r.replays + r.baselineReplays
    let series = all.map { Chart.Series(name: $0.policy, points: [(x: $0.cost, y: $0.missRate * 100)], style: .points) }
    return Chart(
      name: "baselines", title: "InferLine against coarse-grained provisioning and autoscalers",
      description:
        "Cost over the log against the share of queries over the SLO, for the InferLine tuner, static provisioning, the autoscaler baselines, CG-Peak and CG-Mean.",
      x: .init(label: "cost over the log ($)", includeZero: true),
      y: .init(label: "% of queries over the SLO", includeZero: true),
      content: .xy(series: series, markers: []))
  }
}

extension ReportCharts {
  /// The fleet page's charts: each way to provision the fleet by pipeline, and the planned cost of each window
  /// stacked by pipeline.
  public static func fleet(_ f: FleetReport) -> [Chart] { [fleetPolicies(f), fleetWindows(f)] }

  static func fleetPolicies(_ f: FleetReport) -> Chart {
    let names = f.pipelines.map(\.pipelineName)
    let bars = f.totals.policies.map { total in
      Chart.Bar(
        category: total.policy,
        segments: f.pipelines.map { r in
          guard let p = r.replay(policy: total.policy) ?? r.baselineReplays.first(where: { $0.policy == total.policy }),
            p.hours > 0
          else { return 0 }
          return p.cost / p.hours * 24
        })
    }
    return Chart(
      name: "fleet-policies", title: "The fleet's cost per day, by way of provisioning",
      description:
        "Dollars per day of each policy replayed over the log (the InferLine tuner, static, the autoscalers, CG-Peak, CG-Mean), stacked by pipeline.",
      x: .init(label: "provisioning"), y: .init(label: "$ per day", includeZero: true),
      content: .bars(bars: bars, segmentNames: names))
  }

  static func fleetWindows(_ f: FleetReport) -> Chart {
    let names = f.pipelines.map(\.pipelineName)
    let starts = Array(Set(f.pipelines.flatMap { $0.windows.map(\.start) })).sorted()
    let costs = f.pipelines.map { r in
      Dictionary(r.windows.map { ($0.start, $0.costPerHour ?? 0) }, uniquingKeysWith: +)
    }
    let reference = f.pipelines.first { !$0.windows.isEmpty }
    let bars = starts.map { t in
      Chart.Bar(
        category: reference.map { windowLabel(t, $0) } ?? String(t), segments: costs.map { $0[t] ?? 0 })
    }
    return Chart(
      name: "fleet-windows", title: "Planned cost per window, by pipeline",
      description:
        "Dollars per hour of each window's plan, stacked by pipeline: the hours that drive the fleet's cost.",
      x: .init(label: "window start"), y: .init(label: "$ per hour", includeZero: true),
      content: .bars(bars: bars, segmentNames: names))
  }
}
