import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// The plan with headroom: what the report recommends when no replay from the busiest plan kept the SLO.
@Suite struct HeadroomTests {
  /// 100 q/s all along, and each minute a 2-s burst at 600 q/s: one stage at batch 1 (100 q/s a replica, 100 ms
  /// SLO) with 2 replicas queues every burst for seconds, so every minute misses.
  static let stage = OneStage()
  static let arrivals: [Int64] = {
    var a = TraceGenerator.arrivals(.poisson(rate: 100), duration: 900, start: 0, seed: 1)
    for m in 0..<15 {
      a += TraceGenerator.arrivals(
        .poisson(rate: 500), duration: 2, start: Int64(m * 60 + 30) * 1_000_000_000, seed: UInt64(10 + m))
    }
    return a.sorted()
  }()

  func setting() throws -> (PipelineModel, CapacityAnalysis.Workload, PipelineConfiguration) {
    let model = PipelineModel(Self.stage.inputs)
    let workload = try CapacityAnalysis.Workload(
      trace: ArrivalTrace(arrivals: Self.arrivals), windowLength: 300_000_000_000)
    let plan = PipelineConfiguration(stages: [StageConfiguration(hardware: "G", batchSize: 1, replicas: 2)])
    return (model, workload, plan)
  }

  func staticReplay(
    _ c: PipelineConfiguration, _ model: PipelineModel, _ w: CapacityAnalysis.Workload
  ) throws
    -> ReplayResult
  {
    try Replay.run(
      arrivals: w.trace.arrivals, model: model, configuration: c, planning: w.busiestArrivals, policy: .fixed)
  }

  /// On one stage the greedy search is exhaustive: the plan it finds keeps the SLO per query and per minute
  /// (replayed again here), and one replica fewer does not. Its replay is the static replay of that plan.
  @Test func theHeadroomFoundIsTheFewestReplicasThatKeepTheSLO() throws {
    let (model, workload, plan) = try setting()
    let allowed = 0.01
    let before = try staticReplay(plan, model, workload)
    #expect(!Recommendation.meets(before, allowed), "the plan itself should miss: \(before.missRate)")
    let found = try #require(try Headroom.search(model: model, workload: workload, configuration: plan, seed: 1))
    #expect(found.meetsSLO)
    let replicas = found.configuration.stages[0].replicas
    #expect(found.added == replicas - 2)
    let again = try staticReplay(found.configuration, model, workload)
    #expect(Recommendation.meets(again, allowed))
    #expect(again.missRate == found.replay.missRate && again.cost == found.replay.cost)
    #expect(found.replay.policy == Headroom.staticPolicy && found.replay.configuration == found.configuration)
    var fewer = found.configuration
    fewer.stages[0].replicas -= 1
    #expect(!Recommendation.meets(try staticReplay(fewer, model, workload), allowed), "\(replicas - 1) replicas")
  }

  /// A search that stops before a plan keeps the SLO says so, with the best it reached.
  @Test func aSearchCutShortSaysItDidNotMeet() throws {
    let (model, workload, plan) = try setting()
    let found = try #require(
      try Headroom.search(model: model, workload: workload, configuration: plan, seed: 1, maximumSteps: 1))
    #expect(!found.meetsSLO && found.added == 1 && found.configuration.stages[0].replicas == 3)
  }

  /// Nothing is added when the static plan kept the SLO (or, without one, when anything did); otherwise the
  /// static plan with headroom and the tuner from it, both with their configuration, and the recommendation takes
  /// the cheaper that keeps the SLO.
  @Test func headroomIsReplayedOnlyWhenTheStaticPlanMissed() throws {
    let (model, workload, plan) = try setting()
    var missing = try staticReplay(plan, model, workload)
    missing.policy = "inferline"
    var meeting = missing
    meeting.missRate = 0
    meeting.missRatePerMinute = meeting.missRatePerMinute.map { _ in 0 }
    meeting.policy = "static"
    #expect(
      try Headroom.replays(model: model, workload: workload, configuration: plan, replayed: [meeting], seed: 1)
        .isEmpty)
    meeting.policy = "CG-Peak"
    #expect(
      try Headroom.replays(
        model: model, workload: workload, configuration: plan, replayed: [missing, meeting], seed: 1
      )
      .isEmpty)
    var staticMissing = missing
    staticMissing.policy = "static"
    // A coarse-grained baseline kept the SLO, but the static plan did not: searched.
    #expect(
      try Headroom.replays(
        model: model, workload: workload, configuration: plan, replayed: [staticMissing, meeting], seed: 1
      ).count == 2)
    let added = try Headroom.replays(
      model: model, workload: workload, configuration: plan, replayed: [missing], seed: 1)
    #expect(added.map(\.policy) == [Headroom.staticPolicy, Headroom.tunerPolicy])
    #expect(added.allSatisfy { $0.configuration != nil && $0.configuration != plan })
    let rec = try #require(Recommendation.choose(replays: [missing] + added, percentile: 99))
    #expect(rec.meetsSLO && rec.policy != missing.policy)
    let chosen = try #require(added.first { $0.policy == rec.policy })
    #expect(added.filter { Recommendation.meets($0, 0.01) }.allSatisfy { $0.cost >= chosen.cost - 1e-9 })
  }
}
