import Foundation
import Testing

@testable import InferLine

/// One stage, L(n) = 8 + 2n ms (b up to 4), 5 s provisioning delay, $1/h.
struct OneStage {
  let folder = TemporaryFolder()
  let inputs: PlanningInputs

  init(sloMs: Double = 100) {
    let pipeline = "name: one\nslo: {latency_ms: \(sloMs)}\nstages:\n  - {name: m, model: m}\n"
    let catalog =
      "hardware:\n  - {type: G, price_per_hour: 1, provisioning_delay_s: 5, max_replicas: 200}\n  - {type: C, price_per_hour: 0.25}\n"
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for b in [1, 2, 4] { profiles += "m,G,\(b),\(8 + 2 * b),p99\n" }
    profiles += "m,C,1,40,p99\n"
    inputs = try! PlanningInputs.load(
      pipeline: folder.write("p.yaml", pipeline), hardware: folder.write("h.yaml", catalog),
      profiles: folder.write("f.csv", profiles))
  }

  /// Stage model for batch 1 on G: 100 q/s per replica.
  var model: StageModel {
    StageModel(serviceTime: 10_000_000, batchSize: 1, scale: 1, provisioningDelay: 5_000_000_000, maxReplicas: 200)
  }
}

@Suite struct TunerTests {
  let second: Int64 = 1_000_000_000

  /// Evenly spaced arrivals: `count` at `perSecond` per second, from `startSecond`.
  func even(_ count: Int, _ perSecond: Int64, from startSecond: Int64 = 0) -> [Int64] {
    let gap: Int64 = 1_000_000_000 / perSecond
    let origin: Int64 = startSecond * 1_000_000_000
    return (0..<count).map { origin + Int64($0) * gap }
  }

  /// Poisson at `rate` for `from..<to` seconds.
  func poisson(_ rate: Double, _ from: Double, _ to: Double, seed: UInt64) -> [Int64] {
    TraceGenerator.arrivals(.poisson(rate: rate), duration: to - from, start: Int64(from * 1e9), seed: seed)
  }

  @Test func aStepUpScalesAtTheFirstTickThatSeesItAndServesOneDelayLater() throws {
    let planning = poisson(100, 0, 600, seed: 1)
    // 100 q/s for 120 s, then 400 q/s.
    let day = poisson(100, 0, 120, seed: 2) + poisson(400, 120, 240, seed: 3)
    let m = OneStage().model
    let timeline = Autoscaler.decide(
      policy: .inferline(InferLineTuner()), arrivals: day, planning: planning, models: [m], initial: [2], unit: false)[
        0]
    let firstUp = try #require(timeline.first { $0.replicas > 2 && $0.time > 120 * second }, "\(timeline)")
    // Ticks fall on whole seconds after the first arrival: the first tick after 120 s whose history holds a full
    // smallest window of the new rate.
    let firstTickAfterStep = (120 * second - day[0]) / second * second + day[0] + second
    #expect(firstUp.time >= firstTickAfterStep && firstUp.time <= firstTickAfterStep + second)
    // Nothing before the step needed more than the plan.
    #expect(!timeline.contains { $0.time < 120 * second && $0.replicas > 2 })
    // The simulator sees the new replicas exactly one provisioning delay after the decision.
    let changes = Autoscaler.changes([timeline], models: [m])
    let first = changes.first { $0.replicas > 2 }!
    #expect(first.time == firstUp.time + 5 * second)
  }

  @Test func aStepDownWaitsForTheHoldPeriod() throws {
    let planning = poisson(300, 0, 600, seed: 4)
    let day = poisson(300, 0, 120, seed: 5) + poisson(50, 120, 300, seed: 6)
    let timeline = Autoscaler.decide(
      policy: .inferline(InferLineTuner()), arrivals: day, planning: planning, models: [OneStage().model], initial: [6],
      unit: false)[0]
    let firstDown = try #require(timeline.first { $0.replicas < 6 }, "\(timeline)")
    // The last minute of history holds the old rate until 180 s; the hold adds 30 s more.
    #expect(firstDown.time >= 150 * second)
    #expect(!timeline.contains { $0.time < 150 * second && $0.replicas < 6 })
  }

  @Test(arguments: [1, 2, 3] as [UInt64])
  func steadyTrafficAtThePlannedRateDoesNotFlap(seed: UInt64) {
    let planning = poisson(200, 0, 3600, seed: seed)
    let day = poisson(200, 0, 900, seed: seed + 100)
    let timeline = Autoscaler.decide(
      policy: .inferline(InferLineTuner()), arrivals: day, planning: planning, models: [OneStage().model], initial: [4],
      unit: false)[0]
    #expect(timeline.count <= 3, "\(timeline.map(\.replicas))")  // at most one excursion up and back in 15 minutes
  }

  // MARK: Baseline rules on hand-worked examples

  @Test func hpaFollowsItsRatioRule() {
    // 100 q/s per replica, target 70%: at 210 q/s on 2 replicas utilisation is 1.05, ratio 1.5 -> ceil(2 x 1.5) = 3.
    let day: [Int64] = even(3000, 210)  // 210 q/s for ~14 s
    var timeline = Autoscaler.decide(
      policy: .hpa(HorizontalPodAutoscaler()), arrivals: day, planning: [], models: [OneStage().model], initial: [2],
      unit: false)[0]
    #expect(timeline.map(\.replicas) == [2, 3])
    // Within the 10% tolerance nothing changes: 150 q/s on 2 replicas is 75% (ratio 1.07).
    let calm: [Int64] = even(3000, 150)
    timeline =
      Autoscaler.decide(
        policy: .hpa(HorizontalPodAutoscaler()), arrivals: calm, planning: [], models: [OneStage().model], initial: [2],
        unit: false)[0]
    #expect(timeline.map(\.replicas) == [2])
    // A burst may at most double (or add 4) per sync: 2 replicas at 2,000 q/s go to 6, then 12 ...
    let burst: [Int64] = even(120_000, 2000)
    timeline =
      Autoscaler.decide(
        policy: .hpa(HorizontalPodAutoscaler()), arrivals: burst, planning: [], models: [OneStage().model],
        initial: [2], unit: false)[0]
    #expect(Array(timeline.map(\.replicas).prefix(3)) == [2, 6, 12])
  }

  @Test func hpaScaleDownWaitsForTheStabilisationWindow() throws {
    // 300 q/s for 60 s on 5 replicas (ratio ~0.86, within tolerance? 300/500 = 0.6 / 0.7 = 0.857: down to 5 x 0.857 = 5)
    // then 50 q/s: the recommendation drops to 1, applied only once 300 s of recommendations are all lower.
    let day: [Int64] = even(18_000, 300) + even(20_000, 50, from: 60)
    let timeline = Autoscaler.decide(
      policy: .hpa(HorizontalPodAutoscaler()), arrivals: day, planning: [], models: [OneStage().model], initial: [5],
      unit: false)[0]
    let down = try #require(timeline.first { $0.replicas < 5 }, "\(timeline.map(\.replicas))")
    #expect(down.time >= 60 * second + 300 * second - 15 * second)
  }

  @Test func rayServeWaitsForItsDelays() {
    // Ongoing requests = rate x 10 ms; target 2 per replica: 1,000 q/s -> 10 ongoing -> 5 replicas, after 30 s.
    let day: [Int64] = even(60_000, 1000)
    let timeline = Autoscaler.decide(
      policy: .ray(RayServeAutoscaler()), arrivals: day, planning: [], models: [OneStage().model], initial: [1],
      unit: false)[0]
    #expect(timeline.map(\.replicas) == [1, 5])
    // The 30 s look-back average passes 2 ongoing per replica (200 q/s) after 6 s; the 30 s upscale delay
    // then puts the decision at about 36 s, when the average has reached the full rate.
    let up = timeline[1].time - day[0]
    #expect(up >= 36 * second && up <= 38 * second)
  }

  @Test func knativePanicsAtTwiceTheCapacity() throws {
    // Target 1 x 0.7 concurrency per replica (batch 1). 50 q/s x 10 ms = 0.5 in flight -> 1 replica; then 500 q/s:
    // the 6 s panic window asks for ceil(5 / 0.7) = 8 >= 2 x 1: panic, scale up at once, no scale-down for 60 s.
    let day: [Int64] = even(3000, 50) + even(30_000, 500, from: 60)
    let timeline = Autoscaler.decide(
      policy: .kpa(KnativeAutoscaler()), arrivals: day, planning: [], models: [OneStage().model], initial: [1],
      unit: false)[0]
    let up = try #require(timeline.first { $0.replicas > 1 })
    #expect(up.time > 60 * second && up.time <= 64 * second)
    let counts: [Int] = timeline.map { $0.replicas }
    #expect(counts.max() == 8)
  }

  // MARK: Cost and the diurnal claim

  @Test func costIsReplicaSecondsTimesPrice() throws {
    let stage = OneStage()
    let day = poisson(150, 0, 600, seed: 9) + poisson(350, 600, 900, seed: 10)
    let config = PipelineConfiguration(stages: [StageConfiguration(hardware: "G", batchSize: 1, replicas: 2)])
    let result = try Replay.run(
      arrivals: day, model: PipelineModel(stage.inputs), configuration: config,
      planning: poisson(150, 0, 600, seed: 11),
      policy: .inferline(InferLineTuner()))
    // Integrate the timeline independently, point by point.
    let points = result.timelines[0].points
    var seconds = 0.0
    for (i, p) in points.enumerated() {
      let end = i + 1 < points.count ? points[i + 1].time : day.last!
      seconds += Double(p.replicas) * Double(end - max(p.time, day.first!)) / 1e9
    }
    #expect(abs(result.replicaSecondsByHardware["G"]! - seconds) < 1e-6)
    #expect(abs(result.cost - seconds / 3600 * 1.0) < 1e-9)
    #expect(result.decisions > 0)
    let fixed = try Replay.run(
      arrivals: day, model: PipelineModel(stage.inputs), configuration: config, planning: [], policy: .fixed)
    #expect(abs(fixed.replicaSecondsByHardware["G"]! - 2 * Double(day.last! - day.first!) / 1e9) < 1e-6)
  }

  @Test func onADiurnalDayTheTunerBeatsStaticPeakOnCostAndStaticMeanOnMisses() throws {
    let stage = OneStage(sloMs: 60)
    // A compressed day: 24 "hours" of 60 s, rate following the diurnal curve around 300 q/s (peak/trough 4).
    var day: [Int64] = []
    for h in 0..<24 {
      let rate = 300 * (1 - 0.6 * cos(2 * Double.pi * (Double(h) - 4) / 24))
      day += poisson(rate, Double(h) * 60, Double(h + 1) * 60, seed: UInt64(100 + h))
    }
    let windows = ArrivalTrace(arrivals: day).windows(length: 60 * second)
    let busiest = windows.max { $0.count < $1.count }!
    let trace = ArrivalTrace(arrivals: day)
    let meanRate = Double(day.count) / (Double(day.last! - day.first!) / 1e9)
    // Static peak and static mean: the greedy plans of the busiest minute and of an average-rate minute.
    func plan(_ arrivals: [Int64]) -> PipelineConfiguration {
      try! Planner(oracle: FeasibilityOracle(model: PipelineModel(stage.inputs), arrivals: arrivals, seed: 1)).greedy()
        .get().configuration
    }
    let peakConfig = plan(busiest.relativeArrivals(in: trace))
    let meanWindow = windows.min { abs(Double($0.count) / 60 - meanRate) < abs(Double($1.count) / 60 - meanRate) }!
    let meanConfig = plan(meanWindow.relativeArrivals(in: trace))
    let staticPeak = try Replay.run(
      arrivals: day, model: PipelineModel(stage.inputs), configuration: peakConfig, planning: [], policy: .fixed)
    let staticMean = try Replay.run(
      arrivals: day, model: PipelineModel(stage.inputs), configuration: meanConfig, planning: [], policy: .fixed)
    let tuned = try Replay.run(
      arrivals: day, model: PipelineModel(stage.inputs), configuration: meanConfig,
      planning: meanWindow.relativeArrivals(in: trace),
      policy: .inferline(InferLineTuner()))
    #expect(tuned.cost < staticPeak.cost, "tuner $\(tuned.cost), static peak $\(staticPeak.cost)")
    #expect(tuned.missRate < staticMean.missRate, "tuner \(tuned.missRate), static mean \(staticMean.missRate)")
  }
}
