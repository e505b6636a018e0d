import Foundation

/// A pipeline compiled once against its hardware catalog and profiles: everything the estimator, the planners,
/// the baselines and the replay need, by index and in integer nanoseconds, so nothing downstream looks a profile
/// up by name in a hot loop and every derived figure (capacity, cost, latency floor, replica limit, mean rate)
/// has one definition.
public struct PipelineModel: Sendable {
  /// Replicas one stage may have on hardware whose catalog entry gives no `max_replicas`: the edge of every
  /// planner's search space and of every replay. Set `max_replicas` in the catalog to change it.
  public static let defaultReplicaLimit = 512

  /// One hardware type a stage may run on: allowed by the pipeline, in the catalog, profiled for the stage's model.
  public struct HardwareOption: Sendable, Equatable {
    public let hardware: String
    /// Dollars per hour for one replica.
    public let pricePerHour: Double
    /// Nanoseconds from a scale-up decision until a new replica serves (the catalog's seconds, rounded once).
    public let provisioningDelay: Int64
    /// Most replicas of this type: the catalog's `max_replicas`, or `PipelineModel.defaultReplicaLimit`.
    public let replicaLimit: Int
    /// Profiled batch sizes, ascending.
    public let profiledBatchSizes: [Int]
    /// Profiled sizes worth choosing (not throughput-dominated by a smaller one), ascending.
    public let usefulBatchSizes: [Int]
    /// `latencyTable[n - 1]` = L(n), nanoseconds, for n in 1...largest profiled size (pessimistic lookup applied).
    public let latencyTable: [Int64]
    /// p99 beside a p50 for each n (same indexing), when the profile gives both.
    public let p99Table: [Int64]?
    /// Latency by input size for each n (same indexing), when the profile gives size buckets; `latencyTable` is
    /// then the largest bucket's.
    public let sizedLatencies: SizedLatencies?

    /// L(n), nanoseconds; nil outside 1...largest profiled size (never extrapolated).
    /// - Complexity: O(1).
    @inlinable public func latency(batch n: Int) -> Int64? {
      n >= 1 && n <= latencyTable.count ? latencyTable[n - 1] : nil
    }

    /// Queries per second `k` replicas serve in full batches of `b`: `k b / L(b)`; 0 for an unprofiled size.
    /// - Complexity: O(1).
    @inlinable public func capacity(batch b: Int, replicas k: Int) -> Double {
      guard let l = latency(batch: b) else { return 0 }
      return Double(k) * Double(b) * 1e9 / Double(l)
    }

    /// The slowest L(n) for n in 1...b, nanoseconds (a measured table need not grow with n).
    public func slowestLatency(upTo b: Int) -> Int64 { latencyTable.prefix(b).max() ?? 0 }
  }

  /// One stage of the compiled pipeline.
  public struct Stage: Sendable {
    public let name: String
    public let model: String
    /// The hardware it may run on, in catalog order.
    public let options: [HardwareOption]
    /// Probability a query visits the stage (`s_m`).
    public let scaleFactor: Double
    /// The lowest L(1) over its options, nanoseconds.
    public let fastestSingleLatency: Int64

    /// The option for a hardware type. - Complexity: O(options).
    public func option(hardware: String) -> HardwareOption? { options.first { $0.hardware == hardware } }

    /// The fewest nanoseconds any batch of any size takes on any of its options (a measured table need not grow
    /// with the batch): what the planner's bounds may assume of the stage whatever it is given.
    public var fastestBatchLatency: Int64 { options.compactMap { $0.latencyTable.min() }.min() ?? 0 }
  }

  /// The index of an edge in the pipeline file's list (its bit in a route mask).
  public func edgeIndex(_ e: PipelineSpec.Edge) -> Int? {
    inputs.pipeline.edges.firstIndex { $0.parent == e.parent && $0.child == e.child }
  }

  /// The files the model was compiled from (names and line numbers for messages).
  public let inputs: PlanningInputs
  /// Which size bucket gave sized profiles' `latencyTable`.
  public let sizeTable: SizeTable
  public let stages: [Stage]
  public let scaleFactors: [Double]
  public let topologicalOrder: [Int]
  public let roots: [Int]
  public let incoming: [[PipelineSpec.Edge]]
  public let outgoing: [[PipelineSpec.Edge]]
  /// Network delay per hop, nanoseconds (an edge with a delay of its own takes that: `delay(_:)`).
  public let hopDelay: Int64
  /// Per edge, its delay, nanoseconds, when some edge has a delay of its own; nil: `hopDelay` on every edge.
  public let edgeDelays: [Int64]?

  /// An edge's network delay, nanoseconds: its own, else the pipeline's. - Complexity: O(1).
  @inlinable public func delay(_ e: PipelineSpec.Edge) -> Int64 {
    e.delayMs.map(ProfileTable.nanoseconds) ?? hopDelay
  }
  /// The pipeline's objective, nanoseconds, and its percentile.
  public let slo: Int64
  public let percentile: Percentile
  /// The lowest end-to-end latency any query can see on the longest path (every stage at batch 1 on its fastest
  /// hardware, plus hops), and the path.
  public private(set) var latencyFloor: CriticalPath
  /// The same over the edges every query takes (probability 1): a bound no query can beat in any window.
  public private(set) var certainLatencyFloor: CriticalPath
  let prices: [String: Double]

  /// A path through the pipeline and its latency, nanoseconds.
  public struct CriticalPath: Sendable, Equatable {
    public var nanoseconds: Int64
    public var path: [Int]
  }

  /// Which size bucket gives a sized profile's `latencyTable` (what every batch takes without query sizes, and
  /// what the planners' bounds assume).
  public enum SizeTable: Sendable, Equatable {
    /// The largest bucket: a batch of unknown inputs may hold the largest.
    case largest
    /// Per batch size the fastest bucket: a lower bound on any batch, for planning with query sizes (every
    /// simulation then takes the sizes, and the bounds stay bounds).
    case fastest
    /// The bucket holding inputs of this size.
    case holding(Double)
  }

  /// Compiles checked inputs. - Complexity: O(stages x catalog x batch sizes + 2^edges) once.
  public init(_ inputs: PlanningInputs, sizeTable: SizeTable = .largest) {
    self.inputs = inputs
    self.sizeTable = sizeTable
    let spec = inputs.pipeline
    let factors = spec.scaleFactors()
    scaleFactors = factors
    topologicalOrder = spec.topologicalOrder
    roots = spec.roots
    incoming = spec.incoming
    outgoing = spec.outgoing
    hopDelay = ProfileTable.nanoseconds(spec.networkDelayMs)
    let network = hopDelay
    edgeDelays =
      spec.edges.contains { $0.delayMs != nil }
      ? spec.edges.map { $0.delayMs.map(ProfileTable.nanoseconds) ?? network } : nil
    slo = ProfileTable.nanoseconds(spec.slo.latencyMs)
    percentile = Percentile(percent: spec.slo.percentile)
    prices = Dictionary(inputs.catalog.hardware.map { ($0.type, $0.pricePerHour) }, uniquingKeysWith: { a, _ in a })
    stages = spec.stages.indices.map { i in
      let stage = spec.stages[i]
      let options = PlanningInputs.candidates(for: stage, catalog: inputs.catalog, profiles: inputs.profiles).map {
        hardware, profile in
        let largest = profile.batchSizes.last ?? 0
        var table = (1...max(largest, 1)).map { profile.latency(batch: $0) ?? 0 }
        let p99 = profile.p99Latencies.map { p99 in
          (1...max(largest, 1)).map { n in p99[profile.batchSizes.firstIndex { $0 >= n } ?? 0] }
        }
        let sized = profile.sizeBuckets.map { buckets in
          SizedLatencies(
            bounds: buckets.map(\.upTo),
            tables: buckets.map { bucket in
              (1...max(largest, 1)).map { n in bucket.latencies[profile.batchSizes.firstIndex { $0 >= n } ?? 0] }
            })
        }
        if let sized {
          switch sizeTable {
          case .largest: break
          case .fastest: table = table.indices.map { n in sized.tables.map { $0[n] }.min()! }
          case .holding(let size): table = sized.tables[sized.bucket(holding: Float(size))]
          }
        }
        return HardwareOption(
          hardware: hardware.type, pricePerHour: hardware.pricePerHour,
          provisioningDelay: Int64((hardware.provisioningDelaySeconds * 1e9).rounded()),
          replicaLimit: hardware.maxReplicas ?? PipelineModel.defaultReplicaLimit,
          profiledBatchSizes: profile.batchSizes,
          usefulBatchSizes: Self.usefulBatchSizes(profile, sizeTable: sizeTable), latencyTable: table, p99Table: p99,
          sizedLatencies: sized)
      }
      return Stage(
        name: stage.name, model: stage.model, options: options, scaleFactor: factors[i],
        fastestSingleLatency: options.compactMap { $0.latency(batch: 1) }.min() ?? 0)
    }
    latencyFloor = .init(nanoseconds: 0, path: [])
    certainLatencyFloor = .init(nanoseconds: 0, path: [])
    let fastest = stages.map(\.fastestSingleLatency)
    latencyFloor = criticalPath(singleLatencies: fastest, certainEdgesOnly: false)
    certainLatencyFloor = criticalPath(singleLatencies: fastest, certainEdgesOnly: true)
  }

  /// The batch sizes worth choosing: not throughput-dominated in the table batches take; planning with query sizes
  /// (`.fastest`), those not dominated in some size bucket (a size dominated at large inputs may pay at small ones).
  static func usefulBatchSizes(_ profile: ModelProfile, sizeTable: SizeTable) -> [Int] {
    guard let buckets = profile.sizeBuckets, sizeTable != .largest else { return profile.usefulBatchSizes }
    var useful = Set<Int>()
    for bucket in buckets {
      var p = profile
      p.latencies = bucket.latencies
      useful.formUnion(p.usefulBatchSizes)
    }
    return profile.batchSizes.filter(useful.contains)
  }

  public var name: String { inputs.pipeline.name }
  public var stageNames: [String] { stages.map(\.name) }

  /// The longest path when each stage takes `singleLatencies[m]`, plus each edge's delay; over every edge
  /// of positive probability, or only over edges every query takes (then only stages reached from a root by
  /// such edges count). - Complexity: O(stages + edges).
  public func criticalPath(singleLatencies: [Int64], certainEdgesOnly: Bool) -> CriticalPath {
    let count = stages.count
    var best = [Int64](repeating: 0, count: count)
    var previous = [Int?](repeating: nil, count: count)
    var reached = [Bool](repeating: !certainEdgesOnly, count: count)
    for r in roots { reached[r] = true }
    for n in topologicalOrder where reached[n] {
      var start: Int64 = 0
      for e in incoming[n] where reached[e.parent] && (certainEdgesOnly ? e.probability >= 1 : e.probability > 0) {
        if best[e.parent] + delay(e) > start {
          start = best[e.parent] + delay(e)
          previous[n] = e.parent
        }
      }
      best[n] = start + singleLatencies[n]
      if certainEdgesOnly { for e in outgoing[n] where e.probability >= 1 { reached[e.child] = true } }
    }
    guard var end = best.indices.max(by: { best[$0] < best[$1] }) else { return .init(nanoseconds: 0, path: []) }
    let total = best[end]
    var path = [end]
    while let p = previous[end] {
      path.insert(p, at: 0)
      end = p
    }
    return .init(nanoseconds: total, path: path)
  }

  /// Names along a path, `detect -> vehicle`.
  public func describe(path: [Int]) -> String { path.map { stages[$0].name }.joined(separator: " -> ") }

  /// Dollars per hour: the sum over stages of replicas x the hardware's price. The configuration's hardware must
  /// be in the catalog (`check(_:)` says so for configurations from files). - Complexity: O(stages).
  public func cost(_ configuration: PipelineConfiguration) -> Double {
    configuration.stages.reduce(0) { $0 + Double($1.replicas) * (prices[$1.hardware] ?? .nan) }
  }

  /// Dollars per hour by hardware type.
  public func costByHardware(_ configuration: PipelineConfiguration) -> [String: Double] {
    var result: [String: Double] = [:]
    for s in configuration.stages {
      result[s.hardware, default: 0] += Double(s.replicas) * (prices[s.hardware] ?? .nan)
    }
    return result
  }

  /// The price of one replica of a hardware type, nil when the catalog does not list it.
  public func price(hardware: String) -> Double? { prices[hardware] }

  /// Queries per second over a trace: `N / (last - first)`; `N` (per second) when every arrival has one stamp.
  /// The one definition of a mean rate used by the planners, the baselines, the report and `inspect`.
  /// - Complexity: O(1).
  public static func meanRate(_ arrivals: [Int64]) -> Double {
    guard let first = arrivals.first, let last = arrivals.last else { return 0 }
    let span = Double(last - first) / 1e9
    return span > 0 ? Double(arrivals.count) / span : Double(arrivals.count)
  }

  /// Fewest replicas whose capacity covers the stage's share of a mean rate (a necessary condition), at least 1.
  public func minimumReplicas(stage m: Int, option: HardwareOption, batch b: Int, meanRate: Double) -> Int {
    let one = option.capacity(batch: b, replicas: 1)
    guard one > 0 else { return 1 }
    let needed = (meanRate * scaleFactors[m] / one).rounded(.up)
    return needed.isFinite ? max(1, Int(min(needed, Double(Int32.max)))) : Int(Int32.max)
  }

  /// The options a configuration names, stage by stage; nil when some stage's hardware is not among its options.
  public func options(_ configuration: PipelineConfiguration) -> [HardwareOption]? {
    guard configuration.stages.count == stages.count else { return nil }
    var result: [HardwareOption] = []
    result.reserveCapacity(stages.count)
    for (m, s) in configuration.stages.enumerated() {
      guard let o = stages[m].option(hardware: s.hardware) else { return nil }
      result.append(o)
    }
    return result
  }

  /// Checks a configuration that came from outside (a file, an earlier report): one entry per stage, hardware the
  /// stage may use and that is profiled, a profiled batch size, replicas within the limit.
  /// - Throws: `InputError` naming the stage and the fix.
  public func check(_ configuration: PipelineConfiguration) throws {
    guard configuration.stages.count == stages.count else {
      throw InputError(
        "the configuration has \(configuration.stages.count) stages, pipeline '\(name)' has \(stages.count)")
    }
    for (m, s) in configuration.stages.enumerated() {
      let stage = stages[m]
      guard let option = stage.option(hardware: s.hardware) else {
        throw InputError(
          file: inputs.profiles.file,
          "stage '\(stage.name)': no profile for \(stage.model) on \(s.hardware) (or the pipeline or catalog does not allow it)",
          fix: "run the stage on one of: \(stage.options.map(\.hardware).joined(separator: ", "))")
      }
      guard s.batchSize >= 1, s.replicas >= 0 else {
        throw InputError(
          "stage '\(stage.name)': batch size must be at least 1 and replicas 0 or more (got batch \(s.batchSize), \(s.replicas) replicas)"
        )
      }
      guard option.latency(batch: s.batchSize) != nil else {
        throw InputError(
          file: inputs.profiles.file,
          "stage '\(stage.name)': \(stage.model) on \(s.hardware) is profiled up to batch \(option.profiledBatchSizes.last ?? 0), not \(s.batchSize)",
          fix:
            "profile batch size \(s.batchSize) (inferline never extrapolates), or choose one of \(option.profiledBatchSizes.map(String.init).joined(separator: ", "))"
        )
      }
    }
  }

  /// A simulation of `arrivals` through the pipeline in `configuration` against the pipeline's SLO (or `slo`).
  /// `dispatchSeed` seeds a random balancer (default: the drawn routes' seed, else 1). With `querySizes` (one per
  /// arrival), stages whose profile gives size buckets take each batch's largest input's bucket
  /// (`checkSizes(_:log:column:)` first: sizes above a profile's largest bucket are not extrapolated).
  /// - Throws: `InputError` when the configuration does not fit the pipeline (see `check(_:)`).
  public func simulationInput(
    arrivals: [Int64], configuration: PipelineConfiguration, routes: RouteSource = .drawn(seed: 1),
    serviceTimes: ServiceTimeModel = .deterministic, replicaChanges: [ReplicaChange] = [], slo: Int64? = nil,
    dispatchSeed: UInt64? = nil, querySizes: [Float]? = nil
  ) throws -> SimulationInput {
    try check(configuration)
    let services = configuration.stages.enumerated().map { m, s in
      let option = stages[m].option(hardware: s.hardware)!
      var service = StageService(
        batchSize: s.batchSize, replicas: s.replicas, latencyTable: Array(option.latencyTable.prefix(s.batchSize)),
        p99Table: option.p99Table.map { Array($0.prefix(s.batchSize)) })
      if querySizes != nil, let sized = option.sizedLatencies {
        service.sizedLatencies = SizedLatencies(
          bounds: sized.bounds, tables: sized.tables.map { Array($0.prefix(s.batchSize)) })
      }
      return service
    }
    let spec = inputs.pipeline
    var input = SimulationInput(
      arrivals: arrivals, stageCount: stages.count, edges: spec.edges.map { ($0.parent, $0.child) },
      edgeProbabilities: spec.edges.map(\.probability), stages: services, hopDelay: hopDelay, routes: routes,
      serviceTimes: serviceTimes, replicaChanges: replicaChanges, slo: slo ?? self.slo, percentile: percentile)
    // The balancer's random choices from its own seed, else the route seed: the same seed gives the same run
    // whether the routes are drawn in the run or given drawn.
    var balancerSeed: UInt64 = dispatchSeed ?? 1
    if dispatchSeed == nil, case .drawn(let seed) = routes { balancerSeed = seed }
    input.dispatch = spec.dispatch.seeded(balancerSeed)
    input.edgeDelays = edgeDelays
    if services.contains(where: { $0.sizedLatencies != nil }) {
      precondition(querySizes!.count == arrivals.count, "one size per arrival")
      input.querySizes = querySizes
    }
    return input
  }

  /// Whether some stage's profile, on some hardware it may use, gives latency by input size.
  public var hasSizedProfiles: Bool { stages.contains { $0.options.contains { $0.sizedLatencies != nil } } }

  /// Checks that the largest of a log's query sizes (NaN ones, unknown, left out) fits every sized profile the
  /// pipeline may use (or `configuration` uses): sizes above a profile's largest bucket are not extrapolated.
  /// - Throws: `InputError` naming the profiles file, the stage and the fix. - Complexity: O(sizes) when some
  ///   profile is sized, else O(stages x options).
  public func checkSizes(
    _ sizes: [Float], log: String?, column: String, configuration: PipelineConfiguration? = nil
  ) throws {
    guard hasSizedProfiles else { return }
    let largest = sizes.lazy.filter { !$0.isNaN }.max() ?? 0
    for (m, stage) in stages.enumerated() {
      for option in stage.options where configuration.map({ $0.stages[m].hardware == option.hardware }) ?? true {
        guard let sized = option.sizedLatencies, let top = sized.bounds.last, Double(largest) > top else { continue }
        throw InputError(
          file: inputs.profiles.file,
          "stage '\(stage.name)': \(stage.model) on \(option.hardware) is profiled up to size \(ProfileTable.sizeText(top)), but the log\(log.map { " \($0)" } ?? "") has a query of size \(ProfileTable.sizeText(Double(largest))) in its '\(column)' column",
          fix:
            "profile a size bucket of at least \(ProfileTable.sizeText(Double(largest))) (inferline never extrapolates), or check the unit of the '\(column)' column"
        )
      }
    }
  }
}
