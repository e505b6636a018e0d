/// End-to-end latency percentiles of a simulation, nanoseconds (nearest rank, integer ranks).
public struct LatencySummary: Sendable, Equatable, Codable {
  public var p50: Int64
  public var p95: Int64
  public var p99: Int64
  public var p999: Int64
  public var max: Int64
  public var mean: Double

  /// - Complexity: O(N log N) (one sort).
  public init(latencies: [Int64]) {
    precondition(!latencies.isEmpty)
    let sorted = latencies.sorted()
    p50 = Percentile(percent: 50).value(inSorted: sorted)!
    p95 = Percentile(percent: 95).value(inSorted: sorted)!
    p99 = Percentile(percent: 99).value(inSorted: sorted)!
    p999 = Percentile(percent: 99.9).value(inSorted: sorted)!
    max = sorted[sorted.count - 1]
    mean = latencies.reduce(0.0) { $0 + Double($1) } / Double(latencies.count)
  }
}

/// What one stage did during a simulation.
public struct StageStatistics: Sendable, Equatable, Codable {
  /// Queries served (visits).
  public var visits: Int
  public var batches: Int
  /// Replica time spent serving, nanoseconds.
  public var busyNanoseconds: Int64
  /// Replica time available (replicas x time, from the first arrival to the last finish), nanoseconds.
  public var replicaNanoseconds: Int64
  /// Sum of queueing delays (arrival at the stage's queue to the start of its batch), nanoseconds.
  public var totalWaitNanoseconds: Int64
  /// Nearest-rank P99 of the queueing delay, nanoseconds (0 when statistics were not collected).
  public var p99WaitNanoseconds: Int64
  /// `batchSizeCounts[n]` = batches of n queries (index 0 unused).
  public var batchSizeCounts: [Int]

  public var utilisation: Double { replicaNanoseconds > 0 ? Double(busyNanoseconds) / Double(replicaNanoseconds) : 0 }
  public var meanWaitNanoseconds: Double { visits > 0 ? Double(totalWaitNanoseconds) / Double(visits) : 0 }
  public var meanBatchSize: Double { batches > 0 ? Double(visits) / Double(batches) : 0 }
}

/// The outcome of a simulation.
public struct SimulationResult: Sendable {
  public var queries: Int
  /// End-to-end latency per query, in arrival order, nanoseconds; `Int64.max` for a query never fully served.
  /// Nil when the run stopped early.
  public var latencies: [Int64]?
  /// True when the run stopped as soon as more queries had missed the SLO than its percentile allows.
  public var stoppedEarly: Bool
  /// Queries over the SLO (counted up to the stop when stopped early).
  public var misses: Int
  /// The SLO percentile of end-to-end latency is within the SLO.
  public var feasible: Bool
  public var summary: LatencySummary?
  public var stages: [StageStatistics]
  /// Stage visits simulated (queries x stages on their routes), for throughput figures.
  public var stageVisits: Int
  /// Events handled.
  public var events: Int

  /// Fraction of queries over the SLO (nil when stopped early).
  public var fractionOverSLO: Double? { latencies == nil ? nil : Double(misses) / Double(Swift.max(queries, 1)) }
}
