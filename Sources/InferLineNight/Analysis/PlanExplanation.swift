import Dispatch
import Foundation
public import InferLine

/// Why a window's plan is what it is: how busy each stage is and how much of the latency objective it takes, the
/// stage that binds, and what the next cheaper step at each stage fails on.
public struct PlanExplanation: Sendable, Equatable, Codable {
  public struct Stage: Sendable, Equatable, Codable {
    public var name: String
    /// Busy fraction of the stage's replicas over the window, from the simulation.
    public var utilisation: Double
    /// P99 of the queueing delay at the stage, milliseconds.
    public var p99WaitMs: Double
    /// One batch's latency at the plan's batch size, milliseconds.
    public var batchLatencyMs: Double
    /// `(p99WaitMs + batchLatencyMs) / SLO`: the share of the latency objective the stage takes at its tail.
    public var sloShare: Double
  }

  /// One step cheaper at one stage (a replica fewer, or the next cheaper hardware at one replica), simulated.
  public struct CheaperStep: Sendable, Equatable, Codable {
    public var stage: String
    /// What changes, in words: `detect: T4 b2 x2 -> x1`.
    public var change: String
    public var costPerHour: Double
    /// The SLO percentile of end-to-end latency with the change, milliseconds (infinite when some query is never
    /// served).
    public var percentileLatencyMs: Double
    public var meetsSLO: Bool
  }

  public var stages: [Stage]
  /// The stage that takes the largest share of the latency objective.
  public var bindingStage: String
  /// One per stage that has a cheaper step; empty for a plan already at the cheapest hardware, one replica each.
  public var cheaper: [CheaperStep]

  /// Explains `configuration` on a window's arrivals (nanoseconds from the window start): one simulation of the
  /// plan with per-stage waits, and one per stage of its cheaper step, in parallel.
  /// - Complexity: (stages + 1) simulations of the window.
  public static func explain(
    model: PipelineModel, configuration: PipelineConfiguration, arrivals: [Int64], seed: UInt64
  ) throws -> PlanExplanation {
    let input = try model.simulationInput(arrivals: arrivals, configuration: configuration, routes: .drawn(seed: seed))
    let result = Estimator.simulate(input, options: .init(collectWaitPercentiles: true))
    let slo = Milliseconds.of(model.slo)
    let stages = configuration.stages.enumerated().map { m, s -> Stage in
      let batch = Milliseconds.of(model.stages[m].option(hardware: s.hardware)?.latency(batch: s.batchSize) ?? 0)
      let wait = Milliseconds.of(result.stages[m].p99WaitNanoseconds)
      return Stage(
        name: model.stages[m].name, utilisation: result.stages[m].utilisation, p99WaitMs: wait,
        batchLatencyMs: batch, sloShare: slo > 0 ? (wait + batch) / slo : 0)
    }
    let binding = stages.max { $0.sloShare < $1.sloShare }?.name ?? ""
    let steps = configuration.stages.indices.compactMap { m in cheaperStep(model: model, configuration, stage: m) }
    let oracle = FeasibilityOracle(model: model, arrivals: arrivals, seed: seed)
    let slots = ResultSlots<CheaperStep>(count: steps.count)
    DispatchQueue.concurrentPerform(iterations: steps.count) { k in
      let (m, cheaper) = steps[k]
      let latency = (try? oracle.simulateFully(cheaper))?.percentileLatency ?? .max
      let before = configuration.stages[m], after = cheaper.stages[m]
      let change =
        before.hardware == after.hardware
        ? "\(model.stages[m].name): \(before) -> x\(after.replicas)" : "\(model.stages[m].name): \(before) -> \(after)"
      slots[k] = CheaperStep(
        stage: model.stages[m].name, change: change, costPerHour: model.cost(cheaper),
        percentileLatencyMs: Milliseconds.of(latency), meetsSLO: latency <= model.slo)
    }
    return PlanExplanation(stages: stages, bindingStage: binding, cheaper: slots.values.compactMap { $0 })
  }

  /// Stage m one step cheaper: a replica fewer; at one replica, the dearest hardware cheaper than its own that
  /// profiles the batch size (or the largest size it profiles below it). Nil when there is none.
  static func cheaperStep(
    model: PipelineModel, _ configuration: PipelineConfiguration, stage m: Int
  ) -> (Int, PipelineConfiguration)? {
    var c = configuration
    let s = c.stages[m]
    if s.replicas > 1 {
      c.stages[m].replicas -= 1
      return (m, c)
    }
    guard let own = model.stages[m].option(hardware: s.hardware) else { return nil }
    let cheaper = model.stages[m].options.filter { $0.pricePerHour < own.pricePerHour - 1e-12 }
      .sorted { $0.pricePerHour > $1.pricePerHour }
    for option in cheaper {
      guard let batch = option.profiledBatchSizes.last(where: { $0 <= s.batchSize }) else { continue }
      c.stages[m] = StageConfiguration(hardware: option.hardware, batchSize: batch, replicas: 1)
      return (m, c)
    }
    return nil
  }
}
