import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight
@testable import InferLineReport

/// Two pipelines with hostile names and a third that no file names, in one log with a pipeline column.
struct FleetFixture: Sendable {
  static let shared = try! FleetFixture()
  static let sharedFleet = try! shared.fleet()

  /// The fixture's folder (`TemporaryFolder`), and its URL.
  let scratch: TemporaryFolder
  let folder: URL
  let models: [PipelineModel]
  let log: String
  /// Queries the generator gave each of the three names.
  let counts: [String: Int]
  static let names = ["<b>evil</b> & co", "second \"pipe\"", "unplanned"]

  init() throws {
    scratch = TemporaryFolder.untilExit("inferline-fleet")
    folder = scratch.url
    try
      "hardware:\n  - {type: G, price_per_hour: 1, provisioning_delay_s: 5, max_replicas: 8}\n  - {type: C, price_per_hour: 0.2}\n"
      .write(to: folder.appendingPathComponent("h.yaml"), atomically: true, encoding: .utf8)
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for b in [1, 2, 4] { profiles += "m,G,\(b),\(4 + 2 * b),p99\nm,C,\(b),\(15 + 10 * b),p99\n" }
    try profiles.write(to: folder.appendingPathComponent("f.csv"), atomically: true, encoding: .utf8)
    var models: [PipelineModel] = []
    for (i, name) in Self.names.prefix(2).enumerated() {
      let quoted = name.replacingOccurrences(of: "\"", with: "\\\"")
      let pipeline = "name: \"\(quoted)\"\nslo: {latency_ms: \(60 + 40 * i)}\nstages:\n  - {name: s\(i), model: m}\n"
      let file = folder.appendingPathComponent("p\(i).yaml")
      try pipeline.write(to: file, atomically: true, encoding: .utf8)
      models.append(
        PipelineModel(
          try PlanningInputs.load(
            pipeline: file.path, hardware: folder.appendingPathComponent("h.yaml").path,
            profiles: folder.appendingPathComponent("f.csv").path)))
    }
    self.models = models
    let arrivals = TraceGenerator.arrivals(
      .diurnal(meanRate: 16, peakToTrough: 3), duration: 2 * 3600, start: 1_795_824_000_000_000_000, seed: 4)
    var rng = SeededGenerator(seed: 9)
    let owners = arrivals.map { _ in
      let u = rng.nextUnitInterval()
      return u < 0.55 ? 0 : u < 0.95 ? 1 : 2
    }
    var counts: [String: Int] = [:]
    for o in owners { counts[Self.names[o], default: 0] += 1 }
    self.counts = counts
    log = folder.appendingPathComponent("fleet.csv").path
    var writer = QueryLogWriter()
    writer.pipelines = Self.names
    try writer.write(arrivals: arrivals, pipelineOfArrival: owners, to: log)
  }

  static var options: CapacityAnalysis.Options {
    var options = CapacityAnalysis.Options()
    options.growth = [1.5]
    options.frontier = [1, 2]
    return options
  }

  func fleet() throws -> FleetReport {
    try CapacityAnalysis.runFleet(logs: [log], models: models, options: Self.options)
  }
}

@Suite(.serialized) struct FleetTests {
  /// The fleet's figures are the sums of its pipelines', each pipeline's report is the one a single-pipeline run
  /// gives on the same log (a second way to the same numbers), and the queries of the pipeline no file names are
  /// counted, not lost.
  @Test func fleetTotalsAreTheSumsOfItsPipelinesReports() throws {
    let fixture = FleetFixture.shared
    let fleet = FleetFixture.sharedFleet
    #expect(fleet.pipelines.map(\.pipelineName) == Array(FleetFixture.names.prefix(2)))
    #expect(fleet.unplannedQueries == ["unplanned": fixture.counts["unplanned"]!])
    for r in fleet.pipelines { #expect(r.workload.queries == fixture.counts[r.pipelineName]) }
    #expect(fleet.totals.queries == fixture.counts["<b>evil</b> & co"]! + fixture.counts["second \"pipe\""]!)
    #expect(abs(fleet.totals.costPerDay - fleet.pipelines.map(\.costPerDay).reduce(0, +)) < 1e-9)
    #expect(abs(fleet.totals.costPerMonth - 30 * fleet.totals.costPerDay) < 1e-9)
    // Every policy replayed for both pipelines is in the totals, the tuner first.
    #expect(
      fleet.totals.policies.map(\.policy)
        == ["inferline", "static", "predictive", "hpa", "ray", "kpa", "schedule", "CG-Peak", "CG-Mean", "CG-HPA"])
    for total in fleet.totals.policies {
      let replays = fleet.pipelines.map { r in r.allReplays.first { $0.policy == total.policy }! }
      let perDay = replays.map { $0.cost / $0.hours * 24 }.reduce(0, +)
      #expect(abs(total.costPerDay - perDay) < 1e-9, "\(total.policy)")
      let over = replays.map { $0.missRate * Double($0.queries) }.reduce(0, +)
      #expect(abs(total.missRate - over / Double(fleet.totals.queries)) < 1e-12, "\(total.policy)")
      // Missing: more than the percentile's share of queries over the SLO, or 2% of minutes or more with more.
      let missing = zip(fleet.pipelines, replays).filter { r, replay in
        let allowed = 1 - r.percentile / 100
        let minutesOver = replay.missRatePerMinute.filter { $0 > allowed + 1e-12 }.count
        return replay.missRate > allowed + 1e-12
          || Double(minutesOver) >= 0.02 * Double(max(1, replay.missRatePerMinute.count))
      }
      #expect(total.pipelinesMissingSLO == missing.map(\.0.pipelineName), "\(total.policy)")
    }
    // The recommended total is each pipeline's recommended replay, summed; by hardware, the same split; and it is
    // the fleet's cost per day.
    let recommended = try #require(fleet.totals.recommended)
    let chosen = fleet.pipelines.map { $0.recommendedReplay! }
    #expect(abs(recommended.costPerDay - chosen.map { $0.cost / $0.hours * 24 }.reduce(0, +)) < 1e-9)
    #expect(abs(recommended.costPerDay - fleet.totals.costPerDay) < 1e-9)
    #expect(abs(fleet.totals.costPerDayByHardware.values.reduce(0, +) - recommended.costPerDay) < 1e-9)
    // The same pipeline alone: the same plans, replays and cost.
    let alone = try CapacityAnalysis.run(
      logs: [fixture.log], model: fixture.models[1], options: FleetFixture.options)
    let inFleet = fleet.pipelines[1]
    #expect(alone.windows == inFleet.windows)
    #expect(alone.replays == inFleet.replays && alone.baselineReplays == inFleet.baselineReplays)
    #expect(alone.costPerDay == inFleet.costPerDay && alone.growth == inFleet.growth)
  }

  /// The fleet folder: the first page and each pipeline's full report in its own folder, linked both ways,
  /// every name from input escaped in HTML and Markdown, ids unique, and report.json read back as a fleet.
  @Test func aFleetFolderLinksEachPipelineAndEscapesTheirNames() throws {
    let fleet = FleetFixture.sharedFleet
    let out = FleetFixture.shared.folder.appendingPathComponent("out-\(UUID().uuidString)")
    let folder = try ReportFolder(out)
    try ReportWriter.write(fleet, to: folder)
    let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
    #expect(!html.contains("<b>evil") && html.contains("&lt;b&gt;evil&lt;/b&gt; &amp; co"))
    let page = try MarkupDocument(html: html)
    let ids = page.elements.compactMap { $0.attributes["id"] }
    #expect(Set(ids).count == ids.count, "duplicate ids")
    let links = page.elements.filter { $0.name == "a" }.compactMap { $0.attributes["href"] }
    // Each pipeline's report, from the decision's table and from the pipeline's section.
    #expect(
      links == ["b-evil-b-co/index.html", "second-pipe/index.html"] + [
        "b-evil-b-co/index.html", "second-pipe/index.html",
      ])
    for link in links {
      let sub = try String(contentsOf: out.appendingPathComponent(link), encoding: .utf8)
      #expect(sub.contains("href=\"../index.html\""), "\(link) links back")
      #expect(!sub.contains("<b>evil"))
      let folder = out.appendingPathComponent(link).deletingLastPathComponent()
      #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.json").path))
      #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("charts/latency-cdf.svg").path))
    }
    for chart in ["fleet-policies", "fleet-windows"] {
      #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("charts/\(chart).svg").path))
      #expect(html.contains("<svg"), "charts inline")
    }
    // Unplanned queries are shown with their count.
    #expect(html.contains("unplanned</td><td class=\"n\">\(FleetFixture.shared.counts["unplanned"]!)"))
    let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
    // Markdown: every `<` and `&` from a name backslash-escaped.
    #expect(!summary.replacingOccurrences(of: "\\<", with: "").contains("<"), "\(summary)")
    #expect(summary.contains("\\<b>evil\\</b> \\& co") && summary.contains("Fleet cost per day"))
    let (read, isFleet) = try ReportWriter.loadFleet(path: out.appendingPathComponent("report.json").path)
    #expect(isFleet && read == fleet)
    // A single pipeline's report.json reads as a fleet of one.
    let (single, singleIsFleet) = try ReportWriter.loadFleet(
      path: out.appendingPathComponent("second-pipe/report.json").path)
    #expect(!singleIsFleet && single.pipelines == [fleet.pipelines[1]])
  }

  @Test func fleetDifferencesNameThePipelineAndTheChange() throws {
    let old = FleetFixture.sharedFleet
    #expect(old.differences(from: old).isEmpty)
    var pipelines = old.pipelines
    pipelines[0].costPerDay += 10
    pipelines[0].recommended?.stages[0].replicas += 1
    let removed = pipelines.removeLast()
    let new = FleetReport(pipelines: pipelines, seed: 1)
    let lines = new.differences(from: old)
    #expect(lines.contains { $0.hasPrefix("fleet cost per day") })
    #expect(lines.contains { $0.hasPrefix("<b>evil</b> & co: cost per day") })
    #expect(lines.contains { $0.hasPrefix("<b>evil</b> & co: stage s0: ") })
    #expect(
      lines.contains(
        "pipeline \(removed.pipelineName) removed (was \(String(format: "$%.2f", removed.costPerDay)) per day)"))
    let back = old.differences(from: new)
    #expect(back.contains { $0.hasPrefix("pipeline second \"pipe\" added: ") })
    // A cost that is not a number is a change, not silence.
    var broken = old
    broken.totals.costPerDay = .nan
    #expect(broken.differences(from: old).contains { $0.hasPrefix("fleet cost per day") })
  }

  @Test func pipelineFoldersAreUniqueSafeNames() {
    #expect(
      ReportWriter.pipelineFolders(["A b", "a-b", "charts", "<>", "..", "", "../../etc"])
        == ["a-b", "a-b-2", "charts-2", "pipeline-4", "pipeline-5", "pipeline-6", "etc"])
  }

  @Test func aFleetNeedsAPipelineColumnAndDistinctPipelines() throws {
    let fixture = FleetFixture.shared
    let plain = fixture.folder.appendingPathComponent("plain.csv").path
    try QueryLogWriter().write(arrivals: [1_795_824_000_000_000_000, 1_795_824_001_000_000_000], to: plain)
    #expect {
      try CapacityAnalysis.runFleet(logs: [plain], models: fixture.models, options: FleetFixture.options)
    } throws: { ($0 as? InputError)?.description.contains("no pipeline column") == true }
    #expect {
      try CapacityAnalysis.runFleet(
        logs: [fixture.log], models: [fixture.models[0], fixture.models[0]], options: FleetFixture.options)
    } throws: { ($0 as? InputError)?.description.contains("name the pipeline") == true }
  }

  /// A pipeline whose tuner missed its SLO is named first on the fleet's page, with what it missed and why, and
  /// the recommendation it has instead.
  @Test func aTunerThatMissesIsSaidFirstOnTheFleetPage() throws {
    var fleet = FleetFixture.sharedFleet
    var rec = try #require(fleet.pipelines[1].recommendation)
    rec.tunerShortfall = Recommendation.Shortfall(
      missRate: 0.114, minutes: [.init(index: 3, missRate: 0.5)], minutesOver: 7, decisionsBefore: [],
      reason: "replicas were released shortly before")
    fleet.pipelines[1].recommendation = rec
    fleet.pipelines[0].recommendation?.tunerShortfall = nil
    let context = ReportWriter.fleetContext(fleet, charts: [:], folders: ["a", "b"])
    let misses = try #require(context["tunerMisses"] as? [[String: Any]])
    #expect(misses.count == 1)
    #expect(misses[0]["name"] as? String == fleet.pipelines[1].pipelineName)
    let text = try #require(misses[0]["text"] as? String)
    #expect(text.contains("11.400%") && text.contains("7 minute(s)") && text.contains("released"), "\(text)")
    #expect(misses[0]["recommended"] as? String == PolicyTitle.of(rec.policy))
    // Nothing at risk while every recommendation met its SLO; a pipeline whose best replay missed is named.
    #expect(
      FleetFixture.sharedFleet.pipelinesAtRisk.isEmpty
        == FleetFixture.sharedFleet.pipelines.allSatisfy(\.recommendationMeetsSLO))
    rec.meetsSLO = false
    fleet.pipelines[1].recommendation = rec
    #expect(fleet.pipelinesAtRisk.contains(fleet.pipelines[1].pipelineName))
  }

  /// A negative saving is never shown bare, and the fleet's sentence is computed from both totals.
  @Test func aDearerFleetSaysWhy() {
    let chosen = FleetReport.PolicyTotal(
      policy: "recommended", costPerDay: 50, missRate: 0.001, pipelinesMissingSLO: [], pipelines: 2)
    var ray = FleetReport.PolicyTotal(
      policy: "ray", costPerDay: 40, missRate: 0.03, pipelinesMissingSLO: ["a"], pipelines: 2)
    #expect(
      ReportWriter.fleetSavingExplanation(recommended: chosen, alternative: ray)
        == "25.0% dearer because this alternative misses the SLO (misses the SLO of a)")
    ray.pipelinesMissingSLO = []
    #expect(
      ReportWriter.fleetSavingExplanation(recommended: chosen, alternative: ray)
        == "25.0% dearer, and both meet the SLO")
    ray.costPerDay = 60
    #expect(
      ReportWriter.fleetSavingExplanation(recommended: chosen, alternative: ray)
        == "16.7% cheaper, and both meet the SLO")
    var missing = chosen
    missing.pipelinesMissingSLO = ["b"]
    #expect(
      ReportWriter.fleetSavingExplanation(recommended: missing, alternative: ray)
        == "16.7% cheaper, but the recommendation misses the SLO (misses the SLO of b) where this alternative meets it")
  }
}

@Suite struct PlanScheduleTests {
  /// The schedule lists the first window's plan and then only the windows whose plan changes, with the stages
  /// that change; the busiest window's explanation is shown stage by stage.
  @Test func theScheduleListsOnlyChanges() throws {
    var r = ReportFixture.sharedReport
    let planned = r.windows.indices.filter { r.windows[$0].configuration != nil }
    try #require(planned.count >= 2)
    for i in planned { r.windows[i].configuration = r.windows[planned[0]].configuration }
    #expect(ReportWriter.schedule(r).count == 1)
    r.windows[planned[1]].configuration!.stages[1].replicas += 1
    let rows = ReportWriter.schedule(r)
    #expect(rows.count == 2)
    let change = try #require(rows.last?["changes"] as? String)
    #expect(change.hasPrefix("second & \"quoted\" ") && change.contains(" -> ") && !change.contains("<script>"))
    let why = ReportWriter.busiestWhy(ReportFixture.sharedReport)
    #expect(why.count == 2 && why.filter { ($0["binding"] as? String) == "(binds)" }.count == 1)
  }
}

@Suite struct BudgetFallbackTests {
  /// Every budget search tries the recommended plan first: the frontier at the SLO and looser is never dearer than
  /// the recommendation.
  @Test func theFrontierIsNeverDearerThanTheRecommendationAtItsSLO() throws {
    for r in FleetFixture.sharedFleet.pipelines + [ReportFixture.sharedReport] {
      let recommended = try #require(r.recommendedCostPerHour)
      for point in r.frontier where point.sloMs >= r.sloMs - 1e-9 {
        let cost = try #require(point.costPerHour)
        #expect(cost <= recommended + 1e-9, "\(r.pipelineName) at \(point.sloMs) ms: \(cost) > \(recommended)")
      }
    }
  }

  /// A search allowed a single simulation stops without a plan; the growth scenarios and the frontier then fall
  /// back on greedy's plan (descended from), feasible on their own traffic, instead of saying "no plan".
  @Test func aSearchOutOfBudgetStillGivesTheGrowthAndFrontierAPlan() throws {
    let fixture = ReportFixture.shared
    let model = PipelineModel(fixture.inputs)
    var options = CapacityAnalysis.Options()
    options.growth = [1.5]
    options.frontier = [1, 2]
    options.budget = SearchBudget(simulations: 1)
    let (workload, _) = try CapacityAnalysis.Workload.read(logs: [fixture.log], model: model, options: options)
    let (frontier, growth, _) = CapacityAnalysis.frontierAndGrowth(model: model, workload: workload, options: options)
    let scenario = try #require(growth.first)
    let configuration = try #require(scenario.configuration, "\(scenario.note ?? "")")
    let scaled = workload.busiestArrivals.map { Int64((Double($0) / 1.5).rounded(.down)) }
    #expect(FeasibilityOracle(model: model, arrivals: scaled, seed: options.seed).evaluate(configuration).feasible)
    #expect(scenario.provenOptimal != true || scenario.costPerHour != nil)
    for point in frontier {
      let c = try #require(point.configuration, "SLO \(point.sloMs) ms has no plan")
      #expect(
        FeasibilityOracle(model: model, arrivals: workload.busiestArrivals, seed: options.seed, sloMs: point.sloMs)
          .evaluate(c).feasible)
    }
  }
}

@Suite struct WorkloadDriftTests {
  /// The same night twice drifts nowhere; the same mean with gamma gaps of CV 3 instead of Poisson, analysed from a
  /// log of its own, reads as burstier (and not as a change of the mean rate).
  @Test func aBurstierNightIsFlaggedAndAnOrdinaryOneIsNot() throws {
    let calm = ReportFixture.sharedReport
    #expect(WorkloadDrift.changes(from: calm, to: calm).isEmpty)
    let fixture = ReportFixture.shared
    let log = fixture.folder.appendingPathComponent("bursty-\(UUID().uuidString).csv").path
    try QueryLogWriter().write(
      arrivals: TraceGenerator.arrivals(
        .diurnal(meanRate: 12, peakToTrough: 3, cv: 3), duration: 2 * 3600, start: 1_795_824_000_000_000_000,
        seed: 3), to: log)
    var options = CapacityAnalysis.Options()
    options.growth = [1.5]
    options.frontier = [1]
    let bursty = try CapacityAnalysis.run(logs: [log], model: PipelineModel(fixture.inputs), options: options)
    let lines = WorkloadDrift.changes(from: calm, to: bursty)
    #expect(lines.contains { $0.hasPrefix("workload: burstier at ") }, "\(lines)")
    #expect(!lines.contains { $0.hasPrefix("workload: mean rate") }, "\(lines)")
    #expect(bursty.differences(from: calm).contains { $0.hasPrefix("workload: burstier") })
    // And back: the Poisson night is smoother than the bursty one.
    #expect(WorkloadDrift.changes(from: bursty, to: calm).contains { $0.hasPrefix("workload: smoother at ") })
  }

  /// Each threshold on its own: more traffic of the same shape is a rate change, not burstiness; a peak 10% higher
  /// is under the threshold; the busiest window moving by two hours is said with both hours.
  @Test func eachChangeIsReportedOnlyBeyondItsThreshold() throws {
    let old = ReportFixture.sharedReport
    var more = old
    more.workload.meanRate *= 1.3
    more.workload.envelopeRates = more.workload.envelopeRates.map { $0 * 1.3 }
    more.workload.peakRate1s *= 1.1
    let lines = WorkloadDrift.changes(from: old, to: more)
    #expect(lines.count == 1 && lines[0].hasPrefix("workload: mean rate") && lines[0].hasSuffix("(+30%)"), "\(lines)")
    var moved = old
    try #require(moved.windows.count >= 2)
    let busiest = moved.windows.indices.max { moved.windows[$0].queries < moved.windows[$1].queries }!
    moved.windows[busiest].start += 2 * 3_600_000_000_000
    let before = try #require(WorkloadDrift.busiestHour(old))
    #expect(
      WorkloadDrift.changes(from: old, to: moved)
        == [String(format: "workload: the busiest hour moved from %02d:00 to %02d:00 UTC", before, (before + 2) % 24)])
  }

  /// A fleet whose mix moves: one pipeline's share of the queries changes by more than 5 points.
  @Test func aFleetSaysWhenItsMixMoves() {
    let old = FleetFixture.sharedFleet
    #expect(WorkloadDrift.mixChanges(from: old, to: old).isEmpty)
    var pipelines = old.pipelines
    pipelines[1].workload.queries *= 3
    let new = FleetReport(pipelines: pipelines, seed: 1)
    let lines = WorkloadDrift.mixChanges(from: old, to: new)
    #expect(lines.count == 2 && lines.allSatisfy { $0.contains("share of the fleet's queries") }, "\(lines)")
    #expect(new.differences(from: old).contains(lines[0]))
  }
}
