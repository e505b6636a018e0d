import Foundation
import FuzzSupport
import InferLine
import InferLineReport

/// The sample video-monitoring pipeline, loaded once (run from the repository or from Fuzz/): parts are checked
/// against it, as a merge checks them against the night's pipelines.
let samples =
  ["SampleTraces", "../SampleTraces"].first { FileManager.default.fileExists(atPath: $0) } ?? "SampleTraces"
nonisolated(unsafe) let sampleModel = try? PipelineModel(
  PlanningInputs.load(
    pipeline: samples + "/pipelines/video-monitoring.yaml", hardware: samples + "/hardware/aws-2026.yaml",
    profiles: samples + "/profiles/profiles-2026.csv"))

/// libFuzzer entry: the bytes as a shard's part.json, read as a merge reads it (format, version, seal), then,
/// sealed or not, decoded and checked figure by figure against the sample pipeline with 1, 2 and 24 windows.
/// Errors are fine (they must be `InputError`s); a crash is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  do {
    _ = try PartFile.decode(bytes, file: "part.json", key: nil)
  } catch is InputError {
  } catch {
    fatalError("not an InputError: \(error)")
  }
  guard let part = try? ReportWriter.decoder().decode(NightShards.Part.self, from: bytes) else { return 0 }
  for windows in [1, 2, 24] {
    do {
      try part.check(models: [sampleModel!], windowCounts: [windows], file: "part.json")
    } catch is InputError {
    } catch {
      fatalError("not an InputError: \(error)")
    }
  }
  // Sealing what was read and reading it back gives the same part (when it is of this inferline's format).
  if part.format == NightShards.Part.format, part.version == NightShards.Part.currentVersion,
    let sealed = try? PartFile.encode(part, key: nil)
  {
    do {
      _ = try PartFile.decode(sealed, file: "sealed", key: nil)
    } catch {
      fatalError("a sealed part did not read back: \(error)")
    }
  }
  return 0
}

/// SwiftPM links an executable's entry as `FuzzPartFile_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzPartFile_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  precondition(sampleModel != nil, "run from the repository or Fuzz/: the sample pipeline, catalog and profiles")
  return runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
