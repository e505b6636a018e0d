import Foundation
import Testing

/// Inputs a careless operator or an attacker gives: each gets its exit status and a message naming the problem,
/// never a crash, and nothing is written outside the report folder.
extension CommandLineTests {
  func write(_ name: String, _ text: String) throws -> String {
    try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    return path(name)
  }

  @Test func oneCharacterPathsAndStandardInput() throws {
    let missing = try run(["inspect", "x"])
    #expect(missing.status == 65 && missing.stderr.contains("x: error: cannot read the file"))
    let stdin = try run(["inspect", "-", "--json"], input: "timestamp\n1.5\n2.5\n3\n")
    #expect(stdin.status == 0, "\(stdin.stderr)")
    #expect(stdin.stdout.contains("\"queries\" : 3"))
  }

  @Test func timestampsThatWouldOverflowAreMalformedLinesNotCrashes() throws {
    let big = try write("big.csv", "timestamp\n9999999999999999999\n1795824000\n1795824001\n")
    let r = try run(["inspect", big])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("line 2: timestamp out of range"))
    // 292 years apart would overflow a span: the far one is refused, the rest read.
    let apart = try write("apart.csv", "timestamp\n1900-06-01T00:00:00Z\n2200-01-01T00:00:00Z\n1900-06-01T00:00:01Z\n")
    let a = try run(["inspect", apart])
    #expect(a.status == 0 && a.stdout.contains("line 3: timestamp out of range"))
    let early = try write("early.csv", "timestamp\n1677-09-21T00:12:44Z\n2026-01-01T00:00:00Z\n2026-01-01T00:00:01Z\n")
    let e = try run(["inspect", early])
    #expect(e.status == 0 && e.stdout.contains("line 2: timestamp out of range"))
    #expect(try run(["envelope", early]).status == 0)
  }

  @Test func valuesThatWouldOverflowAreRefusedBeforeTheWork() throws {
    let log = path("ok.csv")
    #expect(
      try run(["generate", "--process", "poisson", "--rate", "5", "--duration", "10m", "--out", log]).status == 0)
    let envelope = try run(["envelope", log, "--max-window", "80000d"])
    #expect(envelope.status == 64 && envelope.stderr.contains("up to 366d"))
    let out = path("never")
    let growth = try run(
      ["report", log] + Self.sampleInputs("cascade") + ["--out", out, "--growth", "1e-10"])
    #expect(growth.status == 64 && growth.stderr.contains("--growth must be factors from 0.01 to 1000"))
    #expect(!FileManager.default.fileExists(atPath: out))
    // One stray 1970 stamp in a 2026 log: half a million hourly windows, refused with the reason.
    let stray = try write("stray.csv", "timestamp\n1970-01-01T00:00:01Z\n2026-11-28T10:00:00Z\n2026-11-28T10:00:01Z\n")
    let r = try run(
      ["report", stray] + Self.sampleInputs("cascade") + ["--out", out])
    #expect(r.status == 65 && r.stderr.contains("look for outlier timestamps"))
    #expect(!FileManager.default.fileExists(atPath: out))
  }

  @Test func diffOfReportsWithRepeatedStagesOrNaNCostsSaysWhatChanged() throws {
    let log = path("d.csv")
    #expect(
      try run(["generate", "--process", "poisson", "--rate", "5", "--duration", "20m", "--out", log]).status == 0)
    let out = path("d-report")
    let r = try run(
      ["report", log] + Self.sampleInputs("cascade") + ["--out", out, "--quiet", "--growth", "2", "--window", "10m"])
    #expect(r.status == 0, "\(r.stderr)")
    var object =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
      as! [String: Any]
    var stages = object["stages"] as! [[String: Any]]
    stages[1]["name"] = stages[0]["name"]
    object["stages"] = stages
    object["costPerDay"] = "NaN"
    let edited = path("edited.json")
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: edited))
    let d = try run(["diff", edited, out + "/report.json"])
    #expect(d.status == 0, "\(d.stderr)")
    #expect(d.stdout.contains("cost per day $nan -> $"), "\(d.stdout)")
  }

  @Test func namesFromInputsCannotDriveTheTerminal() throws {
    let s = Self.samples
    let spec = try String(contentsOfFile: "\(s)/pipelines/cascade.yaml", encoding: .utf8)
      .replacingOccurrences(of: "name: cascade", with: "name: \"evil\\e]0;pwned\\a\\e[2J\\u202Eeman\"")
    let pipeline = try write("evil.yaml", spec)
    let log = path("e.csv")
    #expect(
      try run(["generate", "--process", "poisson", "--rate", "5", "--duration", "10m", "--out", log]).status == 0)
    let r = try run(
      ["plan", "--trace", log, "--pipeline", pipeline] + Self.sampleCatalog + ["--window", "10m"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(!r.stdout.contains("\u{1B}") && !r.stdout.contains("\u{07}") && !r.stdout.contains("\u{202E}"))
    #expect(r.stdout.contains("evil\\u{1b}]0;pwned\\u{7}"))
  }

  @Test func theUnitComesFromTheColumnNameOrTheMostCommonMagnitude() throws {
    let named = try write("named.csv", "timestamp_ms,x\n1795824000000,a\n1795824000500,b\n1795824001000,c\n")
    let r = try run(["inspect", named, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("\"timeUnit\" : \"ms\"") && r.stdout.contains("\"timeUnitDetected\" : false"))
    let clash = try run(["inspect", named, "--time-unit", "s"])
    #expect(clash.status == 65 && clash.stderr.contains("disagrees with the column 'timestamp_ms'"))
    // One epoch-seconds value first in an epoch-ms log, and a placeholder 0: the log is read as milliseconds.
    let mixed = try write(
      "mixed.csv", "timestamp\n0\n1795824000\n" + (0..<20).map { "\(1_795_824_000_000 + $0 * 100)\n" }.joined())
    let m = try run(["inspect", mixed, "--json"])
    #expect(m.status == 0 && m.stdout.contains("\"timeUnit\" : \"ms\""), "\(m.stdout)")
    #expect(m.stdout.contains("\"queries\" : 20"))
    // A relative log below one second stays relative.
    let small = try write("small-rel.csv", "timestamp\n0.001\n0.002\n0.5\n")
    #expect(try run(["inspect", small, "--json"]).stdout.contains("\"timeUnit\" : \"relative\""))
  }

  @Test func aLogOfAnotherPipelineIsRefusedAndHugeHeadersAreNotEchoed() throws {
    let other = try write("other.csv", "timestamp,pipeline\n1.0,fraud\n2.0,fraud\n3.0,fraud\n")
    let r = try run(
      ["plan", "--trace", other] + Self.sampleInputs("cascade"))
    #expect(r.status == 65 && r.stderr.contains("names only 'fraud', not 'cascade'"))
    let huge = try write("huge.csv", String(repeating: "column,", count: 200_000) + "\n1,2\n")
    let h = try run(["inspect", huge])
    #expect(h.status == 65 && h.stderr.contains("no timestamp column found") && h.stderr.contains("more"))
    #expect(h.stderr.utf8.count < 2_000)
  }

  @Test func everyCommandPrintsNamesFromLogsWithoutEscapeSequences() throws {
    let log = try write(
      "esc.csv", "timestamp,pipeline\n1.0,\"a\u{1B}[31mred\u{202E}\"\n2.0,\"a\u{1B}[31mred\u{202E}\"\n")
    for command in [["inspect", log], ["envelope", log], ["inspect", path("no\u{1B}]0;title\u{07}.csv")]] {
      let r = try run(command)
      for text in [r.stdout, r.stderr] {
        #expect(!text.contains("\u{1B}") && !text.contains("\u{07}") && !text.contains("\u{202E}"), "\(command[0])")
      }
      #expect((r.stdout + r.stderr).contains("\\u{1b}"))
    }
  }

  @Test func aByteOrderMarkIsNotPartOfTheFirstLine() throws {
    let bom = "\u{FEFF}"
    let jsonl = try write("bom.jsonl", bom + "{\"ts\": 1.5}\n{\"ts\": 2.5}\n")
    let csv = try write("bom.csv", bom + "timestamp\n1.5\n2.5\n")
    for file in [jsonl, csv] {
      let r = try run(["inspect", file, "--json"])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stdout.contains("\"queries\" : 2") && r.stdout.contains("\"malformedLines\" : 0"), "\(r.stdout)")
    }
  }

  @Test func simulateReportsWhereTheTimeWent() throws {
    let s = Self.samples
    let r = try run(
      ["simulate", "--trace", "\(s)/logs/video-day.csv.gz"] + Self.sampleInputs("video-monitoring") + [
        "--config", "\(s)/pipelines/video-monitoring.config.yaml", "--timings", "--json",
      ])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let timings = try #require(json["timings"] as? [String: Double])
    #expect(timings["stageVisits"] == Double(json["stageVisits"] as! Int))
    let expected = timings["stageVisits"]! / timings["simulationSeconds"]!
    #expect(abs(timings["visitsPerSecond"]! - expected) / expected < 1e-9)
    #expect(timings["parseSeconds"]! > 0 && timings["simulationSeconds"]! > 0)
  }

  @Test func filesThatAreNotLogsOfLinesGetTheirOwnReason() throws {
    let array = try write("array.json", "[{\"ts\": 1.5}, {\"ts\": 2.5}]\n")
    let a = try run(["inspect", array])
    #expect(a.status == 65 && a.stderr.contains("one JSON array") && a.stderr.contains("jq -c"))
    let classicMac = try write("cr.csv", "timestamp\r1.5\r2.5\r3.5\r")
    let c = try run(["inspect", classicMac])
    #expect(c.status == 65 && c.stderr.contains("carriage return alone") && c.stderr.contains("tr "))
    // gzip inside gzip
    let plain = try write("p.csv", "timestamp\n1.5\n2.5\n")
    let once = path("once.csv.gz"), twice = path("twice.csv.gz")
    for (from, to) in [(plain, once), (once, twice)] {
      let gzip = Process()
      gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
      gzip.arguments = ["-c", "gzip -c '\(from)' > '\(to)'"]
      try gzip.run()
      gzip.waitUntilExit()
    }
    let g = try run(["inspect", twice])
    #expect(g.status == 65 && g.stderr.contains("gzip-compressed twice"))
    #expect(try run(["inspect", once]).status == 0)
  }

  @Test func aFirstJSONLineWithoutTheTimeKeyIsOneMalformedLine() throws {
    let log = try write("first.jsonl", "{\"user\": 7}\n{\"ts\": 1.5, \"user\": 8}\n{\"ts\": 2.5}\n")
    let r = try run(["inspect", log, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("\"queries\" : 2") && r.stdout.contains("\"malformedLines\" : 1"), "\(r.stdout)")
  }
}

/// Reliability round 3 (issue 27): values that crashed or were taken silently are refused before the work, with the
/// limit and the fix.
extension CommandLineTests {
  @Test func sub_nanosecondWindowsHugeWindowCountsAndNonFiniteSLOsAreRefused() throws {
    let log = path("short.csv")
    #expect(try run(["generate", "--rate", "50", "--duration", "20s", "--seed", "2", "--out", log]).status == 0)
    for arguments in [
      ["inspect", log, "--window", "1e-12"], ["inspect", log, "--window", "0.0000000001s"],
      ["envelope", log, "--min-window", "1e-12"],
    ] {
      let r = try run(arguments)
      #expect(r.status == 64 && r.stderr.contains("at least 1 ns"), "\(arguments): \(r.status) \(r.stderr)")
    }
    // 20 s of log in 1 us windows: 20 million windows, estimated before the work. The figures are given, the
    // list is left out, and the note says why.
    let many = try run(["inspect", log, "--window", "0.000001", "--json"])
    #expect(
      many.status == 0 && many.stderr.contains("1000000 inspect lists") && many.stderr.contains("longer --window"))
    let json = try JSONSerialization.jsonObject(with: Data(many.stdout.utf8)) as! [String: Any]
    let trace = (json["traces"] as! [[String: Any]])[0]
    #expect((trace["windowsLeftOut"] as? Int ?? 0) > 1_000_000 && (trace["windows"] as! [Any]).isEmpty)
    #expect((trace["queries"] as? Int ?? 0) > 0)
    #expect(try run(["inspect", log, "--window", "10ms"]).status == 0)
    let common = Self.sampleInputs("social-media")
    for slo in ["nan", "inf", "1e300", "0"] {
      let r = try run(["report", log, "--out", path("never-\(slo)"), "--slo", slo] + common)
      #expect(r.status == 64 && r.stderr.contains("at most a day"), "\(slo): \(r.status) \(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: path("never-\(slo)")))
    }
  }

  /// More edges than a route mask holds: refused where the file is read, by `validate` too, naming the line.
  @Test func aPipelineWithMoreThan64EdgesIsRefusedAtLoad() throws {
    var text = "name: long\nslo: {latency_ms: 60000}\nstages:\n"
    for i in 0...65 { text += "  - {name: s\(i), model: resnet50}\n" }
    text += "edges:\n"
    for i in 0..<65 { text += "  s\(i) -> s\(i + 1): 1\n" }
    let file = try write("long.yaml", text)
    let r = try run(
      ["validate", file] + Self.sampleCatalog)
    #expect(r.status == 65, "\(r.stdout) \(r.stderr)")
    let line: Int = 3 + 66 + 1 + 65
    #expect(r.stderr.contains("long.yaml:\(line):") && r.stderr.contains("more than the 64"), "\(r.stderr)")
  }

  /// Work that would take minutes and gigabytes is refused before it starts, with the reason and the limit: more
  /// than 128 stages (side by side: no edges needed), or a stage with more than 64 hardware types to choose from
  /// (a catalog of 1,000 types profiled for its model); 64 types are planned.
  @Test func pipelinesAndCatalogsTooLargeToPlanAreRefusedBeforeTheWork() throws {
    let s = Self.samples
    var wide = "name: wide\nslo: {latency_ms: 400}\nstages:\n"
    for i in 0..<300 { wide += "  - {name: s\(i), model: resnet50}\n" }
    let r = try run(
      ["validate", try write("wide.yaml", wide)] + Self.sampleCatalog)
    #expect(r.status == 65 && r.stderr.contains("has 300 stages, more than the 128"), "\(r.stderr)")
    func catalog(_ types: Int) throws -> (String, String) {
      var yaml = "name: big\nhardware:\n", csv = "model,hardware,batch_size,latency_ms,statistic\n"
      for i in 0..<types {
        yaml += "  - {type: G\(i), instance: g\(i).xlarge, price_per_hour: \(0.5 + Double(i) / 1000)}\n"
        for model in ["ssd320", "resnet50", "efficientnet-b0"] {
          for (b, ms) in [(1, 3.0), (4, 6.0), (8, 9.0)] { csv += "\(model),G\(i),\(b),\(ms + Double(i) / 100),p99\n" }
        }
      }
      return (try write("big\(types).yaml", yaml), try write("big\(types).csv", csv))
    }
    let (big, bigProfiles) = try catalog(1000)
    let refused = try run([
      "validate", "\(s)/pipelines/video-monitoring.yaml", "--hardware", big, "--profiles", bigProfiles,
    ])
    #expect(
      refused.status == 65 && refused.stderr.contains("may run on 1000 hardware types")
        && refused.stderr.contains("more than the 64"), "\(refused.stderr)")
    let (edge, edgeProfiles) = try catalog(64)
    let accepted = try run([
      "validate", "\(s)/pipelines/video-monitoring.yaml", "--hardware", edge, "--profiles", edgeProfiles,
    ])
    #expect(accepted.status == 0, "\(accepted.stderr)")
  }
}

extension CommandLineTests {
  /// Results written to a full disk: exit 74 and a message, never 0 with a truncated file.
  @Test func aFullStandardOutputIsAnError() throws {
    guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
    let log = path("tiny.csv")
    #expect(try run(["generate", "--rate", "20", "--duration", "30s", "--out", log]).status == 0)
    for arguments in [["inspect", log, "--json"], ["inspect", log], ["envelope", log]] {
      let process = Process()
      process.executableURL = Self.binary
      process.arguments = arguments
      process.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
      let errors = Pipe()
      process.standardError = errors
      try process.run()
      let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      #expect(process.terminationStatus == 74, "\(arguments): \(process.terminationStatus) \(stderr)")
      #expect(stderr.contains("cannot write the results to standard output"), "\(stderr)")
    }
  }

  /// A file of another kind named by mistake (a password file as a log, a secrets file as a catalog) is named in
  /// the error, and its content is not repeated; `generate` onto a device writes into it and says when the disk is
  /// full (exit 73, the device left as it was), and a folder or a missing folder is exit 73 too.
  @Test func foreignFilesAreNamedNotEchoedAndGenerateSaysWhyItCannotWrite() throws {
    let s = Self.samples
    let secrets = path("secrets")
    try "root:$6$SECRETHASH$abc:20228:0:99999:7:::\nadmin:$6$OTHERHASH$def:20228:0:99999:7:::\n".write(
      toFile: secrets, atomically: true, encoding: .utf8)
    let asLog = try run(["inspect", secrets])
    #expect(asLog.status == 65 && asLog.stderr.contains(secrets) && asLog.stderr.contains("may not be a query log"))
    let asCatalog = try run([
      "validate", "\(s)/pipelines/video-monitoring.yaml", "--hardware", secrets, "--profiles",
      "\(s)/profiles/profiles-2026.csv",
    ])
    #expect(asCatalog.status != 0 && asCatalog.stderr.contains("a key that is not a name"), "\(asCatalog.stderr)")
    for r in [asLog, asCatalog] {
      #expect(!r.stderr.contains("SECRETHASH") && !r.stderr.contains("OTHERHASH"), "\(r.stderr)")
    }
    // Column names are still shown where the first line is a header.
    let header = path("header.csv")
    try "when,pipeline\n1,a\n".write(toFile: header, atomically: true, encoding: .utf8)
    #expect(try run(["inspect", header]).stderr.contains("the columns are: when, pipeline"))

    let full = try run(["generate", "--rate", "5", "--duration", "10m", "--out", "/dev/full"])
    #expect(full.status == 73 && full.stderr.contains("No space left on device"), "\(full.stderr)")
    var status = stat()
    #expect(stat("/dev/full", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR, "/dev/full is still a device")
    let folder = try run(["generate", "--rate", "5", "--duration", "10m", "--out", path("")])
    #expect(folder.status == 73 && folder.stderr.contains("is a folder"), "\(folder.stderr)")
    // `-` is standard output, not a file named `-`.
    let piped = try run(["generate", "--rate", "5", "--duration", "1m", "--seed", "3", "--out", "-"])
    #expect(piped.status == 0 && piped.stdout.hasPrefix("timestamp\n") && piped.stderr.contains("to standard output"))
    #expect(piped.stdout.split(separator: "\n").count > 100, "\(piped.stdout.prefix(200))")
    #expect(!FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/-"))
    let missing = try run(["generate", "--rate", "5", "--duration", "10m", "--out", path("no/such/log.csv")])
    #expect(missing.status == 73 && missing.stderr.contains("No such file or directory"), "\(missing.stderr)")
  }
}
