public import Foundation
public import InferLine
import Mustache

/// The fleet's report folder: `index.html` (the fleet's totals and a section per pipeline), `charts/`,
/// `report.json` (a `FleetReport`), `summary.md`, and each pipeline's full report in a folder of its own, all
/// swapped in at once as a single report.
extension ReportWriter {
  /// Writes the fleet into a folder whose lock the caller took before its analysis.
  /// - Throws: `InputError` or file errors; the destination is untouched unless it succeeds.
  public static func write(_ fleet: FleetReport, to folder: borrowing ReportFolder, templates: URL? = nil) throws {
    let temporary = try folder.makeTemporary()
    do {
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
      try folder.swapIn(temporary)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
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

  /// The values the fleet template sees; every name from an input goes through Mustache's `{{ }}` escaping.
  static func fleetContext(_ f: FleetReport, charts: [String: String], folders: [String]) -> [String: Any] {
    let tuner = f.totals.policies.first { $0.policy == "inferline" }
    let attained = f.totals.unattainableWindows == 0 && (tuner?.pipelinesMissingSLO.isEmpty ?? false)
    let policies: [[String: Any]] = f.totals.policies.map { p in
      let saving =
        p.policy == "inferline" || tuner == nil || p.costPerDay <= 0
        ? "" : String(format: "%.1f%%", (p.costPerDay - tuner!.costPerDay) / p.costPerDay * 100)
      return [
        "name": p.policy == "inferline" ? "InferLine tuner (recommended)" : p.policy,
        "costPerDay": money(p.costPerDay), "costPerMonth": money(p.costPerDay * 30), "misses": percent(p.missRate),
        "saving": saving, "why": tuner.map { fleetSavingExplanation(tuner: $0, alternative: p) } ?? "",
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
      let t = r.tunerReplay
      let savings = (r.replays.filter { $0.policy != "inferline" } + r.baselineReplays).compactMap { b -> String? in
        guard let t, b.cost > 0 else { return nil }
        let misses = b.missRate > (1 - r.percentile / 100) + 1e-12
        return String(format: "%@ %.0f%%", b.policy, (b.cost - t.cost) / b.cost * 100)
          + (misses ? " (it misses the SLO)" : "")
      }
      return [
        "name": r.pipelineName, "anchor": "pipeline-\(folder)", "link": "\(folder)/index.html",
        "percentile": String(format: "%g", r.percentile), "sloMs": String(format: "%g", r.sloMs),
        "queries": r.workload.queries, "meanRate": String(format: "%.2f", r.workload.meanRate),
        "peakRate": String(format: "%.0f", r.workload.peakRate1s), "costPerDay": money(r.costPerDay),
        "share": f.totals.costPerDay > 0 ? String(format: "%.0f%%", r.costPerDay / f.totals.costPerDay * 100) : "n/a",
        "misses": t.map { percent($0.missRate) } ?? "not replayed",
        "attainmentClass": (t.map { $0.missRate <= (1 - r.percentile / 100) + 1e-12 } ?? false) ? "good" : "bad",
        "peakWindow": busiest.map { InstantText.describe($0.start, relative: r.workload.isRelative) } ?? "none planned",
        "peakPlan": describe(busiest?.configuration, r), "peakCost": money(busiest?.costPerHour),
        "peakWhy": busiest?.explanation.map { whyText($0, percentile: r.percentile) } ?? "",
        "savings": savings.isEmpty ? "n/a" : "against " + savings.joined(separator: ", "),
      ]
    }
    let starts = f.pipelines.map(\.workload.start), ends = f.pipelines.map(\.workload.end)
    let peak = fleetPeak(f)
    let dearest = f.totals.policies.filter { $0.policy != "inferline" && $0.pipelinesMissingSLO.isEmpty }
      .max { $0.costPerDay < $1.costPerDay }
    var headline = String(
      format: "The fleet costs $%@ a day ($%@ a month) with InferLine's plans and tuner", money(f.totals.costPerDay),
      money(f.totals.costPerMonth))
    if let peak {
      headline += String(
        format: "; the busiest window is %@ at $%@ an hour", instant(peak.start, f), money(peak.costPerHour))
    }
    if let dearest, let tuner, dearest.costPerDay > 0 {
      headline += String(
        format: "; of the alternatives that meet every SLO, %@ is dearest at $%@ a day (InferLine saves %.0f%%)",
        dearest.policy, money(dearest.costPerDay), (dearest.costPerDay - tuner.costPerDay) / dearest.costPerDay * 100)
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
        : "missed by \((tuner?.pipelinesMissingSLO.count ?? f.pipelines.count)) pipeline(s)",
      "peakWindow": peak.map { instant($0.start, f) } ?? "none planned", "headline": headline,
      "policies": policies, "hardware": hardware, "pipelines": pipelines,
      "hasUnplanned": !f.unplannedQueries.isEmpty,
      "budgetPipelines": f.pipelines.map(\.pipelineName),
      "budget": fleetBudget(f).map { row -> [String: Any] in
        [
          "traffic": row.factor == 1 ? "today's" : String(format: "%gx", row.factor),
          "months": row.perPipeline.map { $0.map(money) ?? "no plan" }, "total": row.total.map(money) ?? "n/a",
        ]
      },
      "unplanned": f.unplannedQueries.sorted { $0.key < $1.key }.map { ["name": $0.key, "queries": $0.value] },
      "chartPolicies": charts["fleet-policies"] ?? "", "chartHours": charts["fleet-windows"] ?? "",
    ]
    if f.totals.unattainableWindows > 0 { context["unattainable"] = f.totals.unattainableWindows }
    if let p = f.previous { context["previous"] = previousContext(p) }
    return context
  }

  /// Why the fleet under InferLine costs what it does against one alternative, in words: a negative saving is
  /// never shown bare.
  static func fleetSavingExplanation(tuner t: FleetReport.PolicyTotal, alternative a: FleetReport.PolicyTotal) -> String
  {
    guard a.policy != t.policy else {
      return t.pipelinesMissingSLO.isEmpty
        ? "meets every pipeline's SLO" : "misses the SLO of \(t.pipelinesMissingSLO.joined(separator: ", "))"
    }
    let misses = a.pipelinesMissingSLO
    if t.costPerDay <= a.costPerDay {
      return misses.isEmpty
        ? "cheaper, and both meet every SLO"
        : "cheaper; this alternative also misses the SLO of \(misses.count) pipeline(s)"
    }
    if !misses.isEmpty { return "dearer because this alternative misses the SLO of \(misses.joined(separator: ", "))" }
    return "dearer: this alternative meets every SLO for less on this log"
  }

  /// The month's budget at today's traffic and under each growth factor: per pipeline, this month's cost scaled
  /// by the busiest window's plan at that traffic against today's (an estimate: the day's shape is kept and every
  /// hour is assumed to grow like the busiest); nil where a pipeline has no plan at that traffic.
  static func fleetBudget(_ f: FleetReport) -> [(factor: Double, perPipeline: [Double?], total: Double?)] {
    let factors = Array(Set(f.pipelines.flatMap { $0.growth.map(\.factor) })).sorted()
    var rows: [(Double, [Double?], Double?)] = [(1, f.pipelines.map { $0.costPerMonth }, f.totals.costPerMonth)]
    for factor in factors where factor != 1 {
      let months = f.pipelines.map { r -> Double? in
        guard let today = r.recommendedCostPerHour, today > 0,
          let grown = r.growth.first(where: { $0.factor == factor })?.costPerHour
        else { return nil }
        return r.costPerMonth * grown / today
      }
      rows.append((factor, months, months.contains { $0 == nil } ? nil : months.map { $0! }.reduce(0, +)))
    }
    return rows
  }

  /// A short Markdown summary of the fleet for a change ticket; every name from input escaped.
  public static func fleetSummaryMarkdown(_ f: FleetReport) -> String {
    var lines = [
      "# Fleet capacity report: \(f.pipelines.count) pipelines", "",
      "- Fleet cost per day: $\(money(f.totals.costPerDay)); per month: $\(money(f.totals.costPerMonth))",
    ]
    if let peak = fleetPeak(f) {
      lines.append("- Busiest window: \(instant(peak.start, f)), $\(money(peak.costPerHour))/h planned")
    }
    let tuner = f.totals.policies.first { $0.policy == "inferline" }
    if let tuner {
      lines.append(
        "- InferLine tuner (recommended): $\(money(tuner.costPerDay))/day, \(percent(tuner.missRate)) over the SLO; \(fleetSavingExplanation(tuner: tuner, alternative: tuner))"
      )
    }
    for p in f.totals.policies where p.policy != "inferline" {
      let saving =
        tuner.map {
          p.costPerDay > 0 ? String(format: "%.1f%%", (p.costPerDay - $0.costPerDay) / p.costPerDay * 100) : "n/a"
        } ?? "n/a"
      let why = tuner.map { "; \(fleetSavingExplanation(tuner: $0, alternative: p))" } ?? ""
      lines.append(
        "- \(MarkdownText.escape(p.policy)): $\(money(p.costPerDay))/day, \(percent(p.missRate)) over the SLO; InferLine saves \(saving)\(MarkdownText.escape(why))"
      )
    }
    for r in f.pipelines {
      lines.append(
        "- Pipeline \(MarkdownText.escape(r.pipelineName)): $\(money(r.costPerDay))/day; recommended (busiest window) \(MarkdownText.escape(describe(r.recommended, r)))"
          + (r.tunerReplay.map { "; \(percent($0.missRate)) over the SLO" } ?? ""))
    }
    for (name, count) in f.unplannedQueries.sorted(by: { $0.key < $1.key }) {
      lines.append("- Not planned: \(count) queries of \(MarkdownText.escape(name)) (no pipeline file given)")
    }
    if f.totals.unattainableWindows > 0 {
      lines.append("- **\(f.totals.unattainableWindows) window(s) cannot meet their SLO**")
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
