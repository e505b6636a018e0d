import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// Inputs the fuzzers found (Fuzz/findings), kept as regression tests.
@Suite struct FuzzFindingTests {
  let folder = TemporaryFolder()

  /// FuzzLogReader: a log without a line break whose length is a multiple of the block size read as "only blank
  /// lines" in 256-byte blocks and as a JSON line in 64 KB blocks. The first block then ended exactly at the end of
  /// the input, and a block filled to capacity was taken to continue.
  @Test func aLastLineEndingExactlyAtABlockEndIsALine() throws {
    let bytes = Array(
      Data(
        base64Encoded:
          "eyJ0c8UiOlsgJjIAAAAAAAA/Pz8/P70/InRAANIyOFQwLiAAAAAAAAAAAAAAAAAAAAAAAP8AAAAAANIyOFQwLkXg//8AAAAAAAAAAAAAAAAAAAAAAPr/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPwBzxQEAACEmMgD//////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////wAAAD8AAP////8AQADSMjhUMC5F4P//MDowdD8/AQAAZEHQMA=="
      )!)
    func outcome(_ blockSize: Int, _ threads: Int) -> String {
      var options = LogReadOptions()
      options.blockSize = blockSize
      options.threads = threads
      options.minimumPartBytes = 32
      do {
        let log = try QueryLogReader.read(bytes: bytes, name: "fuzz.log", options: options)
        return "\(log.report.queries) queries"
      } catch { return "\(error)" }
    }
    #expect(bytes.count == 256 && !bytes.contains(0x0A))
    let large = outcome(1 << 16, 1)
    #expect(large.contains("not a JSON object"))
    #expect(outcome(256, 3) == large)
    #expect(outcome(64, 1) == large)
    // The same with CSV: a header alone, and a log whose unterminated last line ends where a 64-byte block does.
    let header = Array("timestamp".utf8) + Array(repeating: UInt8(ascii: " "), count: 55)
    let log = Array("timestamp\n1700000000\n1700000000\n1700000000\n1700000000\n1700000001".utf8)
    #expect(header.count == 64 && log.count == 64)
    for bytes in [header, log] {
      var outcomes: [String] = []
      for blockSize in [64, 128, 4096] {
        var options = LogReadOptions()
        options.blockSize = blockSize
        do {
          outcomes.append("\(try QueryLogReader.read(bytes: bytes, name: "x.csv", options: options).report.queries)")
        } catch { outcomes.append("\(error)") }
      }
      #expect(Set(outcomes).count == 1, "\(outcomes)")
    }
    var options = LogReadOptions()
    options.blockSize = 64
    #expect(try QueryLogReader.read(bytes: log, name: "x.csv", options: options).report.queries == 5)
  }

  /// FuzzLogReader: the known-mistake checks (here: carriage returns alone) read the first block, so a 256-byte
  /// block saw one carriage return and a 64 KB block saw the whole first line: "no timestamp column" against
  /// "old Mac line endings". The first block now holds the first 64 KB whatever the block size.
  @Test func knownMistakesAreJudgedOnTheSameBytesWhateverTheBlockSize() throws {
    let bytes = Array(
      Data(
        base64Encoded:
          "dGkmCQkJCQkJCQkJCSwsmpqXl5eXl5eXl5eXl5eXl5eXl5eXl5eXmpqampqampqampqampqampqampqampqampqampqamlyampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqampqamiwsLCwsCQkJCSwsLCwsLCwsDSwsLCws1NMo1SxkYXQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAZXRpbWUsLCws2dnZLA0sLCwsLNTTKNUsZGF0ZXRpbSwsLNllLNnZ2dksLCwJCQkJCQkJCQknCXB0MW0uCtU3Cg=="
      )!)
    var outcomes = Set<String>()
    for (blockSize, threads) in [(64, 1), (256, 3), (4096, 2), (1 << 16, 1)] {
      var options = LogReadOptions()
      options.blockSize = blockSize
      options.threads = threads
      do {
        _ = try QueryLogReader.read(bytes: bytes, name: "fuzz.log", options: options)
        outcomes.insert("read")
      } catch { outcomes.insert("\(error)") }
    }
    #expect(outcomes.count == 1, "\(outcomes)")
    #expect(outcomes.first?.contains("carriage return") == true)
  }

  /// FuzzPipelineFiles: a profile latency of 4e101 ms overflowed the conversion to nanoseconds (a trap). Latencies,
  /// SLOs and delays beyond a day are refused with their line, and the conversion saturates.
  @Test func absurdLatenciesAreRefusedNotTrapped() throws {
    let bytes = Data(
      base64Encoded:
        "IyBTYW1wbGUgbW9kZWwgcHJvZmlsZXOaZm9iIHRoZSAyMDI2IChybnMgYWJvdXQgaXQpLgptb2RlbCxoYXJkd2FyZSxiYXRjaF9zaXplLGxhdGVuY3lfbXMsc3RhdGlzdGljLHMgbWF4X3JlcGxpY2FzOiA2NAogIC0gdHlwZTogTDQKICAgIGluc3Q1MAAAAAAAAAAKLENQVSw0LDE0MC40OTP/AAAAAAAAACw5OfEAAAAAAAAQLGRlcml2ZWQKcHJlcHJvY2VzcyxDUFUsOCwxNS4wMDAscDk5LGRlcml2ZWQKcmVzbmV0NTAsQ1BVLDEsMzk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk2LjYyMyxwOTksZGVyaXZlZAosQ1BVLDQsMW5ldDUwLENQVSw0LDE0MC40OTMscDk5LGVkCnJlc25ldDUwAAAAAAAAAAosQ1BVLDQsMTQwLjQ5MyxwOTksMjQ3LHA5OSxkZXJpdmVkCnJlc25ldDUwAAAAAAAAAAosQ1BVLDQsMW5ldDUwLENQVSw0LDE0MC40OTMscDk5LGRlcml2ZWQK"
    )!
    let path = folder.write("f.csv", String(decoding: bytes, as: UTF8.self))
    let (table, diagnostics) = ProfileTable.load(path: path)
    #expect(table == nil)
    #expect(diagnostics.contains { $0.message.contains("longer than a day") })
    #expect(ProfileTable.nanoseconds(4e101) == 86_400_000_000_000)
    #expect(ProfileTable.nanoseconds(.nan) == 0 && ProfileTable.nanoseconds(-5) == 0)
    let pipeline = folder.write(
      "p.yaml", "name: p\nslo: {latency_ms: 1e300}\nnetwork_delay_ms: 1e20\nstages:\n  - {name: a, model: m}\n")
    let (spec, problems) = PipelineSpec.load(path: pipeline)
    #expect(spec == nil)
    #expect(problems.filter { $0.message.contains("at most a day") }.count == 2)
  }

  /// FuzzLogReader (long run): a stray quote on line 2 of a 1,350-line CSV. Read at once, the walk found no closing
  /// quote within 1,000 line breaks (a runaway: line 2 alone is malformed); read in parts on three threads, the
  /// part holding line 2 ended before those 1,000 line breaks and took the quote as open to its end, swallowing
  /// 276 lines. A part that is not the end of the input now reads an open quote as the walk's runaway.
  @Test func aStrayQuoteSwallowsNoMoreLinesInPartsThanAtOnce() throws {
    let bytes = Array(
      Data(
        base64Encoded:
          "dAoiNzU47Ao6CjIKMQoyLjUKNAoxMgoxMjYyLjIKCjIuNQo0CgoxMgoxMjYJ/PxzCfz8dAn8/HMJNAoYOjIKMgoxCjEKMi4KMjYyLjUKNAoKZXZlbnRfdGl1ZXRhbXAKNQo0CgoqCjIKMTIKCgoyLjUKcwn8/HMJ/Px0YW1wCjUKNAoKMQo6CjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoxMgD9NjIuNQo0CgpldmVudF90aW1ldGFtcAo1CjQKCjEKMgoxMgoKCjIuNQpzCfz8cwn8/HQKNDVwCm1hCgoxCjoKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CgoxMgoxMgoxMgoxMjY0cwn8/HRhbXAKNQoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCjE0CjIKMtcxCjIuCjAKMgoxMgoKMi41CjQKCgoxMjY0cwn8/HRhbXAKNQoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CjQKCjEyCjHVNgn8/HMJNAoYOjIKMgoxCjEKMi4KMQoyCgoKCgoKCgoKCgoKCgoKCgoKCgoxNAoyCjLXMQoyLgoxCjIKMTIKMTIKCjIuNQo0CgoxMgoxMjYJ/AoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoxNAoyCjLXMQoyLgoxCjINMTIKCjIuNQo0CgoxMgox1TYJ/PxzCTQKGDoyCjIKMQoxCjIuCnd3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3cKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CgpldmVudF90aXVldGFtcAo1CjQKCioKMgoxMgoKCjIuNQpzCfz8cwn8/HRhbXA0Cgo1CgoxCjoKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CjEyAP02Mi41CjQKCmV2ZW50X3RpbWV0YW1wCjUKNAoKMQoyCjEyCgoKMi41CnMJ/PxzCfz8dGFtcAo1CjQKCjEKOgoyCjEKMi41CjQKMTIKMTI2Mi41CjQKCjEyCjEyCjEyCjEyNjRzCfz8dGFtcAo1CgoKMTQKMgoy1zEKMi4KMQoyCjEyCgoyLjUKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKMTQKMgoy1zEKMi4KMQoyCjEyCjUKNAoKMQoyCjEyCgoKMi41CnMJ/PxzCfz8dGFtcAo1CjQKCjEKOgoyCjEKMi41CjQKMTIKMTI2Mi41CjQKCjEyCjEyCjEKMi41CjQKCjEyCjHVNgn8/HMJNAoYOjIKMgoxCjEKMi4KMQoyCjEyCgoyLjUKNAoKMXAyCjEyNgn8/HMJ/Px0Cfz8cwk0Chg6MgoyCjEKMQoyLgoyNjIuNQo0CgpldmVudF90aXVldGFtcAo1CjQKCioKMgoxMgoKCjIuNQpzCfz8cwn8/HRhbXAKNQo0CgoxCjoKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CjEyAP02Mi41CjQKCmV2ZW50X3RpbWV0YW1wCjUKNAoKMQoyCjEyCgoKMi41CnMJ/PxzCfz8dGFtcAo1CjQKCjEKOgoyCjEKMi41CjQKMTIKMTI2Mi41CjQKCjEyCjEyCjEyCjEyNjRzCfz8dGFtcAo1CgoKMTQKMgoy1zEKMi4KMQoyCjEyCgoyLjUKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKMTQKMgoy1zEKMi4KMQoyCjEyCgoyLjUKNAoKCjEyNjRzCfz8dGFtcAo1CgoKMTQKMgoy1zEKMi4KMQoyCjEyCgoyLjUKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKMTQKMgoy1zEKMi4KMQoyCjEyCgoyLjUKNAoKMTIKMdU2Cfz8cwk0Chg6MgoyCjEKMQoyLgoxCjIKCgoKCgoKCgoKCgoKCgoKCgoKCjE0CjIKMtcxCjJuCvxzCfz8dAn8/HMJNAoYMTIKMTI2Cfz8cwn8/HQJ/PxzCTQKGDoyCjIKMQoxCjIuCjI2Mi41CjQKCmV2ZW50X3RpdWV0YW1wCjUKNAoKKgoyCjEyCgoKMi41CnMJ/PxzCfz8dGFtcAo1CjQKCjEKOgoyCjEKMi41CjQKMTIKMTI2Mi41CjQKMTIA/TYyLjUKNAoKZXZlbnRfdGltZXRhbXAKNQo0CgoxCjIKMTIKCgoyLjUKcwn8/HMJ/Px0CjQ1cAptYQoKMQo6CjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoKMTIKMTIKMTIKMTI2NHMJ/Px0YW1wCjUKCgoxNAoyCjLXMQoyLgoxCjIKMTIKCjIuNQoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoxNAoyCjLXMQoyLgowCjIKMTIKCjIuNQo0CgoKMTI2NHMJ/Px0YW1wCjUKCgoxNAoyCjLXMQoyLgoxCjIKMTIKCjIuNQoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoxNAoyCjLXMQoyLgoxCjIKMTIKCjIuNQo0CgoxMgox1TYJ/PxzCTQKGDoyCjIKMQoxCjIuCjEKMgoKCgoKCgoKCgoKCgoKCgoKCgoKMTQKMgoy1zEKMi4KMQoyCjEyCjEyCgoyLjUKNAoKMTIKMTI2CfwKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKMTQKMgoy1zEKMi4KMQoyDTEyCgoyLjUKNAoKMTIKMdU2Cfz8cwk0Chg6MgoyCjEKMQoyLgp3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3CjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoKZXZlbnRfdGl1ZXRhbXAKNQo0CgoqCjIKMTIKCgoyLjUKcwn8/HMJ/Px0YW1wNAoKNQoKMQo6CjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoxMgD9NjIuNQo0CgpldmVudF90aW1ldGFtcAo1CjQKCjEKMgoxMgoKCjIuNQpzCfz8cwn8/HRhbXAKNQo0CgoxCjoKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CgoxMgoxMgoxMgoxMjY0cwn8/HRhbXAKNQoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCjE0CjIKMtcxCjIuCjEKMgoxMgo1CjQKCjEKMgoxMgoKCjIuNQpzCfz8cwn8/HRhbXAKNQo0CgoxCjoKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CgoxMgoxMgoxCjIuNQo0CgoxMgox1TYJ/PxzCTQKGDoyCjIKMQoxCjIuCjEKMgoxMgoKMi41CjQKCjFwMgoxMjYJ/PxzCfz8dAn8/HMJNAoYOjIKMgoxCjEKMi4KMjYyLjUKNAoKZXZlbnRfdGl1ZXRhbXAKNQo0CgoqCjIKMTIKCgoyLjUKcwn8/HMJ/Px0YW1wCjUKNAoKMQo6CjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoxMgD9NjIuNQo0CgpldmVudF90aW1ldGFtcAo1CjQKCjEKMgoxMgoKCjIuNQpzCfz8cwn8/HRhbXAKNQo0CgoxCjoKMgoxCjIuNQo0CjEyCjEyNjIuNQo0CgoxMgoxMgoxMgoxMjY0cwn8/HRhbXAKNQoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CjQKCgoxMjY0cwn8/HRhbXAKNQoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCjE0CjIKMtcxCjIuCjEKMgoxMgoKMi41CjQKCjEyCjHVNgn8/HMJNAoYOjIKMgoxCjEKMi4KMQoyCgoKCgoKCgoKCgoKCgoKCgoKCgoxNAoyCjLXMQoybgr8cwn8/HQJ/PxzCTQKGDoyCjIKMQoxCjIuCjEKMgoxMgoKMi41CjQKCjEyCjEKMQoyCjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoKZXZlbnRfdGl1ZXRhbXAKNQo0CgoqCjIKMTIKCgoyLjUKcwn8/HMJ/Px0YW1wCjUKNAoKMToyCjIKMQoxCjIuCjEKMgoxMgoKMi41CjQKCjEyCjEKMQoyCjIKMQoyLjUKNAoxMgoxMjYyLjUKNAoKZXZlbnRfdGl1ZXRhbXAKNQo0CgoqCjIKMTIKCgoyLjUKcwn8/HMJ/Px0YW1wCjUKNAoKMQ9pMGIKIg=="
      )!)
    func read(_ blockSize: Int, _ threads: Int) throws -> QueryLog {
      var options = LogReadOptions()
      options.blockSize = blockSize
      options.threads = threads
      options.minimumPartBytes = 32
      return try QueryLogReader.read(bytes: bytes, name: "fuzz.log", options: options)
    }
    let whole = try read(1 << 16, 1)
    #expect(whole.report.skipped.first?.line == 2 && whole.report.skipped.dropFirst().first?.line == 3)
    for (blockSize, threads) in [(256, 3), (256, 2), (64, 4), (1 << 16, 3)] {
      let parts = try read(blockSize, threads)
      #expect(parts.traces.map(\.arrivals) == whole.traces.map(\.arrivals), "\(blockSize) bytes, \(threads) threads")
      #expect(parts.report == whole.report, "\(blockSize) bytes, \(threads) threads")
    }
  }

  /// FuzzPipelineFiles (long run): `max_replicas: 6433...` (117 digits) trapped converting to Int, and a huge
  /// `provisioning_delay_s` would have trapped converting to nanoseconds. Both are refused with the line now, as
  /// is a batch size past 65,536 (whose latency table would take gigabytes).
  @Test func hugeCatalogAndProfileNumbersAreRefusedNotTrapped() throws {
    let catalog = folder.write(
      "h.yaml",
      "hardware:\n  - type: CPU\n    price_per_hour: 1\n    max_replicas: 6\(String(repeating: "4", count: 116))\n  - type: G\n    price_per_hour: 2\n    provisioning_delay_s: 1e300\n"
    )
    let (loaded, diagnostics) = HardwareCatalog.load(path: catalog)
    #expect(loaded == nil)
    #expect(
      diagnostics.contains { $0.line == 4 && $0.message.contains("max_replicas must be a whole number from 1 to") })
    #expect(
      diagnostics.contains { $0.line == 7 && $0.message.contains("provisioning_delay_s must be from 0 to 86400") })
    let profiles = folder.write(
      "p.csv", "model,hardware,batch_size,latency_ms,statistic\nm,G,1,5,p99\nm,G,100000000,9,p99\n")
    let (table, profileDiagnostics) = ProfileTable.load(path: profiles)
    #expect(table == nil)
    #expect(
      profileDiagnostics.contains {
        $0.line == 3 && $0.message.contains("batch_size must be a whole number from 1 to 65536")
      })
  }
}
