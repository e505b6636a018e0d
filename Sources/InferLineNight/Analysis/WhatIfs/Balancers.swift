import Dispatch
import Foundation
import InferLine

/// RackSched's question: today's plan on the busiest window under each balancer in front of a stage's replicas.
public struct Balancers: ServingWhatIf {
  public init() {}

  /// One simulation of the busiest window per balancer: no replay of the whole log.
  public var wholeLogReplays: Double { 0 }

  public func run(_ context: ServingWhatIfs.Context) throws -> WhatIf {
    let (model, workload, recommended, seed) = (
      context.model, context.workload, context.recommended, context.options.seed
    )

    let policies: [DispatchPolicy] = [
      .centralQueue, .roundRobin, .shortestQueue, .powerOfChoices(choices: 2, seed: seed), .random(seed: seed),
    ]
    let slots = ResultSlots<WhatIf.Row>(count: policies.count)
    DispatchQueue.concurrentPerform(iterations: policies.count) { i in
      guard
        var input = try? model.simulationInput(
          arrivals: workload.busiestArrivals, configuration: recommended, routes: .drawn(seed: seed))
      else { return }
      input.dispatch = policies[i]
      let result = Estimator.simulate(input, options: .latenciesOnly)
      var latencies = result.latencies ?? []
      let p = latencies.isEmpty ? 0 : Selection.tail(&latencies, model.percentile.rank(of: latencies.count) - 1)
      slots[i] = WhatIf.Row(
        name: policies[i].name
          + (policies[i] == model.inputs.pipeline.dispatch.seeded(seed) ? " (the pipeline's)" : ""),
        missRate: result.fractionOverSLO, percentileLatencyMs: Milliseconds.of(p),
        note: result.feasible ? "meets the SLO" : "misses the SLO")
    }
    return WhatIf(
      title: "today's plan under each balancer (RackSched)",
      assumption:
        "The busiest window through today's plan with each stage's replicas fed by: one central queue (the ideal the planner assumes unless the pipeline file names its balancer), round robin, the shortest queue, the shorter of two random replicas' queues, or a random replica; every balancer but the central one gives each replica its own queue. Random choices from seed \(seed).",
      rows: slots.values.compactMap { $0 })
  }
}
