import Foundation
import FuzzSupport
import InferLine

/// libFuzzer entry: the bytes as a pipeline file, a hardware catalog and a profiles file in turn; when all three
/// load together, the pipeline is compiled. Errors are fine; a crash is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let base = NSTemporaryDirectory() + "inferline-fuzz-\(ProcessInfo.processInfo.processIdentifier)"
  let bytes = Data(bytes: data, count: size)
  _ = FileManager.default.createFile(atPath: base + ".yaml", contents: bytes)
  _ = FileManager.default.createFile(atPath: base + ".csv", contents: bytes)
  _ = PipelineSpec.load(path: base + ".yaml")
  _ = HardwareCatalog.load(path: base + ".yaml")
  _ = ProfileTable.load(path: base + ".csv")
  if let inputs = try? PlanningInputs.load(
    pipeline: base + ".yaml", hardware: "../SampleTraces/hardware/aws-2026.yaml",
    profiles: "../SampleTraces/profiles/profiles-2026.csv")
  {
    _ = PipelineModel(inputs)
  }
  return 0
}

/// SwiftPM links an executable's entry as `FuzzPipelineFiles_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzPipelineFiles_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
