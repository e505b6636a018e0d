import Dispatch
import Foundation

/// A coarse-grained provisioning baseline, evaluated by the same estimator on the same trace.
public struct BaselineResult: Sendable, Equatable, Codable {
  /// The coarse-grained unit sized for the peak rate, and for the mean rate: the baselines' names.
  public static let peak = "CG-Peak", mean = "CG-Mean"
  /// `peak` or `mean`.
  public var name: String
  public var configuration: PipelineConfiguration
  public var costPerHour: Double
  /// Fraction of queries over the SLO in the simulation.
  public var missRate: Double
  public var percentileLatencyMs: Double
  public var feasible: Bool
}

/// A point of the cost-versus-SLO frontier.
public struct FrontierPoint: Sendable, Equatable, Codable {
  public var sloMs: Double
  /// The recommended planner's cost, nil when no plan was found.
  public var costPerHour: Double?
  public var configuration: PipelineConfiguration?
  /// Whether that cost is proven the cheapest at this SLO.
  public var provenOptimal: Bool?
  /// Dollars per hour below which the search proved nothing meets this SLO (the cost itself when proven).
  public var lowerBoundPerHour: Double? = nil
  /// `costPerHour / lowerBoundPerHour - 1`: 0 when proven.
  public var gap: Double? = nil
}

extension Planner {
  /// One hardware type and one batch size for every stage, replicated as a unit.
  struct Unit {
    var hardware: String
    var pricePerHour: Double
    var replicaLimit: Int
    var batchSize: Int
    /// Queries per second one unit carries: the slowest stage's `b / L(b)` over its share of the traffic.
    var capacity: Double
  }

  /// Units every stage can run: hardware with a profile for every stage's model, at batch sizes profiled for all.
  func units() -> [Unit] {
    model.inputs.catalog.hardware.flatMap { hw -> [Unit] in
      let options = model.stages.map { $0.option(hardware: hw.type) }
      guard let first = options.first, first != nil, options.allSatisfy({ $0 != nil }) else { return [] }
      let sizes = options.dropFirst().reduce(Set(first!.profiledBatchSizes)) {
        $0.intersection($1!.profiledBatchSizes)
      }
      return sizes.sorted().map { b in
        let capacity = model.stages.indices.map { m in
          options[m]!.capacity(batch: b, replicas: 1) / max(model.scaleFactors[m], 1e-12)
        }.min()!
        return Unit(
          hardware: hw.type, pricePerHour: first!.pricePerHour, replicaLimit: options.map { $0!.replicaLimit }.min()!,
          batchSize: b, capacity: capacity)
      }
    }
  }

  func unitConfiguration(_ unit: Unit, copies: Int) -> PipelineConfiguration {
    PipelineConfiguration(
      stages: model.stages.map { _ in
        StageConfiguration(hardware: unit.hardware, batchSize: unit.batchSize, replicas: copies)
      })
  }

  /// CG-Peak and CG-Mean: the pipeline provisioned as one unit. CG-Peak takes, among all units, the cheapest
  /// whose copies (starting from what the peak rate over one second needs) meet the SLO at peak; CG-Mean sizes
  /// the same unit for the mean rate. Both are then simulated in full for their miss rate.
  public func coarseGrainedBaselines() -> [BaselineResult] {
    let peakRate = Double(ArrivalEnvelope.maxArrivals(oracle.arrivals, within: 1_000_000_000))
    var best: (Unit, Int, Double)? = nil
    for unit in units() {
      // A unit whose queries' routes alone are over the SLO never meets it, whatever its copies (`RouteFloor`):
      // its configurations are recorded infeasible without a simulation, the answers a simulation gives.
      let hopeless = !oracle.meetsRouteFloor(unitConfiguration(unit, copies: 1))
      var copies = max(1, Int((peakRate / unit.capacity).rounded(.up)))
      while copies <= unit.replicaLimit {
        let c = unitConfiguration(unit, copies: copies)
        let price = cost(c)
        if let b = best, price >= b.2 { break }  // cannot beat the best unit any more
        if (hopeless ? oracle.ruleOut(c) : oracle.evaluate(c)).feasible {
          best = (unit, copies, price)
          break
        }
        copies += 1
      }
    }
    guard let (unit, peakCopies, _) = best else { return [] }
    let meanCopies = max(1, Int((oracle.meanRate / unit.capacity).rounded(.up)))
    return [(BaselineResult.peak, peakCopies), (BaselineResult.mean, meanCopies)].compactMap { name, copies in
      let c = unitConfiguration(unit, copies: copies)
      guard let (result, latency) = try? oracle.simulateFully(c) else { return nil }
      return BaselineResult(
        name: name, configuration: c, costPerHour: cost(c), missRate: result.fractionOverSLO ?? 1,
        percentileLatencyMs: Milliseconds.of(latency), feasible: result.feasible)
    }
  }

  /// The SLO multipliers of the latency-cost frontier unless told otherwise (`plan --frontier`, the report's).
  public static let frontierMultipliers: [Double] = [0.5, 0.75, 1, 1.5, 2, 3]

  /// The recommended planner at a sweep of SLOs (multiples of the pipeline's): the cost a budget buys. Points
  /// are planned from the tightest SLO to the loosest, each warm-started with the tighter point's plan (which also
  /// meets the looser SLO) and the incumbents; then, loosest first, each point is offered its looser neighbour's
  /// plan as a candidate. A plan found at a tighter SLO meets every looser one, so an unproven point dearer than a
  /// tighter point's plan takes that plan: the curve never rises as the SLO loosens.
  /// - Parameters:
  ///   - incumbents: configurations every point's search tries first (the window's own plan: a point at the
  ///     plan's SLO or looser is never dearer than it).
  ///   - planAtSLO: the window's plan at the pipeline's own SLO: the point at multiplier 1 is that plan, the same
  ///     answer to the same question.
  public static func frontier(
    model: PipelineModel, arrivals: [Int64], seed: UInt64, multipliers: [Double] = Planner.frontierMultipliers,
    budget: SearchBudget = .standard, incumbents: [(name: String, configuration: PipelineConfiguration)] = [],
    planAtSLO: Plan? = nil
  ) -> [FrontierPoint] {
    let sorted = multipliers.sorted()
    let slos = sorted.map { model.inputs.pipeline.slo.latencyMs * $0 }
    let oracles = slos.map { FeasibilityOracle(model: model, arrivals: arrivals, seed: seed, sloMs: $0) }
    func point(_ k: Int, _ plan: Plan) -> FrontierPoint {
      FrontierPoint(
        sloMs: slos[k], costPerHour: plan.costPerHour, configuration: plan.configuration,
        provenOptimal: plan.provenOptimal, lowerBoundPerHour: plan.lowerBoundPerHour ?? plan.costPerHour,
        gap: plan.gap ?? 0)
    }
    var points: [FrontierPoint] = []
    var previous: PipelineConfiguration? = nil
    for k in sorted.indices {
      if sorted[k] == 1, let plan = planAtSLO {
        points.append(point(k, plan))
        previous = plan.configuration
        continue
      }
      let planner = Planner(oracle: oracles[k])
      switch planner.bestPlan(budget: budget, incumbents: (previous.map { [("tighter SLO", $0)] } ?? []) + incumbents) {
      case .success(let plan):
        points.append(point(k, plan))
        previous = plan.configuration
      case .failure(let why):
        points.append(
          FrontierPoint(
            sloMs: slos[k], costPerHour: nil, configuration: nil, provenOptimal: nil,
            lowerBoundPerHour: why.lowerBoundPerHour))
      }
    }
    // Loosest first: a looser point's plan, where it meets this tighter SLO and costs less, is a better answer
    // here (found unproven: the search missed it).
    // The point at the pipeline's SLO stays the window's plan: one answer to one question.
    let fixed = planAtSLO == nil ? nil : sorted.firstIndex(of: 1)
    for k in sorted.indices.reversed().dropFirst() where k != fixed {
      guard let looser = points[k + 1].configuration, points[k].provenOptimal != true,
        (points[k].costPerHour ?? .infinity) > (points[k + 1].costPerHour ?? .infinity) + 1e-9,
        oracles[k].evaluate(looser).feasible
      else { continue }
      let bound = points[k].lowerBoundPerHour ?? 0
      let cost = model.cost(looser)
      points[k].costPerHour = cost
      points[k].configuration = looser
      points[k].provenOptimal = cost <= bound + 1e-9
      points[k].gap = bound > 0 ? max(0, cost / bound - 1) : nil
    }
    // Tightest first: a tighter point's plan meets every looser SLO.
    for k in sorted.indices.dropFirst() {
      guard let tighter = points[k - 1].configuration, let tighterCost = points[k - 1].costPerHour,
        tighterCost < (points[k].costPerHour ?? .infinity) - 1e-9
      else { continue }
      #if INFERLINE_INVARIANTS
        precondition(points[k].provenOptimal != true, "a proven point is the cheapest at its SLO")
      #endif
      let bound = points[k].lowerBoundPerHour ?? 0
      points[k].costPerHour = tighterCost
      points[k].configuration = tighter
      points[k].provenOptimal = tighterCost <= bound + 1e-9
      points[k].gap = bound > 0 ? max(0, tighterCost / bound - 1) : nil
    }
    return points
  }

  /// When the SLO cannot be met: the first of 1.25, 1.5, 2, 3, 5 and 10 times the larger of the SLO and the
  /// latency floor for which InferLine's greedy planner or the search (within a small budget) finds a plan.
  public static func attainableSLO(model: PipelineModel, arrivals: [Int64], seed: UInt64, sloMs: Double) -> Double? {
    let base = max(sloMs, Milliseconds.of(model.certainLatencyFloor.nanoseconds))
    for m in [1.25, 1.5, 2, 3, 5, 10] {
      let slo = base * m
      let planner = Planner(oracle: FeasibilityOracle(model: model, arrivals: arrivals, seed: seed, sloMs: slo))
      if case .success = planner.greedy() { return slo }
      if case .success = planner.optimal(budget: SearchBudget(simulations: 200)) { return slo }
    }
    return nil
  }
}
