public import Foundation
import InferLine
public import InferLineNight
import Mustache

/// The fleet's report folder: `index.html` (the fleet's totals and a section per pipeline), `charts/`,
/// `report.json` (a `FleetReport`), `summary.md`, and each pipeline's full report in a folder of its own, all
/// swapped in at once as a single report.
extension ReportWriter {
  /// Writes the fleet into a folder whose lock the caller took before its analysis.
  /// - Throws: `InputError` or file errors; the destination is untouched unless it succeeds.
  public static func write(_ fleet: FleetReport, to folder: borrowing ReportFolder, templates: URL? = nil) throws {
    try folder.fill { temporary in
      let folders = pipelineFolders(fleet.pipelines.map(\.pipelineName))
      for (report, name) in zip(fleet.pipelines, folders) {
        let directory = temporary.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writeFiles(report, into: directory, templates: templates, inFleet: true)
      }
      var svgs: [String: String] = [:]
      for chart in ReportCharts.fleet(fleet) { svgs[chart.name] = try ChartRenderer.write(chart, to: temporary) }
      let (template, path) = try template(templates, fleet: true)
      let html = TerminalText.showingBidiControls(
        template.render(fleetContext(fleet, charts: svgs, folders: folders)))
      guard !html.allSatisfy(\.isWhitespace) else {
        throw InputError(
          file: path, "the fleet template renders to nothing", fix: "start from Templates/fleet.mustache")
      }
      try html.write(to: temporary.appendingPathComponent("index.html"), atomically: false, encoding: .utf8)
      try encoder().encode(fleet).write(to: temporary.appendingPathComponent("report.json"))
      try fleetSummaryMarkdown(fleet).write(
        to: temporary.appendingPathComponent("summary.md"), atomically: false, encoding: .utf8)
    }
  }

  /// A folder name per pipeline, from its name: lowercase letters, digits and dashes, at most 60 characters,
  /// unique (`-2`, `-3` added), never `charts`; `pipeline-N` when nothing is left of the name.
  static func pipelineFolders(_ names: [String]) -> [String] {
    var used: Set<String> = ["charts"]
    return names.enumerated().map { i, name in
      var slug = ""
      for c in name.lowercased().unicodeScalars {
        if ("a"..."z").contains(c) || ("0"..."9").contains(c) {
          slug.unicodeScalars.append(c)
        } else if !slug.isEmpty, slug.last != "-" {
          slug += "-"
        }
      }
      while slug.hasSuffix("-") { slug.removeLast() }
      slug = String(slug.prefix(60))
      if slug.isEmpty { slug = "pipeline-\(i + 1)" }
      var unique = slug
      var n = 2
      while used.contains(unique) {
        unique = "\(slug)-\(n)"
        n += 1
      }
      used.insert(unique)
      return unique
    }
  }

  /// The fleet's busiest window: the window start with the highest planned cost summed over pipelines.
  static func fleetPeak(_ f: FleetReport) -> (start: Int64, costPerHour: Double)? {
    var sums: [Int64: Double] = [:]
    for r in f.pipelines { for w in r.windows { sums[w.start, default: 0] += w.costPerHour ?? 0 } }
    return sums.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.map { ($0.key, $0.value) }
  }

  static func instant(_ t: Int64, _ f: FleetReport) -> String {
    InstantText.describe(t, relative: f.pipelines.first?.workload.isRelative ?? false)
  }

  /// The window starting at t as clock times in the report's zone, with its date: `14:00-15:00 UTC on 2026-11-28`
  /// (a log in relative time: `2:00-3:00 from the log's start`).
  static func windowText(_ t: Int64, _ f: FleetReport) -> String {
    guard let r = f.pipelines.first else { return instant(t, f) }
    let end = t + Int64(r.windowLengthSeconds * 1e9)
    let relative = r.workload.isRelative
    let span = ClockText.span(t, end, zone: zone(r), relative: relative)
    return relative
      ? "\(span) from the log's start" : "\(span) \(r.timeZone ?? "UTC") on \(ClockText.date(t, zone: zone(r)))"
  }

  /// The values the fleet template sees; every name from an input goes through Mustache's `{{ }}` escaping.
  static func fleetContext(_ f: FleetReport, charts: [String: String], folders: [String]) -> [String: Any] {
    let chosen = f.totals.recommended
    let attained =
      f.totals.unattainableWindows == 0 && (f.totals.windowsWithoutPlanFound ?? 0) == 0
      && (chosen?.pipelinesMissingSLO.isEmpty ?? false)
    let recommendedRows: [[String: Any]] = (chosen.map { [$0] } ?? []).map { p in
      [
        "name": "recommended (each pipeline's)", "costPerDay": money(p.costPerDay),
        "costPerMonth": money(p.costPerDay * 30), "misses": percent(p.missRate), "saving": "",
        "why": fleetSavingExplanation(recommended: p, alternative: p),
        "missing": p.pipelinesMissingSLO.isEmpty ? "none" : p.pipelinesMissingSLO.joined(separator: ", "),
      ]
    }
    let policies: [[String: Any]] =
      recommendedRows
      + f.totals.policies.map { p -> [String: Any] in
        let saving =
          chosen == nil || p.costPerDay <= 0
          ? "" : String(format: "%.1f%%", (p.costPerDay - chosen!.costPerDay) / p.costPerDay * 100)
        return [
          "name": PolicyTitle.of(p.policy),
          "costPerDay": money(p.costPerDay), "costPerMonth": money(p.costPerDay * 30), "misses": percent(p.missRate),
          "saving": saving, "why": chosen.map { fleetSavingExplanation(recommended: $0, alternative: p) } ?? "",
          "missing": p.pipelinesMissingSLO.isEmpty ? "none" : p.pipelinesMissingSLO.joined(separator: ", "),
        ]
      }
    let hardwareTotal = f.totals.costPerDayByHardware.values.reduce(0, +)
    let hardware: [[String: Any]] = f.totals.costPerDayByHardware.sorted { $0.value > $1.value }.map { hw, cost in
      [
        "type": hw, "costPerDay": money(cost), "costPerMonth": money(cost * 30),
        "share": hardwareTotal > 0 ? String(format: "%.0f%%", cost / hardwareTotal * 100) : "n/a",
      ]
    }
    let pipelines: [[String: Any]] = zip(f.pipelines, folders).map { r, folder in
      let busiest = r.windows.filter { $0.configuration != nil }.max { $0.queries < $1.queries }
      let t = r.recommendedReplay
      let savings = r.allReplays.filter { $0.policy != t?.policy }.compactMap { b -> String? in
        guard let t, b.cost > 0 else { return nil }
        let misses = !Recommendation.meets(b, PipelineSpec.SLO.allowance(r.percentile))
        return String(format: "%@ %.0f%%", PolicyTitle.of(b.policy), (b.cost - t.cost) / b.cost * 100)
          + (misses ? " (it misses the SLO)" : "")
      }
      return [
        "name": r.pipelineName, "anchor": "pipeline-\(folder)", "link": "\(folder)/index.html",
        "percentile": String(format: "%g", r.percentile), "sloMs": String(format: "%g", r.sloMs),
        "queries": r.workload.queries, "meanRate": String(format: "%.2f", r.workload.meanRate),
        "peakRate": String(format: "%.0f", r.workload.peakRate1s), "costPerDay": money(r.costPerDay),
        "share": f.totals.costPerDay > 0 ? String(format: "%.0f%%", r.costPerDay / f.totals.costPerDay * 100) : "n/a",
        "misses": t.map { percent($0.missRate) } ?? "not replayed",
        "attainmentClass": r.recommendationMeetsSLO ? "good" : "bad",
        "recommendedPolicy": r.recommendation.map { PolicyTitle.of($0.policy) } ?? "none",
        "peakWindow": busiest.map { InstantText.describe($0.start, relative: r.workload.isRelative) } ?? "none planned",
        "peakPlan": describe(busiest?.configuration, r), "peakCost": money(busiest?.costPerHour),
        "peakWhy": busiest?.explanation.map { whyText($0, percentile: r.percentile) } ?? "",
        "savings": savings.isEmpty ? "n/a" : "against " + savings.joined(separator: ", "),
      ]
    }
    let starts = f.pipelines.map(\.workload.start), ends = f.pipelines.map(\.workload.end)
    let peak = fleetPeak(f)
    let dearest = f.totals.policies.filter { $0.pipelinesMissingSLO.isEmpty }.max { $0.costPerDay < $1.costPerDay }
    var headline = String(
      format: "The fleet costs $%@ a day ($%@ a month) with each pipeline's recommended provisioning",
      money(f.totals.costPerDay), money(f.totals.costPerMonth))
    if let chosen, !chosen.pipelinesMissingSLO.isEmpty {
      headline =
        "No replayed provisioning kept the SLO of \(chosen.pipelinesMissingSLO.joined(separator: ", ")). " + headline
    }
    if let peak {
      headline += String(
        format: "; the busiest window is %@ at $%@ an hour", windowText(peak.start, f), money(peak.costPerHour))
    }
    if let dearest, let chosen, dearest.costPerDay > 0 {
      headline += String(
        format: "; of the alternatives that meet every SLO, %@ is dearest at $%@ a day (the recommendation is %@)",
        PolicyTitle.of(dearest.policy), money(dearest.costPerDay),
        CostComparison.sentence(
          side(chosen), side(dearest), aName: "the recommendation", bName: PolicyTitle.of(dearest.policy)))
    }
    headline += "."
    var context: [String: Any] = [
      "pipelineCount": f.pipelines.count, "queries": f.totals.queries,
      "start": starts.min().map { instant($0, f) } ?? "", "end": ends.max().map { instant($0, f) } ?? "",
      "generatedAt": f.generatedAt, "version": f.toolVersion, "seed": String(f.seed), "schema": f.schemaVersion,
      "costPerDay": money(f.totals.costPerDay), "costPerMonth": money(f.totals.costPerMonth),
      "attainmentClass": attained ? "good" : "bad",
      "attainment": attained
        ? "met by every pipeline"
        : "missed by \(counted(chosen?.pipelinesMissingSLO.count ?? f.pipelines.count, "pipeline"))",
      "peakWindow": peak.map { windowText($0.start, f) } ?? "none planned", "headline": headline,
      "tunerMisses": f.pipelines.compactMap { r -> [String: Any]? in
        guard let s = r.recommendation?.tunerShortfall else { return nil }
        return [
          "name": r.pipelineName,
          "text": s.summary(allowed: PipelineSpec.SLO.allowance(r.percentile)),
          "recommended": r.recommendation.map { PolicyTitle.of($0.policy) } ?? "none",
        ]
      },
      "policies": policies, "hardware": hardware, "pipelines": pipelines,
      "hasUnplanned": !f.unplannedQueries.isEmpty,
      "budgetPipelines": f.pipelines.map(\.pipelineName),
      "hasForecast": f.pipelines.contains { $0.forecast?.months.isEmpty == false },
      "budget": fleetBudget(f).map { row -> [String: Any] in
        [
          "traffic": row.label, "months": row.perPipeline.map { $0.map(money) ?? "no plan" },
          "total": row.total.map(money) ?? "n/a",
        ]
      },
      "unplanned": f.unplannedQueries.sorted { $0.key < $1.key }.map { ["name": $0.key, "queries": $0.value] },
      "chartPolicies": charts["fleet-policies"] ?? "", "chartHours": charts["fleet-windows"] ?? "",
    ]
    if f.totals.unattainableWindows > 0 { context["unattainable"] = counted(f.totals.unattainableWindows, "window") }
    if let count = f.totals.windowsWithoutPlanFound, count > 0 { context["withoutPlan"] = counted(count, "window") }
    if let p = f.previous { context["previous"] = previousContext(p) }
    context["decision"] = fleetDecision(f, folders: folders)
    return context
  }

  /// The fleet's first screen: per pipeline what to run at peak, the day's changes, the provisioning, its cost and
  /// SLO margin; the fleet's machines (each pipeline at its own peak), cost, change and the export command.
  static func fleetDecision(_ f: FleetReport, folders: [String]) -> [String: Any] {
    var total: [String: Int] = [:]
    let rows: [[String: Any]] = zip(f.pipelines, folders).map { r, folder in
      var row: [String: Any] = ["name": r.pipelineName, "link": "\(folder)/index.html"]
      guard let decision = ProvisioningDecision(r) else {
        row["peakLabel"] = "Nothing planned"
        row["peakMachines"] = "see its report"
        row["marginClass"] = "bad"
        return row
      }
      for (h, n) in decision.peak.machines { total[h, default: 0] += n }
      return row.merging(decisionContext(r, decision)) { a, _ in a }
    }
    var context: [String: Any] = [
      "rows": rows, "totalMachines": ProvisioningDecision.text(total), "costPerDay": money(f.totals.costPerDay),
      "exportCommand": "inferline export report.json --to kubernetes --image IMAGE --model-repository URI --out deploy",
    ]
    if let e = f.pipelines.first.flatMap(extrapolation) { context["extrapolated"] = e }
    if let p = f.previous {
      context["change"] =
        "\(costChange(p, unit: "dollars per day")) for the fleet (was $\(money(p.previousCostPerDay)))"
        + (p.changes.isEmpty
          ? "" : "; " + p.changes.prefix(2).joined(separator: "; ") + (p.changes.count > 2 ? "; ..." : ""))
        + "."
    }
    return context
  }

  /// A fleet total as one side of a comparison: it meets when every pipeline met its SLO.
  static func side(_ p: FleetReport.PolicyTotal) -> ComparedSide {
    ComparedSide(
      cost: p.costPerDay, meetsSLO: p.pipelinesMissingSLO.isEmpty,
      missDetail: "misses the SLO of " + p.pipelinesMissingSLO.joined(separator: ", "))
  }

  /// The fleet's recommended provisioning against one alternative, in words, from both sides' costs and misses
  /// (`CostComparison`); against itself, which SLOs it keeps.
  static func fleetSavingExplanation(
    recommended t: FleetReport.PolicyTotal, alternative a: FleetReport.PolicyTotal
  ) -> String {
    guard a.policy != t.policy else {
      return t.pipelinesMissingSLO.isEmpty
        ? "meets every pipeline's SLO" : "misses the SLO of \(t.pipelinesMissingSLO.joined(separator: ", "))"
    }
    return CostComparison.sentence(side(t), side(a), aName: "the recommendation", bName: "this alternative")
  }

  /// The month's budget at today's traffic and under each growth factor: per pipeline, this month's cost scaled
  /// by the busiest window's plan at that traffic against today's (an estimate: the day's shape is kept and every
  /// hour is assumed to grow like the busiest); nil where a pipeline has no plan at that traffic. With a history
  /// (`--history`), the next 30 days' forecast rows follow: expected, and the 80% and 95% upper bounds (the fleet's
  /// bound is the sum of the pipelines', every pipeline at its bound at once: at least the fleet's own).
  static func fleetBudget(_ f: FleetReport) -> [(label: String, perPipeline: [Double?], total: Double?)] {
    func total(_ months: [Double?]) -> Double? { months.contains { $0 == nil } ? nil : months.map { $0! }.reduce(0, +) }
    let factors = Array(Set(f.pipelines.flatMap { $0.growth.map(\.factor) })).sorted()
    var rows: [(String, [Double?], Double?)] = [("today's", f.pipelines.map { $0.costPerMonth }, f.totals.costPerMonth)]
    for factor in factors where factor != 1 {
      let months = f.pipelines.map { r -> Double? in
        guard let today = r.recommendedCostPerHour, today > 0,
          let grown = r.growth.first(where: { $0.factor == factor })?.costPerHour
        else { return nil }
        return r.costPerMonth * grown / today
      }
      rows.append((String(format: "%gx", factor), months, total(months)))
    }
    if f.pipelines.contains(where: { $0.forecast?.months.isEmpty == false }) {
      for (i, bound) in ["expected", "80% upper bound", "95% upper bound"].enumerated() {
        let months = f.pipelines.map { r in r.forecast?.months.first?.lines[i].costPerMonth }
        rows.append(("forecast, next 30 days, \(bound)", months, total(months)))
      }
    }
    return rows
  }

  /// A short Markdown summary of the fleet for a change ticket; every name from input escaped.
  public static func fleetSummaryMarkdown(_ f: FleetReport) -> String {
    var lines = [
      "# Fleet capacity report: \(f.pipelines.count) pipelines", "",
      "- Fleet cost per day: $\(money(f.totals.costPerDay)); per month: $\(money(f.totals.costPerMonth))",
    ]
    let forecast = fleetBudget(f).filter { $0.label.hasPrefix("forecast") }
    if forecast.count == 3 {
      let totals = forecast.map { $0.total.map { "$" + money($0) } ?? "n/a (a pipeline has no forecast or plan)" }
      lines.append(
        "- Budget for the next 30 days from history: \(totals[0]) expected, \(totals[1]) at the 80% upper bound, \(totals[2]) at the 95%"
      )
    }
    for r in f.pipelines {
      lines.append(
        "- **What to run for \(MarkdownText.escape(r.pipelineName))**: "
          + (decisionMarkdown(r) ?? "nothing: no window could be planned"))
      if let warning = r.forecast.flatMap(ForecastText.backtestWarning) {
        lines.append("- **\(MarkdownText.escape(r.pipelineName)): \(MarkdownText.escape(warning))**")
      }
    }
    if let peak = fleetPeak(f) {
      lines.append("- Busiest window: \(windowText(peak.start, f)), $\(money(peak.costPerHour))/h planned")
    }
    if let chosen = f.totals.recommended {
      if !chosen.pipelinesMissingSLO.isEmpty {
        lines.append(
          "- **No replayed provisioning kept the SLO of \(MarkdownText.escape(chosen.pipelinesMissingSLO.joined(separator: ", ")))**"
        )
      }
      lines.append(
        "- Recommended (each pipeline's): $\(money(chosen.costPerDay))/day, \(percent(chosen.missRate)) over the SLO; \(MarkdownText.escape(fleetSavingExplanation(recommended: chosen, alternative: chosen)))"
      )
      for p in f.totals.policies {
        lines.append(
          "- \(MarkdownText.escape(PolicyTitle.of(p.policy))): $\(money(p.costPerDay))/day, \(percent(p.missRate)) over the SLO; the recommendation against it: \(MarkdownText.escape(fleetSavingExplanation(recommended: chosen, alternative: p)))"
        )
      }
    }
    for r in f.pipelines {
      lines.append(
        "- Pipeline \(MarkdownText.escape(r.pipelineName)): $\(money(r.costPerDay))/day with the \(MarkdownText.escape(r.recommendation.map { PolicyTitle.of($0.policy) } ?? "no recommendation")); busiest window's plan \(MarkdownText.escape(describe(r.recommended, r)))"
          + (r.recommendedReplay.map { "; \(percent($0.missRate)) over the SLO" } ?? ""))
    }
    for (name, count) in f.unplannedQueries.sorted(by: { $0.key < $1.key }) {
      lines.append("- Not planned: \(count) queries of \(MarkdownText.escape(name)) (no pipeline file given)")
    }
    if f.totals.unattainableWindows > 0 {
      lines.append("- **\(counted(f.totals.unattainableWindows, "window")) cannot meet their SLO**")
    }
    if let count = f.totals.windowsWithoutPlanFound, count > 0 {
      lines.append(
        "- **\(counted(count, "window")) without a plan: the search budget ran out before it found one or showed that none exists**"
      )
    }
    if let p = f.previous { lines.append(previousMarkdown(p)) }
    lines.append("")
    lines.append("Seed \(f.seed), inferline \(f.toolVersion), generated \(f.generatedAt).")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Reads a `report.json` of either kind: a fleet's, or one pipeline's as a fleet of one (`isFleet` false).
  /// - Throws: as `load(path:)`.
  public static func loadFleet(path: String) throws -> (fleet: FleetReport, isFleet: Bool) {
    struct Kind: Decodable { var kind: String? }
    if let data = FileManager.default.contents(atPath: path),
      (try? decoder().decode(Kind.self, from: data))?.kind == FleetReport.kind
    {
      do {
        let fleet = try decoder().decode(FleetReport.self, from: data)
        try checkSchema(fleet.schemaVersion, path: path)
        return (fleet, true)
      } catch let e as InputError {
        throw e
      } catch {
        throw InputError(
          file: path, "not a fleet report: \(DecodingErrorText.describe(error))",
          fix: "name a report.json that inferline wrote")
      }
    }
    return (FleetReport(single: try load(path: path)), false)
  }
}
