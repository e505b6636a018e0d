import Testing

@testable import InferLine

/// `TraceGenerator.pipelineOfEachQuery`: each pipeline's share of the queries within binomial noise, the same draw
/// for the same seed, and another for another seed.
@Suite struct PipelineMixTests {
  @Test func eachPipelineGetsItsShare() {
    let shares = [0.6, 0.3, 0.1], n = 100_000
    let owners = TraceGenerator.pipelineOfEachQuery(count: n, shares: shares.map { $0 * 5 }, seed: 7)
    #expect(owners.count == n && owners.allSatisfy { (0..<3).contains($0) })
    for (i, share) in shares.enumerated() {
      let got = Double(owners.filter { $0 == i }.count) / Double(n)
      // Four standard deviations of a binomial proportion.
      #expect(abs(got - share) < 4 * (share * (1 - share) / Double(n)).squareRoot(), "pipeline \(i): \(got)")
    }
    #expect(TraceGenerator.pipelineOfEachQuery(count: n, shares: shares, seed: 7) == owners)
    #expect(TraceGenerator.pipelineOfEachQuery(count: n, shares: shares, seed: 8) != owners)
  }
}
