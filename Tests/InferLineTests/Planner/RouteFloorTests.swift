import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// The route floor (`FeasibilityOracle.RouteFloor`) is admissible: a configuration it rules out is infeasible in a
/// full simulation with no screen, on a DAG with a join and conditional edges and on chains; it rules out
/// configurations the other necessary conditions let through (else it adds nothing); the coarse-grained baselines
/// it spares simulations for are the same; and the search they warm-start still finds brute force's optimum.
@Suite struct RouteFloorTests {
  /// Three stages: every query is read (a), 30% go on to a check (b), and the answer (c) waits for both when the
  /// check ran. h0 is cheap and slow, h1 dear and fast; on h0 everywhere the checked queries' route is over a
  /// tight SLO whatever the replicas, the others' is not.
  static func join(seed: UInt64, sloMs: Double) -> SmallInstance {
    let pipeline = """
      name: join
      slo: {latency_ms: \(sloMs)}
      network_delay_ms: 0.5
      stages:
        - {name: a, model: ma}
        - {name: b, model: mb}
        - {name: c, model: mc}
      edges:
        a -> b: 0.3
        a -> c: 1
        b -> c: 1

      """
    let catalog = """
      hardware:
        - {type: h0, price_per_hour: 0.5, max_replicas: 2}
        - {type: h1, price_per_hour: 1.7, max_replicas: 2}

      """
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for (model, scale) in [("ma", 1.0), ("mb", 1.4), ("mc", 0.8)] {
      for (hardware, fixed, per) in [("h0", 6.0, 2.0), ("h1", 2.0, 0.8)] {
        for b in [1, 2, 4] {
          profiles += "\(model),\(hardware),\(b),\(String(format: "%.3f", scale * (fixed + per * Double(b)))),p99\n"
        }
      }
    }
    return SmallInstance(pipeline: pipeline, catalog: catalog, profiles: profiles, seed: seed, rate: 120)
  }

  /// Checks every configuration of `instance` at `sloMs`; returns how many the floor alone ruled out.
  static func ruledOutOnlyByTheFloor(_ instance: SmallInstance, sloMs: Double, _ comment: String) throws -> Int {
    let oracle = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7, sloMs: sloMs)
    #expect(oracle.routeFloor != nil, "deterministic service gets the floor")
    var onlyByTheFloor = 0
    for c in instance.everyConfiguration(replicas: 2) {
      let options = try #require(instance.model.options(c))
      guard !oracle.meetsRouteFloor(c) else { continue }
      let feasible = instance.fullySimulatedFeasible(c, sloMs: sloMs)
      #expect(!feasible, "\(comment): \(c.stages) is feasible but the floor ruled it out")
      let certainFloor = instance.model.criticalPath(
        singleLatencies: options.map { $0.latency(batch: 1)! }, certainEdgesOnly: true)
      if certainFloor.nanoseconds <= oracle.slo { onlyByTheFloor += 1 }
    }
    return onlyByTheFloor
  }

  @Test(arguments: [1, 5] as [UInt64])
  func aConfigurationTheFloorRulesOutIsInfeasible(seed: UInt64) throws {
    // Around the slow route on h0 everywhere (6 + 2 per item, x1, x1.4, x0.8: about 25 ms at batch 1, plus hops).
    for sloMs in [18.0, 24.0, 30.0] {
      let ruled = try Self.ruledOutOnlyByTheFloor(Self.join(seed: seed, sloMs: sloMs), sloMs: sloMs, "join x\(sloMs)")
      if sloMs == 24 {
        #expect(ruled > 0, "seed \(seed): the floor ruled out nothing the other conditions let through")
      }
    }
    // Chains with conditional edges (SmallInstance's), tight.
    let chain = SmallInstance(seed: seed, stages: 3, hardware: 2, maxReplicas: 2)
    let tight = 1.3 * Milliseconds.of(chain.model.latencyFloor.nanoseconds)
    _ = try Self.ruledOutOnlyByTheFloor(chain, sloMs: tight, "chain \(seed)")
  }

  /// A window's planning as the report runs it: the baselines (the floor sparing their hopeless units) warm-start
  /// the search.
  @Test func theSearchWarmStartedByTheBaselinesFindsBruteForcesOptimum() {
    for sloMs in [20.0, 24.0, 32.0] {
      let instance = Self.join(seed: 3, sloMs: sloMs)
      let brute = instance.bruteForce()
      let planner = instance.planner()
      let incumbents = planner.coarseGrainedBaselines().filter(\.feasible).map {
        (name: $0.name, configuration: $0.configuration)
      }
      switch planner.optimal(incumbents: incumbents) {
      case .success(let plan):
        #expect(plan.provenOptimal == true)
        #expect(abs(plan.costPerHour - (brute ?? -1)) < 1e-9, "x\(sloMs): brute \(brute ?? -1)")
      case .failure(let why):
        #expect(why.proven && brute == nil, "x\(sloMs): brute \(brute ?? -1); \(why)")
      }
    }
  }

  /// The baselines the floor spares simulations for: the same CG-Peak and CG-Mean as with no screen at all, with
  /// fewer simulations.
  @Test func theCoarseGrainedBaselinesAreTheSameWithFewerSimulations() {
    let instance = Self.join(seed: 2, sloMs: 24)
    let screened = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7)
    let unscreened = FeasibilityOracle(model: instance.model, arrivals: instance.arrivals, seed: 7, screens: false)
    let withFloor = Planner(oracle: screened).coarseGrainedBaselines()
    let without = Planner(oracle: unscreened).coarseGrainedBaselines()
    #expect(!withFloor.isEmpty)
    #expect(withFloor == without)
    #expect(screened.counters.ruledOut > 0, "the floor ruled out h0's units")
    #expect(screened.counters.estimatorRuns < unscreened.counters.estimatorRuns)
  }
}
