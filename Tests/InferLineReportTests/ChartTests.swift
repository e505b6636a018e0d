import Foundation
import InferLine
import InferLineNight
import InferLineTestSupport
import Testing

@testable import InferLineReport

@Suite struct ChartTests {
  @Test func linearTicksAreNiceAndCoverTheRange() {
    #expect(Ticks.linear(0, 10) == [0, 2, 4, 6, 8, 10])
    let unit = Ticks.linear(0, 1)
    #expect(unit.count == 6 && zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
    let t = Ticks.linear(3.2, 97.5)
    #expect(t.first! <= 3.2 && t.last! >= 97.5)
    #expect(t == [0, 20, 40, 60, 80, 100])
    #expect(Ticks.linear(-5, 5) == [-6, -4, -2, 0, 2, 4, 6])
    // A single value still gets an axis around it.
    let single = Ticks.linear(7, 7)
    #expect(single.count >= 2 && single.first! < 7 && single.last! > 7)
    #expect(Ticks.linear(.nan, 1) == [0, 1])
    // Counts tick on whole numbers: replicas 0-3 are not labelled 0.5, 1.5, 2.5.
    #expect(Ticks.linear(0, 3, integer: true) == [0, 1, 2, 3])
    #expect(Ticks.linear(0, 3).contains(0.5))
  }

  @Test func logTicksArePowersOfTen() {
    #expect(Ticks.log(0.001, 1000) == [0.001, 0.01, 0.1, 1, 10, 100, 1000])
    #expect(Ticks.log(3, 40) == [3, 5, 10, 20, 30, 40])
    // A latency axis of 60-450 ms labels the SLO's neighbourhood (300, 400), not only 100 and 200.
    #expect(Ticks.log(60, 450) == [60, 80, 100, 200, 300, 400])
    #expect(Ticks.log(10, 1000) == [10, 20, 50, 100, 200, 500, 1000])
    #expect(Ticks.log(5, 5).count >= 2)
    #expect(Ticks.log(0, 10) == [1, 10])
  }

  /// Time axes say when hour 0 is in the reader's zone, with the date once, not an ISO instant to the millisecond.
  @Test func timeAxesStartAtAClockTimeInTheReadersZone() {
    var report = ReportFixture.sharedReport
    #expect(ReportCharts.replicaTimeline(report).x.label == "hours since 00:00 UTC on 2026-11-28")
    report.timeZone = "-08:00"
    #expect(ReportCharts.arrivalRate(report).x.label == "hours since 16:00 -08:00 on 2026-11-27")
  }

  @Test func labelsAreCompact() {
    #expect(Ticks.label(1200) == "1200")
    #expect(Ticks.label(12_000) == "12k")
    #expect(Ticks.label(2_500_000) == "2.5M")
    #expect(Ticks.label(0.005) == "0.005")
  }

  func svg(for chart: Chart) throws -> (String, MarkupDocument) {
    let scratch = TemporaryFolder("inferline-chart")
    defer { withExtendedLifetime(scratch) {} }  // removed when the test is done with it
    let folder = scratch.url
    let text = try ChartRenderer.write(chart, to: folder)
    #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("charts/\(chart.name).png").path))
    return (text, try MarkupDocument(xml: text))
  }

  /// Five baselines at one (cost, misses) point, or three stages with the same replica timeline: one series,
  /// the legend naming them all; different points or styles stay apart.
  @Test func identicalSeriesAreNamedTogether() {
    let same = [(x: 1.0, y: 2.0), (x: 3.0, y: 4.0)]
    let chart = Chart(
      name: "t", title: "t", description: "d", x: .init(label: "x"), y: .init(label: "y"),
      content: .xy(
        series: [
          .init(name: "CG-Peak", points: same, style: .points), .init(name: "a", points: [(x: 1, y: 1)]),
          .init(name: "CG-Mean", points: same, style: .points), .init(name: "line", points: same),
          .init(name: "static", points: same, style: .points),
        ], markers: []))
    guard case .xy(let series, _) = chart.content else {
      Issue.record("not an xy chart")
      return
    }
    #expect(series.map(\.name) == ["CG-Peak, CG-Mean and static (the same)", "a", "line"])
  }

  /// The latency CDF's share axis in nines: 90%, 99%, 99.9% evenly spaced, labelled as percents; the report's CDF
  /// has its 212 points, rising, without the 100% that has no place on the axis.
  @Test func theLatencyCDFStretchesTheTail() throws {
    #expect(ReportCharts.nines(90) == 1 && abs(ReportCharts.nines(99.9) - 3) < 1e-9)
    #expect([0, 1, 2, 3, 4].map(ReportCharts.ninesLabel) == ["0%", "90%", "99%", "99.9%", "99.99%"])
    let report = ReportFixture.sharedReport
    #expect(report.cdfPercents.count == 212 && report.latencyCDFMs.count == 212)
    #expect(zip(report.latencyCDFMs, report.latencyCDFMs.dropFirst()).allSatisfy { $0 <= $1 })
    guard case .xy(let series, let markers) = ReportCharts.latencyCDF(report).content else {
      Issue.record("not an xy chart")
      return
    }
    let ys = series[0].points.map(\.y)
    #expect(ys.count >= 200 && zip(ys, ys.dropFirst()).allSatisfy { $0 < $1 } && ys.allSatisfy(\.isFinite))
    #expect(markers.contains { !$0.vertical && abs($0.value - 2) < 1e-9 })  // the P99 line
  }

  /// The envelope chart's token-bucket line is the fit's bound, the least over the buckets: never below the
  /// observed envelope (each bucket bounds it), and three series in all, so the legend is one row.
  @Test func theTokenBucketLineBoundsTheObservedEnvelope() throws {
    let report = ReportFixture.sharedReport
    guard case .xy(let series, _) = ReportCharts.envelope(report).content else {
      Issue.record("not an xy chart")
      return
    }
    #expect(series.count == 3 && series[2].name.hasPrefix("token-bucket bound"))
    for (observed, bound) in zip(series[0].points, series[2].points) {
      #expect(observed.x == bound.x)
      #expect(bound.y >= observed.y * (1 - 1e-9), "at \(bound.x) s: \(bound.y) < \(observed.y)")
    }
  }

  @Test func emptyAndSinglePointSeriesStillDraw() throws {
    let empty = Chart(
      name: "empty", title: "Nothing", description: "No data at all.", x: .init(label: "x"), y: .init(label: "y"),
      content: .xy(series: [], markers: []))
    let (_, doc) = try svg(for: empty)
    #expect(doc.rootName == "svg")
    let single = Chart(
      name: "single", title: "One point", description: "A single point.", x: .init(label: "x", scale: .log),
      y: .init(label: "y", scale: .log), content: .xy(series: [.init(name: "s", points: [(x: 3, y: 4)])], markers: []))
    let (_, one) = try svg(for: single)
    #expect(one.count(elementsNamed: "path") > 5)
    let bars = Chart(
      name: "bars", title: "No bars", description: "Empty bars.", x: .init(label: "x"), y: .init(label: "y"),
      content: .bars(bars: [], segmentNames: []))
    #expect(try svg(for: bars).1.rootName == "svg")
  }

  @Test func svgIdsArePrefixedAndAccessible() throws {
    let chart = Chart(
      name: "demo", title: "Title <with> \"markup\" & more", description: "Describes it.", x: .init(label: "x"),
      y: .init(label: "y"),
      content: .xy(
        series: [.init(name: "a", points: [(x: 0, y: 1), (x: 1, y: 2)])],
        markers: [.init(value: 1.5, vertical: false, label: "SLO")]))
    let (text, doc) = try svg(for: chart)
    let elements = doc.elements
    let ids = elements.compactMap { $0.attributes["id"] }
    #expect(!ids.isEmpty && ids.allSatisfy { $0.hasPrefix("demo-") })
    #expect(Set(ids).count == ids.count)
    // Every reference points at an id of this chart.
    let hrefs = elements.compactMap { $0.attributes["href"] }.filter { $0.hasPrefix("#") }
    #expect(!hrefs.isEmpty && hrefs.allSatisfy { ids.contains(String($0.dropFirst())) })
    let root = elements[0]
    #expect(root.attributes["role"] == "img")
    #expect(root.children.prefix(2) == ["title", "desc"])
    #expect(text.contains("Title &lt;with&gt; \"markup\" &amp; more"))
    #expect(!text.hasPrefix("<?xml"))
  }
}

@Suite struct TemplateTests {
  /// The templates built into the binary are `Templates/report.mustache` and `fleet.mustache`, so an installed
  /// binary renders the same pages.
  @Test func theBuiltInTemplatesAreTheCheckedInOnes() throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Templates")
    for (name, builtIn) in [("report", BuiltInTemplates.report), ("fleet", BuiltInTemplates.fleet)] {
      let text = try String(contentsOf: folder.appendingPathComponent("\(name).mustache"), encoding: .utf8)
      #expect(
        builtIn == (text.hasSuffix("\n") ? String(text.dropLast()) : text),
        "Templates/\(name).mustache changed: run Scripts/embed-templates.sh")
    }
  }

  @Test func anEmptyOrBrokenTemplateIsRefusedWithAReadableReason() throws {
    let folder = try ReportFixture.shared.scratch()
    try "  \n".write(to: folder.appendingPathComponent("report.mustache"), atomically: true, encoding: .utf8)
    #expect(throws: InputError.self) {
      try ReportWriter.renderHTML(ReportFixture.sharedReport, charts: [:], templates: folder)
    }
    try "{{#windows}} open".write(
      to: folder.appendingPathComponent("report.mustache"), atomically: true, encoding: .utf8)
    do {
      _ = try ReportWriter.renderHTML(ReportFixture.sharedReport, charts: [:], templates: folder)
      Issue.record("an unclosed section must not render")
    } catch let error as InputError {
      #expect(!error.description.contains("ParserError(") && error.description.contains("does not parse"))
    }
  }
}
