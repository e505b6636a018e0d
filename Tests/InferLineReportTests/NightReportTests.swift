import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineReport

/// `NightReport`, the library's entry point for a night: the merge of every shard's part (sealed and read back as
/// a merge reads it) is the one-machine report for a fleet, at several shard counts and with searches stopped by
/// their budget; the previous night's comparison; and the settings that cannot be used, refused before any work.
@Suite struct NightReportTests {
  static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("SampleTraces").path

  /// Two hours of bursty traffic through the sample video-monitoring and social-media pipelines, in one log.
  static let log: String = {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("inferline-night-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
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

  static func request(seed: UInt64 = 1) -> ReportRequest {
    var r = ReportRequest()
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

  @Test func theMergedShardsAreTheOneMachineReport() throws {
    let request = Self.request()
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
    // A part of another night's settings is refused by name.
    let other = try NightReport(Self.request(seed: 2), sharded: true).shard(0, of: 1).part
    #expect(throws: InputError.self) { try sharded.run(parts: [("other.json", other)]) }
  }

  @Test func theSameNightAgainChangesNothingAndSaysSo() throws {
    let night = try NightReport(Self.request())
    let first = try night.run().report
    let second = try night.run(previous: first).report
    #expect(second.previous?.costPerDayChange == 0 && second.previous?.changes == [])
    for p in second.pipelines { #expect(p.previous?.costPerDayChange == 0) }
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
    var badWindow = Self.request()
    badWindow.window = "never"
    #expect { try NightReport(badWindow) } throws: { ($0 as? ReportRequest.SettingError)?.key == "window" }
  }
}
