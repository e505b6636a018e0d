import Testing

@testable import InferLine
@testable import InferLineNight

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

/// Columns the reader does not use are named, not silently passed over.
@Suite struct IgnoredColumnTests {
  @Test func columnsNothingReadsAreListedInHeaderOrder() throws {
    let csv = "TIMESTAMP,ContextTokens,pipeline,GeneratedTokens,latency_ms\n1,10,a,3,5.0\n2,20,a,4,6.0\n"
    let log = try QueryLogReader.read(bytes: Array(csv.utf8), name: "azure.csv")
    #expect(log.report.ignoredColumns == ["ContextTokens", "GeneratedTokens"])
    #expect(log.report.ignoredColumnCount == 2)
    #expect(
      log.report.columnsText
        == "read: TIMESTAMP (arrival), pipeline, latency_ms (observed latency); not read: ContextTokens, GeneratedTokens"
    )
    let bare = try QueryLogReader.read(bytes: Array("timestamp\n1\n2\n".utf8), name: "bare.csv")
    #expect(bare.report.ignoredColumnCount == 0 && bare.report.columnsText == nil)
    // A header of many columns is listed in part, with the count of the rest.
    let wide = "ts," + (0..<30).map { "c\($0)" }.joined(separator: ",") + "\n"
    let row = "1," + Array(repeating: "0", count: 30).joined(separator: ",") + "\n"
    let many = try QueryLogReader.read(bytes: Array((wide + row).utf8), name: "wide.csv")
    #expect(many.report.ignoredColumns?.count == IngestionReport.ignoredColumnsListed)
    #expect(many.report.ignoredColumnCount == 30 && many.report.columnsText?.hasSuffix("and 10 more") == true)
  }
}
