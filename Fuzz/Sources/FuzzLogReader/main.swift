import Foundation
import FuzzSupport
import InferLine

/// libFuzzer entry: the bytes as a log (plain or gzip), read from memory, twice: in 256-byte blocks split across
/// three threads and in one large block on one thread. The two must agree exactly (the same traces, the same report, or the same
/// error): block boundaries and thread counts must never change what a log means. Then strict mode. Any error is
/// fine; a crash, a hang, an out-of-bounds access or a disagreement is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  func read(blockSize: Int, threads: Int, strict: Bool = false) -> Result<QueryLog, InputError> {
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
      fatalError("not an InputError: \(error)")
    }
  }
  let small = read(blockSize: 256, threads: 3)
  let large = read(blockSize: 1 << 16, threads: 1)
  switch (small, large) {
  case (.success(let a), .success(let b)):
    precondition(a.traces.count == b.traces.count, "block size and threads changed the pipelines")
    for (x, y) in zip(a.traces, b.traces) {
      // Latencies compare by bits: an unreadable one is NaN in both.
      precondition(
        x.pipeline == y.pipeline && x.arrivals == y.arrivals && x.isRelative == y.isRelative
          && x.visitedStages == y.visitedStages
          && x.observedLatencyMs?.map(\.bitPattern) == y.observedLatencyMs?.map(\.bitPattern),
        "block size and threads changed a trace")
    }
    precondition(a.report == b.report, "block size and threads changed the report: \(a.report) vs \(b.report)")
    for trace in a.traces where !trace.arrivals.isEmpty {
      // At most about 1,000 windows: two stamps 250 years apart would otherwise make two million hourly ones.
      _ = TraceSummary(trace: trace, windowLength: max(3_600_000_000_000, trace.spanNanoseconds / 1_000 + 1))
    }
  case (.failure(let a), .failure(let b)):
    precondition(a.description == b.description, "block size and threads changed the error: \(a) vs \(b)")
  default:
    preconditionFailure("one reading failed and the other did not: \(small) vs \(large)")
  }
  _ = read(blockSize: 256, threads: 2, strict: true)
  return 0
}

/// SwiftPM links an executable's entry as `FuzzLogReader_main`; hand control to libFuzzer's driver from there.
@_cdecl("FuzzLogReader_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}
