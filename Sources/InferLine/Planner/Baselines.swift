import Foundation

/// A coarse-grained provisioning baseline, evaluated by the same estimator on the same trace.
public struct BaselineResult: Sendable, Equatable, Codable {
  /// `CG-Peak` or `CG-Mean`.
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
  /// The greedy plan's cost, nil when the SLO cannot be met.
  public var costPerHour: Double?
  public var configuration: PipelineConfiguration?
}

extension Planner {
  /// One hardware type and one batch size for every stage, replicated as a unit.
  struct Unit {
    var hardware: HardwareCatalog.Hardware
    var batchSize: Int
    /// Queries per second one unit carries: the slowest stage's `b / L(b)` over its share of the traffic.
    var capacity: Double
  }

  /// Units every stage can run: hardware with a profile for every stage's model, at batch sizes profiled for all.
  func units() -> [Unit] {
    inputs.catalog.hardware.flatMap { hw -> [Unit] in
      let profiles = pipeline.stages.indices.map { i in
        inputs.candidates(forStage: i).first { $0.hardware.type == hw.type }?.profile
      }
      guard profiles.allSatisfy({ $0 != nil }) else { return [] }
      let sizes = profiles.map { Set($0!.batchSizes) }.reduce(Set(profiles[0]!.batchSizes)) { $0.intersection($1) }
      return sizes.sorted().map { b in
        let capacity = pipeline.stages.indices.map { i -> Double in
          let l = Double(profiles[i]!.latency(batch: b)!) / 1e9
          return Double(b) / l / max(oracle.scaleFactors[i], 1e-12)
        }.min()!
        return Unit(hardware: hw, batchSize: b, capacity: capacity)
      }
    }
  }

  func unitConfiguration(_ unit: Unit, copies: Int) -> PipelineConfiguration {
    PipelineConfiguration(stages: pipeline.stages.map { _ in
      StageConfiguration(hardware: unit.hardware.type, batchSize: unit.batchSize, replicas: copies)
    })
  }

  /// CG-Peak and CG-Mean: the pipeline provisioned as one unit. CG-Peak takes, among all units, the cheapest
  /// whose copies (starting from what the peak rate over one second needs) meet the SLO at peak; CG-Mean sizes
  /// the same unit for the mean rate. Both are then simulated in full for their miss rate.
  public func coarseGrainedBaselines() -> [BaselineResult] {
    let peakRate = Double(ArrivalEnvelope.maxArrivals(oracle.arrivals, within: 1_000_000_000))
    var best: (Unit, Int, Double)? = nil
    for unit in units() {
      let limit = unit.hardware.maxReplicas ?? 512
      var copies = max(1, Int((peakRate / unit.capacity).rounded(.up)))
      while copies <= limit {
        let c = unitConfiguration(unit, copies: copies)
        let price = cost(c)
        if let b = best, price >= b.2 { break }  // cannot beat the best unit any more
        if oracle.evaluate(c).feasible {
          best = (unit, copies, price)
          break
        }
        copies += 1
      }
    }
    guard let (unit, peakCopies, _) = best else { return [] }
    let meanCopies = max(1, Int((oracle.meanRate / unit.capacity).rounded(.up)))
    return [("CG-Peak", peakCopies), ("CG-Mean", meanCopies)].map { name, copies in
      let c = unitConfiguration(unit, copies: copies)
      let (result, latency) = try! oracle.simulateFully(c)  // units are built from profiled sizes only
      return BaselineResult(
        name: name, configuration: c, costPerHour: cost(c), missRate: result.fractionOverSLO ?? 1,
        percentileLatencyMs: latency == .max ? .infinity : Double(latency) / 1e6, feasible: result.feasible)
    }
  }

  /// Greedy plans for a sweep of SLOs (multiples of the pipeline's): the cost a budget buys. A plan that meets a
  /// tighter SLO also meets a looser one, so each point keeps the cheaper of its own plan and the tighter points'
  /// (the greedy planner alone need not be monotone).
  public static func frontier(
    inputs: PlanningInputs, arrivals: [Int64], seed: UInt64, multipliers: [Double] = [0.5, 0.75, 1, 1.5, 2, 3]
  ) -> [FrontierPoint] {
    // Points are independent: planned in parallel, kept in SLO order.
    let sorted = multipliers.sorted()
    let slots = ResultSlots<FrontierPoint>(count: sorted.count)
    DispatchQueue.concurrentPerform(iterations: sorted.count) { k in
      let slo = inputs.pipeline.slo.latencyMs * sorted[k]
      let planner = Planner(oracle: FeasibilityOracle(inputs: inputs, arrivals: arrivals, seed: seed, sloMs: slo))
      switch planner.greedy() {
      case .success(let plan): slots[k] = FrontierPoint(sloMs: slo, costPerHour: plan.costPerHour, configuration: plan.configuration)
      case .failure: slots[k] = FrontierPoint(sloMs: slo, costPerHour: nil, configuration: nil)
      }
    }
    var points = sorted.indices.map { slots[$0]! }
    for i in points.indices.dropFirst() {
      if let tighter = points[i - 1].costPerHour, tighter < (points[i].costPerHour ?? .infinity) {
        points[i].costPerHour = tighter
        points[i].configuration = points[i - 1].configuration
      }
    }
    return points
  }

  /// When the SLO cannot be met: the first of 1.25, 1.5, 2, 3, 5 and 10 times the larger of the SLO and the
  /// latency floor for which the greedy planner finds a plan.
  public static func attainableSLO(inputs: PlanningInputs, arrivals: [Int64], seed: UInt64, sloMs: Double) -> Double? {
    let base = max(sloMs, Double(inputs.latencyFloor(certainEdgesOnly: true).nanoseconds) / 1e6)
    for m in [1.25, 1.5, 2, 3, 5, 10] {
      let slo = base * m
      let planner = Planner(oracle: FeasibilityOracle(inputs: inputs, arrivals: arrivals, seed: seed, sloMs: slo))
      if case .success = planner.greedy() { return slo }
    }
    return nil
  }
}
