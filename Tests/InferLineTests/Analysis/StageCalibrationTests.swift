import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// Per-stage calibration against hidden truths made by `TracedDeployment` (an independent simulator that writes
/// OTLP JSON), on the video-monitoring pipeline (detect -> vehicle 0.6, detect -> person 0.3, 1 ms hops) at rates
/// that rise and fall over eight 1-minute windows, from 10 to 55 queries a second (busy enough that every stage
/// serves batches of several sizes: with batches of one size only, a slowdown and an overhead look the same).
@Suite struct StageCalibrationTests {
  static let window: Int64 = 60_000_000_000

  static func arrivals() -> [Int64] {
    var all: [Int64] = []
    for (k, rate) in [10.0, 25, 40, 55, 55, 40, 25, 10].enumerated() {
      all += TraceGenerator.arrivals(
        .poisson(rate: rate), duration: 60, start: Int64(k) * window, seed: UInt64(k + 1))
    }
    return all
  }

  static func deployment() throws -> TracedDeployment {
    let inputs = try CalibrationTests.inputs()
    let configuration = try PipelineConfiguration.load(
      path: CalibrationTests.root + "/pipelines/video-monitoring.config.yaml", pipeline: inputs.pipeline)
    return TracedDeployment(inputs: inputs, configuration: configuration)
  }

  /// Writes the truth's spans, reads them back as a user's file would be, and fits.
  static func calibrate(
    _ truth: TracedDeployment, instanceIDs: Bool = false, serviceSpans: Bool = false
  ) throws -> StageCalibration {
    let folder = TemporaryFolder()
    let text = truth.otlpJSON(arrivals: arrivals(), instanceIDs: instanceIDs, serviceSpans: serviceSpans)
    let path = folder.write("spans.otlp.json", text)
    var pipeline = truth.inputs.pipeline
    if serviceSpans {
      for s in pipeline.stages.indices { pipeline.stages[s].serviceSpan = "\(pipeline.stages[s].name).compute" }
    }
    let spans = try SpanTrace.read(paths: [path], pipeline: pipeline)
    return try StageCalibration.fit(
      inputs: truth.inputs, configuration: truth.configuration, spans: spans, windowLength: window)
  }

  static func correction(_ c: StageCalibration, _ model: String) -> StageCalibration.Correction {
    c.corrections.first { $0.model == model }!
  }

  /// Each model's batch times `multiplier x L(n) + overhead` within 2% of the truth's at every profiled size up to
  /// the stage's batch size, the multiplier within 3% and the overhead within 1 ms (the loss is rugged: batch sizes
  /// jump as service times change, and a slightly larger multiplier with a smaller overhead gives nearly the same
  /// times); the corrected pipeline's P99 within 5% in every held-out window.
  static func expectRecovered(
    _ c: StageCalibration, _ truth: [(model: String, slowdown: Double, overheadMs: Double)],
    _ deployment: TracedDeployment
  ) {
    for t in truth {
      let fit = correction(c, t.model)
      let multiplierError = abs(fit.multiplier / t.slowdown - 1)
      let overheadError = abs(fit.overheadMs - t.overheadMs)
      #expect(multiplierError < 0.03, "\(t.model): x\(fit.multiplier), truth x\(t.slowdown)")
      #expect(overheadError < 1, "\(t.model): +\(fit.overheadMs) ms, truth +\(t.overheadMs) ms")
      let stage = deployment.inputs.pipeline.stages.firstIndex { $0.model == t.model }!
      let configured = deployment.configuration.stages[stage]
      let profile = deployment.inputs.profiles.profile(model: t.model, hardware: configured.hardware)!
      for (n, l) in zip(profile.batchSizes, profile.latencies) where n <= configured.batchSize {
        let ms = Milliseconds.of(l)
        let fitted = fit.multiplier * ms + fit.overheadMs, true_ = t.slowdown * ms + t.overheadMs
        let batchTimeError = abs(fitted / true_ - 1)
        #expect(batchTimeError < 0.02, "\(t.model) batch of \(n): \(fitted) ms fitted, \(true_) ms true")
      }
    }
    #expect(c.explained, "\(c.note ?? "")")
    #expect(c.worstHeldOutP99Error < 0.05, "worst held-out window's P99 off by \(c.worstHeldOutP99Error)")
    #expect(c.endToEnd.filter(\.heldOut).count == 4)
  }

  /// One stage twice as slow, and routes other than the file's: the slow stage is found, the others are not
  /// touched, and the routes measured from the spans are shown beside the file's and used end to end.
  @Test func oneSlowerStageIsFoundAndRoutesAreMeasured() throws {
    var truth = try Self.deployment()
    truth.stages[1].slowdown = 2
    truth.edgeProbabilities = [0.85, 0.1]
    let c = try Self.calibrate(truth)
    Self.expectRecovered(c, [("ssd320", 1, 0), ("resnet50", 2, 0), ("efficientnet-b0", 1, 0)], truth)
    // The profiles as they are miss the slow stage's P99 by far more.
    let p99 = Calibration.percents.firstIndex(of: 99)!
    let vehicle = c.stages.first { $0.stage == "vehicle" }!
    #expect(vehicle.heldOut.before[p99] > 0.3, "\(vehicle.heldOut)")
    #expect(vehicle.worstWindowError < 0.05)
    #expect(abs(c.routes[0].measuredProbability - 0.85) < 0.015, "\(c.routes)")
    #expect(abs(c.routes[1].measuredProbability - 0.1) < 0.015, "\(c.routes)")
    #expect(c.routes.map(\.fileProbability) == [0.6, 0.3])
  }

  @Test func twoStagesWithDifferentSlowdownsAndOverheads() throws {
    var truth = try Self.deployment()
    truth.stages[0] = .init(slowdown: 1.4, overheadMs: 2)
    truth.stages[2] = .init(slowdown: 0.8, overheadMs: 1.5)
    let c = try Self.calibrate(truth)
    Self.expectRecovered(c, [("ssd320", 1.4, 2), ("resnet50", 1, 0), ("efficientnet-b0", 0.8, 1.5)], truth)
    let p99 = Calibration.percents.firstIndex(of: 99)!
    #expect(c.endToEndHeldOut.before[p99] > 0.2, "\(c.endToEndHeldOut)")
  }

  /// One hop 6 ms instead of 1: measured from the gaps between spans, said, and simulated at the measured delay
  /// (the other hop keeps the file's): the corrected pipeline's P99 is within 5% in every held-out window, and
  /// planning with the fit uses it. A stage with too few traced queries is left unfitted, and said to be.
  @Test func anOverheadOnOneHopIsMeasuredAndRecovered() throws {
    var truth = try Self.deployment()
    truth.hopDelayMs = [6, nil]
    // Almost no query goes on to the person classifier: too few in every window to fit it, which is said.
    truth.edgeProbabilities = [nil, 0.003]
    let c = try Self.calibrate(truth)
    #expect(c.unfittedStages == ["person"])
    #expect(c.lines.contains { $0.contains("not fitted") && $0.hasSuffix("person") })
    #expect(abs(c.hops[0].medianMs - 6) < 0.001 && abs(c.hops[1].medianMs - 1) < 0.001, "\(c.hops)")
    let delays = try #require(c.hopDelaysMs)
    #expect(delays.count == 2 && abs((delays[0] ?? 0) - 6) < 0.001 && delays[1] == nil, "\(delays)")
    #expect(c.explained, "\(c.note ?? "")")
    #expect(c.worstHeldOutP99Error < 0.05, "worst held-out window's P99 off by \(c.worstHeldOutP99Error)")
    #expect(c.lines.contains { $0.contains("the hop detect -> vehicle is simulated at the spans' 6.00 ms") })
    let planned = c.apply(to: truth.inputs).pipeline.edges.map(\.delayMs)
    #expect(planned.count == 2 && abs((planned[0] ?? 0) - 6) < 0.001 && planned[1] == nil)
  }

  /// Work after the last stage that the pipeline file does not have: every stage is explained, the end-to-end
  /// latency is not, and the spans that mark no stage are named.
  @Test func aStageMissingFromThePipelineIsFlagged() throws {
    var truth = try Self.deployment()
    truth.missingStageMs = 40
    let c = try Self.calibrate(truth)
    let everyStageExplained = c.stages.allSatisfy(\.explained)
    #expect(everyStageExplained, "\(c.stages.compactMap(\.note))")
    #expect(!c.explained)
    #expect((c.note ?? "").range(of: "'postprocess'") != nil, "\(c.note ?? "")")
    #expect(c.reading.unmappedNames["postprocess"] == c.reading.queries)
  }

  /// The vehicle stage deployed as two replicas without batching, not one replica at batch 4 as the calibration is
  /// told: no slowdown and overhead make one configuration queue like the other at every load.
  @Test func anotherConfigurationDeployedIsFlagged() throws {
    var truth = try Self.deployment()
    truth.stages[1].configuration = StageConfiguration(hardware: "T4", batchSize: 1, replicas: 2)
    truth.stages[1].slowdown = 3
    let c = try Self.calibrate(truth)
    #expect(!c.explained)
    let vehicle = c.stages.first { $0.stage == "vehicle" }!
    #expect(!vehicle.explained, "\(vehicle)")
    #expect((c.note ?? "").range(of: "stage 'vehicle'") != nil, "\(c.note ?? "")")
  }

  /// The deployment changed during the day: the vehicle stage (told one replica) ran on one, then from the third
  /// window on two, and twice as slow. With each replica's spans naming it (`service.instance.id`, as an SDK's
  /// resource does) the replicas per window are read from the spans, the simulations follow them, and the slowdown
  /// is recovered as with a fixed deployment; without the ids the same spans are not explained.
  @Test func replicasPerWindowAreReadFromTheSpansResource() throws {
    var truth = try Self.deployment()
    truth.stages[1].slowdown = 2
    truth.stages[1].replicasFrom = [(2 * Self.window, 2)]
    let c = try Self.calibrate(truth, instanceIDs: true)
    let vehicle = c.stages.first { $0.stage == "vehicle" }!
    #expect(vehicle.replicasSeen == [1, 1, 2, 2, 2, 2, 2, 2], "\(vehicle.replicasSeen ?? [])")
    #expect(c.stages.first { $0.stage == "detect" }!.replicasSeen == nil, "detect ran as configured")
    Self.expectRecovered(c, [("ssd320", 1, 0), ("resnet50", 2, 0), ("efficientnet-b0", 1, 0)], truth)
    #expect(c.lines.contains { $0.contains("vehicle ran on 1, 1, 2, 2, 2, 2, 2, 2 replicas by window") })
    let blind = try Self.calibrate(truth)
    let blindVehicle = blind.stages.first { $0.stage == "vehicle" }!
    #expect(blindVehicle.replicasSeen == nil)
    #expect(!blind.explained, "one replica all day cannot queue like the deployment that scaled")
  }

  /// With a child span per stage span that covers the batch's service (`service_span`), each stage's queueing is
  /// observed apart from its service: the queueing the corrected simulation has is within 10% of the spans' (mean)
  /// and 15% (P99) at every fitted stage, and the service spans are not counted as spans that mark nothing.
  @Test func queueingIsObservedApartFromService() throws {
    var truth = try Self.deployment()
    truth.stages[1].slowdown = 2
    let c = try Self.calibrate(truth, serviceSpans: true)
    Self.expectRecovered(c, [("ssd320", 1, 0), ("resnet50", 2, 0), ("efficientnet-b0", 1, 0)], truth)
    for stage in c.stages {
      let w = try #require(stage.queueing, "\(stage.stage) has no queueing check")
      #expect(abs(w.simulatedMeanMs / w.observedMeanMs - 1) < 0.10, "\(stage.stage): \(w)")
      #expect(abs(w.simulatedP99Ms / w.observedP99Ms - 1) < 0.15, "\(stage.stage): \(w)")
      #expect(w.queries == stage.visits)
    }
    #expect(c.reading.unmappedNames.keys.allSatisfy { !$0.hasSuffix(".compute") }, "\(c.reading.unmappedNames)")
    #expect(c.lines.contains { $0.contains("vehicle queued mean") })
  }
}
