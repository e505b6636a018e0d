import Foundation
import InferLine
import InferLineFuzzChecks
import InferLineNight
import Testing

/// A short, seeded fuzz round inside `make test`, without the sanitizer build: every file of each fuzz target's
/// seed corpus (`Fuzz/Corpus`), and seeded mutations of them, go through the checks the libFuzzer targets make
/// (`FuzzChecks`). `make fuzz` runs the real fuzzers for as long as it is given.
@Suite struct FuzzCorpusTests {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The corpus files of a target, sorted by name, as bytes.
  static func corpus(_ target: FuzzChecks.Target) throws -> [[UInt8]] {
    let folder = packageRoot.appendingPathComponent("Fuzz/Corpus/\(target.rawValue)")
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
      Array(try Data(contentsOf: folder.appendingPathComponent($0)))
    }
  }

  /// One of libFuzzer's simpler mutations of `input`, chosen by `random`: flip a bit, write an interesting byte,
  /// insert random bytes, erase or repeat a range, splice in part of another corpus file, or truncate.
  static func mutate(_ input: [UInt8], corpus: [[UInt8]], _ random: inout SeededGenerator) -> [UInt8] {
    var bytes = input
    let interesting: [UInt8] = [0, 0x0A, 0x0D, 0x22, 0x2C, 0x2D, 0x2E, 0x30, 0x39, 0x3A, 0x5B, 0x7B, 0x7F, 0xFF]
    for _ in 0..<Int.random(in: 1...4, using: &random) {
      let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
      switch Int.random(in: 0..<7, using: &random) {
      case 0 where !bytes.isEmpty: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &random)
      case 1 where !bytes.isEmpty: bytes[at] = interesting.randomElement(using: &random)!
      case 2:
        bytes.insert(
          contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in .random(in: 0...255, using: &random) },
          at: at)
      case 3 where !bytes.isEmpty:
        bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &random)))
      case 4 where !bytes.isEmpty:
        let range = at..<min(bytes.count, at + Int.random(in: 1...64, using: &random))
        bytes.insert(contentsOf: bytes[range], at: range.upperBound)
      case 5:
        let other = corpus.randomElement(using: &random)!
        if !other.isEmpty {
          let from = Int.random(in: 0..<other.count, using: &random)
          bytes.insert(
            contentsOf: other[from..<min(other.count, from + Int.random(in: 1...256, using: &random))], at: at)
        }
      default: bytes.removeSubrange(at..<bytes.count)
      }
    }
    return bytes
  }

  @Test(arguments: FuzzChecks.Target.allCases)
  func theSeedCorpusAndSeededMutationsOfItHoldEveryProperty(target: FuzzChecks.Target) throws {
    let checks = try FuzzChecks(
      samples: Self.packageRoot.appendingPathComponent("SampleTraces").path,
      scratch: NSTemporaryDirectory() + "inferline-fuzz-test-\(target.rawValue)-\(UUID().uuidString)")
    defer { checks.removeScratchFiles() }
    let corpus = try Self.corpus(target)
    #expect(corpus.count >= 2, "Fuzz/Corpus/\(target.rawValue) holds the target's seeds")
    var random = SeededGenerator(seed: 20_261_202)
    var findings: [String] = []
    var inputs = corpus
    for round in 0..<2_000 { inputs.append(Self.mutate(corpus[round % corpus.count], corpus: corpus, &random)) }
    for (index, input) in inputs.enumerated() {
      do { try checks.check(target, input) } catch { findings.append("input \(index): \(error)") }
    }
    #expect(findings.isEmpty, "\(findings.prefix(5).joined(separator: "\n"))")
  }
}
