import Foundation
import FuzzSupport
import InferLine
import InferLineReport

/// The sample video-monitoring pipeline file, loaded once (run from the repository or from Fuzz/): a `plan --json`
/// input names its stages with it.
let samples =
  ["SampleTraces", "../SampleTraces"].first { FileManager.default.fileExists(atPath: $0) } ?? "SampleTraces"
nonisolated(unsafe) let sampleSpec = PipelineSpec.load(path: samples + "/pipelines/video-monitoring.yaml").0

/// Every setting given, so that each target renders.
let settings: DeploymentExport.Settings = {
  var s = DeploymentExport.Settings()
  s.image = "nvcr.io/nvidia/tritonserver:25.01-py3"
  s.modelRepository = "s3://models"
  s.tritonBackend = "onnxruntime"
  s.rayImportPath = "pipeline:app"
  s.modelFormat = "onnx"
  return s
}()

/// libFuzzer entry: the bytes as an exporter's input, as `export` reads it: a `plan --json` output (with the
/// sample pipeline) when it starts with `[`, else a report.json (a pipeline's or a fleet's); every plan it yields
/// is rendered for every target. Errors are fine (they must be `InputError`s); a crash is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  var plans: [DeploymentPlan] = []
  do {
    if bytes.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "[") {
      plans = [try DeploymentPlan(planOutput: bytes, spec: sampleSpec!, source: "plan.json")]
    } else {
      let path = NSTemporaryDirectory() + "inferline-fuzz-export-\(ProcessInfo.processInfo.processIdentifier).json"
      _ = FileManager.default.createFile(atPath: path, contents: bytes)
      plans = try ReportWriter.loadFleet(path: path).0.pipelines.map { try DeploymentPlan(report: $0, source: path) }
    }
    for plan in plans {
      for target in DeploymentExport.Target.allCases {
        do {
          _ = try DeploymentExport.files(plan, target: target, settings: settings)
        } catch is InputError {}
      }
    }
  } catch is InputError {
  } catch {
    fatalError("not an InputError: \(error)")
  }
  return 0
}

/// SwiftPM links an executable's entry as `FuzzExporters_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzExporters_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  precondition(sampleSpec != nil, "run from the repository or Fuzz/: the sample pipeline")
  return runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
