import Testing

@testable import InferLine
@testable import InferLineNight

/// The streams of one seed never share a seed with each other or with the seed itself (the routes'), for seeds
/// users pass (small numbers) and random ones.
@Suite struct RandomStreamTests {
  @Test func everyStreamOfASeedIsItsOwn() {
    var rng = SeededGenerator(seed: 99)
    for base in Array(0...1_000) + (0..<1_000).map({ _ in rng.next() }) {
      let seeds = [base] + RandomStream.allCases.map { $0.seed(base) }
      #expect(Set(seeds).count == seeds.count, "seed \(base): \(seeds)")
    }
  }
}
