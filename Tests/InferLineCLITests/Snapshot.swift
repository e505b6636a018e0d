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

extension CommandLineTests {
  /// `--json` and `--quiet` on every command that prints results or progress: the help lists both and the exit
  /// statuses, `--quiet`
  /// leaves stderr empty on a clean run, and `--json` output parses with Foundation's JSON reader.
  @Test func everyCommandTakesJSONAndQuiet() throws {
    for command in [
      "inspect", "generate", "envelope", "validate", "simulate", "plan", "replay", "report", "diff", "export",
      "calibrate", "profiles import",
    ] {
      let help = try run(command.split(separator: " ").map(String.init) + ["--help"]).stdout
        .split(whereSeparator: \.isWhitespace).joined(separator: " ")
      #expect(help.contains("--json"), "\(command) --help lists no --json")
      #expect(help.contains("--quiet"), "\(command) --help lists no --quiet")
      #expect(
        help.contains("Exit status") && help.contains("64 for a usage error"),
        "\(command) --help lists no exit statuses")
    }
    let s = Self.samples
    let files = Self.sampleInputs("video-monitoring")
    let log = path("log.csv")
    let generated = try run([
      "generate", "--process", "poisson", "--rate", "3", "--duration", "10m", "--seed", "4", "--pipeline",
      "video-monitoring", "--out", log, "--json", "--quiet",
    ])
    #expect(generated.status == 0 && generated.stderr.isEmpty, "\(generated.stderr)")
    let written = try #require(
      try JSONSerialization.jsonObject(with: Data(generated.stdout.utf8)) as? [String: Any])
    let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
    #expect(written["queries"] as? Int == lines - 1 && written["seed"] as? Int == 4)
    // --json next to --out - would mix the log with the JSON: a usage error.
    #expect(try run(["generate", "--out", "-", "--json"]).status == 64)

    let planned = try run(["plan", "--trace", log, "--window", "5m", "--quiet"] + files)
    #expect(planned.status == 0 && planned.stderr.isEmpty, "plan --quiet wrote: \(planned.stderr)")
    #expect(planned.stdout.contains("detect"))
    let noisy = try run(["plan", "--trace", log, "--window", "5m"] + files)
    #expect(noisy.stderr.contains("planned 2 of 2 windows"))

    let valid = try run(["validate", "\(s)/pipelines/video-monitoring.yaml", "--json"] + files.dropFirst(2))
    let validation = try #require(try JSONSerialization.jsonObject(with: Data(valid.stdout.utf8)) as? [String: Any])
    #expect(validation["ok"] as? Bool == true)
    #expect((validation["stages"] as? [Any])?.count == 3)
    let broken = path("broken.yaml")
    try "name: x\nslo: {latency_ms: 50}\nstages:\n  - {name: a, model: resnet50}\nedges:\n  a -> c: 1\n"
      .write(toFile: broken, atomically: true, encoding: .utf8)
    let invalid = try run(["validate", broken, "--json"] + files.dropFirst(2))
    #expect(invalid.status == 65)
    let problems = try #require(
      try JSONSerialization.jsonObject(with: Data(invalid.stdout.utf8)) as? [String: Any])
    let diagnostics = try #require(problems["diagnostics"] as? [[String: Any]])
    #expect(problems["ok"] as? Bool == false)
    #expect(diagnostics.contains { ($0["message"] as? String)?.contains("unknown child stage 'c'") == true })
    #expect(diagnostics.contains { $0["line"] as? Int == 6 && $0["severity"] as? String == "error" })

    let out = path("report")
    let reported = try run(["report", log, "--window", "5m", "--out", out, "--json", "--quiet"] + files)
    #expect(reported.status == 0 && reported.stderr.isEmpty, "\(reported.stderr)")
    let result = try #require(try JSONSerialization.jsonObject(with: Data(reported.stdout.utf8)) as? [String: Any])
    let saved = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        as? [String: Any])
    let costPerDay = try #require(result["costPerDay"] as? Double)
    let savedCost = try #require(saved["costPerDay"] as? Double)
    #expect(abs(costPerDay - savedCost) < 1e-9)
    let pipelines = try #require(result["pipelines"] as? [[String: Any]])
    let decision = try #require(pipelines.first?["decision"] as? [String: Any])
    #expect((decision["peak"] as? [String: Any])?["machines"] is [String: Int])

    // diff: --quiet prints nothing and exits 1 on a change (as git diff --quiet); --json parses.
    let same = try run(["diff", out + "/report.json", out + "/report.json", "--quiet"])
    #expect(same.status == 0 && same.stdout.isEmpty)
    let other = path("other")
    _ = try run(["report", log, "--window", "5m", "--slo", "300", "--out", other, "--quiet"] + files)
    let changed = try run(["diff", out + "/report.json", other + "/report.json", "--quiet"])
    #expect(changed.status == 1 && changed.stdout.isEmpty)
    let diffed = try run(["diff", out + "/report.json", other + "/report.json", "--json"])
    let difference = try #require(
      try JSONSerialization.jsonObject(with: Data(diffed.stdout.utf8)) as? [String: Any])
    #expect(difference["changed"] as? Bool == true && diffed.status == 0)
    #expect((difference["changes"] as? [String])?.contains { $0.contains("SLO") } == true)

    let exported = try run([
      "export", out + "/report.json", "--to", "triton", "--triton-backend", "onnxruntime", "--out", path("triton"),
      "--json", "--quiet",
    ])
    #expect(exported.status == 0 && exported.stderr.isEmpty, "\(exported.stderr)")
    let export = try #require(try JSONSerialization.jsonObject(with: Data(exported.stdout.utf8)) as? [String: Any])
    let exportedFiles = try #require(export["files"] as? [String])
    #expect(exportedFiles.contains("detect/config.pbtxt") || exportedFiles.contains { $0.hasSuffix("config.pbtxt") })
    for file in exportedFiles {
      #expect(FileManager.default.fileExists(atPath: path("triton") + "/" + file), "\(file) is listed, not written")
    }
  }
}
