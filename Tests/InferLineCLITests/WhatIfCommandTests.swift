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

extension CommandLineTests {
  /// Sized profiles (the bert models on T4 and L4 at 64 to 512 tokens) and a log with a `tokens` column: the report
  /// adds the size section, whose rows are computed from both sides (today's plan with the sizes is faster than as
  /// planned, the busiest window re-planned with them costs no more and meets the SLO), names the column and the
  /// query without a readable size; a log without the column says so with no rows; a size above the largest bucket
  /// stops the run with the fix.
  @Test func reportFollowsTheLogsSizeColumn() throws {
    let s = Self.samples
    var profiles = ["model,hardware,batch_size,latency_ms,statistic,size,source"]
    let published = try String(contentsOfFile: "\(s)/profiles/profiles-2026.csv", encoding: .utf8)
    for line in published.split(separator: "\n") where line.hasPrefix("bert-") {
      let f = line.split(separator: ",").map(String.init)
      guard ["T4", "L4"].contains(f[1]) else { continue }
      for size in [64.0, 128, 256, 512] {
        let scaled = Double(f[3])! * (0.25 + 0.75 * size / 384)
        profiles.append("\(f[0]),\(f[1]),\(f[2]),\(String(format: "%.3f", scaled)),\(f[4]),\(Int(size)),assumed")
      }
    }
    let profilePath = path("sized-profiles.csv")
    try profiles.joined(separator: "\n").write(toFile: profilePath, atomically: true, encoding: .utf8)
    // 20 minutes at 40 q/s; tokens cycle through short questions, one in 250 long; one size unreadable.
    var log = "timestamp,tokens\n"
    let tokens = [40, 70, 30, 90, 55, 60, 35, 80, 45]
    for q in 0..<48_000 {
      let t = 1_764_547_200.0 + Double(q) * 0.025
      let size = q == 7 ? "n/a" : q % 250 == 0 ? "400" : String(tokens[q % tokens.count])
      log += String(format: "%.3f", t) + "," + size + "\n"
    }
    try log.write(toFile: path("tokens.csv"), atomically: true, encoding: .utf8)
    let files = [
      "--pipeline", "\(s)/pipelines/cascade.yaml", "--hardware", "\(s)/hardware/aws-2026.yaml", "--profiles",
      profilePath, "--window", "10m", "--quiet",
    ]
    /// A report of `log` into `out`: its report.json and its size section.
    func sizeSection(_ log: String, _ out: String) throws -> (report: [String: Any], section: [String: Any]?) {
      let r = try run(["report", log, "--out", out] + files)
      #expect(r.status == 0, "\(r.stderr)")
      let report =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        as! [String: Any]
      let section = (report["whatIfs"] as? [[String: Any]])?.first {
        $0["title"] as? String == "service times from each query's size"
      }
      return (report, section)
    }
    let out = path("sized-report")
    let (report, found) = try sizeSection(path("tokens.csv"), out)
    let sized = try #require(found)
    let assumption = sized["assumption"] as! String
    #expect(assumption.contains("the log's 'tokens' column") && assumption.contains("1 query has no readable size"))
    let rows = sized["rows"] as! [[String: Any]]
    func row(_ prefix: String) throws -> [String: Any] {
      try #require(rows.first { ($0["name"] as! String).hasPrefix(prefix) }, "no row '\(prefix)' in \(rows)")
    }
    let asPlanned = try row("today's plan, every batch at its largest size bucket")
    let withSizes = try row("today's plan, service from the sizes")
    let replanned = try row("re-planned with service from the sizes")
    let plannedP99 = asPlanned["percentileLatencyMs"] as! Double
    let sizedP99 = withSizes["percentileLatencyMs"] as! Double
    #expect(sizedP99 < plannedP99, "with sizes \(sizedP99) ms, as planned \(plannedP99) ms")
    #expect((replanned["costPerHour"] as! Double) <= (asPlanned["costPerHour"] as! Double) + 1e-9)
    #expect((replanned["note"] as! String).hasPrefix("meets the SLO"))
    _ = try row("today's plan, correlated-service what-if at the sizes' spread")
    _ = try row("InferLine tuner over the day, service from the sizes")
    let ingestion = (report["ingestion"] as? [[String: Any]])?.first
    #expect(ingestion?["sizeColumn"] as? String == "tokens" && ingestion?["unreadableSizes"] as? Int == 1)
    let summary = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)
    #expect(summary.contains("What-if, service times from each query's size: today's plan"))
    #expect(summary.contains(String(format: "P99 %.1f ms", sizedP99)))
    let page = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
    #expect(page.contains("<h3>What-if: service times from each query&#39;s size</h3>"))

    // The same profiles, a log without sizes: said, with no rows.
    let plainLog = log.split(separator: "\n").map { String($0.split(separator: ",")[0]) }.joined(separator: "\n")
    try plainLog.write(toFile: path("plain.csv"), atomically: true, encoding: .utf8)
    let plainWhatIf = try sizeSection(path("plain.csv"), path("plain-report")).section
    #expect((plainWhatIf?["assumption"] as? String)?.contains("the log has no size column") == true)
    #expect((plainWhatIf?["rows"] as? [Any])?.isEmpty == true)

    // A size above the largest bucket: refused with the fix, the earlier report kept.
    try "timestamp,tokens\n1764547200,100\n1764547201,9000\n".write(
      toFile: path("huge.csv"), atomically: true, encoding: .utf8)
    let huge = try run(["report", path("huge.csv"), "--out", out] + files)
    #expect(huge.status != 0)
    #expect(huge.stderr.contains("is profiled up to size 512") && huge.stderr.contains("a query of size 9000"))
    #expect(huge.stderr.contains("profile a size bucket of at least 9000"))
    #expect(FileManager.default.fileExists(atPath: out + "/report.json"))
  }
}
