import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// `ReportRequest`: the report's settings as a configuration file. What `--dump-config` prints reads back to the
/// same request; relative paths are the file's; unknown keys and wrong types name their line; every setting's
/// problem names both its key and its flag.
@Suite struct ReportRequestTests {
  /// A request with every setting away from its default.
  static func everythingSet() -> ReportRequest {
    var r = ReportRequest()
    r.logs = ["/data/a.csv.gz", "/data/b.jsonl"]
    r.pipelines = ["/p/video.yaml", "/p/social.yaml"]
    r.hardware = "/hw.yaml"
    r.profiles = "/profiles.csv"
    r.window = "15m"
    r.sloMs = 250.5
    r.seed = 18_446_744_073_709_551_615
    r.growth = [1.1, 3, 0.5]
    r.budget = "45s"
    r.escalation = "cheap -> expensive = 0.1,0.5"
    r.calibrate = "/deployed.yaml"
    r.log.timeColumn = "ts"
    r.log.timeUnit = "ms"
    r.log.timezone = "Europe/Berlin"
    r.log.pipelineColumn = "pipeline: name"
    r.log.latencyColumn = "'latency'"
    r.log.strict = true
    r.whatIfs.overflow = "Lambda"
    r.whatIfs.coldStart = "20:3"
    r.whatIfs.prewarmSeconds = 45
    r.whatIfs.correlatedService = "0.3:0.8"
    r.whatIfs.balancers = true
    r.out = "/reports/night"
    r.templates = "/templates"
    r.previous = "/reports/last/report.json"
    return r
  }

  @Test(arguments: [ReportRequest(), everythingSet()])
  func whatDumpConfigPrintsReadsBackToTheSameRequest(request: ReportRequest) throws {
    let folder = TemporaryFolder()
    let yaml = request.yaml()
    let file = folder.write("night.yaml", yaml)
    let read = try ReportRequest.load(path: file)
    // The default request has no paths; the other has only absolute ones: both read back as they were.
    #expect(read == request, "\(yaml)")
    // Every key is written, unset ones as null, so the file lists every setting there is.
    let current = ReportRequest.CodingKeys.allCases.filter { $0 != .sweepEdge }.map(\.rawValue)
    for key in current + ["time_column", "cold_start", "prewarm_seconds"] {
      #expect(yaml.contains("\n\(key):") || yaml.contains("  \(key):"), "\(key) in \(yaml)")
    }
    #expect(!yaml.contains("e+0"), "numbers as people write them: \(yaml)")
  }

  @Test func theDefaultsAreTheAnalysisDefaults() throws {
    let options = try ReportRequest().analysisOptions()
    let plain = CapacityAnalysis.Options()
    #expect(options.windowLength == 3_600_000_000_000 && plain.windowLength == options.windowLength)
    #expect(options.growth == plain.growth && options.seed == plain.seed)
    #expect(options.budget.simulations == plain.budget.simulations)
    #expect(options.budget.simulations == SearchBudget.standard.simulations)
  }

  @Test func relativePathsAreTheFilesAndMissingKeysTakeTheDefaults() throws {
    let folder = TemporaryFolder()
    try FileManager.default.createDirectory(atPath: folder.path("conf"), withIntermediateDirectories: true)
    let file = folder.write(
      "conf/night.yaml", "logs: [../logs/a.csv]\npipelines: [p.yaml]\nhardware: /abs/hw.yaml\nout: \"-\"\nseed: 9\n")
    let r = try ReportRequest.load(path: file)
    #expect(r.logs == [folder.path("logs/a.csv")])
    #expect(r.pipelines == [folder.path("conf/p.yaml")])
    #expect(r.hardware == "/abs/hw.yaml" && r.out == "-")
    var expected = ReportRequest()
    expected.logs = r.logs
    expected.pipelines = r.pipelines
    expected.hardware = r.hardware
    expected.out = r.out
    expected.seed = 9
    #expect(r == expected)
  }

  @Test func unknownKeysAndWrongTypesNameTheirLine() throws {
    let folder = TemporaryFolder()
    func problems(_ text: String) -> String {
      do {
        _ = try ReportRequest.load(path: folder.write("c.yaml", text))
        return ""
      } catch {
        return "\(error)"
      }
    }
    let unknown = problems("seed: 1\nwindw: 15m\nlog:\n  strikt: true\n")
    #expect(unknown.contains("c.yaml:2: error: unknown key 'windw' (did you mean 'window'?)"), "\(unknown)")
    #expect(unknown.contains("c.yaml:4: error: unknown key 'strikt' (did you mean 'strict'?) in 'log'"), "\(unknown)")
    #expect(problems("seed: 1\ngrowth: 2\n").contains("c.yaml:2: error: growth is not a list"))
    #expect(problems("what_ifs:\n  balancers: maybe\n").contains("c.yaml:2: error: what_ifs.balancers is not true"))
    #expect(problems("seed: -1\n").contains("seed is not a number"))
    #expect(problems("- a list\n").contains("must be a mapping"))
    #expect(problems("seed: [1\n").contains("YAML syntax"))
    #expect(problems("seed: 3\n").isEmpty)
  }

  /// `budget` is a number of simulations or a time, in a file as on the command line, and reads back as written.
  @Test func aBudgetIsSimulationsOrTime() throws {
    #expect(SearchBudget(parsing: "2000") == SearchBudget(simulations: 2000))
    #expect(SearchBudget(parsing: "30") == SearchBudget(simulations: 30), "a bare number is simulations")
    #expect(SearchBudget(parsing: "30s") == .time(seconds: 30))
    #expect(SearchBudget(parsing: "2m")?.seconds == 120 && SearchBudget(parsing: "500ms")?.seconds == 0.5)
    for bad in ["0", "-5", "", "soon", "30 parsecs", "0s"] { #expect(SearchBudget(parsing: bad) == nil, "\(bad)") }
    for text in ["2000", "30s", "500ms", "1.5s"] { #expect(SearchBudget(parsing: text)?.text == text) }
    let scratch = TemporaryFolder("inferline-request")
    for (written, seconds) in [("budget: 30s\n", 30.0 as Double?), ("budget: 1500\n", nil), ("budget: '90s'\n", 90)] {
      let path = scratch.write("night.yaml", written)
      let options = try ReportRequest.load(path: path).analysisOptions()
      #expect(options.budget.seconds == seconds, "\(written)")
      #expect(seconds != nil || options.budget.simulations == 1500)
    }
    var timed = ReportRequest()
    timed.budget = "30s"
    #expect(timed.yaml().contains("budget: 30s\n"))
    #expect(ReportRequest().yaml().contains("budget: 2000\n"))
  }

  /// The escalation what-if has one name; a file written with its earlier key, `sweep_edge`, still reads, and is
  /// dumped with the current one.
  @Test func theEscalationKeepsItsEarlierKey() throws {
    let scratch = TemporaryFolder("inferline-request")
    let old = try ReportRequest.load(path: scratch.write("old.yaml", "sweep_edge: 'cheap -> expensive = 0.5'\n"))
    #expect(old.escalation == "cheap -> expensive = 0.5")
    #expect(old.yaml().contains("escalation: cheap -> expensive = 0.5") && !old.yaml().contains("sweep_edge"))
    let new = try ReportRequest.load(path: scratch.write("new.yaml", "escalation: 'a -> b = 0.1'\n"))
    #expect(new.escalation == "a -> b = 0.1")
  }

  @Test func everySettingsProblemNamesItsKeyAndItsFlag() throws {
    func problem(_ change: (inout ReportRequest) -> Void) -> ReportRequest.SettingError? {
      var r = ReportRequest()
      change(&r)
      do {
        _ = try r.analysisOptions()
        _ = try r.whatIfs.coldStartModel()
        _ = try r.whatIfs.correlated()
        try r.whatIfs.checkPrewarm()
        return nil
      } catch {
        return error
      }
    }
    let cases: [(String, String, (inout ReportRequest) -> Void)] = [
      ("window", "--window", { $0.window = "soon" }),
      ("growth", "--growth", { $0.growth = [0.001] }),
      ("growth", "--growth", { $0.growth = [] }),
      ("budget", "--budget", { $0.budget = "0" }),
      ("budget", "--budget", { $0.budget = "soon" }),
      ("budget", "--budget", { $0.budget = "0s" }),
      ("slo_ms", "--slo", { $0.sloMs = .nan }),
      ("slo_ms", "--slo", { $0.sloMs = 1e300 }),
      ("time_unit", "--time-unit", { $0.log.timeUnit = "parsec" }),
      ("timezone", "--timezone", { $0.log.timezone = "Mars/Base" }),
      ("cold_start", "--cold-start", { $0.whatIfs.coldStart = "0:3" }),
      ("correlated_service", "--correlated-service", { $0.whatIfs.correlatedService = "4:0.5" }),
      ("prewarm_seconds", "--prewarm", { $0.whatIfs.prewarmSeconds = -1 }),
    ]
    for (key, flag, change) in cases {
      let e = problem(change)
      #expect(e?.key == key && e?.flag == flag, "\(key): \(String(describing: e))")
      #expect(e?.description.hasPrefix(flag + " ") == true && e?.configurationText.hasPrefix("'\(key)' ") == true)
    }
    #expect(
      problem {
        $0.window = "15m"
        $0.growth = [2]
        $0.whatIfs.coldStart = "20:3"
      } == nil)
  }
}
