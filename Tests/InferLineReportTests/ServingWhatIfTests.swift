import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight
@testable import InferLineReport

/// The serving what-ifs at the library level: each reuses the report's own replays where it compares with them,
/// and the sections are the same whether it reuses them or runs them again (the reuse is exact); they come in the
/// report's order, one per setting; and each declares what it costs, which the sharded night's bundles add up.
@Suite struct ServingWhatIfTests {
  @Test func reusedReplaysGiveTheSameSectionsAsRunningThemAgain() throws {
    var request = NightReportTests.request()
    request.pipelines = [request.pipelines[0]]
    request.whatIfs.overflow = "Lambda"
    request.whatIfs.coldStart = "20:3"
    request.whatIfs.prewarmSeconds = 30
    request.whatIfs.balancers = true
    let night = try NightReport(request)
    let (model, options) = (night.models[0], night.options)
    #expect(options.whatIfs.whatIfs.count == 3)
    #expect(options.whatIfs.wholeLogReplays == 10 + 5 + 0)
    let (workload, _) = try CapacityAnalysis.Workload.read(logs: request.logs, model: model, options: options)
    let plans = WindowPlanning.planAll(
      model: model, trace: workload.trace, windows: workload.windows, seed: options.seed, budget: options.budget)
    let busiest = try #require(plans[workload.busiest].recommended?.configuration)
    let replays = try CapacityAnalysis.replays(
      model: model, workload: workload, configuration: busiest, policies: CapacityAnalysis.standardPolicies,
      seed: options.seed)
    func sections(_ given: [ReplayResult]) throws -> [WhatIf] {
      try ServingWhatIfs.run(
        options.whatIfs, model: model, workload: workload, plan: { plans[$0] }, replays: given, options: options)
    }
    let reused = try sections(replays)
    #expect(reused == (try sections([])))
    #expect(
      reused.map(\.title) == [
        "serverless overflow on Lambda (MArk)", "cold starts and pre-warming (Orion)",
        "today's plan under each balancer (RackSched)",
      ])
    // The warm rows are the report's replays: the tuner's and HPA's cost per day.
    let tuner = try #require(replays.first { $0.policy == "inferline" })
    let cold = reused[1].rows
    #expect(cold.map(\.name).first == "InferLine tuner, warm")
    #expect(cold[0].costPerDay == tuner.cost / tuner.hours * 24 && cold[0].missRate == tuner.missRate)
    #expect(cold.count == 5 && cold[1].name == "InferLine tuner, cold starts" && cold[4].name == "HPA, cold starts")
    // The whole report holds the same sections.
    let report = try night.run().report.pipelines[0]
    #expect(report.whatIfs == reused)
  }
}
