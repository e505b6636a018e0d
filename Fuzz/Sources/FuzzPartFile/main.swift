import Foundation
import FuzzSupport
import InferLineFuzzChecks

/// The checks, with the sample inputs loaded once (run from the repository or from Fuzz/).
nonisolated(unsafe) let checks = try? FuzzChecks(
  samples: ["SampleTraces", "../SampleTraces"].first { FileManager.default.fileExists(atPath: $0) } ?? "SampleTraces")

/// libFuzzer entry: the bytes through `FuzzChecks.partFile` (see there for what it checks). An error the tool
/// reports is fine; a crash, a hang, an out-of-bounds access or a broken property is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  do {
    try checks!.check(.partFile, Array(UnsafeBufferPointer(start: data, count: size)))
  } catch {
    fatalError("\(error)")
  }
  return 0
}

/// SwiftPM links an executable's entry as `FuzzPartFile_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzPartFile_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  precondition(checks != nil, "run from the repository or Fuzz/: the sample pipeline, catalog and profiles")
  return runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
