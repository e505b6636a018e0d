import Foundation
import FuzzSupport
import InferLine

/// The sample catalog and profiles, loaded once (run from the repository or from Fuzz/): each input is checked
/// against them.
let samples =
  ["SampleTraces", "../SampleTraces"].first { FileManager.default.fileExists(atPath: $0) } ?? "SampleTraces"
nonisolated(unsafe) let sampleCatalog = HardwareCatalog.load(path: samples + "/hardware/aws-2026.yaml").0
nonisolated(unsafe) let sampleProfiles = ProfileTable.load(path: samples + "/profiles/profiles-2026.csv").0

/// libFuzzer entry: the bytes as a pipeline file, a hardware catalog and a profiles file in turn; when the pipeline
/// loads, it is checked against the sample catalog and profiles and compiled. Errors are fine; a crash is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let base = NSTemporaryDirectory() + "inferline-fuzz-\(ProcessInfo.processInfo.processIdentifier)"
  let bytes = Data(bytes: data, count: size)
  _ = FileManager.default.createFile(atPath: base + ".yaml", contents: bytes)
  _ = FileManager.default.createFile(atPath: base + ".csv", contents: bytes)
  let (spec, diagnostics) = PipelineSpec.load(path: base + ".yaml")
  _ = HardwareCatalog.load(path: base + ".yaml")
  _ = ProfileTable.load(path: base + ".csv")
  if let spec, let inputs = try? PlanningInputs.combine(spec, sampleCatalog, sampleProfiles, diagnostics: diagnostics) {
    _ = PipelineModel(inputs)
  }
  return 0
}

/// SwiftPM links an executable's entry as `FuzzPipelineFiles_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzPipelineFiles_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  precondition(
    sampleCatalog != nil && sampleProfiles != nil, "run from the repository or Fuzz/: the sample catalog and profiles")
  return runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
