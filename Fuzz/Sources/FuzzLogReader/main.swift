import Foundation
import FuzzSupport
import InferLine

/// libFuzzer entry: the bytes as a log file (plain or gzip), read with the default options and strict mode.
/// Any error is fine; a crash, a hang or an out-of-bounds access is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = FuzzFile.path
  _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
  for strict in [false, true] {
    var options = LogReadOptions()
    options.strict = strict
    if let set = try? QueryLogSet.read(paths: [path], options: options) {
      for trace in set.traces where !trace.arrivals.isEmpty {
        _ = TraceSummary(trace: trace, windowLength: 3_600_000_000_000)
      }
    }
  }
  return 0
}

enum FuzzFile {
  static let path = NSTemporaryDirectory() + "inferline-fuzz-log-\(ProcessInfo.processInfo.processIdentifier)"
}

/// SwiftPM links an executable's entry as `FuzzLogReader_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzLogReader_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
