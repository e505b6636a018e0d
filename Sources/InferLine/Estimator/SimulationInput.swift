import Foundation

/// How one stage serves in a simulation: its batch limit, replicas and batch latencies.
public struct StageService: Sendable, Hashable {
  /// Largest batch a replica forms (`b`).
  public var batchSize: Int
  /// Replicas at time zero (`k`).
  public var replicas: Int
  /// `latencyTable[n - 1]` = L(n) for n in 1...b, nanoseconds (pessimistic lookup already applied).
  public var latencyTable: [Int64]
  /// p99 beside a p50 for each n (same indexing), when the profile gives both; for lognormal service times.
  public var p99Table: [Int64]?
  /// Latency by the size of a batch's largest input, used when the simulation has `querySizes`; nil: the stage's
  /// latency does not depend on size (`latencyTable` whatever the inputs).
  public var sizedLatencies: SizedLatencies? = nil

  public init(batchSize: Int, replicas: Int, latencyTable: [Int64], p99Table: [Int64]? = nil) {
    precondition(batchSize >= 1 && latencyTable.count == batchSize && latencyTable.allSatisfy { $0 > 0 })
    precondition(replicas >= 0)
    self.batchSize = batchSize
    self.replicas = replicas
    self.latencyTable = latencyTable
    self.p99Table = p99Table
  }

  /// Looks the stage's configuration up in its profile.
  /// - Throws: `InputError` when the batch size is above the largest profiled size (never extrapolated).
  public init(configuration: StageConfiguration, profile: ModelProfile, stageName: String, profilesFile: String) throws
  {
    guard configuration.batchSize >= 1, configuration.replicas >= 0 else {
      throw InputError(
        "stage '\(stageName)': batch size must be at least 1 and replicas 0 or more (got batch \(configuration.batchSize), \(configuration.replicas) replicas)"
      )
    }
    var table: [Int64] = []
    var p99: [Int64]? = profile.p99Latencies == nil ? nil : []
    for n in 1...configuration.batchSize {
      guard let latency = profile.latency(batch: n) else {
        throw InputError(
          file: profilesFile,
          "stage '\(stageName)': \(profile.model) on \(profile.hardware) is profiled up to batch \(profile.batchSizes.last ?? 0), not \(configuration.batchSize)",
          fix:
            "profile batch size \(configuration.batchSize) (inferline never extrapolates), or choose one of \(profile.batchSizes.map(String.init).joined(separator: ", "))"
        )
      }
      table.append(latency)
      if let p99Latencies = profile.p99Latencies {
        p99!.append(p99Latencies[profile.batchSizes.firstIndex { $0 >= n }!])
      }
    }
    self.init(batchSize: configuration.batchSize, replicas: configuration.replicas, latencyTable: table, p99Table: p99)
  }
}

/// A stage's batch latency by input size (`ModelProfile.SizeBucket`): a batch takes the latency of the first bucket
/// that holds its largest input (a batch is padded to its largest input).
public struct SizedLatencies: Sendable, Hashable {
  /// Each bucket's largest input, ascending, in the unit of the query sizes.
  public var bounds: [Double]
  /// `tables[k][n - 1]` = L(n) for batches whose largest input is at most `bounds[k]`, nanoseconds.
  public var tables: [[Int64]]

  public init(bounds: [Double], tables: [[Int64]]) {
    precondition(!bounds.isEmpty && bounds.count == tables.count && zip(bounds, bounds.dropFirst()).allSatisfy(<))
    precondition(tables.allSatisfy { $0.count == tables[0].count && $0.allSatisfy { $0 > 0 } })
    self.bounds = bounds
    self.tables = tables
  }

  /// The bucket holding inputs of `size`: the first whose bound is at least it; the last for a larger size or
  /// NaN (an unknown size takes the largest bucket; callers refuse sizes above it beforehand).
  /// - Complexity: O(log buckets).
  public func bucket(holding size: Float) -> Int {
    bounds.withUnsafeBufferPointer { Self.bucket(holding: Double(size), in: $0) }
  }

  /// The first of `bounds` (ascending, not empty) that is at least `size`; the last for a larger size or NaN: the
  /// one search of a size's bucket, for `bucket(holding:)` and the simulators' flat tables (`SizedBatches`).
  /// - Complexity: O(log bounds).
  @inline(__always)
  static func bucket(holding z: Double, in bounds: UnsafeBufferPointer<Double>) -> Int {
    guard z <= bounds[bounds.count - 1] else { return bounds.count - 1 }
    var low = 0, high = bounds.count - 1
    while low < high {
      let middle = (low + high) / 2
      if bounds[middle] >= z { high = middle } else { low = middle + 1 }
    }
    return low
  }
}

/// A change of a stage's replica count at a time (the tuner's decisions, replayed).
public struct ReplicaChange: Sendable, Equatable, Codable {
  /// When the new count takes effect, nanoseconds in the trace's time base.
  public var time: Int64
  public var stage: Int
  public var replicas: Int

  public init(time: Int64, stage: Int, replicas: Int) {
    self.time = time
    self.stage = stage
    self.replicas = replicas
  }
}

/// Where each query's route (the edges it takes) comes from.
public enum RouteSource: Sendable, Equatable {
  /// Drawn once per query, at arrival, from a generator with this seed: edge k is taken with its probability.
  case drawn(seed: UInt64)
  /// Given per query: bit k set when edge k (in the pipeline's edge order) is taken.
  case given([UInt64])
}

extension RouteSource {
  /// The routes `.drawn(seed:)` gives, drawn once: bit k of query q's mask set when edge k is taken. A simulation
  /// with `.given` these masks gives the same result as with `.drawn(seed:)` (route draws have a generator of their
  /// own), without drawing again: for callers that simulate one trace many times.
  /// - Complexity: O(count x edges).
  public static func drawnMasks(seed: UInt64, probabilities: [Double], count: Int) -> [UInt64] {
    var generator = SeededGenerator(seed: seed)
    return RouteDraw(probabilities: probabilities).thresholds.withUnsafeBufferPointer { thresholds in
      (0..<count).map { _ in RouteDraw.mask(thresholds, &generator) }
    }
  }

  /// Routes from the stages each query visited (a log's route column): edge k is taken when its parent and its
  /// child were both visited.
  public static func visited(_ stageMasks: [UInt64], edges: [(parent: Int, child: Int)]) -> RouteSource {
    .given(
      stageMasks.map { visited in
        var mask: UInt64 = 0
        for (k, e) in edges.enumerated()
        where visited & (1 << UInt64(e.parent)) != 0 && visited & (1 << UInt64(e.child)) != 0 {
          mask |= 1 << UInt64(k)
        }
        return mask
      })
  }
}

/// How a stage hands queries to its replicas.
public enum DispatchPolicy: Sendable, Equatable {
  /// One FIFO queue per stage; any idle replica takes the next batch (the ideal balancer).
  case centralQueue
  /// A queue per replica; each query joins a replica's queue chosen uniformly at random (seeded).
  case random(seed: UInt64)
  /// A queue per replica, chosen in turn.
  case roundRobin
  /// A queue per replica; each query joins the replica with the fewest queries queued or in service (the first
  /// of equals).
  case shortestQueue
  /// A queue per replica; each query samples `choices` replicas at random (with replacement, seeded) and joins the
  /// one with the fewest queries (the first sampled of equals): power-of-d choices.
  case powerOfChoices(choices: Int, seed: UInt64)
}

/// How long a batch takes.
public enum ServiceTimeModel: Sendable, Equatable {
  /// Exactly L(n), as profiled.
  case deterministic
  /// Lognormal with median L(n) and 99th percentile p99(n) from the profile, drawn per batch with this seed.
  case lognormal(seed: UInt64)
  /// Exponential with mean L(n), drawn per batch (for checks against M/M/c queueing formulas).
  case exponential(seed: UInt64)
  /// Correlated across stages (a large input is slow everywhere): query q at stage s takes a size factor
  /// `exp(sigma (sqrt(rho) Z_q + sqrt(1 - rho) Z_qs) - sigma^2 / 2)` (lognormal, mean 1; `Z` standard normal,
  /// drawn from the seed, the query and the stage, so a query's factors do not depend on the order of events),
  /// and a batch takes L(n) times the largest factor among its queries (a batch is padded to its largest input).
  case correlated(seed: UInt64, sigma: Double, correlation: Double)
}

extension DispatchPolicy {
  /// The policy from its name in a pipeline file or on a command line: central, random, round-robin,
  /// shortest-queue or power-of-K (K from 1 to 64); nil for anything else. The random ones draw from `seed`.
  public init?(name: String, seed: UInt64) {
    switch name {
    case "central": self = .centralQueue
    case "random": self = .random(seed: seed)
    case "round-robin": self = .roundRobin
    case "shortest-queue": self = .shortestQueue
    default:
      guard name.hasPrefix("power-of-"), let k = Int(name.dropFirst("power-of-".count)), (1...64).contains(k) else {
        return nil
      }
      self = .powerOfChoices(choices: k, seed: seed)
    }
  }

  /// The name `init(name:seed:)` reads.
  public var name: String {
    switch self {
    case .centralQueue: "central"
    case .random: "random"
    case .roundRobin: "round-robin"
    case .shortestQueue: "shortest-queue"
    case .powerOfChoices(let k, _): "power-of-\(k)"
    }
  }

  /// The same policy drawing from `seed` (unchanged when it draws nothing).
  public func seeded(_ seed: UInt64) -> DispatchPolicy {
    switch self {
    case .random: .random(seed: seed)
    case .powerOfChoices(let k, _): .powerOfChoices(choices: k, seed: seed)
    default: self
    }
  }

  /// The names a pipeline file or `--dispatch` may give, for messages.
  public static let names = "central, random, round-robin, shortest-queue or power-of-K (K from 1 to 64)"
}

/// A new replica's first batches are slower (model load, JIT compilation, cache warm-up; Orion, OSDI'22).
public struct ColdStart: Sendable, Equatable, Codable {
  /// Batches a replica added during the run serves slowly (replicas present at the start are warm).
  public var batches: Int
  /// How many times L(n) each of those takes (at least 1).
  public var slowdown: Double

  public init(batches: Int, slowdown: Double) {
    precondition(batches >= 0 && slowdown >= 1)
    self.batches = batches
    self.slowdown = slowdown
  }
}

/// A serverless tier that takes a stage's queries its provisioned replicas cannot serve in time (MArk, ATC'19):
/// a query that would wait longer than `maximumWait` at the stage, when every replica is busy, is served alone
/// on the tier instead, if fewer than `concurrencyLimit` invocations are running and the tier would finish it
/// sooner than the stage (a cold start can make it slower than waiting).
public struct ServerlessOverflow: Sendable, Equatable {
  /// L(1) on the tier, nanoseconds.
  public var latency: Int64
  /// Added to an invocation that finds no warm instance, nanoseconds.
  public var coldStart: Int64
  /// Most invocations of the stage running at once.
  public var concurrencyLimit: Int
  /// How long an idle instance stays warm, nanoseconds.
  public var keepWarm: Int64
  /// A query goes to the tier when its estimated wait at the stage is longer than this, nanoseconds. The wait is
  /// estimated as `(floor(queued / (k b)) + 1) x L(b)` with every one of the k replicas busy (0 when one is idle).
  public var maximumWait: Int64
  /// Instances kept warm all the time (provisioned concurrency), used before any other.
  public var provisioned: Int

  public init(
    latency: Int64, coldStart: Int64, concurrencyLimit: Int, keepWarm: Int64, maximumWait: Int64, provisioned: Int = 0
  ) {
    precondition(latency > 0 && coldStart >= 0 && concurrencyLimit >= 0 && keepWarm >= 0 && maximumWait >= 0)
    precondition(provisioned >= 0)
    self.provisioned = provisioned
    self.latency = latency
    self.coldStart = coldStart
    self.concurrencyLimit = concurrencyLimit
    self.keepWarm = keepWarm
    self.maximumWait = maximumWait
  }
}

/// Everything one simulation needs.
public struct SimulationInput: Sendable {
  /// Arrival times, non-decreasing, nanoseconds.
  public var arrivals: [Int64]
  public var stageCount: Int
  /// (parent, child) stage indices, in the pipeline's edge order.
  public var edges: [(parent: Int, child: Int)]
  /// Probability of each edge (for drawn routes).
  public var edgeProbabilities: [Double]
  public var stages: [StageService]
  /// Network delay per hop, nanoseconds.
  public var hopDelay: Int64
  /// Per edge (the pipeline's edge order), its own delay, nanoseconds, in place of `hopDelay`; nil: `hopDelay` on
  /// every edge. A join's arrival is the latest of its visited parents' finishes plus their edges' delays.
  public var edgeDelays: [Int64]? = nil
  public var routes: RouteSource
  public var serviceTimes: ServiceTimeModel
  /// Replica changes, in any order (sorted by the simulator).
  public var replicaChanges: [ReplicaChange]
  /// How each stage hands queries to its replicas.
  public var dispatch: DispatchPolicy = .centralQueue
  /// Replicas added during the run start cold (nil: every replica is warm).
  public var coldStart: ColdStart? = nil
  /// Per stage, a serverless tier for the queries its replicas cannot serve in time; empty (or nil for a stage):
  /// none.
  public var overflow: [ServerlessOverflow?] = []
  /// Each query's size (tokens, pixels, items; NaN where unknown), by query: a batch at a stage with
  /// `sizedLatencies` takes its largest input's bucket. Nil: every batch takes `latencyTable`.
  public var querySizes: [Float]? = nil
  /// The latency objective, nanoseconds, and its percentile.
  public var slo: Int64
  public var percentile: Percentile

  public init(
    arrivals: [Int64], stageCount: Int, edges: [(parent: Int, child: Int)], edgeProbabilities: [Double],
    stages: [StageService], hopDelay: Int64 = 0, routes: RouteSource = .drawn(seed: 1),
    serviceTimes: ServiceTimeModel = .deterministic, replicaChanges: [ReplicaChange] = [], slo: Int64,
    percentile: Percentile = .p99
  ) {
    self.arrivals = arrivals
    self.stageCount = stageCount
    self.edges = edges
    self.edgeProbabilities = edgeProbabilities
    self.stages = stages
    self.hopDelay = hopDelay
    self.routes = routes
    self.serviceTimes = serviceTimes
    self.replicaChanges = replicaChanges
    self.slo = slo
    self.percentile = percentile
  }
}

extension SimulationInput {
  /// Every stage's L(n) in one table, stage s's from `starts[s]` (n - 1 further on): how both simulators look
  /// service times up. - Complexity: O(the stages' batch sizes).
  var flatLatencyTables: (starts: [Int], table: [Int64]) {
    var starts: [Int] = []
    var table: [Int64] = []
    for service in stages {
      starts.append(table.count)
      table += service.latencyTable
    }
    return (starts, table)
  }
}
