import Foundation
import Testing

/// The report folder is never lost: `--out` replaces only report folders, one run at a time, atomically, and a
/// killed run leaves the previous report whole.
extension CommandLineTests {
  func reportArguments(log: String, out: String) -> [String] {
    return ["report", log] + Self.sampleInputs("cascade") + [
      "--out", out, "--quiet", "--growth", "2", "--window", "10m",
    ]
  }

  func smallLog() throws -> String {
    let log = path("small.csv")
    #expect(
      try run(["generate", "--process", "poisson", "--rate", "3", "--duration", "10m", "--seed", "2", "--out", log])
        .status == 0)
    return log
  }

  func contents(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  @Test func outRefusesAFolderThatIsNotAReportAndChangesNothing() throws {
    let log = try smallLog()
    let data = path("data")
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    try "precious".write(toFile: data + "/logs.csv", atomically: true, encoding: .utf8)
    let r = try run(reportArguments(log: log, out: data))
    #expect(r.status == 73)
    #expect(r.stderr.contains("is not a report folder") && r.stderr.contains("'logs.csv'"))
    #expect(contents(data) == ["logs.csv"])
    #expect(try String(contentsOfFile: data + "/logs.csv", encoding: .utf8) == "precious")
    // Nothing was written beside it either, and it was refused before the analysis (no summary printed).
    #expect(contents(folder.path).filter { $0.hasPrefix(".data") }.allSatisfy { $0 == ".data.lock" })
    #expect(!r.stdout.contains("Capacity report"))
    // A file as --out: 73 too, and left alone.
    try "keep".write(toFile: path("file"), atomically: true, encoding: .utf8)
    let file = try run(reportArguments(log: log, out: path("file")))
    #expect(file.status == 73 && file.stderr.contains("is a file, not a report folder"))
    #expect(try String(contentsOfFile: path("file"), encoding: .utf8) == "keep")
  }

  @Test func aReportFolderCarriesItsMarkerAndStaleTemporariesAreCleanedOrRestored() throws {
    let log = try smallLog()
    let out = path("nightly")
    #expect(try run(reportArguments(log: log, out: out)).status == 0)
    #expect(contents(out).contains(".inferline-report"))
    // A killed run of the old, two-rename swap: the folder gone, the last report in .nightly.old-PID, and a
    // half-written .nightly.partial-PID. The next run puts the old report back first, then replaces it.
    let old = path(".nightly.old-99999"), partial = path(".nightly.partial-99998")
    try FileManager.default.moveItem(atPath: out, toPath: old)
    try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
    let again = try run(reportArguments(log: log, out: out))
    #expect(again.status == 0, "\(again.stderr)")
    #expect(contents(out).contains("report.json"))
    #expect(contents(folder.path).filter { $0.hasPrefix(".nightly.") } == [], "the lock file goes with the run")
  }

  @Test func aSecondRunOnTheSameFolderIsRefusedWhileTheFirstHoldsIt() throws {
    let log = try smallLog()
    let out = path("busy")
    #expect(try run(reportArguments(log: log, out: out)).status == 0)
    let before = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
    // Hold the lock as a first run would: `sleep` itself holds it (no fork), so ending it frees the lock, and its
    // output goes nowhere, so the test run does not wait on it.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    holder.arguments = ["--exclusive", "--no-fork", path(".busy.lock"), "sleep", "30"]
    holder.standardOutput = FileHandle.nullDevice
    holder.standardError = FileHandle.nullDevice
    try holder.run()
    defer {
      kill(holder.processIdentifier, SIGKILL)  // SIGTERM may be blocked in what the test runner starts
      holder.waitUntilExit()
    }
    usleep(300_000)
    let second = try run(reportArguments(log: log, out: out))
    #expect(second.status == 73 && second.stderr.contains("another inferline run is writing this report now"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/report.json")) == before)
  }

  /// Twenty runs killed at seeded random moments (weighted towards the end, where the files are written and
  /// swapped): the folder is always there and always a whole report, the previous one byte for byte unless the
  /// swap had happened; the next run succeeds and leaves no temporaries.
  @Test func killedRunsNeverLoseThePreviousReport() throws {
    let log = try smallLog()
    let out = path("killed")
    let arguments = reportArguments(log: log, out: out)
    let started = Date()
    #expect(try run(arguments).status == 0)
    let duration = Date().timeIntervalSince(started)
    var previous = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
    var replaced = 0
    _ = try killRepeatedly({ _ in arguments }, times: 20, duration: duration, seed: 20_261_201) {
      let files = contents(out)
      #expect(["index.html", "report.json", "summary.md", "charts", ".inferline-report"].allSatisfy(files.contains))
      let now = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
      if now != previous {
        replaced += 1
        previous = now
        let object = try JSONSerialization.jsonObject(with: now) as? [String: Any]
        #expect(object?["pipelineName"] as? String == "cascade")
      }
    }
    let last = try run(arguments)
    #expect(last.status == 0, "\(last.stderr)")
    #expect(contents(folder.path).filter { $0.hasPrefix(".killed.") } == [], "no temporary and no lock file is left")
    #expect(replaced < 20, "every kill came after the swap: the test did not exercise a kill during the run")
  }
}

extension CommandLineTests {
  /// Runs `arguments` `times` times, each killed at a seeded random moment from 0.3 to 1.1 of `duration`, calling
  /// `check` after each; returns how many were killed before they ended.
  func killRepeatedly(
    _ arguments: (Int) -> [String], times: Int, duration: TimeInterval, seed: UInt64, check: () throws -> Void
  ) throws -> Int {
    var state = seed
    var killed = 0
    for k in 0..<times {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let fraction = 0.3 + 0.8 * Double(state >> 11) / Double(1 << 53)
      let process = Process()
      process.executableURL = Self.binary
      process.arguments = arguments(k)
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      usleep(UInt32(fraction * duration * 1e6))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      if process.terminationReason == .uncaughtSignal { killed += 1 }
      try check()
    }
    return killed
  }

  /// `export` and `report --merge` killed at random moments: the previous export or report is always there and
  /// whole (an export is one of the two exports made, byte for byte), and the next run succeeds and leaves no
  /// temporary and no lock file.
  @Test func killedExportsAndMergesNeverLoseThePreviousOutput() throws {
    let reports = [
      try sampleReport("kill-a", rate: "10", seed: "5"), try sampleReport("kill-b", rate: "40", seed: "5"),
    ]
    let flags = ["--to", "kubernetes", "--image", "i", "--model-repository", "r"]
    var expected: [Data] = []
    for (i, report) in reports.enumerated() {
      #expect(try run(["export", report + "/report.json", "--out", path("kill-export-\(i)")] + flags).status == 0)
      expected.append(try Data(contentsOf: URL(fileURLWithPath: path("kill-export-\(i)/deployments.yaml"))))
    }
    #expect(expected[0] != expected[1], "the two exports differ, so a half-swapped folder would show")
    let out = path("kill-export")
    let exportArguments = { (k: Int) in ["export", reports[k % 2] + "/report.json", "--out", out] + flags }
    let started = Date()
    #expect(try run(exportArguments(0)).status == 0)
    let exportDuration = Date().timeIntervalSince(started)
    let killedExports = try killRepeatedly(exportArguments, times: 12, duration: exportDuration, seed: 7) {
      #expect(contents(out).contains(".inferline-export"))
      let now = try Data(contentsOf: URL(fileURLWithPath: out + "/deployments.yaml"))
      #expect(expected.contains(now), "deployments.yaml is one of the two exports, whole")
    }
    #expect(try run(exportArguments(1)).status == 0)
    #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/deployments.yaml")) == expected[1])
    #expect(contents(folder.path).filter { $0.hasPrefix(".kill-export.") } == [], "no temporary, no lock file")

    // The merge of two shards' parts.
    let log = try smallLog()
    var parts: [String] = []
    for k in 0..<2 {
      let part = path("kill-parts/\(k)")
      var arguments = reportArguments(log: log, out: part)
      arguments += ["--shard", "\(k)/2"]
      #expect(try run(arguments).status == 0)
      parts.append(part)
    }
    let merged = path("kill-merged")
    let mergeArguments = { (_: Int) in ["report", "--merge"] + parts + ["--out", merged, "--quiet"] }
    let mergeStarted = Date()
    #expect(try run(mergeArguments(0)).status == 0)
    let mergeDuration = Date().timeIntervalSince(mergeStarted)
    let killedMerges = try killRepeatedly(mergeArguments, times: 8, duration: mergeDuration, seed: 11) {
      #expect(["index.html", "report.json", "summary.md", ".inferline-report"].allSatisfy(contents(merged).contains))
      let object =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: merged + "/report.json")))
        as? [String: Any]
      #expect(object?["pipelineName"] as? String == "cascade")
    }
    #expect(try run(mergeArguments(0)).status == 0)
    #expect(contents(folder.path).filter { $0.hasPrefix(".kill-merged.") } == [], "no temporary, no lock file")
    #expect(killedExports + killedMerges > 0, "no run was killed before it ended: the test exercised nothing")
  }
}
