import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight
@testable import InferLineReport

/// A small pipeline whose stage is named `<script>alert(1)</script>`, a log whose path holds quotes, one report.
struct ReportFixture: Sendable {
  /// One fixture and one analysis for every test that only reads the report (the analysis is the slow part).
  static let shared = try! ReportFixture()
  static let sharedReport = try! shared.report()

  /// The fixture's folder (`TemporaryFolder`), and its URL.
  let temporary: TemporaryFolder
  let folder: URL
  let inputs: PlanningInputs
  let log: String

  init() throws {
    temporary = TemporaryFolder.untilExit("inferline-report")
    folder = temporary.url
    let pipeline = """
      name: "<b>evil</b> pipeline"
      slo: {latency_ms: 80}
      stages:
        - {name: "<script>alert(1)</script>", model: m}
        - {name: "second & \\"quoted\\"", model: m}
      edges:
        "<script>alert(1)</script> -> second & \\"quoted\\"": 0.5
      """
    try pipeline.write(to: folder.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
    try
      "hardware:\n  - {type: G, price_per_hour: 1, provisioning_delay_s: 5, max_replicas: 8}\n  - {type: C, price_per_hour: 0.2}\n"
      .write(to: folder.appendingPathComponent("h.yaml"), atomically: true, encoding: .utf8)
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for b in [1, 2, 4] { profiles += "m,G,\(b),\(4 + 2 * b),p99\nm,C,\(b),\(15 + 10 * b),p99\n" }
    try profiles.write(to: folder.appendingPathComponent("f.csv"), atomically: true, encoding: .utf8)
    inputs = try PlanningInputs.load(
      pipeline: folder.appendingPathComponent("p.yaml").path, hardware: folder.appendingPathComponent("h.yaml").path,
      profiles: folder.appendingPathComponent("f.csv").path)
    log = folder.appendingPathComponent("night \"one\" 'log'.csv").path
    var writer = QueryLogWriter()
    writer.format = .csv
    try writer.write(
      arrivals: TraceGenerator.arrivals(
        .diurnal(meanRate: 12, peakToTrough: 3), duration: 2 * 3600, start: 1_795_824_000_000_000_000, seed: 3), to: log
    )
  }

  func report(seed: UInt64 = 1) throws -> CapacityReport {
    var options = CapacityAnalysis.Options()
    options.seed = seed
    options.growth = [1.5]
    options.frontier = [1, 2]
    options.windowLength = 3_600_000_000_000
    var r = try CapacityAnalysis.run(logs: [log], model: PipelineModel(inputs), options: options)
    r.inputs = ReportWriter.describeInputs([("log", log), ("pipeline", inputs.pipeline.file)])
    return r
  }

  /// A new empty folder inside the fixture's, for one test's output.
  func scratch() throws -> URL {
    let url = folder.appendingPathComponent("scratch-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

@Suite(.serialized) struct ReportTests {
  @Test func aReportFolderIsCompleteSafeAndParses() throws {
    let report = ReportFixture.sharedReport
    let out = try ReportFixture.shared.scratch().appendingPathComponent("out")
    try ReportWriter.write(report, to: out)
    for name in ["index.html", "report.json", "summary.md"] {
      #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
    }
    let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
    let page = try MarkupDocument(html: html)
    let elements = page.elements
    // Every section is there.
    let sections = Set(elements.filter { $0.name == "section" }.compactMap { $0.attributes["id"] })
    #expect(sections == ["decision", "summary", "workload", "plan", "replay", "latency", "budget", "method"])
    // No script from the stage name, and the markup from the inputs shows as text.
    #expect(!elements.contains { $0.name == "script" })
    #expect(html.contains("&lt;b&gt;evil&lt;/b&gt; pipeline"))
    #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    #expect(html.contains("night &quot;one&quot; &#39;log&#39;.csv"))
    #expect(!html.contains("night \"one\""))
    // Ids are unique across the page; every inlined chart has a title and a description and is an image.
    let ids = elements.compactMap { $0.attributes["id"] }
    #expect(
      Set(ids).count == ids.count,
      "duplicate ids: \(Dictionary(grouping: ids, by: { $0 }).filter { $1.count > 1 }.keys.prefix(5))")
    let svgs = elements.filter { $0.name == "svg" }
    #expect(svgs.count == 8)
    #expect(svgs.allSatisfy { $0.children.prefix(2) == ["title", "desc"] && $0.attributes["role"] == "img" })
    // Every SVG file parses as XML too.
    for file in try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("charts").path)
    where file.hasSuffix(".svg") {
      let text = try String(contentsOf: out.appendingPathComponent("charts/\(file)"), encoding: .utf8)
      #expect(try MarkupDocument(xml: text).rootName == "svg")
    }
    // report.json decodes back to an equal value.
    let decoded = try ReportWriter.load(path: out.appendingPathComponent("report.json").path)
    #expect(decoded == report)
    #expect(decoded.schemaVersion == CapacityReport.currentSchemaVersion)
    #expect(report.inputs[0].sha256.count == 64)
  }

  /// Every row of the savings table compares the recommendation with another replay by `CostComparison`, from
  /// both sides' figures; the card reads as attainment of the recommended provisioning.
  @Test func savingsSayWhy() throws {
    let report = ReportFixture.sharedReport
    let chosen = try #require(report.recommendedReplay)
    var other = chosen
    other.policy = "b"
    other.cost = chosen.cost * 2
    other.missRate = 0
    #expect(ReportWriter.comparison(chosen, other, percentile: 99).contains("cheaper"))
    other.cost = chosen.cost / 2
    other.missRate = 0.05
    let missing = ReportWriter.comparison(chosen, other, percentile: 99)
    #expect(missing.contains("misses the SLO") && missing.contains("5.000%") && missing.contains("1% allowed"))
    let context = ReportWriter.context(report, charts: [:])
    let attainment = try #require(context["attainment"] as? String)
    #expect(attainment.contains("within the SLO") && attainment.contains("99% needed"), "\(attainment)")
    let rows = try #require(context["savings"] as? [[String: Any]])
    #expect(rows.count == report.allReplays.count - 1)
    for (row, replay) in zip(rows, report.allReplays.filter { $0.policy != chosen.policy }) {
      #expect(row["why"] as? String == ReportWriter.comparison(chosen, replay, percentile: report.percentile))
    }
    // The headline cost is the recommended replay's, scaled to a day.
    #expect(abs(report.costPerDay - chosen.cost / chosen.hours * 24) < 1e-9)
    let sentence = try #require(context["recommendationSentence"] as? String)
    #expect(sentence.contains(PolicyTitle.of(chosen.policy)), "\(sentence)")
  }

  /// Each baseline's replay is its run replayed on its own (`CapacityAnalysis.baselineReplay`), also where two
  /// baselines are the same unit and static (CG-Peak and CG-Mean here), which are replayed once.
  @Test func eachBaselinesReplayIsItsOwnRunsReplay() throws {
    let report = ReportFixture.sharedReport
    let fixture = ReportFixture.shared
    let model = PipelineModel(fixture.inputs)
    var options = CapacityAnalysis.Options()
    options.windowLength = 3_600_000_000_000
    let (workload, _) = try CapacityAnalysis.Workload.read(logs: [fixture.log], model: model, options: options)
    // `CapacityAnalysis.baselineRuns` of the busiest window's baselines.
    let mean = try #require(report.baselines.first { $0.name == BaselineResult.mean })
    let runs =
      report.baselines.map {
        CapacityAnalysis.BaselineRun(name: $0.name, configuration: $0.configuration, policy: .fixed)
      }
      + [
        CapacityAnalysis.BaselineRun(
          name: CapacityAnalysis.coarseGrainedAutoscaling, configuration: mean.configuration,
          policy: .hpa(HorizontalPodAutoscaler()))
      ]
    #expect(runs.map(\.name) == report.baselineReplays.map(\.policy))
    let shared = runs.indices.contains { a in
      runs.indices.contains { b in
        a < b && runs[a].configuration == runs[b].configuration && runs[a].policy == runs[b].policy
      }
    }
    #expect(shared, "the fixture's CG-Peak and CG-Mean are one unit")
    for (run, replay) in zip(runs, report.baselineReplays) {
      let alone = try CapacityAnalysis.baselineReplay(run, model: model, workload: workload, seed: report.seed)
      #expect(alone == replay, "\(run.name)")
    }
  }

  /// When the plan with headroom is recommended, the first screen names its configuration (escaped) and `export`
  /// deploys it, not the busiest window's plan; the schedule is not applied.
  @Test func thePlanWithHeadroomIsWhatIsSaidAndDeployed() throws {
    var report = ReportFixture.sharedReport
    report.replays.removeAll { $0.policy.hasSuffix("+headroom") }
    let plan = try #require(report.recommended)
    var roomy = plan
    roomy.stages[0].replicas += 2
    var replay = try #require(report.replays.first { $0.policy == "static" })
    replay.policy = Headroom.staticPolicy
    replay.configuration = roomy
    replay.cost = 0.01
    replay.missRate = 0
    replay.missRatePerMinute = replay.missRatePerMinute.map { _ in 0 }
    report.replays.append(replay)
    report.stages[0].name = "<b>stage</b>"
    report.recommendation = Recommendation.choose(
      replays: report.replays + report.baselineReplays, percentile: report.percentile)
    #expect(report.recommendation?.policy == Headroom.staticPolicy)
    let deployed = try DeploymentPlan(report: report, source: "report.json")
    #expect(
      deployed.configuration == roomy && deployed.configuration != plan,
      "\(deployed.configuration) \(roomy) \(report.recommendedReplay?.configuration as Any)")
    #expect(!deployed.appliesSchedule)
    let sentence = ReportWriter.recommendationSentence(report)
    #expect(sentence.contains("static plan with headroom") && sentence.contains("x\(roomy.stages[0].replicas)"))
    let html = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    #expect(!html.contains("<b>stage</b>") && html.contains("&lt;b&gt;stage&lt;/b&gt;"))
    // A static coarse-grained baseline recommended is deployed as its own unit.
    let peak = try #require(report.baselines.first { $0.name == BaselineResult.peak })
    report.recommendation?.policy = BaselineResult.peak
    #expect(try DeploymentPlan(report: report, source: "report.json").configuration == peak.configuration)
    // CG-Mean's unit under HPA recommended: its replay carries the unit it started from, and that is deployed.
    let mean = try #require(report.baselines.first { $0.name == BaselineResult.mean })
    let hpa = try #require(
      report.baselineReplays.firstIndex { $0.policy == CapacityAnalysis.coarseGrainedAutoscaling })
    #expect(report.baselineReplays[hpa].configuration == mean.configuration)
    var larger = mean.configuration
    for s in larger.stages.indices { larger.stages[s].replicas += 1 }  // a unit the busiest plan is not
    report.baselineReplays[hpa].configuration = larger
    report.recommendation?.policy = CapacityAnalysis.coarseGrainedAutoscaling
    let unit = try DeploymentPlan(report: report, source: "report.json")
    #expect(unit.configuration == larger && !unit.appliesSchedule, "\(unit.configuration)")
  }

  /// The first screen says what to run: the machines at peak are at least what the recommended replay runs at
  /// any moment (sampled every 10 s), the runs tile the log's windows, a 2-hour log says it is extrapolated, and
  /// the change since the previous report (escaped) and the reader's zone are there, before the summary.
  @Test func theFirstScreenSaysWhatToRunAtPeakAndWhen() throws {
    var report = ReportFixture.sharedReport
    let d = try #require(ProvisioningDecision(report))
    let replay = try #require(report.recommendedReplay)
    func perHour(_ m: [String: Int]) -> Double {
      m.reduce(0) { $0 + Double($1.value) * report.hardwarePrices[$1.key]! }
    }
    for t in stride(from: report.workload.start, to: report.workload.end, by: 10_000_000_000) {
      var now: [String: Int] = [:]
      for line in replay.timelines { now[line.hardware, default: 0] += line.replicas(at: t) }
      #expect(perHour(now) <= perHour(d.peak.machines) + 1e-9, "at \(t): \(now) against \(d.peak.machines)")
      for (h, n) in now { #expect(n <= d.runs.map { $0.machines[h] ?? 0 }.max()!) }
    }
    #expect(d.runs.first?.start == report.windows.first?.start)
    #expect(zip(d.runs, d.runs.dropFirst()).allSatisfy { $0.end == $1.start })
    report.previous = CapacityReport.Comparison(
      previousGeneratedAt: "2026-11-27T06:00:00Z", previousCostPerDay: report.costPerDay - 1.5,
      costPerDayChange: 1.5, changes: ["stage <i>a</i> moved"])
    report.timeZone = "+05:30"
    let html = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    let decision = try #require(html.range(of: "<section id=\"decision\">"))
    let summary = try #require(html.range(of: "<section id=\"summary\">"))
    #expect(decision.upperBound < summary.lowerBound)
    let first = String(html[decision.upperBound..<summary.lowerBound])
    #expect(
      first.contains(d.runs.count == 1 ? "All day: " : "At peak (")
        && first.contains(ProvisioningDecision.text(d.peak.machines)))
    #expect(first.contains("(extrapolated from a log of 2.0 hours)"))
    #expect(
      first.contains("Since the previous report: +1.50 dollars per day") && first.contains("&lt;i&gt;a&lt;/i&gt;"))
    #expect(first.contains(d.marginText), "\(first)")
    #expect(ReportWriter.summaryMarkdown(report).contains("**What to run**: "))
    // Three more replicas of the first stage a minute into the second window: two runs, the peak the second,
    // said in the reader's zone.
    let index = try #require(report.allReplays.firstIndex { $0.policy == replay.policy })
    let second = try #require(report.windows.dropFirst().first?.start)
    var stepped = replay
    let before = stepped.timelines[0].replicas(at: second)
    stepped.timelines[0].points.append(.init(time: second + 60_000_000_000, replicas: before + 3))
    if index < report.replays.count {
      report.replays[index] = stepped
    } else {
      report.baselineReplays[index - report.replays.count] = stepped
    }
    let two = try #require(ProvisioningDecision(report))
    #expect(two.runs.count == 2 && two.peak.start == second)
    let hardware = stepped.timelines[0].hardware
    let line = two.scheduleLine(zone: .fixed(seconds: 19_800))
    #expect(line.contains("add 3 \(hardware)"), "\(line)")
    let page = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    #expect(page.contains("At peak (") && page.contains(" +05:30)") && page.contains(line), "\(line)")
  }

  /// The first screen says in words which windows cannot meet the SLO (with the first one's reason, escaped) and
  /// which window the log covers only in part.
  @Test func theFirstScreenSaysWhatCannotBeMetAndWhatIsPartial() throws {
    var report = ReportFixture.sharedReport
    #expect(ReportWriter.decisionNotes(report).isEmpty)
    let minute: Int64 = 60_000_000_000
    report.workload.end = report.windows[1].start + 10 * minute
    report.windows[0].configuration = nil
    report.windows[0].note = "the attainable P99 is <95> ms"
    let notes = ReportWriter.decisionNotes(report)
    #expect(
      notes == [
        "1 of 2 windows cannot meet the SLO with this catalog and profiles; at 00:00-01:00: the attainable P99 is <95> ms.",
        "The last window (01:00-02:00) covers only 10 minutes of the log.",
      ], "\(notes)")
    let html = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    let first = try #require(html.range(of: "<section id=\"summary\">")).lowerBound
    let said = try #require(html.range(of: "the attainable P99 is &lt;95&gt; ms"))
    #expect(said.lowerBound < first && html.contains("covers only 10 minutes"))
  }

  /// Nothing planned (an SLO no hardware meets): the page says so in words, with no $0.00 cards, no empty tables
  /// and no charts of plans that do not exist; a 2-hour log's replay is not called a day's.
  @Test func aReportWithNothingPlannedSaysSoInsteadOfZeros() throws {
    var report = ReportFixture.sharedReport
    let planned = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    #expect(planned.contains("<div class=\"card\">Cost per day") && planned.contains("<h3>Why the busiest window"))
    #expect(planned.contains("<h2>Replay over the log (") && !planned.contains("Day replay"))
    for i in report.windows.indices {
      report.windows[i].configuration = nil
      report.windows[i].explanation = nil
      report.windows[i].note = "the critical path takes 25.24 ms against an SLO of 20.00 ms"
    }
    report.recommended = nil
    report.recommendedCostPerHour = nil
    report.replays = []
    report.recommendation = nil
    report.costPerDay = 0
    report.costPerMonth = 0
    report.unattainableWindows = report.windows.count
    let html = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    #expect(!html.contains("$0.00") && !html.contains("$n/a") && !html.contains("<div class=\"card\">"))
    #expect(!html.contains("<h3>Why the busiest window") && !html.contains("<h3>Schedule</h3>"))
    #expect(!html.contains("Why: ."))
    #expect(html.contains("No cost, configuration or comparison to show"))
    #expect(html.contains("Nothing was replayed"))
    #expect(!html.contains("<section id=\"latency\">"))
  }

  /// Every chart's caption tells the reader something its title does not: it neither repeats the title nor shares
  /// most of its words.
  @Test func captionsDoNotRepeatTheirChartsTitles() throws {
    let report = ReportFixture.sharedReport
    let charts = ReportCharts.all(report)
    var svgs: [String: String] = [:]
    for chart in charts { svgs[chart.name] = "<svg><title>\(chart.title)</title></svg>" }
    let html = try ReportWriter.renderHTML(report, charts: svgs, templates: nil)
    func words(_ text: String) -> Set<String> {
      Set(text.lowercased().split { !$0.isLetter }.map(String.init).filter { $0.count > 2 })
    }
    var checked = 0
    for figure in html.components(separatedBy: "<figure>").dropFirst() {
      guard let title = figure.firstMatch(of: #/<title>(.*?)</title>/#)?.1,
        let caption = figure.firstMatch(of: #/<figcaption>(.*?)</figcaption>/#)?.1
      else { continue }
      let t = words(String(title)), c = words(String(caption))
      let shared = Double(t.intersection(c).count) / Double(max(1, t.union(c).count))
      #expect(shared < 0.5, "caption '\(caption)' repeats the title '\(title)'")
      checked += 1
    }
    #expect(checked == charts.count)
  }

  /// The binding stage's tail said as what it is: a share of the SLO up to 100%, and past it (a branch's own
  /// P99, which lies beyond the pipeline's) in milliseconds with the reason, never "117% of the SLO".
  @Test func theBindingStageIsNeverSaidToTakeMoreThanTheSLO() throws {
    let report = ReportFixture.sharedReport
    var explanation = try #require(report.windows.compactMap(\.explanation).first)
    let binding = try #require(explanation.stages.firstIndex { $0.name == explanation.bindingStage })
    explanation.stages[binding].sloShare = 0.85
    #expect(ReportWriter.whyText(explanation, percentile: 99).contains("take 85% of the SLO"))
    explanation.stages[binding].sloShare = 1.17
    explanation.stages[binding].p99WaitMs = 210
    explanation.stages[binding].batchLatencyMs = 259
    let over = ReportWriter.whyText(explanation, percentile: 99)
    #expect(!over.contains("117%") && over.contains("469.0 ms") && over.contains("pipeline's P99 meets it"), "\(over)")
  }

  @Test func bidirectionalOverridesInNamesCannotReorderThePage() throws {
    var report = ReportFixture.sharedReport
    report.pipelineName = "evil\u{202E}eman\u{2066}x"
    let html = try ReportWriter.renderHTML(report, charts: [:], templates: nil)
    #expect(
      !html.unicodeScalars.contains { (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value) })
    #expect(html.contains("evil\\u{202e}eman\\u{2066}x"))
    let summary = ReportWriter.summaryMarkdown(report)
    #expect(!summary.unicodeScalars.contains { $0.value == 0x202E } && summary.contains("evil\\u{202e}eman"))
  }

  @Test func diffShowsWhatChanged() throws {
    let report = ReportFixture.sharedReport
    #expect(report.differences(from: report).isEmpty)
    var dearer = report
    dearer.hardwarePrices["G"] = 2.5
    let changes = dearer.differences(from: report)
    #expect(changes == ["price of G $1.00/h -> $2.50/h"])
    var other = report
    other.sloMs = 40
    other.costPerDay += 10
    #expect(other.differences(from: report).count == 2)
  }

  @Test func aFailedRunLeavesThePreviousReportUntouched() throws {
    let report = ReportFixture.sharedReport
    let scratch = try ReportFixture.shared.scratch()
    let out = scratch.appendingPathComponent("out")
    try ReportWriter.write(report, to: out)
    let before = try Data(contentsOf: out.appendingPathComponent("report.json"))
    // A template folder without the template: the run fails after the charts were drawn.
    let empty = scratch.appendingPathComponent("no-templates")
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    #expect(throws: InputError.self) { try ReportWriter.write(report, to: out, templates: empty) }
    #expect(try Data(contentsOf: out.appendingPathComponent("report.json")) == before)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter {
      $0.hasPrefix(".out.partial") || $0.hasPrefix(".out.old")
    }
    #expect(leftovers.isEmpty)
  }

  @Test func theSameSeedGivesTheSameReport() throws {
    var a = ReportFixture.sharedReport, b = try ReportFixture.shared.report(seed: 1)
    a.generatedAt = ""
    b.generatedAt = ""
    a.timings = [:]
    b.timings = [:]
    #expect(a == b)
  }
}

/// The page in a real browser: headless Chromium (Debian's package, installed by Scripts/setup.sh) renders
/// index.html to a PNG of the window's size that is not blank.
@Suite struct BrowserTests {
  /// A 10,000-character name wraps: at 1280 px the page is no wider than the window (the page reports its scroll
  /// width through its title, read back with --dump-dom).
  @Test func aHugeNameDoesNotPushThePageSideways() throws {
    var report = ReportFixture.sharedReport
    report.pipelineName = String(repeating: "w", count: 10_000)
    report.stages[0].name = String(repeating: "s", count: 10_000)
    let out = try ReportFixture.shared.scratch().appendingPathComponent("wide")
    try ReportWriter.write(report, to: out)
    let width = try scrollWidth(of: out.appendingPathComponent("index.html"))
    #expect(width <= 1280, "the page is \(width) px wide at a 1280 px window")
  }

  /// The fleet's first page too: a pipeline with a 10,000-character name wraps in its section, its savings list
  /// and the budget table's header.
  @Test func aHugePipelineNameDoesNotPushTheFleetPageSideways() throws {
    var fleet = FleetFixture.sharedFleet
    fleet.pipelines[0].pipelineName = String(repeating: "p", count: 10_000)
    fleet.totals = FleetReport(pipelines: fleet.pipelines, seed: 1).totals
    let out = try ReportFixture.shared.scratch().appendingPathComponent("wide-fleet")
    try ReportWriter.write(fleet, to: try ReportFolder(out))
    let width = try scrollWidth(of: out.appendingPathComponent("index.html"))
    #expect(width <= 1280, "the fleet page is \(width) px wide at a 1280 px window")
  }

  /// The decision is the first screen: at a 1400 x 900 window, the "What to run" section ends above the fold,
  /// and it says the machines at peak, the cost per day and the export command (single pipeline and fleet).
  @Test func theDecisionIsOnTheFirstScreen() throws {
    let scratch = try ReportFixture.shared.scratch()
    let single = scratch.appendingPathComponent("first-screen")
    let report = ReportFixture.sharedReport
    try ReportWriter.write(report, to: single)
    let fleetOut = scratch.appendingPathComponent("first-screen-fleet")
    try ReportWriter.write(FleetFixture.sharedFleet, to: try ReportFolder(fleetOut))
    let peak = try #require(ProvisioningDecision(report)).peak.machines
    for (page, costPerDay) in [
      (single, ReportWriter.money(report.costPerDay)),
      (fleetOut, ReportWriter.money(FleetFixture.sharedFleet.totals.costPerDay)),
    ] {
      let seen = try probe(
        page.appendingPathComponent("index.html"), size: "1400,900",
        script:
          "const d = document.getElementById('decision'); document.title = 'fold:' + Math.ceil(d.getBoundingClientRect().bottom) + '|' + d.innerText.replace(/\\s+/g, ' ')"
      )
      let fold = try #require(Int(seen.dropFirst(5).prefix { $0 != "|" }), "\(seen)")
      #expect(fold <= 900, "the decision ends at \(fold) px in \(page.lastPathComponent)")
      #expect(seen.contains("per day") && seen.contains(costPerDay), "\(seen)")
      #expect(seen.contains("inferline export report.json --to kubernetes"), "\(seen)")
      if page == single { #expect(seen.contains(ProvisioningDecision.text(peak)), "\(seen)") }
    }
  }

  /// A day of 24 hourly windows in six runs of plans prints on at most 8 A4 pages (the print style's size), and at
  /// A4's printable width (186 mm, 703 px) nothing is wider than the page, so no column is clipped.
  @Test func aDayPrintsInAtMostEightPagesWithoutClipping() throws {
    var report = ReportFixture.sharedReport
    let base = report.windows
    let length = Int64(report.windowLengthSeconds * 1e9)
    report.windows = (0..<24).map { h in
      var w = base[0]
      w.start = base[0].start + Int64(h) * length
      if (h / 4) % 2 == 1 { w.configuration?.stages[0].replicas += 1 }  // six runs of four windows
      return w
    }
    let out = try ReportFixture.shared.scratch().appendingPathComponent("day")
    try ReportWriter.write(report, to: out)
    let page = out.appendingPathComponent("index.html")
    let pdf = out.appendingPathComponent("day.pdf").path
    let chromium = Process()
    chromium.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
    chromium.arguments = [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
      "--user-data-dir=\(out.appendingPathComponent("chromium-pdf").path)", "--print-to-pdf=\(pdf)",
      page.absoluteString,
    ]
    chromium.standardError = FileHandle.nullDevice
    chromium.standardOutput = FileHandle.nullDevice
    try chromium.run()
    chromium.waitUntilExit()
    let info = Process()
    info.executableURL = URL(fileURLWithPath: "/usr/bin/pdfinfo")
    info.arguments = [pdf]
    let pipe = Pipe()
    info.standardOutput = pipe
    try info.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    info.waitUntilExit()
    let pages = try #require(
      text.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap {
        Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces))
      })
    #expect(pages <= 8, "\(pages) pages")
    #expect(text.contains("(A4)"), "\(text)")
    let runs: [[String: Any]] = ReportWriter.planRuns(report)
    let counts: [String] = runs.map { ($0["count"] as? String) ?? "" }
    #expect(counts == Array(repeating: "4 windows", count: 6))
    var runQueries = 0, windowQueries = 0
    for run in runs { runQueries += (run["queries"] as? Int) ?? 0 }
    for w in report.windows { windowQueries += w.queries }
    #expect(runQueries == windowQueries)
    let spans: [String] = runs.map { ($0["span"] as? String) ?? "" }
    var expectedSpans: [String] = []
    for k in 0..<6 { expectedSpans.append(String(format: "%02d:00-%02d:00", 4 * k, (4 * k + 4) % 24)) }
    #expect(
      spans == expectedSpans
    )
    let width = try probe(
      page, size: "703,1000", script: "document.title = 'width:' + document.documentElement.scrollWidth")
    #expect(Int(width.dropFirst(6))! <= 703, "\(width)")
  }

  /// The page's scroll width in headless Chromium at a 1280 px window.
  func scrollWidth(of page: URL) throws -> Int {
    let seen = try probe(
      page, size: "1280,900", script: "document.title = 'width:' + document.documentElement.scrollWidth")
    return try #require(Int(seen.dropFirst(6)), "\(seen)")
  }

  /// What `script` sets the page's title to in headless Chromium at a window of `size` (read back with
  /// --dump-dom).
  func probe(_ page: URL, size: String, script: String) throws -> String {
    let chromium = "/usr/bin/chromium"
    try #require(
      FileManager.default.isExecutableFile(atPath: chromium),
      "Chromium is missing: run Scripts/setup.sh (apt-get install chromium)")
    let html = try String(contentsOf: page, encoding: .utf8)
    let probe = page.deletingLastPathComponent().appendingPathComponent("probe.html")
    try html.replacingOccurrences(of: "</body>", with: "<script>\(script)</script></body>")
      .write(to: probe, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium)
    process.arguments = [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(size)",
      "--user-data-dir=\(page.deletingLastPathComponent().appendingPathComponent("chromium-probe").path)",
      "--dump-dom", probe.absoluteString,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let dom = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let title = try #require(dom.range(of: #"<title>[^<]*</title>"#, options: .regularExpression), "no title")
    return String(dom[title].dropFirst(7).dropLast(8))
      .replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
      .replacingOccurrences(of: "&gt;", with: ">")
  }

  /// Printed to PDF, no chart is cut across pages: a marker at the top of each figure and one in its caption
  /// land on the same page (read back with poppler's pdftotext, page by page), on pages of several heights.
  @Test func printedEveryChartIsWholeOnItsPage() throws {
    let chromium = "/usr/bin/chromium"
    try #require(
      FileManager.default.isExecutableFile(atPath: chromium),
      "Chromium is missing: run Scripts/setup.sh (apt-get install chromium)")
    try #require(
      FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext"),
      "pdftotext is missing: run Scripts/setup.sh (apt-get install poppler-utils)")
    let scratch = try ReportFixture.shared.scratch()
    let out = scratch.appendingPathComponent("print")
    try ReportWriter.write(ReportFixture.sharedReport, to: out)
    var page = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
    var figures = 0
    while let open = page.range(of: "<figure>") {
      page.replaceSubrange(open, with: "<figure data-n=\"\(figures)\"><span>FIGTOP\(figures)X</span>")
      let caption = try #require(page.range(of: "<figcaption>", range: open.lowerBound..<page.endIndex))
      page.replaceSubrange(caption, with: "<figcaption>FIGEND\(figures)X ")
      figures += 1
    }
    #expect(figures == ReportCharts.all(ReportFixture.sharedReport).count)
    func run(_ tool: String, _ arguments: [String]) throws -> String {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: tool)
      process.arguments = arguments
      let pipe = Pipe()
      process.standardOutput = pipe
      process.standardError = FileHandle.nullDevice
      try process.run()
      let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      return text
    }
    // Page breaks fall elsewhere on pages of each height (inches, Letter's width), every one tall enough for a
    // chart and its caption; without the print style's rules a chart is cut on some of them.
    for spacer in [7.0, 8, 9, 10, 11, 11.69] {
      let probe = out.appendingPathComponent("probe-\(spacer).html")
      try page.replacingOccurrences(of: "<body>", with: "<body><style>@page { size: 8.5in \(spacer)in; }</style>")
        .write(to: probe, atomically: true, encoding: .utf8)
      let pdf = scratch.appendingPathComponent("report-\(spacer).pdf").path
      _ = try run(
        chromium,
        [
          "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
          "--user-data-dir=\(scratch.appendingPathComponent("chromium-print").path)", "--print-to-pdf=\(pdf)",
          probe.absoluteString,
        ])
      let info = try run("/usr/bin/pdfinfo", [pdf])
      let pages = try #require(
        info.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap {
          Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces))
        })
      #expect(pages >= 3, "the report prints on several pages")
      var top: [Int: Int] = [:], end: [Int: Int] = [:]
      for p in 1...pages {
        let text = try run("/usr/bin/pdftotext", ["-f", "\(p)", "-l", "\(p)", pdf, "-"])
        for n in 0..<figures {
          if text.contains("FIGTOP\(n)X") { top[n] = p }
          if text.contains("FIGEND\(n)X") { end[n] = p }
        }
      }
      for n in 0..<figures {
        #expect(
          top[n] != nil && top[n] == end[n],
          "\(spacer) in pages: figure \(n) starts on page \(top[n] ?? -1), ends on \(end[n] ?? -1)")
      }
    }
  }

  @Test func chromiumRendersTheReport() throws {
    let chromium = "/usr/bin/chromium"
    try #require(
      FileManager.default.isExecutableFile(atPath: chromium),
      "Chromium is missing: run Scripts/setup.sh (apt-get install chromium)")
    let scratch = try ReportFixture.shared.scratch()
    let out = scratch.appendingPathComponent("out")
    try ReportWriter.write(ReportFixture.sharedReport, to: out)
    let shot = scratch.appendingPathComponent("page.png").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium)
    process.arguments = [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1024,1600",
      "--user-data-dir=\(scratch.appendingPathComponent("chromium").path)", "--screenshot=\(shot)",
      out.appendingPathComponent("index.html").absoluteString,
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let image = try CairoCanvas(png: shot)
    #expect(image.width == 1024 && image.height == 1600)
    // Not blank: a good share of the sampled pixels is not white, and there are several distinct colours.
    var inked = 0, colours = Set<Int>()
    for y in stride(from: 0, to: 1600, by: 8) {
      for x in stride(from: 0, to: 1024, by: 8) {
        let p = image.pixel(x: x, y: y)
        if p.red < 240 || p.green < 240 || p.blue < 240 { inked += 1 }
        colours.insert(Int(p.red) << 16 | Int(p.green) << 8 | Int(p.blue))
      }
    }
    #expect(inked > 500, "only \(inked) inked samples")
    #expect(colours.count > 20)
  }
}

/// The summary printed to the terminal is plain text: the Markdown escapes of summary.md are taken away again, and
/// a name escaped for Markdown reads as the name (terminal-safe) itself.
@Suite struct TerminalSummaryTests {
  @Test func markdownEscapesAreTakenAwayForTheTerminal() {
    #expect(
      ReportWriter.terminalSummary("- **Run the tuner**: 0.1% over the SLO \\(1% allowed\\); a\\_b \\*c\\* \\\\ d\n")
        == "- Run the tuner: 0.1% over the SLO (1% allowed); a_b *c* \\ d\n")
    for name in ["<script>alert(1)</script>", "a*b**c", "x\\y", "[x](javascript:1) | `y` #z", "under_score!", "\\"] {
      #expect(ReportWriter.terminalSummary(MarkdownText.escape(name)) == TerminalText.safe(name), "\(name)")
    }
  }
}
