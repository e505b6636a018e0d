import Foundation
import InferLineTestSupport
import Synchronization
import Testing

/// End-to-end: the built `inferline` binary, its stdout, stderr and exit status.
@Suite struct CommandLineTests {
  struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static var binary: URL {
    let beside = Bundle.main.bundleURL.appendingPathComponent("inferline")
    if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
    return packageRoot.appendingPathComponent(".build/debug/inferline")
  }

  func run(_ arguments: [String], input: String? = nil) throws -> Run {
    // Help text wraps at the terminal's width: the same 80 columns everywhere, so golden files hold.
    try launch(Self.binary, arguments, input: input, environment: ["COLUMNS": "80"])
  }

  /// Runs a program to the end with extra environment, and its stdout, stderr and exit status.
  func launch(
    _ executable: URL, _ arguments: [String], input: String? = nil, environment: [String: String]
  ) throws
    -> Run
  {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe(), err = Pipe()
    if let input {
      let pipe = Pipe()
      process.standardInput = pipe
      pipe.fileHandleForWriting.write(Data(input.utf8))
      try pipe.fileHandleForWriting.close()
    } else {
      process.standardInput = FileHandle.nullDevice
    }
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes to the end on separate threads so that neither fills up and blocks the child.
    let errData = LockedData()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.done { usleep(1000) }
    return Run(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData.value, as: UTF8.self))
  }

  final class LockedData: Sendable {
    private let state = Mutex((data: Data(), finished: false))
    func set(_ d: Data) { state.withLock { $0 = (d, true) } }
    var done: Bool { state.withLock { $0.finished } }
    var value: Data { state.withLock { $0.data } }
  }

  /// This test's folder, removed when the test ends.
  let scratch = TemporaryFolder("inferline-cli")
  var folder: URL { scratch.url }
  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  @Test func generateIsReproducibleAndInspectReadsIt() throws {
    let a = path("a.csv.gz"), b = path("b.csv.gz")
    for file in [a, b] {
      let r = try run([
        "generate", "--process", "gamma", "--rate", "40", "--cv", "2", "--duration", "10m", "--seed", "3",
        "--gzip", "--out", file,
      ])
      #expect(r.status == 0, "\(r.stderr)")
    }
    #expect(FileManager.default.contentsEqual(atPath: a, andPath: b))
    let inspect = try run(["inspect", a, "--window", "5m", "--json"])
    #expect(inspect.status == 0, "\(inspect.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
    let files = json["files"] as! [[String: Any]]
    let traces = json["traces"] as! [[String: Any]]
    #expect(files[0]["gzip"] as? Bool == true)
    #expect(files[0]["malformedLines"] as? Int == 0)
    let queries = traces[0]["queries"] as! Int
    #expect(abs(queries - 24_000) < 1_000)
    #expect((traces[0]["windows"] as! [Any]).count == 2)
    let cv = traces[0]["interArrivalCV"] as! Double
    #expect(abs(cv - 2) < 0.3)
  }

  @Test func inspectTableShowsSkippedLines() throws {
    let log = path("messy.csv")
    try "timestamp\n2026-11-28T00:00:00Z\nnot-a-time\n2026-11-28T00:00:01+01:00\n".write(
      toFile: log, atomically: true, encoding: .utf8)
    let r = try run(["inspect", log])
    #expect(r.status == 0)
    #expect(r.stdout.contains("2 queries from 3 lines"))
    #expect(r.stdout.contains("skipped 1 malformed line"))
    #expect(r.stdout.contains("line 3: not a number or an ISO-8601 date-time: 'not-a-time'"))
    #expect(r.stdout.contains("1 line was stamped earlier than the line before"))
  }

  @Test func badInputExitsWithADiagnosticNamingTheFile() throws {
    let log = path("cols.csv")
    try "a,b\n1,2\n".write(toFile: log, atomically: true, encoding: .utf8)
    let r = try run(["inspect", log])
    #expect(r.status == 65)
    #expect(r.stderr.contains("cols.csv:1: error: no timestamp column found"))
    #expect(r.stderr.contains("fix: name the timestamp column with --time-column NAME"))
    #expect(r.stdout.isEmpty)
    let strict = path("strict.csv")
    try "ts\n1700000000\nx\n".write(toFile: strict, atomically: true, encoding: .utf8)
    let s = try run(["inspect", strict, "--strict"])
    #expect(s.status == 65)
    #expect(s.stderr.contains("strict.csv:3: error: malformed line"))
    let missing = try run(["inspect", path("missing.csv")])
    #expect(missing.status == 65)
    #expect(missing.stderr.contains("missing.csv: error: cannot read the file"))
  }

  @Test func badFlagsAreUsageErrors() throws {
    let log = path("ok.csv")
    try "ts\n1\n".write(toFile: log, atomically: true, encoding: .utf8)
    let window = try run(["inspect", log, "--window", "soon"])
    #expect(window.status == 64)
    #expect(window.stderr.contains("--window 'soon' is not a duration"))
    let unit = try run(["inspect", log, "--time-unit", "fortnights"])
    #expect(unit.status == 64)
    let zone = try run(["inspect", log, "--timezone", "Mars/Base"])
    #expect(zone.status == 64)
    let rate = try run(["generate", "--rate", "-3", "--out", path("x.csv")])
    #expect(rate.status == 64)
    #expect(!FileManager.default.fileExists(atPath: path("x.csv")))
  }

  @Test func envelopeOfAPeriodicLog() throws {
    // One query every 100 ms for 10 s: alpha(D) = ceil(D / 100 ms), and rate 10 q/s needs a burst of 1.
    let log = path("periodic.csv")
    let lines = (0..<100).map { "\(1_700_000_000_000 + $0 * 100)" }
    try ("ts\n" + lines.joined(separator: "\n") + "\n").write(toFile: log, atomically: true, encoding: .utf8)
    let r = try run(["envelope", log, "--min-window", "50ms", "--max-window", "1s", "--rates", "5,10", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    #expect(json[0]["windowSizesSeconds"] as! [Double] == [0.05, 0.1, 0.2, 0.4, 0.8, 1])
    #expect(json[0]["maxArrivals"] as! [Int] == [1, 1, 2, 4, 8, 10])
    let buckets = json[0]["tokenBuckets"] as! [[String: Double]]
    #expect(abs(buckets[0]["burst"]! - (1 + 99 * 0.5)) < 1e-6)
    #expect(abs(buckets[1]["burst"]! - 1) < 1e-6)
    let table = try run(["envelope", log, "--min-window", "50ms", "--max-window", "1s"])
    #expect(table.stdout.contains("50ms") && table.stdout.contains("token buckets"))
    let bad = try run(["envelope", log, "--rates", "fast"])
    #expect(bad.status == 64)
  }

  static let samples = packageRoot.appendingPathComponent("SampleTraces").path
  /// The sample hardware catalog and profiles as flags: `--hardware ... --profiles ...`.
  static let sampleCatalog = [
    "--hardware", "\(samples)/hardware/aws-2026.yaml", "--profiles", "\(samples)/profiles/profiles-2026.csv",
  ]
  /// A sample pipeline (`SampleTraces/pipelines/NAME.yaml`) with the sample catalog and profiles, as flags: the
  /// inputs most tests run the binary on.
  static func sampleInputs(_ pipeline: String) -> [String] {
    ["--pipeline", "\(samples)/pipelines/\(pipeline).yaml"] + sampleCatalog
  }

  @Test func validateTheSamplesAndABrokenPipeline() throws {
    let s = Self.samples
    let ok = try run(
      ["validate", "\(s)/pipelines/video-monitoring.yaml"] + Self.sampleCatalog)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.contains("vehicle (resnet50): visited by 60.0% of queries"))
    #expect(ok.stdout.contains("latency floor"))
    #expect(ok.stderr.isEmpty, "the shipped samples are clean: \(ok.stderr)")
    let strictSamples = try run(
      ["validate", "\(s)/pipelines/video-monitoring.yaml"] + Self.sampleCatalog + [
        "--strict"
      ])
    #expect(strictSamples.status == 0, "\(strictSamples.stderr)")
    // The published point the samples keep as a comment, put back: a warning, and an error under --strict.
    let shipped = try String(contentsOfFile: "\(s)/profiles/profiles-2026.csv", encoding: .utf8)
    let odd = path("odd-profiles.csv")
    try shipped.replacingOccurrences(of: "# efficientnet-b0,A100,64,", with: "efficientnet-b0,A100,64,")
      .write(toFile: odd, atomically: true, encoding: .utf8)
    let warned = try run([
      "validate", "\(s)/pipelines/video-monitoring.yaml", "--hardware", "\(s)/hardware/aws-2026.yaml",
      "--profiles", odd,
    ])
    #expect(warned.status == 0)
    #expect(warned.stderr.contains("odd-profiles.csv:122: warning: efficientnet-b0 on A100: latency falls"))
    let strict = try run([
      "validate", "\(s)/pipelines/video-monitoring.yaml", "--hardware", "\(s)/hardware/aws-2026.yaml",
      "--profiles", odd, "--strict",
    ])
    #expect(strict.status == 65)
    let broken = path("broken.yaml")
    try
      "name: x\nslo: {latency_ms: 50}\nstages:\n  - {name: a, model: resnet50}\n  - {name: b, model: resnet50}\nedges:\n  a -> b: 1\n  b -> a: 1\n  a -> c: 2\n"
      .write(toFile: broken, atomically: true, encoding: .utf8)
    let bad = try run(
      ["validate", broken] + Self.sampleCatalog)
    #expect(bad.status == 65)
    #expect(bad.stderr.contains("broken.yaml:9: error: edge 'a -> c': unknown child stage 'c'\n"))
    #expect(bad.stderr.contains("broken.yaml:8: error: the edges form a cycle: a -> b -> a"))
    #expect(bad.stderr.contains("broken.yaml:9: error: edge 'a -> c': probability 2.0 is outside [0, 1]"))
    #expect(bad.stderr.contains("3 errors found"))
  }

  @Test func profilesImportFromPerfAnalyzer() throws {
    let header =
      "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency"
    try (header + "\n2,300,1,1,900,1,5000,1,1,7000,7100,7200,7500\n1,250,1,1,10,1,3000,1,1,3900,4000,4050,4200\n")
      .write(toFile: path("b1.csv"), atomically: true, encoding: .utf8)
    try (header + "\n1,900,1,1,10,1,8000,1,1,8800,9000,9100,9600\n").write(
      toFile: path("b8.csv"), atomically: true, encoding: .utf8)
    let out = try run([
      "profiles", "import", "--model", "resnet50", "--hardware", "T4", "8=\(path("b8.csv"))", "1=\(path("b1.csv"))",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(
      out.stdout == """
        model,hardware,batch_size,latency_ms,statistic,latency_p99_ms,source
        resnet50,T4,1,3.900,p50,4.200,perf_analyzer
        resnet50,T4,8,8.800,p50,9.600,perf_analyzer

        """)
    let file = path("profiles.csv")
    let first = try run([
      "profiles", "import", "--model", "m", "--hardware", "T4", "1=\(path("b1.csv"))", "--append", file,
    ])
    #expect(first.status == 0)
    let again = try run([
      "profiles", "import", "--model", "m", "--hardware", "T4", "1=\(path("b1.csv"))", "--append", file,
    ])
    #expect(again.status == 65)
    #expect(again.stderr.contains("duplicate row") && again.stderr.contains("is unchanged"))
    let contents = try String(contentsOfFile: file, encoding: .utf8)
    #expect(contents.split(separator: "\n").count == 2)
    let wrong = try run(["profiles", "import", "--model", "m", "--hardware", "T4", "1=\(file)"])
    #expect(wrong.status == 65 && wrong.stderr.contains("not a perf_analyzer CSV"))
  }

  /// Runs at several input shapes (BATCH@SIZE=FILE) become a profile with size buckets that loads, ordered by size
  /// then batch; appended rows follow the file's own column order, and a file whose header lacks `size` is left
  /// unchanged with the fix.
  @Test func profilesImportAtSeveralInputSizes() throws {
    let header =
      "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency"
    for (name, p50, p99) in [
      ("b1s128", 2000, 2500), ("b4s128", 3000, 3600), ("b1s512", 6000, 7000), ("b4s512", 11000, 12500),
    ] {
      try (header + "\n1,250,1,1,10,1,3000,1,1,\(p50),4000,4050,\(p99)\n").write(
        toFile: path("\(name).csv"), atomically: true, encoding: .utf8)
    }
    let measurements = [
      "4@512=\(path("b4s512.csv"))", "1@128=\(path("b1s128.csv"))", "1@512=\(path("b1s512.csv"))",
      "4@128=\(path("b4s128.csv"))",
    ]
    let out = try run(["profiles", "import", "--model", "bert", "--hardware", "T4"] + measurements)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(
      out.stdout == """
        model,hardware,batch_size,latency_ms,statistic,latency_p99_ms,size,source
        bert,T4,1,2.000,p50,2.500,128,perf_analyzer
        bert,T4,4,3.000,p50,3.600,128,perf_analyzer
        bert,T4,1,6.000,p50,7.000,512,perf_analyzer
        bert,T4,4,11.000,p50,12.500,512,perf_analyzer

        """)
    // Appended to a file with another column order, and loaded back as two buckets.
    let file = path("sized-profiles.csv")
    try "source,model,hardware,batch_size,statistic,size,latency_ms,latency_p99_ms\n".write(
      toFile: file, atomically: true, encoding: .utf8)
    let appended = try run(
      ["profiles", "import", "--model", "bert", "--hardware", "T4", "--append", file] + measurements)
    #expect(appended.status == 0, "\(appended.stderr)")
    let written = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
    #expect(written.count == 5 && written[4] == "perf_analyzer,bert,T4,4,p50,512,11.000,12.500", "\(written)")
    // Mixed, or into a file without a size column: refused, the file unchanged.
    let mixed = try run([
      "profiles", "import", "--model", "m", "--hardware", "T4", "1@128=\(path("b1s128.csv"))",
      "4=\(path("b4s128.csv"))",
    ])
    #expect(mixed.status == 64 && mixed.stderr.contains("give every measurement a size"))
    let plain = path("plain-profiles.csv")
    try "model,hardware,batch_size,latency_ms,statistic,latency_p99_ms,source\n".write(
      toFile: plain, atomically: true, encoding: .utf8)
    let refused = try run(["profiles", "import", "--model", "m", "--hardware", "T4", "--append", plain] + measurements)
    #expect(refused.status == 65 && refused.stderr.contains("its header lacks size"), "\(refused.stderr)")
    let unchanged = try String(contentsOfFile: plain, encoding: .utf8)
    #expect(unchanged.split(separator: "\n").count == 1)
    let badSize = try run(["profiles", "import", "--model", "m", "--hardware", "T4", "1@big=\(path("b1s128.csv"))"])
    #expect(badSize.status == 64 && badSize.stderr.contains("the size after @ must be a positive number"))
  }

  @Test func simulateAConfiguredPipeline() throws {
    // A tiny log: 3 frames at 0, 0 and 10 ms through the video pipeline with given routes.
    let log = path("frames.csv")
    try "timestamp\n1700000000.000\n1700000000.000\n1700000000.010\n".write(
      toFile: log, atomically: true, encoding: .utf8)
    let routes = path("routes.txt")
    try "10\n01\n11\n".write(toFile: routes, atomically: true, encoding: .utf8)
    let config = path("config.yaml")
    try
      "stages:\n  detect: {hardware: A100, batch_size: 2, replicas: 1}\n  vehicle: {hardware: A100, batch_size: 1, replicas: 1}\n  person: {hardware: A100, batch_size: 1, replicas: 1}\n"
      .write(toFile: config, atomically: true, encoding: .utf8)
    let arguments =
      ["simulate", "--trace", log] + Self.sampleInputs("video-monitoring") + [
        "--config", config, "--routes", routes, "--json",
      ]
    let r = try run(arguments)
    #expect(r.status == 0, "\(r.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    #expect(json["queries"] as? Int == 3)
    // Detect on A100: L(1) 27.91 ms, L(2) 45.26 ms. q0 alone 0-27.91; q1 and q2 together 27.91-73.17.
    // q0 -> vehicle (2.272 ms after a 1 ms hop): done at 31.182. q1 and q2 reach person together at 74.17; it
    // serves one at a time (12.55 ms): q1 done at 86.72, q2 at 99.27, which is 89.27 ms after q2 arrived.
    let stages = json["stages"] as! [[String: Any]]
    #expect(stages.map { $0["visits"] as! Int } == [3, 2, 2])
    #expect((stages[0]["batchSizeCounts"] as! [Int]) == [0, 1, 1])
    let latency = json["latencyMs"] as! [String: Double]
    #expect(abs(latency["max"]! - 89.27) < 1e-9)
    #expect(abs(latency["p50"]! - 86.72) < 1e-9)
    // The same routes from a log column naming the visited stages give the same latencies.
    let withRoutes = path("frames-routes.csv")
    try
      "timestamp,stages\n1700000000.000,detect|vehicle\n1700000000.000,detect|person\n1700000000.010,detect|vehicle|person\n"
      .write(toFile: withRoutes, atomically: true, encoding: .utf8)
    var columnArguments = arguments
    columnArguments[2] = withRoutes
    columnArguments.removeSubrange(
      columnArguments.firstIndex(of: "--routes")!...columnArguments.firstIndex(of: "--routes")! + 1)
    columnArguments += ["--route-column", "stages"]
    let fromColumn = try run(columnArguments)
    #expect(fromColumn.status == 0, "\(fromColumn.stderr)")
    #expect(fromColumn.stdout == r.stdout)
    // A stage left out of the configuration is named.
    try "stages:\n  detect: {hardware: A100, batch_size: 2, replicas: 1}\n".write(
      toFile: config, atomically: true, encoding: .utf8)
    let missing = try run(arguments)
    #expect(missing.status == 65 && missing.stderr.contains("stage 'vehicle' has no configuration"))
    // A batch size the profile does not reach is refused, not extrapolated.
    try
      "stages:\n  detect: {hardware: A100, batch_size: 32, replicas: 1}\n  vehicle: {hardware: A100, batch_size: 1, replicas: 1}\n  person: {hardware: A100, batch_size: 1, replicas: 1}\n"
      .write(toFile: config, atomically: true, encoding: .utf8)
    let big = try run(arguments)
    #expect(big.status == 65 && big.stderr.contains("profiled up to batch 16, not 32"))
  }

  @Test func planEveryWindowAndExplainAnUnattainableSLO() throws {
    let s = Self.samples
    let log = path("cascade.csv")
    let g = try run([
      "generate", "--process", "poisson", "--rate", "20", "--duration", "10m", "--seed", "9", "--out", log,
    ])
    #expect(g.status == 0)
    let arguments =
      ["plan", "--trace", log] + Self.sampleInputs("cascade") + [
        "--window", "5m", "--exact", "--baselines", "--frontier", "1,2",
        "--json",
      ]
    let r = try run(arguments)
    #expect(r.status == 0, "\(r.stderr)")
    let windows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    #expect(windows.count == 2)
    for w in windows {
      let greedy = w["greedy"] as! [String: Any], recommended = w["recommended"] as! [String: Any]
      let cost = recommended["costPerHour"] as! Double, greedyCost = greedy["costPerHour"] as! Double
      #expect(greedyCost >= cost - 1e-9)
      #expect(abs((greedy["gapToRecommended"] as! Double) - (greedyCost / cost - 1)) < 1e-9)
      #expect(recommended["provenOptimal"] as? Bool == true)
      #expect(recommended["lowerBoundPerHour"] as? Double == cost && recommended["gap"] as? Double == 0)
      #expect(recommended["percentileLatencyMs"] != nil || recommended["boundMs"] != nil)
      #expect(["optimal", "greedy", "CG-Peak", "CG-Mean"].contains(recommended["method"] as! String))
      let baselines = w["baselines"] as! [[String: Any]]
      #expect(baselines.map { $0["name"] as! String } == ["CG-Peak", "CG-Mean"])
      let frontier = w["frontier"] as! [[String: Any]]
      #expect(frontier.map { $0["sloMs"] as! Double } == [150, 300])
      #expect((frontier[1]["costPerHour"] as! Double) <= (frontier[0]["costPerHour"] as! Double))
      // The frontier's point at the pipeline's own SLO is the window's recommendation.
      #expect(frontier[0]["costPerHour"] as! Double == cost)
    }
    // The same seed gives the same plans.
    let again = try run(arguments)
    let strip = { (text: String) in text.split(separator: "\n").filter { !$0.contains("\"seconds\"") }.joined() }
    #expect(strip(again.stdout) == strip(r.stdout))
    // An SLO below the critical path: explained, with its own exit status.
    let tight = path("tight.yaml")
    let spec = try String(contentsOfFile: "\(s)/pipelines/cascade.yaml", encoding: .utf8)
      .replacingOccurrences(of: "latency_ms: 150", with: "latency_ms: 0.5")
    try spec.write(toFile: tight, atomically: true, encoding: .utf8)
    let t = try run(
      ["plan", "--trace", log, "--pipeline", tight] + Self.sampleCatalog + ["--window", "10m"])
    #expect(t.status == 3)
    #expect(
      t.stdout.contains(
        "the critical path (cheap) at batch 1 on the fastest hardware takes 0.78 ms against an SLO of 0.50 ms"))
    #expect(t.stdout.contains("ms can be met"))
    // --slo is the pipeline file's SLO edited: the same answer from the untouched file.
    let flag = try run(
      ["plan", "--trace", log, "--pipeline", "\(s)/pipelines/cascade.yaml", "--slo", "0.5"] + Self.sampleCatalog + [
        "--window", "10m",
      ])
    #expect(flag.status == 3 && flag.stdout == t.stdout, "\(flag.stderr)")
    let zero = try run(
      ["plan", "--trace", log, "--pipeline", "\(s)/pipelines/cascade.yaml", "--slo", "0"] + Self.sampleCatalog)
    #expect(zero.status == 64 && zero.stderr.contains("--slo 0.0 is not a latency"), "\(zero.stderr)")
  }

  /// A window the search budget leaves without a plan is not called unattainable: `plan` and `report` exit 5 (not
  /// 3), say the budget ran out and what the lower bound is, and `report.json` counts it apart from the windows
  /// whose SLO cannot be met; an SLO below the latency floor is still proven unattainable (3).
  @Test func aWindowTheBudgetLeftWithoutAPlanIsNotCalledUnattainable() throws {
    let log = path("bursty.csv")
    let g = try run([
      "generate", "--process", "gamma", "--rate", "150", "--cv", "3", "--duration", "2m", "--seed", "3", "--out", log,
    ])
    #expect(g.status == 0)
    let inputs = ["--trace", log] + Self.sampleInputs("image-processing")
    let short = try run(["plan"] + inputs + ["--slo", "7", "--budget", "1"])
    #expect(short.status == 5, "\(short.stderr)")
    #expect(short.stdout.contains("the search stopped without a feasible plan"))
    #expect(short.stdout.contains("none below $"))
    #expect(short.stderr.contains("the search budget ran out before it found a plan for 1 window"))
    let floor = try run(["plan"] + inputs + ["--slo", "6", "--budget", "1"])
    #expect(floor.status == 3, "\(floor.stderr)")
    #expect(floor.stdout.contains("the critical path (preprocess -> classify) at batch 1"))
    let out = path("no-plan-report")
    let report = try run(
      ["report", log] + Self.sampleInputs("image-processing") + ["--slo", "7", "--budget", "1", "--out", out])
    #expect(report.status == 5, "\(report.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
    let written = try #require(json as? [String: Any])
    #expect(written["unattainableWindows"] as? Int == 0)
    #expect(written["windowsWithoutPlanFound"] as? Int == 1)
    let page = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
    #expect(page.contains("1 window without a plan: the search budget ran out"))
    #expect(!page.contains("cannot meet the SLO"))
    // `replay` plans the busiest window the same way, and tells the two apart the same way (its SLO is the file's).
    let pipeline = try String(contentsOfFile: "\(Self.samples)/pipelines/image-processing.yaml", encoding: .utf8)
    for (slo, status) in [(7, Int32(5)), (6, Int32(3))] {
      let file = path("image-processing-\(slo)ms.yaml")
      try pipeline.replacingOccurrences(of: "latency_ms: 100", with: "latency_ms: \(slo)").write(
        toFile: file, atomically: true, encoding: .utf8)
      let replay = try run(["replay", "--trace", log, "--pipeline", file] + Self.sampleCatalog + ["--budget", "1"])
      #expect(replay.status == status, "\(slo) ms: \(replay.stderr)")
      #expect(replay.stderr.contains("a larger --budget may find one") == (status == 5), "\(replay.stderr)")
    }
  }

  /// The issue's case: a busy hour of video-monitoring at 320 q/s, where InferLine's greedy planner stops at the
  /// replica limits and reports no plan; the search finds one and proves it cheapest.
  @Test func aPlanWhereGreedyFindsNone() throws {
    let log = path("v320.csv")
    #expect(
      try run(["generate", "--process", "poisson", "--rate", "320", "--duration", "2m", "--seed", "5", "--out", log])
        .status == 0)
    let r = try run(
      ["plan", "--trace", log] + Self.sampleInputs("video-monitoring") + [
        "--json"
      ])
    #expect(r.status == 0, "\(r.stderr)")
    let window = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
    #expect(window["greedy"] == nil)
    #expect((window["greedyFailure"] as? String)?.contains("replica limits") == true)
    let recommended = try #require(window["recommended"] as? [String: Any])
    #expect(recommended["provenOptimal"] as? Bool == true)
    #expect(abs((recommended["costPerHour"] as! Double) - 5.43) < 1e-9)
  }

  @Test func replayEveryPolicy() throws {
    let log = path("spiky.csv")
    #expect(
      try run([
        "generate", "--process", "spikes", "--rate", "20", "--spikes", "2", "--spike-multiplier", "5",
        "--spike-duration", "30s", "--duration", "10m", "--seed", "4", "--out", log,
      ]).status == 0)
    let arguments =
      ["replay", "--trace", log] + Self.sampleInputs("image-processing") + [
        "--window", "5m", "--policy", "all", "--json",
      ]
    let r = try run(arguments)
    #expect(r.status == 0, "\(r.stderr)")
    let results = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    #expect(results.map { $0["policy"] as! String } == ["inferline", "static", "predictive", "hpa", "ray", "kpa"])
    for result in results {
      let costs = result["costByHardware"] as! [String: Double]
      #expect(abs(costs.values.reduce(0, +) - (result["cost"] as! Double)) < 1e-9)
      #expect((result["timelines"] as! [Any]).count == 2)
      #expect((result["missRatePerMinute"] as! [Double]).count == 10)
    }
    #expect(results[1]["decisions"] as! Int == 0)  // static
    let table = try run(Array(arguments.dropLast()))
    #expect(table.stdout.contains("replica-hours by hardware"))
    let bad = try run(Array(arguments.dropLast(3)) + ["--policy", "guess"])
    #expect(bad.status == 64)
  }

  /// `plan`, `replay` and `report` share one analysis: on the same inputs they show the same busiest-window plan,
  /// the same cost, and the same replay figures for every policy.
  @Test func planReplayAndReportAgree() throws {
    let log = path("agree.csv")
    #expect(
      try run(["generate", "--process", "diurnal", "--rate", "30", "--duration", "30m", "--seed", "12", "--out", log])
        .status
        == 0)
    let common =
      Self.sampleInputs("video-monitoring") + ["--window", "10m", "--seed", "4"]
    let plan = try run(["plan", "--trace", log, "--json"] + common)
    let replay = try run(["replay", "--trace", log, "--policy", "all", "--json"] + common)
    let out = path("agree-report")
    let report = try run(["report", log, "--out", out, "--quiet", "--growth", "2"] + common)
    #expect(
      plan.status == 0 && replay.status == 0 && report.status == 0, "\(plan.stderr)\(replay.stderr)\(report.stderr)")
    let windows = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as! [[String: Any]]
    let replays = try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as! [[String: Any]]
    let saved =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
      as! [String: Any]
    // The busiest window: the one with the most queries (the first of equals).
    let counts = windows.map { $0["queries"] as! Int }
    let busiest = counts.firstIndex(of: counts.max()!)!
    let recommended = windows[busiest]["recommended"] as! [String: Any]
    let planned = recommended["configuration"] as! [String: Any]
    #expect(NSDictionary(dictionary: planned).isEqual(to: saved["recommended"] as! [String: Any]))
    #expect(recommended["costPerHour"] as! Double == saved["recommendedCostPerHour"] as! Double)
    // Every window's recommendation and greedy cost agree between plan and report.
    let reportWindows = saved["windows"] as! [[String: Any]]
    #expect(reportWindows.count == windows.count)
    for (w, r) in zip(windows, reportWindows) {
      let rec = w["recommended"] as? [String: Any]
      #expect(rec?["costPerHour"] as? Double == r["costPerHour"] as? Double)
      #expect(rec?["provenOptimal"] as? Bool == r["provenOptimal"] as? Bool)
      #expect((w["greedy"] as? [String: Any])?["costPerHour"] as? Double == r["greedyCostPerHour"] as? Double)
    }
    // The replays: the same policies in the same order with the same cost, misses and decisions.
    // What users read: summary.md (less the line with the date) and the report.json schema (every key path).
    let summary = try String(contentsOfFile: out + "/summary.md", encoding: .utf8).split(separator: "\n")
      .filter { !$0.hasPrefix("Seed ") }.joined(separator: "\n")
    Snapshot.expect(summary, named: "summary.md")
    Snapshot.expect(Self.keyPaths(saved).joined(separator: "\n") + "\n", named: "report-json-schema.txt")
    // The report replays the per-window schedule too (it needs every window's plan, which `replay` does not make).
    let savedReplays = (saved["replays"] as! [[String: Any]]).filter { $0["policy"] as! String != "schedule" }
    #expect((saved["replays"] as! [[String: Any]]).last?["policy"] as? String == "schedule")
    #expect(replays.map { $0["policy"] as! String } == savedReplays.map { $0["policy"] as! String })
    for (a, b) in zip(replays, savedReplays) {
      for key in ["cost", "missRate", "decisions", "percentileLatencyMs"] {
        #expect("\(a[key]!)" == "\(b[key]!)", "\(a["policy"]!) \(key)")
      }
    }
  }

  /// Every key path of a JSON value, with array elements merged (`windows[].start`), sorted.
  static func keyPaths(_ value: Any, prefix: String = "") -> [String] {
    var paths = Set<String>()
    if let object = value as? [String: Any] {
      for (key, child) in object {
        // Maps keyed by data (hardware types, phases) are one entry.
        let dataKeyed = ["costByHardware", "replicaSecondsByHardware", "hardwarePrices", "timings"].contains(key)
        let path = prefix.isEmpty ? key : "\(prefix).\(key)"
        paths.insert(path)
        if !dataKeyed { paths.formUnion(keyPaths(child, prefix: path)) }
      }
    } else if let array = value as? [Any] {
      for element in array { paths.formUnion(keyPaths(element, prefix: prefix + "[]")) }
    }
    return paths.sorted()
  }

  /// A log of three pipelines (generated with shares, and a spike over the diurnal curve), two of them given
  /// pipeline files: one fleet report, a folder per pipeline, the third pipeline's queries counted and named;
  /// `diff` of two fleets names the pipeline and the change.
  @Test func aFleetReportFromOneLogOfSeveralPipelines() throws {
    let s = Self.samples
    let log = path("fleet.csv")
    let generate = [
      "generate", "--process", "diurnal", "--rate", "8", "--duration", "2h", "--spikes", "1", "--spike-duration", "5m",
      "--seed", "3", "--pipeline", "cascade=0.5", "--pipeline", "image-processing=0.4", "--pipeline", "other=0.1",
    ]
    #expect(try run(generate + ["--out", log]).status == 0)
    #expect(try run(generate + ["--out", path("again.csv")]).status == 0)
    let text = try String(contentsOfFile: log, encoding: .utf8)
    #expect(try String(contentsOfFile: path("again.csv"), encoding: .utf8) == text, "same seed, same bytes")
    let lines = text.split(separator: "\n").dropFirst()
    var counts: [String: Int] = [:]
    for line in lines { counts[String(line.split(separator: ",")[1]), default: 0] += 1 }
    for (name, share) in [("cascade", 0.5), ("image-processing", 0.4), ("other", 0.1)] {
      let expected = share * Double(lines.count)
      // Binomial: within four standard deviations.
      #expect(abs(Double(counts[name] ?? 0) - expected) < 4 * (expected * (1 - share)).squareRoot(), "\(name)")
    }
    let out = path("fleet-report")
    let common =
      ["--pipeline", "\(s)/pipelines/cascade.yaml"] + Self.sampleInputs("image-processing") + [
        "--quiet",
        "--growth", "2",
      ]
    let first = try run(["report", log, "--out", out, "--escalation", "cheap -> expensive = 0.1,0.5"] + common)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("# Fleet capacity report: 2 pipelines"))
    // The cascade what-if is in the pipeline that has the edge, and only there.
    let cascadePage = try String(contentsOfFile: "\(out)/cascade/index.html", encoding: .utf8)
    #expect(cascadePage.contains("What-if: the share of queries escalated along cheap -&gt; expensive"))
    #expect(cascadePage.contains("<td>0.5</td>"))
    #expect(!(try String(contentsOfFile: "\(out)/image-processing/index.html", encoding: .utf8)).contains("What-if"))
    // --sweep-edge, the option's earlier name, still works.
    let badEdge = try run(
      ["report", log, "--out", path("bad-edge"), "--sweep-edge", "cheap -> nowhere = 0.5"] + common)
    #expect(badEdge.status == 65 && badEdge.stderr.contains("has an edge 'cheap -> nowhere'"), "\(badEdge.stderr)")
    #expect(first.stderr.contains("\(counts["other"]!) queries of pipeline 'other' are not planned"))
    for name in ["cascade", "image-processing"] {
      #expect(FileManager.default.fileExists(atPath: "\(out)/\(name)/index.html"), "\(name)")
    }
    let json = out + "/report.json"
    #expect(try run(["diff", json, json]).stdout.isEmpty)
    // The next night with a dearer T4, one pipeline only: diff names the pipeline removed and the price change.
    let catalog = try String(contentsOfFile: "\(s)/hardware/aws-2026.yaml", encoding: .utf8)
      .replacingOccurrences(of: "price_per_hour: 0.526", with: "price_per_hour: 0.9")
    try catalog.write(toFile: path("dearer.yaml"), atomically: true, encoding: .utf8)
    let second = try run([
      "report", log, "--out", path("fleet-2"), "--pipeline", "\(s)/pipelines/cascade.yaml", "--pipeline",
      "\(s)/pipelines/image-processing.yaml", "--hardware", path("dearer.yaml"), "--profiles",
      "\(s)/profiles/profiles-2026.csv", "--quiet", "--growth", "2", "--previous", json,
    ])
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stdout.contains("Since the previous report"))
    let d = try run(["diff", json, path("fleet-2") + "/report.json"])
    #expect(d.stdout.contains("cascade: price of T4 $0.53/h -> $0.90/h"), "\(d.stdout)")
    let single = try run(
      ["report", log, "--out", path("single")] + Self.sampleInputs("cascade") + ["--quiet", "--growth", "2"])
    #expect(single.status == 0, "\(single.stderr)")
    let removed = try run(["diff", json, path("single") + "/report.json"])
    #expect(removed.stdout.contains("pipeline image-processing removed"), "\(removed.stdout)")
    // A log without a pipeline column cannot feed a fleet: refused before any planning, naming the fix.
    #expect(
      try run(["generate", "--rate", "5", "--duration", "10m", "--out", path("plain.csv")]).status == 0)
    let plain = try run(["report", path("plain.csv"), "--out", path("plain-report")] + common)
    #expect(plain.status == 65 && plain.stderr.contains("no pipeline column"), "\(plain.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("plain-report") + "/index.html"))
  }

  @Test func reportWritesAFolderAndKeepsItWhenARunFails() throws {
    let s = Self.samples
    let log = path("day.csv")
    #expect(
      try run(["generate", "--process", "diurnal", "--rate", "5", "--duration", "2h", "--seed", "8", "--out", log])
        .status == 0)
    let out = path("report")
    let common =
      Self.sampleInputs("cascade") + ["--out", out, "--quiet", "--growth", "2"]
    let first = try run(["report", log] + common)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("# Capacity report: cascade") && first.stdout.contains("Wrote"))
    #expect(!first.stderr.contains("planned") && !first.stderr.contains("replaying"))  // --quiet: no progress
    let json = out + "/report.json"
    let before = try Data(contentsOf: URL(fileURLWithPath: json))
    // A run that fails (a log that is not there) exits 65 and leaves the last report as it was.
    let failed = try run(["report", path("missing.csv")] + common)
    #expect(failed.status == 65 && failed.stderr.contains("missing.csv"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: json)) == before)
    // diff of a report with itself prints nothing.
    let same = try run(["diff", json, json])
    #expect(same.status == 0 && same.stdout.isEmpty)
    // The next night with a dearer catalog: --previous and diff show the change.
    let catalog = try String(contentsOfFile: "\(s)/hardware/aws-2026.yaml", encoding: .utf8)
      .replacingOccurrences(of: "price_per_hour: 0.526", with: "price_per_hour: 0.9")
    try catalog.write(toFile: path("dearer.yaml"), atomically: true, encoding: .utf8)
    let out2 = path("report2")
    var second = ["report", log] + common
    second[second.firstIndex(of: "\(s)/hardware/aws-2026.yaml")!] = path("dearer.yaml")
    second[second.firstIndex(of: out)!] = out2
    let r2 = try run(second + ["--previous", json])
    #expect(r2.status == 0, "\(r2.stderr)")
    #expect(r2.stdout.contains("Since the previous report") && r2.stdout.contains("price of T4 $0.53/h -> $0.90/h"))
    let d = try run(["diff", json, out2 + "/report.json"])
    #expect(d.stdout.contains("price of T4 $0.53/h -> $0.90/h"))
    // --out naming a file is refused, and the file is left alone.
    try "keep me".write(toFile: path("a-file"), atomically: true, encoding: .utf8)
    var ontoFile = ["report", log] + common
    ontoFile[ontoFile.firstIndex(of: out)!] = path("a-file")
    let refused = try run(ontoFile)
    #expect(refused.status == 73 && refused.stderr.contains("is a file, not a report folder"))
    #expect(try String(contentsOfFile: path("a-file"), encoding: .utf8) == "keep me")
    // An SLO that cannot be met: the report is still written, and the exit status says so.
    let tight = try run(["report", log] + common + ["--slo", "0.5"])
    #expect(tight.status == 3)
    // The folder held a report already: check that this run's report replaced it, not just that one is there.
    let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
    #expect(written["sloMs"] as? Double == 0.5)
    #expect((written["unattainableWindows"] as? Int ?? 0) > 0)
  }

  @Test func helpListsTheCommands() throws {
    let r = try run(["--help"])
    #expect(r.status == 0)
    #expect(r.stdout.contains("inspect") && r.stdout.contains("generate"))
  }
}

extension CommandLineTests {
  /// `--budget` takes simulations or a time; each window says what its search spent and which budget stopped it,
  /// in report.json, on the page and in `plan`; the report states the budget; a budget that is neither is refused
  /// with its flag.
  @Test func eachWindowSaysWhatItsBudgetBought() throws {
    let log = path("budget.csv")
    #expect(
      try run(["generate", "--process", "diurnal", "--rate", "30", "--duration", "30m", "--seed", "12", "--out", log])
        .status == 0)
    let inputs =
      Self.sampleInputs("video-monitoring") + ["--window", "10m", "--quiet"]
    let small = try run(["report", log, "--out", path("budget-5"), "--budget", "5"] + inputs)
    #expect(small.status == 0, "\(small.stderr)")
    let report =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("budget-5/report.json"))))
      as! [String: Any]
    let windows = report["windows"] as! [[String: Any]]
    let page = try String(contentsOfFile: path("budget-5/index.html"), encoding: .utf8)
    var stopped = 0
    for w in windows where w["configuration"] != nil {
      let search = try #require(w["search"] as? [String: Any], "every planned window says what its search spent")
      let runs = search["simulations"] as! Int
      if (w["provenOptimal"] as? Bool) == true {
        #expect(page.contains("proven optimal after \(runs) simulation"))
      } else {
        // Unproven at 5 simulations: the budget stopped it (batches of 8 may overrun it by up to 7).
        #expect(search["stoppedBy"] as? String == "simulations" && (5...12).contains(runs), "\(search)")
        #expect(page.contains("(the simulation budget ran out after \(runs) simulations)"))
        stopped += 1
      }
    }
    #expect(stopped > 0, "5 simulations stopped no window: the test proved nothing about a stopped search")
    #expect(page.contains("The search may run 5 simulations per window"))

    let timed = try run(["report", log, "--out", path("budget-time"), "--budget", "2m"] + inputs)
    #expect(timed.status == 0, "\(timed.stderr)")
    let timedReport =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("budget-time/report.json"))))
      as! [String: Any]
    for w in timedReport["windows"] as! [[String: Any]] where w["configuration"] != nil {
      #expect((w["search"] as? [String: Any])?["secondsAllowed"] as? Double == 120)
    }
    #expect(
      try String(contentsOfFile: path("budget-time/index.html"), encoding: .utf8).contains(
        "The search may take 120 s of wall-clock time per window (a time budget"))

    let plan = try run(["plan", "--trace", log, "--budget", "3"] + inputs)
    #expect(
      plan.status == 0 && plan.stdout.contains("NOT proven (the simulation budget ran out after"), "\(plan.stdout)")
    for bad in ["soon", "0", "-2s"] {
      let refused = try run(["report", log, "--out", path("budget-bad"), "--budget", bad] + inputs)
      #expect(refused.status == 64 && refused.stderr.contains("--budget"), "\(bad): \(refused.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: path("budget-bad")))
  }
}
