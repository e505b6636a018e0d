import Foundation
import Testing

/// The serving what-ifs through `report`, `replay` and `simulate`: sections with their assumptions, numbers that
/// agree with the rest of the report, the pipeline's balancer used everywhere, and errors that name the fix.
extension CommandLineTests {
  @Test func reportWhatIfsAreSectionsThatAgreeWithTheReport() throws {
    let s = Self.samples
    // A serverless tier whose name carries markup: escaped on every page it reaches.
    let catalog = try String(contentsOfFile: "\(s)/hardware/aws-2026.yaml", encoding: .utf8)
      .replacingOccurrences(of: "  - type: Lambda\n", with: "  - type: \"Fn<i>x</i>\"\n")
    try catalog.write(toFile: path("serverless.yaml"), atomically: true, encoding: .utf8)
    let out = path("what-ifs"), log = path("spiky.csv")
    // Four hours at 5 q/s with two 10-minute spikes at 4x: the tuner scales, the tier has something to take.
    let generated = try run([
      "generate", "--process", "diurnal", "--rate", "5", "--peak-to-trough", "2", "--spikes", "2",
      "--spike-multiplier", "4", "--spike-duration", "10m", "--duration", "4h", "--seed", "5", "--pipeline",
      "video-monitoring", "--out", log,
    ])
    #expect(generated.status == 0, "\(generated.stderr)")
    let r = try run([
      "report", log, "--pipeline", "\(s)/pipelines/video-monitoring.yaml", "--hardware",
      path("serverless.yaml"), "--profiles", "\(s)/profiles/profiles-2026.csv", "--window", "1h", "--growth", "2",
      "--quiet", "--out", out, "--overflow", "Fn<i>x</i>", "--cold-start", "20:3", "--prewarm", "60",
      "--correlated-service", "0.3:0.8", "--balancers",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let report =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
      as! [String: Any]
    let whatIfs = try #require(report["whatIfs"] as? [[String: Any]])
    let titles = whatIfs.map { $0["title"] as! String }
    #expect(titles.count == 4)
    #expect(titles[0].hasPrefix("serverless overflow on Fn<i>x</i>") && titles[1].hasPrefix("cold starts"))
    #expect(titles[2].hasPrefix("service times correlated") && titles[3].hasPrefix("today's plan under each balancer"))
    func rows(_ i: Int) -> [[String: Any]] { whatIfs[i]["rows"] as! [[String: Any]] }
    // Without the tier, the tuner's row is the report's own replay; with it, the same row name plus the tier.
    let replays = report["replays"] as! [[String: Any]]
    let tuner = replays.first { $0["policy"] as? String == "inferline" }!
    let perDay = (tuner["cost"] as! Double) / (tuner["hours"] as! Double) * 24
    #expect(rows(0)[0]["name"] as? String == "InferLine tuner")
    #expect(abs((rows(0)[0]["costPerDay"] as! Double) - perDay) < 1e-9)
    #expect(rows(0)[1]["name"] as? String == "InferLine tuner + Fn<i>x</i>")
    #expect(rows(0).count % 2 == 0 && rows(0)[1]["overflowQueries"] != nil)
    // The central queue under the balancers is the busiest window's plan as the planner simulated it.
    let windows = report["windows"] as! [[String: Any]]
    let busiest = windows.max { ($0["queries"] as! Int) < ($1["queries"] as! Int) }!
    let central = rows(3).first { ($0["name"] as! String).hasPrefix("central") }!
    #expect(central["name"] as? String == "central (the pipeline's)")
    #expect(
      abs((central["percentileLatencyMs"] as! Double) - (busiest["percentileLatencyMs"] as! Double)) < 1e-9,
      "\(central) against \(busiest)")
    // Correlated service: the first row is today's plan as profiled, at the busiest window's cost.
    #expect(abs((rows(2)[0]["costPerHour"] as! Double) - (busiest["costPerHour"] as! Double)) < 1e-9)
    let assumptions = report["assumptions"] as! [String]
    #expect(assumptions.contains { $0.hasPrefix("What-if, cold starts and pre-warming (Orion): A replica added") })
    #expect(assumptions.contains { $0.contains("one queue (the ideal balancer)") })
    let page = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
    #expect(page.contains("What-if: serverless overflow on Fn&lt;i&gt;x&lt;/i&gt;") && !page.contains("Fn<i>"))
    #expect(
      page.contains("What-if: today&#39;s plan under each balancer")
        || page.contains("What-if: today's plan under each balancer"))
    let summary = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)
    #expect(summary.contains("- What-if, serverless overflow on Fn\\<i>x\\</i>"), "\(summary)")

    // Errors name the fix; nothing is written.
    let common =
      ["report", "\(s)/logs/video-day.csv.gz"] + Self.sampleInputs("video-monitoring") + ["--out", path("never")]
    let unknown = try run(common + ["--overflow", "Nope"])
    #expect(
      unknown.status == 64 && unknown.stderr.contains("has no serverless tier 'Nope'; it has Lambda"),
      "\(unknown.stderr)")
    let cold = try run(common + ["--cold-start", "3"])
    #expect(cold.status == 64 && cold.stderr.contains("--cold-start must be BATCHES:SLOWDOWN"), "\(cold.stderr)")
    let spread = try run(common + ["--correlated-service", "5:2"])
    #expect(spread.status == 64 && spread.stderr.contains("--correlated-service must be SIGMA:CORRELATION"))
    let alone = try run(common + ["--prewarm", "30"])
    #expect(alone.status == 64 && alone.stderr.contains("give --cold-start too"), "\(alone.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("never")))
  }

  /// A pipeline file's `dispatch` is what `simulate` runs unless told otherwise: the same run as `--dispatch`.
  @Test func thePipelinesBalancerIsTheDefault() throws {
    let s = Self.samples
    let pipeline = try String(contentsOfFile: "\(s)/pipelines/video-monitoring.yaml", encoding: .utf8)
      .replacingOccurrences(of: "network_delay_ms: 1\n", with: "network_delay_ms: 1\ndispatch: random\n")
    try pipeline.write(toFile: path("balanced.yaml"), atomically: true, encoding: .utf8)
    func p99(_ pipeline: String, _ extra: [String]) throws -> Double {
      let r = try run(
        ["simulate", "--trace", "\(s)/logs/video-day.csv.gz", "--pipeline", pipeline] + Self.sampleCatalog + [
          "--config",
          "\(s)/pipelines/video-monitoring.config.yaml", "--json",
        ] + extra)
      #expect(r.status == 0, "\(r.stderr)")
      let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
      return (json["latencyMs"] as! [String: Double])["p99"]!
    }
    let fromFile = try p99(path("balanced.yaml"), [])
    let told = try p99("\(s)/pipelines/video-monitoring.yaml", ["--dispatch", "random"])
    let central = try p99(path("balanced.yaml"), ["--dispatch", "central"])
    #expect(fromFile == told && fromFile > central, "file \(fromFile), --dispatch \(told), central \(central)")
  }
}
