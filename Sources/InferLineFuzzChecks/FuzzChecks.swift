public import Foundation
import InferLine
import InferLineNight
import InferLineReport

/// What each fuzz target checks of one input, in one place: the libFuzzer targets in `Fuzz/` call these for every
/// input they generate, and `make test` calls them on the seed corpus and on seeded mutations of it. An error the
/// tool reports (`InputError`, diagnostics) is a correct answer; anything else is a `FuzzFinding`.
public struct FuzzChecks: Sendable {
  /// A property an input broke: the target and what went wrong.
  public struct Finding: Error, CustomStringConvertible, Sendable {
    public var target: String
    public var message: String
    public var description: String { "\(target): \(message)" }
  }

  /// The fuzz targets, by the corpus folder each reads (`Fuzz/Corpus/<folder>`).
  public enum Target: String, CaseIterable, Sendable {
    case logReader = "logs"
    case pipelineFiles = "pipelines"
    case partFile = "parts"
    case exporters = "exports"
  }

  let catalog: HardwareCatalog
  let profiles: ProfileTable
  let model: PipelineModel
  let spec: PipelineSpec
  let scratch: String

  /// Loads the sample catalog, profiles and video-monitoring pipeline from `samples` (the `SampleTraces` folder);
  /// files the loaders need on disk are written under `scratch` (a file-name prefix).
  public init(samples: String, scratch: String = NSTemporaryDirectory() + "inferline-fuzz-\(getpid())") throws {
    guard let catalog = HardwareCatalog.load(path: samples + "/hardware/aws-2026.yaml").0,
      let profiles = ProfileTable.load(path: samples + "/profiles/profiles-2026.csv").0,
      let spec = PipelineSpec.load(path: samples + "/pipelines/video-monitoring.yaml").0
    else {
      throw Finding(target: "samples", message: "the sample catalog, profiles or pipeline under \(samples) do not load")
    }
    self.catalog = catalog
    self.profiles = profiles
    self.spec = spec
    self.model = PipelineModel(try PlanningInputs.combine(spec, catalog, profiles, diagnostics: []))
    self.scratch = scratch
  }

  /// Removes the files the checks wrote under `scratch`.
  public func removeScratchFiles() {
    for suffix in [".yaml", ".csv", "-export.json"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
  }

  /// Runs `target`'s checks on `bytes`. Throws a `Finding` when a property does not hold.
  public func check(_ target: Target, _ bytes: [UInt8]) throws(Finding) {
    switch target {
    case .logReader: try logReader(bytes)
    case .pipelineFiles: pipelineFiles(bytes)
    case .partFile: try partFile(Data(bytes))
    case .exporters: try exporters(Data(bytes))
    }
  }

  /// The bytes as a log (plain or gzip), read from memory twice: in 256-byte blocks split across three threads and
  /// in one large block on one thread. The two must agree exactly (the same traces, the same report, or the same
  /// error): block boundaries and thread counts must never change what a log means. Then strict mode.
  public func logReader(_ bytes: [UInt8]) throws(Finding) {
    func fail(_ message: String) -> Finding { Finding(target: "logs", message: message) }
    func read(blockSize: Int, threads: Int, strict: Bool = false) throws(Finding) -> Result<QueryLog, InputError> {
      var options = LogReadOptions()
      options.blockSize = blockSize
      options.threads = threads
      options.minimumPartBytes = 32
      options.strict = strict
      do {
        return .success(try QueryLogReader.read(bytes: bytes, name: "fuzz.log", options: options))
      } catch let error as InputError {
        return .failure(error)
      } catch {
        throw fail("not an InputError: \(error)")
      }
    }
    let small = try read(blockSize: 256, threads: 3)
    let large = try read(blockSize: 1 << 16, threads: 1)
    switch (small, large) {
    case (.success(let a), .success(let b)):
      guard a.traces.count == b.traces.count else { throw fail("block size and threads changed the pipelines") }
      for (x, y) in zip(a.traces, b.traces) {
        // Latencies and sizes compare by bits: an unreadable one is NaN in both.
        guard
          x.pipeline == y.pipeline && x.arrivals == y.arrivals && x.isRelative == y.isRelative
            && x.visitedStages == y.visitedStages
            && x.observedLatencyMs?.map(\.bitPattern) == y.observedLatencyMs?.map(\.bitPattern)
            && x.querySizes?.map(\.bitPattern) == y.querySizes?.map(\.bitPattern) && x.sizeColumn == y.sizeColumn
        else { throw fail("block size and threads changed a trace") }
      }
      guard a.report == b.report else {
        throw fail("block size and threads changed the report: \(a.report) vs \(b.report)")
      }
      for trace in a.traces where !trace.arrivals.isEmpty {
        // At most about 1,000 windows: two stamps 250 years apart would otherwise make two million hourly ones.
        _ = TraceSummary(trace: trace, windowLength: max(3_600_000_000_000, trace.spanNanoseconds / 1_000 + 1))
      }
    case (.failure(let a), .failure(let b)):
      guard a.description == b.description else { throw fail("block size and threads changed the error: \(a) vs \(b)") }
    default:
      throw fail("one reading failed and the other did not: \(small) vs \(large)")
    }
    _ = try read(blockSize: 256, threads: 2, strict: true)
  }

  /// The bytes as a pipeline file, a hardware catalog and a profiles file in turn; when the pipeline loads, it is
  /// checked against the sample catalog and profiles and compiled. Any diagnostic is a correct answer.
  public func pipelineFiles(_ bytes: [UInt8]) {
    let data = Data(bytes)
    _ = FileManager.default.createFile(atPath: scratch + ".yaml", contents: data)
    _ = FileManager.default.createFile(atPath: scratch + ".csv", contents: data)
    let (spec, diagnostics) = PipelineSpec.load(path: scratch + ".yaml")
    _ = HardwareCatalog.load(path: scratch + ".yaml")
    _ = ProfileTable.load(path: scratch + ".csv")
    if let spec, let inputs = try? PlanningInputs.combine(spec, catalog, profiles, diagnostics: diagnostics) {
      _ = PipelineModel(inputs)
    }
  }

  /// The bytes as a shard's part.json, read as a merge reads it (format, version, seal), then, sealed or not,
  /// decoded and checked figure by figure against the sample pipeline with 1, 2 and 24 windows. A part of this
  /// version, sealed again, must read back.
  public func partFile(_ bytes: Data) throws(Finding) {
    func fail(_ message: String) -> Finding { Finding(target: "parts", message: message) }
    do {
      _ = try PartFile.decode(bytes, file: "part.json", key: nil)
    } catch is InputError {
    } catch {
      throw fail("not an InputError: \(error)")
    }
    guard let part = try? ReportWriter.decoder().decode(NightShards.Part.self, from: bytes) else { return }
    for windows in [1, 2, 24] {
      do {
        try part.check(models: [model], windowCounts: [windows], file: "part.json")
      } catch is InputError {
      } catch {
        throw fail("not an InputError: \(error)")
      }
    }
    if part.format == NightShards.Part.format, part.version == NightShards.Part.currentVersion,
      let sealed = try? PartFile.encode(part, key: nil)
    {
      do {
        _ = try PartFile.decode(sealed, file: "sealed", key: nil)
      } catch {
        throw fail("a sealed part did not read back: \(error)")
      }
    }
  }

  /// Every export setting given, so that each target renders.
  static let exportSettings: DeploymentExport.Settings = {
    var s = DeploymentExport.Settings()
    s.image = "nvcr.io/nvidia/tritonserver:25.01-py3"
    s.modelRepository = "s3://models"
    s.tritonBackend = "onnxruntime"
    s.rayImportPath = "pipeline:app"
    s.modelFormat = "onnx"
    return s
  }()

  /// The bytes as an exporter's input, as `export` reads it: a `plan --json` output (with the sample pipeline)
  /// when it starts with `[`, else a report.json (a pipeline's or a fleet's); every plan it yields is rendered for
  /// every target.
  public func exporters(_ bytes: Data) throws(Finding) {
    func fail(_ message: String) -> Finding { Finding(target: "exports", message: message) }
    do {
      var plans: [DeploymentPlan] = []
      if bytes.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "[") {
        plans = [try DeploymentPlan(planOutput: bytes, spec: spec, source: "plan.json")]
      } else {
        let path = scratch + "-export.json"
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        plans = try ReportWriter.loadFleet(path: path).0.pipelines.map { try DeploymentPlan(report: $0, source: path) }
      }
      for plan in plans {
        for target in DeploymentExport.Target.allCases {
          do {
            _ = try DeploymentExport.files(plan, target: target, settings: Self.exportSettings)
          } catch is InputError {}
        }
      }
    } catch is InputError {
    } catch {
      throw fail("not an InputError: \(error)")
    }
  }
}
