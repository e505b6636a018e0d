import Foundation
import Testing

/// Golden files for what users read as text, in `Snapshots/` beside this file (excluded from the target in
/// Package.swift). `INFERLINE_RECORD_SNAPSHOTS=1 swift test` writes them anew; a run that records fails, so a
/// re-recorded file is looked at before it is committed.
enum Snapshot {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

  static func expect(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let file = folder.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["INFERLINE_RECORD_SNAPSHOTS"] == "1" {
      try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try? text.write(to: file, atomically: true, encoding: .utf8)
      Issue.record("recorded \(name); run again without INFERLINE_RECORD_SNAPSHOTS", sourceLocation: sourceLocation)
      return
    }
    guard let golden = try? String(contentsOf: file, encoding: .utf8) else {
      Issue.record(
        "no snapshot \(name): record it with INFERLINE_RECORD_SNAPSHOTS=1 swift test", sourceLocation: sourceLocation)
      return
    }
    #expect(
      text == golden, "\(name) changed; if on purpose, re-record with INFERLINE_RECORD_SNAPSHOTS=1",
      sourceLocation: sourceLocation)
  }
}

extension CommandLineTests {
  /// Every command's --help, as users read it.
  @Test(arguments: [
    "inspect", "generate", "envelope", "validate", "simulate", "plan", "replay", "report", "diff", "export",
    "calibrate",
    "profiles import",
  ])
  func helpTextIsAsRecorded(command: String) throws {
    let r = try run(command.split(separator: " ").map(String.init) + ["--help"])
    #expect(r.status == 0)
    Snapshot.expect(r.stdout, named: "help-\(command.replacingOccurrences(of: " ", with: "-")).txt")
  }
}
