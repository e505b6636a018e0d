import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight
@testable import InferLineReport

/// The night's stages after planning as values (`AfterPlanningStage`): each one's work, run alone into a part of
/// its own, merges with the others' to the one-machine report; a night whose parts lack one stage's work is
/// refused naming what is missing; and the shards' bundles cost what the stages say they cost.
@Suite struct NightStagesTests {
  /// One pipeline of `NightReportTests`' night, with the balancers what-if (a stage of the second wave).
  static func night() throws -> (NightReport, PipelineNight) {
    var request = NightReportTests.request()
    request.pipelines = [request.pipelines[0]]
    request.whatIfs.balancers = true
    let report = try NightReport(request)
    let (_, workloads, _) = try CapacityAnalysis.readNight(
      logs: request.logs, models: report.models, options: report.options)
    return (report, PipelineNight(model: report.models[0], workload: workloads[0], options: report.options))
  }

  @Test func eachStageRunAloneMergesToTheOneMachineReport() throws {
    let (report, night) = try Self.night()
    let stages = NightShards.stagesAfterPlanning(night.options)
    #expect(stages.map(\.phase) == ["frontier and growth", "replay", "what-ifs"])
    let whole = try CapacityAnalysis.run(
      workload: night.workload, ingestion: [], model: night.model, options: night.options)
    // The windows alone (no work after planning), then each stage in a part of its own, from the same plans.
    let windows = try NightShards.run(
      models: [night.model], workloads: [night.workload], options: night.options,
      units: night.workload.windows.indices.map { .window(pipeline: 0, index: $0) })[0]
    var plans = windows.plans
    let settled = NightShards.warmStart(
      night.workload.windows.indices.map { plans[$0]! }, settled: [:], model: night.model, workload: night.workload,
      options: night.options)
    for (i, plan) in settled.enumerated() { plans[i] = plan }
    let busiest = plans[night.workload.busiest]!
    #expect(busiest.recommended != nil)
    var parts = [windows]
    var earlier = NightShards.PipelinePart(pipeline: night.model.name)
    for stage in stages {
      var part = try stage.run(night, AfterPlanningContext(busiest: busiest, plans: plans, earlier: earlier))
      part.basedOn = busiest.recommended?.configuration
      earlier.take(part)
      parts.append(part)
    }
    let merged = try NightShards.merge(
      models: [night.model], workloads: [night.workload], ingestion: [], options: night.options,
      pipelines: parts.map { [$0] })[0]
    let encoder = ReportWriter.encoder()
    #expect(try comparableReport(encoder.encode(merged)) == comparableReport(encoder.encode(whole)))
    #expect(merged.whatIfs?.isEmpty == false && merged.replays.count > CapacityAnalysis.standardPolicies.count)
    _ = report
  }

  @Test func partsWithoutAStagesWorkAreRefusedNamingIt() throws {
    let (_, night) = try Self.night()
    let whole = try NightShards.run(
      models: [night.model], workloads: [night.workload], options: night.options,
      units: NightShards.units(of: [night.workload]))[0]
    let removals: [(String, (inout NightShards.PipelinePart) -> Void)] = [
      ("the frontier and growth", { $0.frontier = nil }),
      ("the replay of", { $0.replays[2] = nil }),
      ("the baselines' replays", { $0.baselineReplays = nil }),
      ("the what-ifs", { $0.whatIfs = nil }),
      ("window 1", { $0.plans[1] = nil }),
    ]
    for (missing, remove) in removals {
      var part = whole
      remove(&part)
      do {
        _ = try NightShards.merge(
          models: [night.model], workloads: [night.workload], ingestion: [], options: night.options,
          pipelines: [[part]])
        Issue.record("a night without \(missing) was merged")
      } catch let error as InputError {
        #expect(error.message.contains("no part holds \(missing)"), "\(error.message)")
      }
    }
  }

  @Test func theBundlesCostWhatTheStagesSay() throws {
    let (_, night) = try Self.night()
    let bundles = NightShards.bundles(workloads: [night.workload], models: [night.model], options: night.options)
    let windows = night.workload.windows.indices.reduce(0.0) { $0 + night.searchVisits(window: $1) }
    let stages = NightShards.stagesAfterPlanning(night.options).reduce(0.0) { $0 + $1.cost(night) }
    let total = bundles.reduce(0.0) { $0 + $1.cost }
    #expect(abs(total - (windows + stages)) <= 1e-9 * total)
    // The stage after planning goes with the busiest window, in one bundle.
    let after = bundles.filter { $0.units.contains(.afterPlanning(pipeline: 0)) }
    #expect(after.count == 1 && after[0].units.contains(.window(pipeline: 0, index: night.workload.busiest)))
    // A what-if that replays the whole log costs more than one that does not.
    var cold = night
    cold.options.whatIfs = ServingWhatIfs.Request([ColdStarts(ColdStart(batches: 20, slowdown: 3))])
    #expect(WhatIfsStage().cost(cold) > WhatIfsStage().cost(night))
  }
}
