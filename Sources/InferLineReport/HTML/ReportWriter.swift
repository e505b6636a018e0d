public import Foundation
import InferLine
public import InferLineNight
import Mustache
import Synchronization

/// Writes a report folder: `index.html` (from a Mustache template, charts inline), `charts/*.svg|png`,
/// `report.json` and `summary.md`. The folder is built under a temporary name beside the destination and renamed
/// into place at the end, so a failed run leaves the previous report as it was.
public enum ReportWriter {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// SHA-256 of a file, hex, reading it in blocks.
  public static func sha256(path: String) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "unreadable" }
    defer { try? handle.close() }
    var hasher = SHA256.Hasher()
    while let data = try? handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(data) }
    return SHA256.hex(hasher.finalize())
  }

  /// Size and hash of each input file.
  public static func describeInputs(_ files: [(role: String, path: String)]) -> [CapacityReport.InputFile] {
    files.map { f in
      let size = (try? FileManager.default.attributesOfItem(atPath: f.path)[.size] as? Int) ?? 0
      return .init(role: f.role, path: f.path, bytes: size, sha256: sha256(path: f.path))
    }
  }

  public static func encoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    e.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return e
  }

  public static func decoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return d
  }

  /// Reads a `report.json`, checking its schema version.
  public static func load(path: String) throws -> CapacityReport {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError(file: path, "cannot read the report", fix: "name a report.json that an earlier run wrote")
    }
    do {
      let report = try decoder().decode(CapacityReport.self, from: data)
      try checkSchema(report.schemaVersion, path: path)
      return report
    } catch let e as InputError {
      throw e
    } catch {
      throw InputError(
        file: path, "not a capacity report: \(DecodingErrorText.describe(error))",
        fix: "name a report.json that inferline wrote")
    }
  }

  /// Writes the folder. - Throws: `InputError` or file errors; the destination is untouched unless it succeeds.
  /// - Parameter templates: a folder with a team's own `report.mustache`; nil uses the one built into inferline.
  public static func write(_ report: CapacityReport, to destination: URL, templates: URL? = nil) throws {
    let folder = try ReportFolder(destination)
    try write(report, to: folder, templates: templates)
  }

  /// Writes into a folder whose lock the caller took before its analysis (`ReportFolder`): everything is made in
  /// a temporary folder beside it, then swapped in at once.
  public static func write(_ report: CapacityReport, to folder: borrowing ReportFolder, templates: URL? = nil) throws {
    try folder.fill { temporary in try writeFiles(report, into: temporary, templates: templates) }
  }

  /// One pipeline's files into `directory`: charts, index.html, report.json, summary.md. `inFleet` adds the link
  /// back to the fleet's page.
  static func writeFiles(_ report: CapacityReport, into directory: URL, templates: URL?, inFleet: Bool = false) throws {
    var svgs: [String: String] = [:]
    for chart in ReportCharts.all(report) { svgs[chart.name] = try ChartRenderer.write(chart, to: directory) }
    let html = try renderHTML(report, charts: svgs, templates: templates, inFleet: inFleet)
    try html.write(to: directory.appendingPathComponent("index.html"), atomically: false, encoding: .utf8)
    try encoder().encode(report).write(to: directory.appendingPathComponent("report.json"))
    try summaryMarkdown(report).write(
      to: directory.appendingPathComponent("summary.md"), atomically: false, encoding: .utf8)
  }

  /// "proven optimal", or the gap the search could not close, or how the plan was found.
  /// A window's proof and what the search's budget bought: "proven optimal after 312 simulations", "not proven:
  /// within 4.2% of the lower bound (the budget of 2,000 simulations ran out)"; for a window without a plan, what
  /// the search spent when a budget stopped it.
  static func proof(_ w: CapacityReport.WindowResult) -> String {
    guard w.configuration != nil else {
      return w.search.flatMap { $0.stoppedBy == nil ? nil : "not proven: \($0.description)" } ?? ""
    }
    if w.provenOptimal == true {
      return "proven optimal" + (w.method.map { $0 == "optimal" ? "" : " (\($0))" } ?? "")
        + (w.search.map { " \($0.spent)" } ?? "")
    }
    let gap = w.gap.map { String(format: "not proven: within %.1f%% of the lower bound", $0 * 100) } ?? "not proven"
    return gap + (w.search.map { " (\($0.description))" } ?? "")
  }

  /// The plan table, compact: runs of consecutive windows with the same plan (or the same reason for none) as one
  /// row each, with the span in the reader's zone, the queries, the highest P99, how many were proven optimal and
  /// the greedy planner's largest gap; the busiest window's "why" as a sentence under its run; each window of a run
  /// of several behind a `<details>`.
  static func planRuns(_ r: CapacityReport) -> [[String: Any]] {
    let zone = zone(r)
    let length = Int64(r.windowLengthSeconds * 1e9)
    var runs: [[CapacityReport.WindowResult]] = []
    for w in r.windows {
      if let last = runs.last?.last, last.configuration == w.configuration,
        w.configuration != nil || last.note == w.note
      {
        runs[runs.count - 1].append(w)
      } else {
        runs.append([w])
      }
    }
    return runs.map { run in
      let first = run[0], last = run[run.count - 1]
      let busiest = run.max { $0.queries < $1.queries }!
      let planned = run.filter { $0.configuration != nil }
      let proven = planned.filter { $0.provenOptimal == true }.count
      let latencies = run.compactMap(\.percentileLatencyMs)
      let gaps = run.compactMap(\.greedyGap)
      var row: [String: Any] = [
        "span": ClockText.span(first.start, last.start + length, zone: zone, relative: r.workload.isRelative),
        "count": run.count == 1 ? "1 window" : "\(run.count) windows",
        "queries": run.reduce(0) { $0 + $1.queries },
        "plan": first.configuration == nil ? (first.note ?? "not planned") : describe(first.configuration, r),
        "cost": money(first.costPerHour), "latency": latencies.max().map { ms($0) } ?? "",
        "proof": planned.isEmpty
          ? "" : run.count == 1 ? proof(first) : "\(proven) of \(planned.count) proven optimal",
        "greedy": money(first.greedyCostPerHour),
        "greedyGap": gaps.max().map { String(format: "%+.1f%%", $0 * 100) } ?? "",
      ]
      // Only a run with a plan has a "why": an empty value would still open the row's section.
      if let why = busiest.explanation.map({ whyText($0, percentile: r.percentile) }), !why.isEmpty {
        row["why"] = why
      }
      row["several"] = run.count > 1
      if run.count > 1 {
        row["runWindows"] = run.map { w -> [String: Any] in
          [
            "start": ClockText.time(w.start, zone: zone, relative: r.workload.isRelative), "queries": w.queries,
            "latency": ms(w.percentileLatencyMs), "proof": proof(w),
          ]
        }
      }
      return row
    }
  }

  /// Says so when a coarse-grained baseline costs the same as the recommendation on the busiest window.
  static func baselineNote(_ r: CapacityReport) -> String {
    guard let cost = r.recommendedCostPerHour else { return "" }
    let ties = r.baselines.filter { $0.feasible && abs($0.costPerHour - cost) < 1e-9 }.map(\.name)
    guard !ties.isEmpty else { return "" }
    return
      "On the busiest window \(ties.joined(separator: " and ")) costs the same as the recommended plan: at this load the pipeline as one unit is already the cheapest feasible provisioning."
  }

  static func money(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "n/a" }
  static func ms(_ v: Double?) -> String {
    v.map { $0.isFinite ? String(format: "%.1f", $0) : "never served" } ?? "n/a"
  }
  static func percent(_ v: Double) -> String { String(format: "%.3f%%", v * 100) }
  /// A what-if row's cost: per day for a replay of the log, per hour for a plan of the busiest window.
  static func whatIfCost(_ row: WhatIf.Row) -> String {
    row.costPerDay.map { "$\(money($0))/day" } ?? row.costPerHour.map { "$\(money($0))/h" } ?? ""
  }

  /// The recommendation against one alternative in words, from both sides' costs and misses (`CostComparison`).
  static func comparison(_ rec: ReplayResult, _ other: ReplayResult, percentile: Double) -> String {
    let allowed = PipelineSpec.SLO.allowance(percentile)
    return CostComparison.sentence(
      ComparedSide(replay: rec, allowed: allowed), ComparedSide(replay: other, allowed: allowed))
  }

  /// What to run, in one sentence computed from the recommendation's figures.
  static func recommendationSentence(_ r: CapacityReport) -> String {
    guard let rec = r.recommendation, let replay = r.recommendedReplay else {
      return "No provisioning was replayed: no window of this log has a plan."
    }
    let figures =
      String(
        format:
          "$%@/day, %.3f%% of queries over the SLO (%g%% allowed), %d of %d minutes over it (fewer than %g%% allowed)",
        money(r.costPerDay), replay.missRate * 100, rec.allowedMissRate * 100,
        Recommendation.minutesOver(replay, rec.allowedMissRate), replay.missRatePerMinute.count,
        Recommendation.minuteAllowance * 100)
      + (replay.configuration.map { "; its configuration: " + describe($0, r) } ?? "")
    let meeting = rec.candidates.filter(\.meetsSLO).count
    if rec.meetsSLO {
      return
        "Run the \(PolicyTitle.of(rec.policy)): \(figures). It is the cheapest of the \(meeting) of \(rec.candidates.count) provisionings replayed over this log that kept the SLO."
    }
    return
      "None of the \(rec.candidates.count) provisionings replayed kept the SLO; the \(PolicyTitle.of(rec.policy)) missed least: \(figures)."
  }

  /// The tuner's shortfall for the page: a summary, the worst minutes and the decisions before them.
  static func shortfallContext(_ r: CapacityReport) -> [String: Any]? {
    guard let s = r.recommendation?.tunerShortfall else { return nil }
    let start = r.workload.start
    func at(_ minute: Int) -> String {
      InstantText.describe(start + Int64(minute) * 60_000_000_000, relative: r.workload.isRelative)
    }
    return [
      "summary": s.summary(allowed: PipelineSpec.SLO.allowance(r.percentile)),
      "minutes": s.minutes.map {
        String(format: "minute from %@: %.1f%% over the SLO", at($0.index), $0.missRate * 100)
      },
      "decisions": s.decisionsBefore.map {
        "\(InstantText.describe($0.time, relative: r.workload.isRelative)) \($0.stage) \($0.from) -> \($0.to)"
      }.joined(separator: "; "),
    ]
  }

  /// A latency for people: milliseconds below a second, then seconds, minutes or hours (a queue that never
  /// catches up reaches hours); "never served" when infinite.
  static func latencyText(_ ms: Double) -> String {
    guard ms.isFinite else { return "never served" }
    if ms < 1000 { return String(format: "%.1f ms", ms) }
    if ms < 60_000 { return String(format: "%.1f s", ms / 1000) }
    if ms < 3_600_000 { return String(format: "%.1f min", ms / 60_000) }
    return String(format: "%.1f h", ms / 3_600_000)
  }

  /// A window's plan explained in a line: the binding stage, its share of the SLO and busy fraction, and what
  /// its next cheaper step does.
  static func whyText(_ e: PlanExplanation, percentile: Double) -> String {
    guard let b = e.stages.first(where: { $0.name == e.bindingStage }) else { return "" }
    let p = "P\(String(format: "%g", percentile))"
    let tail = b.p99WaitMs + b.batchLatencyMs
    // A stage's own tail counts only the queries it serves; on a branch some queries skip, it can lie beyond the
    // SLO while the pipeline's P99 is inside it, so it is said as milliseconds, not as a share over 100%.
    var text =
      b.sloShare <= 1
      ? String(
        format: "%@ binds: its P99 wait and batch take %.0f%% of the SLO, %.0f%% busy", b.name, b.sloShare * 100,
        b.utilisation * 100)
      : String(
        format:
          "%@ binds: the most P99 wait and batch of any stage, %@ (its own P99 over the queries it serves, past the SLO while the pipeline's %@ meets it), %.0f%% busy",
        b.name, latencyText(tail), p, b.utilisation * 100)
    if let step = e.cheaper.first(where: { $0.stage == b.name }) {
      text +=
        "; \(step.change): "
        + (step.meetsSLO
          ? "meets the SLO too"
          : "\(p) \(latencyText(step.percentileLatencyMs)), over the SLO")
    }
    return text
  }

  /// The busiest window's plan stage by stage: how busy, its share of the SLO, and its next cheaper step.
  static func busiestWhy(_ r: CapacityReport) -> [[String: Any]] {
    guard let w = r.windows.filter({ $0.configuration != nil }).max(by: { $0.queries < $1.queries }),
      let e = w.explanation
    else { return [] }
    return e.stages.map { s in
      let step = e.cheaper.first { $0.stage == s.name }
      return [
        "stage": s.name, "binding": s.name == e.bindingStage ? "(binds)" : "",
        "utilisation": String(format: "%.0f%%", s.utilisation * 100), "wait": ms(s.p99WaitMs),
        "batch": ms(s.batchLatencyMs), "share": String(format: "%.0f%%", s.sloShare * 100),
        "cheaper": step?.change ?? "none (cheapest hardware, one replica)",
        "cheaperCost": step.map { money($0.costPerHour) } ?? "",
        "cheaperLatency": step.map { latencyText($0.percentileLatencyMs) } ?? "",
        "verdict": step.map { $0.meetsSLO ? "meets the SLO" : "misses the SLO" } ?? "",
      ]
    }
  }

  /// The plan's changes from window to window, as a schedule a team could apply (scheduled scaling): each
  /// window whose plan differs from the one before, with the stages that change.
  static func schedule(_ r: CapacityReport) -> [[String: Any]] {
    var rows: [[String: Any]] = []
    var previous: PipelineConfiguration? = nil
    for w in r.windows {
      guard let c = w.configuration else { continue }
      let changes: [String] = c.stages.indices.compactMap { m in
        let now = c.stages[m]
        guard let was = previous?.stages[m] else { return "\(r.stages[m].name) \(now)" }
        return was == now ? nil : "\(r.stages[m].name) \(was) -> \(now)"
      }
      if !changes.isEmpty {
        rows.append([
          "at": InstantText.describe(w.start, relative: r.workload.isRelative),
          "changes": changes.joined(separator: "; "), "cost": money(w.costPerHour),
        ])
      }
      previous = c
    }
    return rows
  }

  static func describe(_ c: PipelineConfiguration?, _ r: CapacityReport) -> String {
    guard let c else { return "none" }
    return c.describe(stageNames: r.stages.map(\.name), separator: "; ")
  }

  /// The values the template sees. Every string from an input file goes through Mustache's `{{ }}`, which
  /// escapes it; only the charts (our own SVG, rewritten by libxml2) are inserted raw.
  static func context(_ r: CapacityReport, charts: [String: String]) -> [String: Any] {
    let chosen = r.recommendedReplay
    let attained = r.unattainableWindows == 0 && (r.windowsWithoutPlanFound ?? 0) == 0 && r.recommendationMeetsSLO
    let stageRows: [[String: Any]] = zip(r.stages, r.recommended?.stages ?? []).map {
      ["stage": $0.name, "model": $0.model, "hardware": $1.hardware, "batch": $1.batchSize, "replicas": $1.replicas]
    }
    let savings: [[String: Any]] = r.allReplays.filter { $0.policy != chosen?.policy }.map { b in
      let saving =
        chosen.map { b.cost > 0 ? String(format: "%.1f%%", (b.cost - $0.cost) / b.cost * 100) : "n/a" } ?? "n/a"
      return [
        "name": PolicyTitle.of(b.policy), "cost": money(b.cost), "misses": percent(b.missRate), "saving": saving,
        "why": chosen.map { comparison($0, b, percentile: r.percentile) } ?? "",
      ]
    }
    var context: [String: Any] = [
      "pipeline": r.pipelineName, "percentile": String(format: "%g", r.percentile),
      "sloMs": String(format: "%g", r.sloMs),
      "queries": r.workload.queries, "start": InstantText.describe(r.workload.start, relative: r.workload.isRelative),
      "end": InstantText.describe(r.workload.end, relative: r.workload.isRelative), "catalog": r.catalogName,
      "generatedAt": r.generatedAt, "version": r.toolVersion, "seed": String(r.seed), "schema": r.schemaVersion,
      "costPerDay": money(r.costPerDay), "costPerMonth": money(r.costPerMonth),
      "recommendationSentence": recommendationSentence(r),
      "recommendedPolicy": r.recommendation.map { PolicyTitle.of($0.policy) } ?? "none",
      "headline": PaperHeadline(r).rows.map { row -> [String: Any] in
        ["claim": row.claim, "paper": String(format: "%gx", row.paper), "ratio": row.text, "from": row.from]
      },
      "attainment": chosen.map {
        String(
          format: "%.3f%% within the SLO (%g%% needed)", (1 - $0.missRate) * 100, r.percentile)
      } ?? "not planned",
      "attainmentClass": attained ? "good" : "bad", "recommendedCost": money(r.recommendedCostPerHour),
      "recommended": stageRows, "savings": savings,
      "meanRate": String(format: "%.2f", r.workload.meanRate),
      "peakRate": String(format: "%.0f", r.workload.peakRate1s),
      "windowLength": DurationText.describe(nanoseconds: Int64(r.windowLengthSeconds * 1e9)),
      "windows": r.windows.map { w -> [String: Any] in
        [
          "start": InstantText.describe(w.start, relative: r.workload.isRelative), "queries": w.queries,
          "plan": w.configuration == nil ? (w.note ?? "not planned") : describe(w.configuration, r),
          "cost": money(w.costPerHour), "latency": ms(w.percentileLatencyMs),
          "proof": proof(w), "greedy": money(w.greedyCostPerHour),
          "greedyGap": w.greedyGap.map { String(format: "%+.1f%%", $0 * 100) } ?? "",
          "why": w.explanation.map { whyText($0, percentile: r.percentile) } ?? "",
        ]
      },
      "schedule": schedule(r), "planRuns": planRuns(r), "timeZone": "\(zone(r))",
      "busiestWhy": busiestWhy(r),
      "provenWindows": r.windows.filter { $0.provenOptimal == true }.count,
      "plannedWindows": r.windows.filter { $0.configuration != nil }.count,
      "baselineNote": baselineNote(r),
      "replays": (r.replays + r.baselineReplays).map { p -> [String: Any] in
        [
          "policy": PolicyTitle.of(p.policy), "cost": money(p.cost), "misses": percent(p.missRate),
          "latency": ms(p.percentileLatencyMs), "decisions": p.decisions,
        ]
      },
      "growth": r.growth.map { g -> [String: Any] in
        [
          "factor": String(format: "%gx", g.factor), "cost": money(g.costPerHour),
          "plan": g.configuration == nil ? (g.note ?? "none") : describe(g.configuration, r),
          "proof": growthProof(g),
        ]
      },
      "inputs": r.inputs.map {
        ["role": $0.role, "path": $0.path, "bytes": $0.bytes, "sha256": $0.sha256] as [String: Any]
      },
      "ingestion": r.ingestion.map { i -> [String: Any] in
        [
          "file": i.file, "lines": i.lines, "queries": i.queries, "skipped": i.malformedLines,
          "outOfOrder": i.outOfOrder,
          "examples": i.skipped.prefix(3).map { "line \($0.line): \($0.reason)" }.joined(separator: "; "),
          "warnings": i.warnings, "columns": i.columnsText ?? "",
        ]
      },
      "assumptions": r.assumptions,
      "timings": r.timings.sorted { $0.key < $1.key }.map { String(format: "%@: %.2f s", $0.key, $0.value) },
      "chartArrivalRate": charts["arrival-rate"] ?? "", "chartEnvelope": charts["arrival-envelope"] ?? "",
      "chartCostPerWindow": charts["cost-per-window"] ?? "", "chartHardwareMix": charts["hardware-mix"] ?? "",
      "chartReplicaTimeline": charts["replica-timeline"] ?? "", "chartBaselines": charts["baselines"] ?? "",
      "chartLatencyCDF": charts["latency-cdf"] ?? "", "chartFrontier": charts["cost-vs-slo"] ?? "",
    ]
    if r.unattainableWindows > 0 { context["unattainable"] = counted(r.unattainableWindows, "window") }
    if let count = r.windowsWithoutPlanFound, count > 0 { context["withoutPlan"] = counted(count, "window") }
    if let s = shortfallContext(r) { context["tunerShortfall"] = s }
    // Sections with nothing to show say so in words instead of $0.00 cards and empty tables.
    if r.recommended != nil { context["planned"] = true }
    if !(context["busiestWhy"] as? [[String: Any]] ?? []).isEmpty { context["hasBusiestWhy"] = true }
    if !(context["schedule"] as? [[String: Any]] ?? []).isEmpty { context["hasSchedule"] = true }
    if !r.replays.isEmpty { context["hasReplays"] = true }
    context["replayTitle"] = replayTitle(r)
    if let rec = r.recommendation, !rec.meetsSLO {
      context["sloAtRisk"] =
        "The figures below are for the provisioning that missed least; plan for more capacity or a looser SLO."
    }
    if let e = r.escalation {
      context["escalation"] =
        [
          "edge": "\(e.parent) -> \(e.child)", "current": String(format: "%g", e.current),
          "points": e.points.map { p -> [String: Any] in
            [
              "probability": String(format: "%g", p.probability) + (p.probability == e.current ? " (today)" : ""),
              "cost": money(p.costPerHour), "latency": p.percentileLatencyMs.map(latencyText) ?? "",
              "plan": p.configuration == nil ? (p.note ?? "none") : describe(p.configuration, r),
              "proof": p.provenOptimal == true ? "proven optimal" : (p.configuration == nil ? "" : "not proven"),
            ]
          },
        ] as [String: Any]
    }
    if let whatIfs = r.whatIfs, !whatIfs.isEmpty {
      context["whatIfs"] = whatIfs.map { w -> [String: Any] in
        [
          "title": w.title, "assumption": w.assumption,
          // The serverless columns only where some row has a serverless tier.
          "serverless": w.rows.contains { $0.overflowQueries != nil },
          "hasRows": !w.rows.isEmpty,
          "rows": w.rows.map { row -> [String: Any] in
            [
              "name": row.name, "cost": whatIfCost(row), "misses": row.missRate.map(percent) ?? "",
              "latency": row.percentileLatencyMs.map(latencyText) ?? "",
              "overflow": row.overflowQueries.map(String.init) ?? "",
              "coldStarts": row.coldStarts.map(String.init) ?? "",
              "plan": [row.configuration.map { describe($0, r) }, row.note].compactMap { $0 }.joined(separator: "; "),
            ]
          },
        ]
      }
    }
    if let p = r.previous { context["previous"] = previousContext(p) }
    if let f = r.forecast {
      context["forecast"] = ForecastText.context(f, r)
      context["chartHistoryTraffic"] = charts["history-traffic"] ?? ""
      context["chartHistoryCost"] = charts["history-cost"] ?? ""
      context["chartBacktest"] = charts["history-backtest"] ?? ""
    }
    if let d = decisionContext(r) { context["decision"] = d } else { context["undecided"] = decisionNotes(r) }
    if let c = r.calibration {
      func triple(_ v: [Double]) -> String { v.map { String(format: "%.1f", $0) }.joined(separator: " / ") }
      context["calibration"] = [
        "headline": c.summary,
        "windows": c.windows.map { w -> [String: Any] in
          [
            "start": InstantText.describe(w.start, relative: r.workload.isRelative),
            "set": w.heldOut ? "held out" : "training", "queries": w.queries, "observed": triple(w.observedMs),
            "predicted": triple(w.predictedMs), "calibrated": triple(w.calibratedMs),
          ]
        },
      ]
    }
    if let c = r.stageCalibration { context["stageCalibration"] = stageCalibrationContext(c) }
    return context
  }

  /// The per-stage fit's tables: each stage's correction and checks, each edge's probability and hop delay beside
  /// the pipeline file's.
  static func stageCalibrationContext(_ c: StageCalibration) -> [String: Any] {
    func percents(_ v: [Double]) -> String { v.map { String(format: "%.1f%%", $0 * 100) }.joined(separator: " / ") }
    let stages: [[String: Any]] = c.stages.map { s in
      [
        "stage": s.stage, "model": s.model, "fit": String(format: "x %.3f + %.2f ms", s.multiplier, s.overheadMs),
        "visits": s.visits, "heldOut": percents(s.heldOut.after),
        "worst": String(format: "%.1f%%", s.worstWindowError * 100), "explained": s.explained ? "yes" : "no",
      ]
    }
    let edges: [[String: Any]] = zip(c.routes, c.hops).map { route, hop in
      [
        "edge": "\(route.parent) -> \(route.child)", "fileProbability": String(format: "%.3f", route.fileProbability),
        "measuredProbability": String(format: "%.3f", route.measuredProbability),
        "fileMs": String(format: "%.2f", hop.fileMs), "medianMs": String(format: "%.2f", hop.medianMs),
        "p99Ms": String(format: "%.2f", hop.p99Ms),
      ]
    }
    let replicas = c.stages.compactMap { s in
      s.replicasSeen.map {
        "The spans show \(s.stage) ran on \($0.map(String.init).joined(separator: ", ")) replicas by window (their service.instance.id), not the configuration's count all day; the simulations follow them."
      }
    }
    let queueing = c.stages.compactMap { s in
      s.queueing.map {
        String(
          format:
            "%@ queued mean %.2f ms, P99 %.2f ms in its spans (from its span's start to its service span's); the fit simulates mean %.2f ms, P99 %.2f ms; its service took %.2f ms at the median.",
          s.stage, $0.observedMeanMs, $0.observedP99Ms, $0.simulatedMeanMs, $0.simulatedP99Ms, $0.observedServiceP50Ms)
      }
    }
    let delays = zip(c.hops, c.hopDelaysMs ?? []).compactMap { hop, delay in
      delay.map {
        String(
          format: "The hop %@ -> %@ is simulated at the spans' %.2f ms in place of the file's %.2f ms.", hop.parent,
          hop.child, $0, hop.fileMs)
      }
    }
    return ["headline": c.summary, "stages": stages, "edges": edges, "replicas": replicas + queueing + delays]
  }

  /// A summary (`summaryMarkdown`, `fleetSummaryMarkdown`) as plain text for the terminal: no Markdown escapes.
  public static func terminalSummary(_ markdown: String) -> String { MarkdownText.plain(markdown) }

  /// The summary's line for the change since the previous report, names Markdown-escaped.
  static func previousMarkdown(_ p: CapacityReport.Comparison) -> String {
    "- Since the previous report: \(costChange(p, unit: "$/day")); "
      + (p.changes.isEmpty ? "no plan changes" : MarkdownText.escape(p.changes.joined(separator: "; ")))
  }

  /// - Throws: `InputError` when a report.json was written by a newer inferline.
  static func checkSchema(_ version: Int, path: String) throws {
    guard version <= CapacityReport.currentSchemaVersion else {
      throw InputError(
        file: path, "report schema \(version) is newer than this inferline's (\(CapacityReport.currentSchemaVersion))",
        fix: "update inferline")
    }
  }

  /// The "change since the previous report" values, for a pipeline's page and the fleet's alike.
  /// The zone the report's clock times are shown in (UTC when unset or unreadable).
  static func zone(_ r: CapacityReport) -> DefaultTimeZone {
    r.timeZone.flatMap { DefaultTimeZone(parsing: $0) } ?? .utc
  }

  /// The log's span, when it is shorter than a day: the figures per day and month are extrapolated from it.
  /// What the search proved of a growth scenario's plan: "proven optimal", "within 4.0% of the bound ($1.20/h)".
  static func growthProof(_ g: CapacityReport.GrowthScenario) -> String {
    guard g.configuration != nil else { return "" }
    if g.provenOptimal == true { return "proven optimal" }
    guard let gap = g.gap else { return "not proven" }
    return String(format: "within %.1f%% of the bound", gap * 100) + " ($\(money(g.lowerBoundPerHour))/h)"
  }

  /// "1 window", "3 windows": a count with its noun, singular or plural (nouns that take an s).
  static func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

  /// "Day replay" for a log of about a day; otherwise the replay's span: "Replay over the log (58 minutes)".
  static func replayTitle(_ r: CapacityReport) -> String {
    let span = Double(r.workload.end - r.workload.start) / 1e9
    if span >= 23 * 3600 && span <= 25 * 3600 { return "Day replay" }
    let length =
      span < 5400
      ? String(format: "%.0f minutes", span / 60)
      : span < 72 * 3600 ? String(format: "%.1f hours", span / 3600) : String(format: "%.1f days", span / 86400)
    return "Replay over the log (\(length))"
  }

  static func extrapolation(_ r: CapacityReport) -> String? {
    let span = Double(r.workload.end - r.workload.start) / 1e9
    guard span < 23 * 3600 else { return nil }
    let length = span < 5400 ? String(format: "%.0f minutes", span / 60) : String(format: "%.1f hours", span / 3600)
    return "extrapolated from a log of \(length)"
  }

  /// What the first screen must say besides the decision: windows whose SLO cannot be met (the first one's
  /// reason), and a first or last window the log covers only in part.
  static func decisionNotes(_ r: CapacityReport) -> [String] {
    var notes: [String] = []
    let zone = zone(r), relative = r.workload.isRelative
    let length = Int64(r.windowLengthSeconds * 1e9)
    let withoutPlan = r.windows.filter { $0.planned && $0.configuration == nil }
    // Proven (no configuration meets the SLO), and left without a plan by the search budget: said apart.
    let unattainable = withoutPlan.filter { $0.search?.stoppedBy == nil }
    if let first = unattainable.first {
      let span = ClockText.span(first.start, first.start + length, zone: zone, relative: relative)
      notes.append(
        "\(unattainable.count) of \(r.windows.count) windows cannot meet the SLO with this catalog and profiles; at \(span): \(first.note ?? "no configuration meets it")."
      )
    }
    if let first = withoutPlan.first(where: { $0.search?.stoppedBy != nil }) {
      let count = withoutPlan.count - unattainable.count
      let span = ClockText.span(first.start, first.start + length, zone: zone, relative: relative)
      notes.append(
        "\(count) of \(r.windows.count) windows have no plan: the search budget ran out before it found one or showed that none exists (a larger --budget may find one); at \(span): \(first.note ?? "no plan found")."
      )
    }
    if let first = r.windows.first, r.workload.start - first.start > length / 10 {
      let covered = Double(min(first.start + length, r.workload.end) - r.workload.start) / 6e10
      notes.append(
        String(
          format: "The first window (%@) covers only %.0f minutes of the log.",
          ClockText.span(first.start, first.start + length, zone: zone, relative: relative), covered))
    }
    if let last = r.windows.last, r.windows.count > 1 || r.workload.start <= last.start,
      last.start + length - r.workload.end > length / 10
    {
      let covered = Double(r.workload.end - max(last.start, r.workload.start)) / 6e10
      notes.append(
        String(
          format: "The last window (%@) covers only %.0f minutes of the log.",
          ClockText.span(last.start, last.start + length, zone: zone, relative: relative), covered))
    }
    if let warning = r.forecast.flatMap({ ForecastText.backtestWarning($0) }) { notes.append(warning) }
    return notes
  }

  /// The first screen's decision: what to run at peak, the day's changes, the cost and the SLO margin, the
  /// change since the previous report, and the command that exports it. Nil when nothing could be planned.
  static func decisionContext(_ r: CapacityReport, exportFrom: String = "report.json") -> [String: Any]? {
    ProvisioningDecision(r).map { decisionContext(r, $0, exportFrom: exportFrom) }
  }

  /// The first screen's decision from a decision already read from the report.
  static func decisionContext(
    _ r: CapacityReport, _ d: ProvisioningDecision, exportFrom: String = "report.json"
  ) -> [String: Any] {
    let zone = zone(r)
    let when = ClockText.span(d.peak.start, d.peak.end, zone: zone, relative: d.isRelative)
    var context: [String: Any] = [
      "peakMachines": ProvisioningDecision.text(d.peak.machines),
      "peakLabel": d.scaling != nil
        ? "At most"
        : d.runs.count > 1 ? "At peak (\(when)\(d.isRelative ? " from the log's start" : " \(zone)"))" : "All day",
      "policy": d.policy.map { "The " + PolicyTitle.of($0) } ?? "The busiest window's plan",
      "costPerDay": money(d.costPerDay), "margin": d.marginText,
      "marginClass": d.meetsSLO ? "good" : "bad",
      "exportCommand":
        "inferline export \(exportFrom) --to kubernetes --image IMAGE --model-repository URI --out deploy",
    ]
    if let line = d.scalingLine {
      context["scheduleLine"] = line
    } else if d.runs.count > 1 {
      context["scheduleLine"] = d.scheduleLine(zone: zone)
    }
    if let e = extrapolation(r) { context["extrapolated"] = e }
    context["notes"] = decisionNotes(r)
    if let p = r.previous {
      let changes = p.changes.prefix(2).joined(separator: "; ")
      context["change"] =
        "\(costChange(p, unit: "dollars per day")) (was $\(money(p.previousCostPerDay)))"
        + (changes.isEmpty ? "; the plan did not change." : "; \(changes)" + (p.changes.count > 2 ? "; ..." : "."))
    }
    return context
  }

  /// The decision as one escaped Markdown phrase: what to run, over the day, the margin; nil when nothing was
  /// planned.
  static func decisionMarkdown(_ r: CapacityReport) -> String? {
    decisionContext(r).map { d in
      let day = (d["scheduleLine"] as? String).map { "; over the day: \($0)" } ?? ""
      let policy = (d["policy"] as! String).replacingOccurrences(of: "The ", with: "the ", options: .anchored)
      return MarkdownText.escape("\(d["peakLabel"]!): \(d["peakMachines"]!)\(day); \(policy): \(d["margin"]!)")
    }
  }

  /// The change in cost per day as a signed amount in `unit` ("+1.25 $/day"), or "the same cost" when it rounds to
  /// zero cents (never "-0.00").
  static func costChange(_ p: CapacityReport.Comparison, unit: String) -> String {
    abs(p.costPerDayChange) < 0.005 ? "the same cost" : String(format: "%+.2f ", p.costPerDayChange) + unit
  }

  static func previousContext(_ p: CapacityReport.Comparison) -> [String: Any] {
    [
      "previousGeneratedAt": p.previousGeneratedAt, "previousCostPerDay": money(p.previousCostPerDay),
      "costChange": costChange(p, unit: "dollars"), "changes": p.changes,
    ]
  }

  /// Templates parsed in this process, by their text: a night checks the templates up front and renders a page
  /// per pipeline, and parsing is most of what a small report's page costs.
  private static let parsedTemplates = Mutex<[String: MustacheTemplate]>([:])

  /// Reads and parses the report template: a team's own `report.mustache` in `templates`, or the built-in one.
  /// - Throws: `InputError` naming the file: unreadable, empty, or not parsing (with the reason in words).
  static func template(_ templates: URL?, fleet: Bool = false) throws -> (MustacheTemplate, path: String) {
    let file = fleet ? "fleet.mustache" : "report.mustache"
    var path = "the built-in \(fleet ? "fleet" : "report") template"
    var text = fleet ? BuiltInTemplates.fleet : BuiltInTemplates.report
    // A team's folder may hold report.mustache alone: the fleet page then uses the built-in one.
    if let templates, !fleet || FileManager.default.fileExists(atPath: templates.appendingPathComponent(file).path) {
      path = templates.appendingPathComponent(file).path
      guard let read = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw InputError(
          file: path, "cannot read the report template", fix: "point --templates at a folder with \(file)")
      }
      text = read
    }
    guard !text.allSatisfy(\.isWhitespace) else {
      throw InputError(file: path, "the report template is empty", fix: "start from Templates/\(file)")
    }
    if let parsed = parsedTemplates.withLock({ $0[text] }) { return (parsed, path) }
    do {
      let parsed = try MustacheTemplate(string: text)
      parsedTemplates.withLock { $0[text] = parsed }
      return (parsed, path)
    } catch {
      throw InputError(
        file: path, "the report template does not parse: \(TemplateErrorText.describe(error))",
        fix: "check its {{tags}}: every {{#section}} needs its {{/section}}")
    }
  }

  /// Checks the templates before the night's work starts (with `fleet`, the fleet page's too).
  /// - Throws: as `template(_:fleet:)`.
  public static func checkTemplate(_ templates: URL?, fleet: Bool = false) throws {
    _ = try template(templates)
    if fleet { _ = try template(templates, fleet: true) }
  }

  static func renderHTML(
    _ r: CapacityReport, charts: [String: String], templates: URL?, inFleet: Bool = false
  ) throws -> String {
    let (template, path) = try template(templates)
    var values = context(r, charts: charts)
    if inFleet { values["fleet"] = true }
    // Bidirectional controls can only come from input names (the template and the charts have none): shown as
    // escapes, so a name cannot reorder the text around it ("seed 1eman").
    let html = TerminalText.showingBidiControls(template.render(values))
    guard !html.allSatisfy(\.isWhitespace) else {
      throw InputError(
        file: path, "the report template renders to nothing", fix: "start from Templates/report.mustache")
    }
    return html
  }

  /// A short Markdown summary for a change ticket.
  public static func summaryMarkdown(_ r: CapacityReport) -> String {
    let decision: String = decisionMarkdown(r).map { "- **What to run**: " + $0 } ?? ""
    var lines: [String] = [
      "# Capacity report: \(MarkdownText.escape(r.pipelineName))", "",
      "- SLO: P\(String(format: "%g", r.percentile)) <= \(String(format: "%g", r.sloMs)) ms; \(r.workload.queries) queries from \(InstantText.describe(r.workload.start, relative: r.workload.isRelative)) to \(InstantText.describe(r.workload.end, relative: r.workload.isRelative))",
      r.recommendation.map { $0.meetsSLO ? "" : "- **No provisioning replayed kept the SLO over this log.**" } ?? "",
      r.recommendation?.tunerShortfall.map {
        "- **The InferLine tuner misses the SLO**: \($0.summary(allowed: PipelineSpec.SLO.allowance(r.percentile)))"
      } ?? "",
      decision,
      "- \(MarkdownText.escape(recommendationSentence(r)))",
      "- Cost per day: $\(money(r.costPerDay)); per month: $\(money(r.costPerMonth))",
      r.forecast.flatMap(ForecastText.budgetLine).map { "- " + MarkdownText.escape($0) } ?? "",
      r.forecast.flatMap(ForecastText.backtestWarning).map { "- **" + MarkdownText.escape($0) + "**" } ?? "",
      "- Busiest window's plan ($\(money(r.recommendedCostPerHour))/h): \(MarkdownText.escape(describe(r.recommended, r)))",
      "- Windows proven optimal: \(r.windows.filter { $0.provenOptimal == true }.count) of \(r.windows.filter { $0.configuration != nil }.count) planned"
        + (r.windows.compactMap(\.greedyGap).max().map {
          $0 > 1e-9
            ? String(format: "; InferLine's greedy planner is up to %.1f%% dearer", $0 * 100)
            : "; InferLine's greedy planner finds the same cost in every window"
        } ?? ""),
    ]
    // The heading's blank line stays; lines with nothing to say go.
    lines = lines.enumerated().filter { $0.offset < 2 || !$0.element.isEmpty }.map(\.element)
    if let chosen = r.recommendedReplay {
      for b in r.allReplays where b.policy != chosen.policy {
        lines.append(
          "- Against \(MarkdownText.escape(PolicyTitle.of(b.policy))) ($\(money(b.cost)) over the log, \(percent(b.missRate)) over the SLO): \(comparison(chosen, b, percentile: r.percentile))"
        )
      }
    }
    for row in PaperHeadline(r).rows {
      lines.append("- Paper's headline, \(row.claim): \(row.text) (paper: up to \(String(format: "%g", row.paper))x)")
    }
    if r.unattainableWindows > 0 {
      lines.append("- **\(counted(r.unattainableWindows, "window")) cannot meet the SLO**")
    }
    if let count = r.windowsWithoutPlanFound, count > 0 {
      lines.append(
        "- **\(counted(count, "window")) without a plan: the search budget ran out before it found one or showed that none exists**"
      )
    }
    if let c = r.calibration {
      let text = MarkdownText.escape(c.summary)
      lines.append("- " + (c.explained ? text : "**\(text)**"))
    }
    if let c = r.stageCalibration {
      let text = MarkdownText.escape(c.summary)
      lines.append("- " + (c.explained ? text : "**\(text)**"))
    }
    let p = "P\(String(format: "%g", r.percentile))"
    for w in r.whatIfs ?? [] {
      let rows = w.rows.map { row in
        let latency = row.percentileLatencyMs.map { "\(p) \(String(format: "%.1f", $0)) ms" }
        return
          ([row.name, whatIfCost(row)]
          + [row.missRate.map { percent($0) + " over the SLO" }, latency].compactMap { $0 })
          .filter { !$0.isEmpty }.joined(separator: " ")
      }
      lines.append("- What-if, \(MarkdownText.escape(w.title)): " + MarkdownText.escape(rows.joined(separator: "; ")))
    }
    if let p = r.previous { lines.append(previousMarkdown(p)) }
    lines.append("")
    lines.append("Seed \(r.seed), inferline \(r.toolVersion), generated \(r.generatedAt).")
    return lines.joined(separator: "\n") + "\n"
  }
}

/// A template parse error in words (swift-mustache's errors print as a Swift dump otherwise).
enum TemplateErrorText {
  static func describe(_ error: any Error) -> String {
    let text = String(describing: error)
    // `ParserError(context: ..., error: sectionCloseNameIncorrect)`: keep the error's name and the line.
    let name = text.range(of: "error: ").map { String(text[$0.upperBound...].prefix { $0.isLetter }) } ?? ""
    let line = text.range(of: "lineNumber: ").map { String(text[$0.upperBound...].prefix { $0.isNumber }) }
    let words = name.reduce(into: "") { out, c in
      if c.isUppercase { out += " " + c.lowercased() } else { out.append(c) }
    }
    return (words.isEmpty ? "unrecognised error" : words) + (line.map { " on line \($0)" } ?? "")
  }
}
