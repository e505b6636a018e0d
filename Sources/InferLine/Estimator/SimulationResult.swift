/// End-to-end latency percentiles of a simulation, nanoseconds (nearest rank, integer ranks).
public struct LatencySummary: Sendable, Equatable, Codable {
  public var p50: Int64
  public var p95: Int64
  public var p99: Int64
  public var p999: Int64
  public var max: Int64
  public var mean: Double

  /// Nearest-rank percentiles by selection on one copy, ranks ascending, each search starting where the last
  /// ended.
  /// - Complexity: O(N) expected.
  public init(latencies: [Int64]) {
    precondition(!latencies.isEmpty)
    var values = latencies
    let n = values.count
    var low = 0
    func at(_ percent: Double) -> Int64 {
      let k = Percentile(percent: percent).rank(of: n) - 1
      let v = Selection.select(&values, k, from: low)
      low = k
      return v
    }
    p50 = at(50)
    p95 = at(95)
    p99 = at(99)
    p999 = at(99.9)
    max = latencies.max()!
    mean = latencies.reduce(0.0) { $0 + Double($1) } / Double(n)
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
  /// Sum of queueing delays (arrival at the stage's queue to the start of its batch), nanoseconds (a Double:
  /// an overloaded day's waits add up past 64-bit integers).
  public var totalWaitNanoseconds: Double
  /// Nearest-rank P99 of the queueing delay, nanoseconds (0 when statistics were not collected).
  public var p99WaitNanoseconds: Int64
  /// `batchSizeCounts[n]` = batches of n queries (index 0 unused).
  public var batchSizeCounts: [Int]

  public var utilisation: Double { replicaNanoseconds > 0 ? Double(busyNanoseconds) / Double(replicaNanoseconds) : 0 }
  public var meanWaitNanoseconds: Double { visits > 0 ? totalWaitNanoseconds / Double(visits) : 0 }
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

/// Quickselect: the k-th smallest value (0-based).
enum Selection {
  /// Moves the k-th smallest of `values[from...]` to index k (smaller ones before it) and returns it; `from` must
  /// be a position that already separates smaller values from the rest (0, or an earlier k).
  /// - Complexity: O(N) expected; in place.
  static func select(_ values: inout [Int64], _ k: Int, from: Int = 0) -> Int64 {
    values.withUnsafeMutableBufferPointer { v in
      var low = from, high = v.count - 1
      while low < high {
        // Median of three as the pivot.
        let mid = low + (high - low) / 2
        let a = v[low], b = v[mid], c = v[high]
        let pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b))
        var i = low, j = high
        while i <= j {
          while v[i] < pivot { i += 1 }
          while v[j] > pivot { j -= 1 }
          if i <= j {
            v.swapAt(i, j)
            i += 1
            j -= 1
          }
        }
        if k <= j { high = j } else if k >= i { low = i } else { return v[k] }
      }
      return v[k]
    }
  }
}
