import Foundation
import InferLine
import InferLineNight
import Testing

/// `calibrate` and `report --calibrate` on a log whose latency column comes from a hidden truth (the deployed
/// video-monitoring configuration, 30% slower than profiled, 3 ms more per stage, 3% lognormal noise).
extension CommandLineTests {
  /// The sample video-monitoring pipeline and its deployed configuration.
  func videoMonitoringDeployment() throws -> (PlanningInputs, PipelineConfiguration) {
    let s = Self.samples
    let inputs = try PlanningInputs.load(
      pipeline: "\(s)/pipelines/video-monitoring.yaml", hardware: "\(s)/hardware/aws-2026.yaml",
      profiles: "\(s)/profiles/profiles-2026.csv")
    let configuration = try PipelineConfiguration.load(
      path: "\(s)/pipelines/video-monitoring.config.yaml", pipeline: inputs.pipeline)
    return (inputs, configuration)
  }

  func observedLog(_ name: String) throws -> String {
    let (inputs, configuration) = try videoMonitoringDeployment()
    let epoch: Int64 = 1_795_824_000_000_000_000  // 2026-11-28T00:00:00Z
    var arrivals: [Int64] = []
    for (k, rate) in [3.0, 8, 14, 14, 8, 3].enumerated() {
      // Whole microseconds, as the log writes them.
      arrivals += TraceGenerator.arrivals(
        .poisson(rate: rate), duration: 600, start: epoch + Int64(k) * 600_000_000_000, seed: UInt64(k + 20)
      ).map { $0 / 1000 * 1000 }
    }
    let truth = PipelineModel(inputs.calibrated(multiplier: 1.3, overheadMs: 3))
    let latencies = Estimator.simulate(
      try truth.simulationInput(arrivals: arrivals, configuration: configuration, routes: .drawn(seed: 9))
    ).latencies!
    var rng = SeededGenerator(seed: 5)
    var text = "timestamp,latency_ms\n"
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    for (a, l) in zip(arrivals, latencies) {
      let seconds = a / 1_000_000_000, micros = a % 1_000_000_000 / 1000
      let stamp = formatter.string(from: Date(timeIntervalSince1970: Double(seconds))).dropLast()
      text +=
        "\(stamp).\(String(format: "%06lld", micros))Z,\(String(format: "%.3f", Double(l) / 1e6 * exp(0.03 * rng.nextStandardNormal())))\n"
    }
    let log = path(name)
    try text.write(toFile: log, atomically: true, encoding: .utf8)
    return log
  }

  @Test func calibrateFitsTheHiddenTruthAndReportPlansWithIt() throws {
    let s = Self.samples
    let log = try observedLog("observed.csv")
    let files =
      Self.sampleInputs("video-monitoring") + ["--window", "10m"]
    let config = "\(s)/pipelines/video-monitoring.config.yaml"
    let fitted = try run(["calibrate", "--trace", log, "--config", config, "--json"] + files)
    #expect(fitted.status == 0, "\(fitted.stderr)")
    let c = try JSONSerialization.jsonObject(with: Data(fitted.stdout.utf8)) as! [String: Any]
    #expect(abs((c["multiplier"] as! Double) / 1.3 - 1) < 0.1, "\(c["multiplier"]!)")
    #expect(abs((c["overheadMs"] as! Double) - 3) < 2.5, "\(c["overheadMs"]!)")
    #expect(c["explained"] as! Bool)
    let heldOut = c["heldOut"] as! [String: [Double]]
    #expect(heldOut["after"]![2] < 0.05 && heldOut["before"]![2] > 0.2, "\(heldOut)")
    // The report plans with the same fit, records it and shows the table.
    let out = path("calibrated-report")
    let report = try run(["report", log, "--out", out, "--quiet", "--calibrate", config] + files)
    #expect(report.status == 0, "\(report.stderr)")
    let saved =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
      as! [String: Any]
    let recorded = saved["calibration"] as! [String: Any]
    #expect(recorded["multiplier"] as! Double == c["multiplier"] as! Double)
    #expect((saved["assumptions"] as! [String]).contains { $0.hasPrefix("Calibrated against observed latencies") })
    let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
    #expect(html.contains("Calibration against observed latencies"))
    #expect(html.components(separatedBy: "<td>held out</td>").count - 1 == 3)
    // Without a latency column there is nothing to calibrate against: a clear error.
    let bare = path("bare.csv")
    try (try String(contentsOfFile: log, encoding: .utf8)).split(separator: "\n").map { $0.split(separator: ",")[0] }
      .joined(separator: "\n").write(toFile: bare, atomically: true, encoding: .utf8)
    let none = try run(["calibrate", "--trace", bare, "--config", config] + files)
    #expect(none.status == 65 && none.stderr.contains("--latency-column"), "\(none.stderr)")
  }

  /// `generate --observe` with no slowdown, overhead or noise writes the simulator's own latencies: their
  /// percentiles are `simulate`'s for the same log and seed (to the microsecond the column keeps).
  @Test func generateObserveWritesTheSimulatorsLatencies() throws {
    let s = Self.samples
    let files = Self.sampleCatalog
    let config = "\(s)/pipelines/video-monitoring.config.yaml", pipeline = "\(s)/pipelines/video-monitoring.yaml"
    let log = path("observe.csv")
    let made = try run(
      [
        "generate", "--rate", "8", "--duration", "20m", "--seed", "6", "--time-format", "epoch-ns", "--observe", config,
        "--pipeline-file", pipeline, "--out", log,
      ]
        + files)
    #expect(made.status == 0, "\(made.stderr)")
    let sim = try run(
      ["simulate", "--trace", log, "--config", config, "--pipeline", pipeline, "--seed", "6", "--json"] + files)
    #expect(sim.status == 0, "\(sim.stderr)")
    let predicted =
      (try JSONSerialization.jsonObject(with: Data(sim.stdout.utf8)) as! [String: Any])["latencyMs"]
      as! [String: Double]
    let column = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").dropFirst()
      .map { Double($0.split(separator: ",")[1])! }.sorted()
    for (key, percent) in [("p50", 50.0), ("p99", 99.0)] {
      let rank = Int((Double(column.count) * percent / 100).rounded(.up)) - 1
      #expect(abs(column[rank] - predicted[key]!) < 0.001, "\(key): \(column[rank]) vs \(predicted[key]!)")
    }
    let missing = try run(["generate", "--rate", "8", "--duration", "1m", "--observe", config, "--out", path("x.csv")])
    #expect(missing.status == 64 && missing.stderr.contains("--pipeline-file"))
  }

  /// OTLP JSON spans of the deployed video-monitoring configuration with the vehicle classifier (resnet50) twice as
  /// slow as profiled: each stage's span from its arrival at the stage to its finish there (the simulator's own
  /// stage finishes; `StageCalibrationTests` checks the fit against an independent simulator), and a query log of
  /// the same two minutes (epoch nanoseconds).
  func tracedSpans(_ name: String) throws -> (spans: String, log: String) {
    let (inputs, configuration) = try videoMonitoringDeployment()
    let epoch: Int64 = 1_795_824_000_000_000_000
    var arrivals: [Int64] = []
    for (k, rate) in [20.0, 40, 60, 40].enumerated() {
      arrivals += TraceGenerator.arrivals(
        .poisson(rate: rate), duration: 30, start: epoch + Int64(k) * 30_000_000_000, seed: UInt64(k + 3))
    }
    var truth = inputs
    for i in truth.profiles.profiles.indices where truth.profiles.profiles[i].model == "resnet50" {
      truth.profiles.profiles[i].latencies = truth.profiles.profiles[i].latencies.map { $0 * 2 }
    }
    let model = PipelineModel(truth)
    let result = Estimator.simulate(
      try model.simulationInput(arrivals: arrivals, configuration: configuration, routes: .drawn(seed: 4)),
      options: .init(recordStageFinishes: true))
    let finishes = result.stageFinishes!
    let n = arrivals.count, hop = model.hopDelay
    let names = inputs.pipeline.stages.map(\.name)
    var lines: [String] = []
    for q in 0..<n {
      var spans: [String] = []
      for s in 0..<3 where finishes[s * n + q] != .min {
        let start = s == 0 ? arrivals[q] : finishes[q] + hop
        spans.append(
          "{\"traceId\":\"t\(q)\",\"spanId\":\"s\(q)-\(s)\",\"name\":\"\(names[s])\",\"startTimeUnixNano\":\"\(start)\",\"endTimeUnixNano\":\"\(finishes[s * n + q])\"}"
        )
      }
      lines.append("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[\(spans.joined(separator: ","))]}]}]}")
    }
    let file = path(name)
    try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let log = path(name + ".log.csv")
    try ("timestamp\n" + arrivals.map { "\($0)\n" }.joined()).write(toFile: log, atomically: true, encoding: .utf8)
    return (file, log)
  }

  /// `calibrate --traces` finds the slow stage and leaves the others; `report --calibrate --calibration-traces`
  /// plans with the fit and records it; giving both kinds of input, or neither, is a usage error.
  @Test func calibrateFromTracesFindsTheSlowStageAndReportPlansWithIt() throws {
    let s = Self.samples
    let (spans, log) = try tracedSpans("spans.otlp.jsonl")
    let files = Self.sampleInputs("video-monitoring") + ["--window", "30s"]
    let config = "\(s)/pipelines/video-monitoring.config.yaml"
    let fitted = try run(["calibrate", "--traces", spans, "--config", config, "--json"] + files)
    #expect(fitted.status == 0, "\(fitted.stderr)")
    let c = try JSONSerialization.jsonObject(with: Data(fitted.stdout.utf8)) as! [String: Any]
    let corrections = c["corrections"] as! [[String: Any]]
    let multipliers = Dictionary(
      uniqueKeysWithValues: corrections.map { ($0["model"] as! String, $0["multiplier"] as! Double) })
    #expect(abs(multipliers["resnet50"]! / 2 - 1) < 0.03, "\(multipliers)")
    #expect(abs(multipliers["ssd320"]! - 1) < 0.03 && abs(multipliers["efficientnet-b0"]! - 1) < 0.03)
    #expect(c["explained"] as! Bool)
    let table = try run(["calibrate", "--traces", spans, "--config", config] + files)
    #expect(table.status == 0)
    #expect(table.stdout.hasPrefix("Calibrated per stage against traced spans: ssd320 x 1.000"), "\(table.stdout)")
    #expect(table.stdout.contains("detect -> vehicle"))
    let out = path("traced-report")
    let report = try run(
      ["report", log, "--out", out, "--quiet", "--calibrate", config, "--calibration-traces", spans] + files)
    #expect(report.status == 0, "\(report.stderr)")
    let saved =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
      as! [String: Any]
    let pipelineReport = (saved["pipelines"] as? [[String: Any]])?.first ?? saved
    #expect(pipelineReport["stageCalibration"] != nil)
    #expect(
      (pipelineReport["assumptions"] as! [String]).contains {
        $0.hasPrefix("Calibrated per stage against traced spans")
      })
    // The page shows the fit per stage and each edge's measured probability and hop beside the file's.
    let page = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
    #expect(page.contains("<h3>Calibration per stage against traced spans</h3>"))
    #expect(page.components(separatedBy: "<td>yes</td></tr>").count - 1 == 3)
    #expect(page.contains("<td>detect -&gt; vehicle</td><td class=\"n\">0.600</td>"))
    // --measured-routes plans with the spans' edge probabilities and says so, with the file's beside them.
    let measuredOut = path("traced-report-routes")
    let measured = try run(
      [
        "report", log, "--out", measuredOut, "--quiet", "--calibrate", config, "--calibration-traces", spans,
        "--measured-routes",
      ] + files)
    #expect(measured.status == 0, "\(measured.stderr)")
    let routesSaved =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: measuredOut + "/report.json")))
      as! [String: Any]
    let routesReport = (routesSaved["pipelines"] as? [[String: Any]])?.first ?? routesSaved
    let routes = (routesReport["stageCalibration"] as! [String: Any])["routes"] as! [[String: Any]]
    let vehicle = String(format: "detect -> vehicle %.3f (file 0.600)", routes[0]["measuredProbability"] as! Double)
    #expect(
      (routesReport["assumptions"] as! [String]).contains {
        $0.hasPrefix("Planned with the edge probabilities measured") && $0.contains(vehicle)
      }, "\(routesReport["assumptions"]!)")
    let noSpans = try run(["report", log, "--out", path("y"), "--measured-routes"] + files)
    #expect(noSpans.status == 64 && noSpans.stderr.contains("needs --calibration-traces"), "\(noSpans.stderr)")
    let both = try run(["calibrate", "--traces", spans, "--trace", log, "--config", config] + files)
    #expect(both.status == 64 && both.stderr.contains("not both"), "\(both.stderr)")
    let orphanFlag = try run(["report", log, "--out", path("x"), "--calibration-traces", spans] + files)
    #expect(orphanFlag.status == 64 && orphanFlag.stderr.contains("needs --calibrate"), "\(orphanFlag.stderr)")
  }
}
