import Foundation
import Testing

@testable import InferLine

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
}
