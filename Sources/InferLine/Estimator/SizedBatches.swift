/// Latency by input size for one simulation, flattened for the simulators' hot paths: stage s's buckets are
/// `bucketStart[s] ..< bucketStart[s + 1]` (none when equal), bucket k's bound `bucketBound[k]` and its L(n) at
/// `bucketLatency[k * stride + n - 1]`; each query's size in `sizes`. Without sizes (or with no stage that has
/// buckets) no stage `follows` one.
struct SizedBatches: ~Copyable {
  let bucketStart: Slab<Int>
  let bucketBound: Slab<Double>
  let bucketLatency: Slab<Int64>
  let stride: Int
  let sizes: Slab<Float>

  /// No stage follows a size when `SimulationInput.querySizes` is nil or no stage has `sizedLatencies`.
  init(_ input: SimulationInput) {
    guard let sizes = input.querySizes, input.stages.contains(where: { $0.sizedLatencies != nil }) else {
      bucketStart = Slab(repeating: 0, count: input.stageCount + 1)
      bucketBound = Slab.empty()
      bucketLatency = Slab.empty()
      stride = 1
      self.sizes = Slab.empty()
      return
    }
    precondition(sizes.count == input.arrivals.count, "query sizes must have one entry per query")
    stride = input.stages.map(\.batchSize).max() ?? 1
    var starts = [0]
    var bounds: [Double] = []
    var latencies: [Int64] = []
    for service in input.stages {
      for (bound, table) in zip(service.sizedLatencies?.bounds ?? [], service.sizedLatencies?.tables ?? []) {
        bounds.append(bound)
        latencies += table + [Int64](repeating: 0, count: stride - table.count)
      }
      starts.append(bounds.count)
    }
    self.sizes = Slab(sizes)
    bucketStart = Slab(starts)
    bucketBound = Slab(bounds)
    bucketLatency = Slab(latencies)
  }

  /// Whether stage s's batches follow their inputs' sizes.
  @inline(__always) func follows(stage s: Int) -> Bool { bucketStart.base[s] < bucketStart.base[s + 1] }

  /// L(n) at stage s (which `follows`) for a batch of `n` whose queries are `query(0) ..< query(n - 1)`: the first
  /// bucket that holds the largest input (the last for a larger one or an unknown size), by
  /// `SizedLatencies.bucket(holding:in:)`. - Complexity: O(n + log buckets).
  @inline(__always)
  func latency(stage s: Int, batch n: Int, query: (Int) -> Int) -> Int64 {
    var largest: Float = 0
    for i in 0..<n {
      let z = sizes.base[query(i)]
      if !(z <= largest) { largest = z.isNaN ? .infinity : z }
    }
    let from = bucketStart.base[s]
    let bounds = UnsafeBufferPointer(start: bucketBound.base + from, count: bucketStart.base[s + 1] - from)
    let k = from + SizedLatencies.bucket(holding: Double(largest), in: bounds)
    return bucketLatency.base[k * stride + n - 1]
  }
}
