import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight
@testable import InferLineReport

/// `NightReport`, the library's entry point for a night: the merge of every shard's part (sealed and read back as
/// a merge reads it) is the one-machine report for a fleet, at several shard counts and with searches stopped by
/// their budget; the previous night's comparison; and the settings that cannot be used, refused before any work.
@Suite struct NightReportTests {
  static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("SampleTraces").path

  /// Two hours of bursty traffic through the sample video-monitoring and social-media pipelines, in one log.
  static let logFolder = TemporaryFolder.untilExit("inferline-night")
  static let log: String = {
    let folder = logFolder.url
    let arrivals = TraceGenerator.arrivals(
      .gamma(rate: 10, cv: 3), duration: 2 * 3600, start: 1_795_824_000_000_000_000, seed: 12)
    var rng = SeededGenerator(seed: 3)
    let owners = arrivals.map { _ in rng.nextUnitInterval() < 0.5 ? 0 : 1 }
    let path = folder.appendingPathComponent("night.csv").path
    var writer = QueryLogWriter()
    writer.pipelines = ["video-monitoring", "social-media"]
    try! writer.write(arrivals: arrivals, pipelineOfArrival: owners, to: path)
    return path
  }()

  static func request(seed: UInt64 = 1, history: String? = nil) -> ReportRequest {
    var r = ReportRequest()
    r.history = history
    r.logs = [log]
    r.pipelines = ["video-monitoring", "social-media"].map { "\(samples)/pipelines/\($0).yaml" }
    r.hardware = "\(samples)/hardware/aws-2026.yaml"
    r.profiles = "\(samples)/profiles/profiles-2026.csv"
    r.window = "30m"
    r.growth = [1.5]
    r.budget = "30"
    r.seed = seed
    return r
  }

  /// A report's JSON without what differs between runs of the same inputs: timings and the generation time.
  static func comparable(_ fleet: FleetReport) throws -> NSDictionary {
    try comparableReport(ReportWriter.encoder().encode(fleet))
  }

  /// Tonight's report of `request()`, run once for the tests that need it.
  static let tonight = try! NightReport(request()).run().report

  /// Three weeks of nights before tonight's log (2026-11-07 to 27), as the report.json files earlier runs would have
  /// written: tonight's fleet report moved back a day at a time, its traffic and cost scaled by a weekly pattern with
  /// growth and noise; beside them a log of a pipeline tonight does not plan, a JSON file that is not a report, and
  /// a chart.
  static let historyFolder = TemporaryFolder.untilExit("inferline-history")
  static let history: String = {
    let folder = historyFolder.url
    let tonight = Self.tonight
    let day: Int64 = 86_400_000_000_000
    let pattern = try! DailyPattern(weekly: [1.1, 1.1, 1.1, 1.05, 1, 0.85, 0.8], trendPerDay: 0.01, noise: 0.02)
    let levels = pattern.levels(
      days: 22, firstWeekday: DailyPattern.weekday(at: 1_795_824_000_000_000_000 - 21 * day), seed: 5)
    for k in 1...21 {
      let scale = levels[21 - k] / levels[21]
      let pipelines = tonight.pipelines.map { r -> CapacityReport in
        var n = r
        n.workload.start -= Int64(k) * day
        n.workload.end -= Int64(k) * day
        n.workload.queries = Int(Double(r.workload.queries) * scale)
        for i in n.windows.indices { n.windows[i].queries = Int(Double(r.windows[i].queries) * scale) }
        n.costPerDay *= scale
        return n
      }
      let night = folder.appendingPathComponent("night-\(k)")
      try! FileManager.default.createDirectory(at: night, withIntermediateDirectories: true)
      try! ReportWriter.encoder().encode(FleetReport(pipelines: pipelines, unplannedQueries: [:], seed: 1)).write(
        to: night.appendingPathComponent("report.json"))
    }
    var writer = QueryLogWriter()
    writer.pipeline = "checkout"
    try! writer.write(
      arrivals: TraceGenerator.arrivals(
        .poisson(rate: 0.01), duration: 2 * 86_400, start: 1_795_824_000_000_000_000 - 2 * day, seed: 2),
      to: folder.appendingPathComponent("checkout.csv").path)
    try! Data("{}".utf8).write(to: folder.appendingPathComponent("notes.json"))
    try! Data([0x89, 0x50]).write(to: folder.appendingPathComponent("chart.png"))
    return folder.path
  }()

  @Test func theMergedShardsAreTheOneMachineReport() throws {
    let request = Self.request(history: Self.history)
    let whole = try NightReport(request).run().report
    #expect(whole.pipelines.map(\.pipelineName) == ["video-monitoring", "social-media"])
    // Some window's search stopped before its proof: the merge must warm-start as one machine does.
    #expect(whole.pipelines.contains { $0.windows.contains { $0.provenOptimal == false } })
    let sharded = try NightReport(request, sharded: true)
    for n in [2, 3] {
      let parts = try (0..<n).map { k in
        let part = try sharded.shard(k, of: n).part
        // As the merge reads it: sealed, written, read back and checked.
        return (path: "part-\(k).json", part: try PartFile.decode(PartFile.encode(part, key: nil), file: "p", key: nil))
      }
      #expect(parts.map(\.part.request) == Array(repeating: request.analysis, count: n))
      let merged = try sharded.run(parts: parts).report
      #expect(try Self.comparable(merged) == Self.comparable(whole), "\(n) shards")
    }
    #expect(whole.pipelines.allSatisfy { $0.forecast?.months.count == 2 })
    // A part of another night's settings is refused by name.
    let other = try NightReport(Self.request(seed: 2), sharded: true).shard(0, of: 1).part
    #expect(throws: InputError.self) { try sharded.run(parts: [("other.json", other)]) }
  }

  @Test func theSameNightAgainChangesNothingAndSaysSo() throws {
    let night = try NightReport(Self.request())
    let first = Self.tonight
    let second = try night.run(previous: first).report
    #expect(second.previous?.costPerDayChange == 0 && second.previous?.changes == [])
    for p in second.pipelines { #expect(p.previous?.costPerDayChange == 0) }
  }

  /// The budget from history: every night read or named as left out; each bound's plan is the busiest window
  /// planned at that traffic (the same search run here on its own), its month the month's cost times that plan's
  /// over tonight's; the fleet's table and summary add the pipelines' months.
  @Test func theBudgetFromHistoryPlansTheForecastTraffic() throws {
    // Tonight's own report, and one of another catalog a day earlier, in the history too.
    let scratch = TemporaryFolder("inferline-history-reports")
    defer { withExtendedLifetime(scratch) {} }  // removed when the test is done with it
    let folder = scratch.url.appendingPathComponent("history")
    try FileManager.default.copyItem(at: URL(fileURLWithPath: Self.history), to: folder)
    let tonight = Self.tonight
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("tonight"), withIntermediateDirectories: true)
    try ReportWriter.encoder().encode(tonight.pipelines[0]).write(
      to: folder.appendingPathComponent("tonight/report.json"))
    var other = tonight.pipelines[0]
    other.hardwarePrices[other.hardwarePrices.keys.sorted()[0]]! *= 2
    other.workload.start -= 86_400_000_000_000
    other.workload.end -= 86_400_000_000_000
    try ReportWriter.encoder().encode(other).write(to: folder.appendingPathComponent("other.json"))

    let night = try NightReport(Self.request(history: folder.path))
    let fleet = try night.run().report
    let (_, workloads, _) = try CapacityAnalysis.readNight(
      logs: night.request.logs, models: night.models, options: night.options)
    for (p, r) in fleet.pipelines.enumerated() {
      let f = try #require(r.forecast)
      #expect(f.nights.count == 22 && f.nights.last?.source == "tonight" && f.nights.first?.date == "2026-11-07")
      #expect(f.note == nil && f.filledDays.isEmpty)
      #expect(f.otherFiles == 1)
      let reasons = Dictionary(f.leftOut.map { (URL(fileURLWithPath: $0.source).lastPathComponent, $0.reason) }) {
        a, _ in a
      }
      // Tonight's report and the other catalog's are the first pipeline's nights; the stray JSON is everyone's.
      #expect(reasons["report.json"] == (p == 0 ? "the same day as tonight's log" : nil))
      #expect((reasons["other.json"]?.hasPrefix("another hardware catalog") ?? false) == (p == 0))
      #expect(reasons["notes.json"]?.contains("not a") == true)
      #expect(reasons["checkout.csv"] == "queries of pipeline 'checkout', which tonight's report does not plan")
      // Tonight's busiest window's rate, as the report's windows give it.
      let peak = Double(r.windows.map(\.queries).max()!) / r.windowLengthSeconds
      #expect(abs(f.nights.last!.peakRate - peak) < 1e-9)
      let incumbents = [(name: "today's plan", configuration: r.recommended!)]
      for m in f.months {
        for line in m.lines {
          #expect(abs(line.factor - line.peakRate / peak) < 1e-12)
          let alone = CapacityAnalysis.scenario(
            line.factor, model: night.models[p], planning: workloads[p].busiestArrivals, options: night.options,
            incumbents: incumbents)
          #expect(line.plan == alone)
          let month = try #require(line.costPerMonth)
          #expect(abs(month - r.costPerMonth * alone.costPerHour! / r.recommendedCostPerHour!) < 1e-9)
        }
        #expect(m.lines[0].peakRate <= m.lines[1].peakRate && m.lines[1].peakRate <= m.lines[2].peakRate)
      }
    }
    let rows = ReportWriter.fleetBudget(fleet).filter { $0.label.hasPrefix("forecast") }
    #expect(rows.count == 3)
    for (i, row) in rows.enumerated() {
      #expect(row.perPipeline == fleet.pipelines.map { $0.forecast!.months[0].lines[i].costPerMonth })
      #expect(abs(row.total! - row.perPipeline.map { $0! }.reduce(0, +)) < 1e-9)
    }
    #expect(ReportWriter.fleetSummaryMarkdown(fleet).contains("- Budget for the next 30 days from history: $"))
  }

  /// The backtest is tonight's recommendation replayed on each earlier night of a log, each night exactly as a
  /// replay of that day alone; a heavier night costs more under the tuner; nights from reports are counted.
  @Test func theBacktestReplaysEachEarlierNightAlone() throws {
    let temporary = TemporaryFolder("inferline-backtest")
    let folder = temporary.url
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("history"), withIntermediateDirectories: true)
    let day: Int64 = 86_400_000_000_000, tonightStart: Int64 = 1_795_824_000_000_000_000
    var writer = QueryLogWriter()
    writer.pipeline = "video-monitoring"
    // 2026-11-24 to 27: the first day at three times the others' rate.
    let earlier = TraceGenerator.arrivals(
      .diurnal(meanRate: 0.3, peakToTrough: 3), duration: 4 * 86_400, start: tonightStart - 4 * day, seed: 8,
      pattern: try DailyPattern(noise: 0)
    ).arrivals.filter { $0 >= tonightStart - 3 * day }
    let heavy = TraceGenerator.arrivals(
      .diurnal(meanRate: 0.9, peakToTrough: 3), duration: 86_400, start: tonightStart - 4 * day, seed: 9)
    try writer.write(arrivals: heavy + earlier, to: folder.appendingPathComponent("history/days.csv").path)
    let tonight = folder.appendingPathComponent("tonight.csv").path
    try writer.write(
      arrivals: TraceGenerator.arrivals(
        .diurnal(meanRate: 0.3, peakToTrough: 3), duration: 86_400, start: tonightStart, seed: 10), to: tonight)
    // A file whose name is markup: left out, and shown as text.
    try Data("{}".utf8).write(to: folder.appendingPathComponent("history/<em>x.json"))
    var request = Self.request(history: folder.appendingPathComponent("history").path)
    request.logs = [tonight]
    request.pipelines = [request.pipelines[0]]
    request.window = "1h"
    let night = try NightReport(request)
    let report = try night.run().report.pipelines[0]
    let backtest = try #require(report.forecast?.backtest)
    #expect(backtest.nights.map(\.date) == ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"])
    #expect(backtest.policy == report.recommendation?.policy && backtest.withoutQueries == 0)
    #expect(report.forecast?.note?.contains("a forecast needs at least 7") == true)
    // Each night alone: its day of the log read again, replayed from tonight's busiest window.
    let (_, workloads, _) = try CapacityAnalysis.readNight(
      logs: request.logs, models: night.models, options: night.options)
    let log = try QueryLogSet.read(paths: [folder.appendingPathComponent("history/days.csv").path]).traces[0].arrivals
    let (policy, configuration, unit) = try #require(
      Backtest.provisioning(of: report.recommendedReplay!, configuration: report.recommended!, schedule: nil))
    for n in backtest.nights {
      let start = Int64(HistoryNight.dayNumber(n.date)!) * day
      let alone = try Replay.run(
        arrivals: log.filter { $0 >= start && $0 < start + day }, model: night.models[0], configuration: configuration,
        planning: workloads[0].busiestArrivals, policy: policy, unit: unit, seed: request.seed)
      #expect(n.cost == alone.cost && n.missRate == alone.missRate && n.queries == alone.queries, "\(n.date)")
    }
    #expect(backtest.nights[0].queries > 2 * backtest.nights[1].queries)
    #expect(backtest.nights[0].cost >= backtest.nights[1].cost)
    // The page: the forecast's section with its note, the backtest's table and chart, the left-out file as text.
    let out = folder.appendingPathComponent("report")
    try ReportWriter.write(report, to: out)
    let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
    let page = try MarkupDocument(html: html)
    #expect(!page.elements.contains { $0.name == "em" })
    #expect(html.contains("&lt;em&gt;x.json") && html.contains("Forecast from history"))
    #expect(html.contains("Backtest: tonight's recommendation on the earlier nights"))
    #expect(html.contains("No forecast: 5 days of history with tonight"))
    #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("charts/history-backtest.svg").path))

    // --robust 2: every planned window's plan also meets the SLO on the same hour of the two latest earlier nights.
    var robust = request
    robust.robust = 2
    let robustNight = try NightReport(robust)
    let planned = try robustNight.run().report.pipelines[0]
    let nights = try #require(
      try CapacityAnalysis.readNight(logs: robust.logs, models: robustNight.models, options: robustNight.options)
        .workloads[0].earlier)
    #expect(nights.nights.map(\.date) == ["2026-11-27", "2026-11-26"])
    for w in planned.windows {
      guard let c = w.configuration else { continue }
      let window = WorkloadWindow(start: w.start, length: 3_600_000_000_000, range: 0..<w.queries)
      for set in nights.arrivals(for: window) where night.models[0].percentile.allowedMisses(of: set.count) >= 1 {
        #expect(FeasibilityOracle(model: night.models[0], arrivals: set, seed: request.seed).evaluate(c).feasible)
      }
    }
    #expect(planned.windows.filter { $0.method?.hasPrefix("robust over") == true }.count >= 20)
    robust.robust = 5
    #expect { try NightReport(robust).run() } throws: { "\($0)".contains("--robust 5: the history holds 4 nights") }
    robust.history = nil
    #expect { try NightReport(robust) } throws: { ($0 as? ReportRequest.SettingError)?.key == "robust" }
  }

  @Test func settingsThatCannotBeUsedAreRefusedBeforeAnyWork() throws {
    var calibrated = Self.request()
    calibrated.calibrate = "deployed.yaml"
    #expect {
      try NightReport(calibrated)
    } throws: { ($0 as? ReportRequest.SettingError)?.key == "calibrate" }
    var single = calibrated
    single.pipelines = [single.pipelines[0]]
    #expect {
      try NightReport(single, sharded: true)
    } throws: { ($0 as? ReportRequest.SettingError)?.problem.contains("fit first, then shard") == true }
    var badEdge = Self.request()
    badEdge.escalation = "a -> b = 0.5"
    #expect { try NightReport(badEdge) } throws: { "\($0)".contains("has an edge 'a -> b'") }
    var noInputs = Self.request()
    noInputs.hardware = nil
    #expect(throws: InputError.self) { try NightReport(noInputs) }
    #expect {
      try NightReport(Self.request(history: "/no/such/folder"))
    } throws: { "\($0)".contains("/no/such/folder: error: no such folder") }
    var badWindow = Self.request()
    badWindow.window = "never"
    #expect { try NightReport(badWindow) } throws: { ($0 as? ReportRequest.SettingError)?.key == "window" }
  }
}
