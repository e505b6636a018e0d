import Dispatch
import Foundation
import HeapModule

extension Planner {
  /// One stage's choice in the exact search.
  struct StageOption {
    var configuration: StageConfiguration
    var costPerHour: Double
  }

  /// Each stage's options, cheapest first: every candidate hardware, every useful profiled batch size, and
  /// replicas from what the mean rate needs up to the hardware's limit (or, without one, 4x that need plus 8).
  func stageOptions() -> [[StageOption]] {
    pipeline.stages.indices.map { i in
      var options: [StageOption] = []
      for candidate in inputs.candidates(forStage: i) {
        for b in candidate.profile.usefulBatchSizes {
          let low = minimumReplicas(stage: i, hardware: candidate.hardware.type, batch: b)
          let high = candidate.hardware.maxReplicas ?? (4 * low + 8)
          guard low <= high else { continue }
          for k in low...high {
            options.append(
              StageOption(
                configuration: StageConfiguration(hardware: candidate.hardware.type, batchSize: b, replicas: k),
                costPerHour: Double(k) * candidate.hardware.pricePerHour))
          }
        }
      }
      return options.sorted { ($0.costPerHour, $0.configuration.replicas) < ($1.costPerHour, $1.configuration.replicas) }
    }
  }

  /// A combination of stage options in the cost-ordered search.
  struct Combination: Comparable {
    var cost: Double
    var indices: [Int]
    /// Successors increment only coordinates at or after this one, so every combination is made once.
    var pivot: Int
    static func < (a: Self, b: Self) -> Bool { a.cost != b.cost ? a.cost < b.cost : a.indices.lexicographicallyPrecedes(b.indices) }
    static func == (a: Self, b: Self) -> Bool { a.cost == b.cost && a.indices == b.indices }
  }

  /// The true minimum-cost feasible configuration over hardware x useful batch sizes x replicas.
  ///
  /// Combinations are visited in order of cost (a heap of index tuples over each stage's cost-sorted options);
  /// the first feasible one is the optimum. Each is first checked against necessary conditions (capacity for the
  /// mean rate, the latency floor), then the network-calculus sufficient condition, and only then simulated.
  /// Batches of combinations are checked in parallel; the first feasible in cost order wins, so the answer does
  /// not depend on the number of cores.
  /// - Parameter limit: combinations to examine before giving up.
  public func exact(limit: Int = 200_000) -> Result<Plan, Unattainable> {
    let options = stageOptions()
    guard options.allSatisfy({ !$0.isEmpty }) else {
      return .failure(Unattainable(reason: "some stage has no hardware that can carry the mean rate", attainableSLOMs: nil))
    }
    let floor = inputs.latencyFloor(certainEdgesOnly: true)
    if floor.nanoseconds > oracle.slo {
      return .failure(Unattainable(
        reason: String(
          format: "the critical path at batch 1 on the fastest hardware takes %.2f ms against an SLO of %.2f ms",
          Double(floor.nanoseconds) / 1e6, Double(oracle.slo) / 1e6), attainableSLOMs: nil))
    }
    func combination(_ indices: [Int], pivot: Int) -> Combination {
      Combination(cost: indices.enumerated().reduce(0) { $0 + options[$1.offset][$1.element].costPerHour }, indices: indices, pivot: pivot)
    }
    func configuration(_ c: Combination) -> PipelineConfiguration {
      PipelineConfiguration(stages: c.indices.enumerated().map { options[$0.offset][$0.element].configuration })
    }
    var heap = Heap<Combination>()
    heap.insert(combination([Int](repeating: 0, count: options.count), pivot: 0))
    var examined = 0
    let batch = 8
    while !heap.isEmpty && examined < limit {
      var group: [Combination] = []
      while group.count < batch, let next = heap.popMin() {
        group.append(next)
        for j in next.pivot..<options.count where next.indices[j] + 1 < options[j].count {
          var indices = next.indices
          indices[j] += 1
          heap.insert(combination(indices, pivot: j))
        }
      }
      examined += group.count
      let answers = oracle.evaluate(group.map(configuration))
      if let first = answers.firstIndex(where: \.feasible) {
        let config = configuration(group[first])
        let answer = answers[first]
        return .success(
          Plan(
            method: "exact", configuration: config, costPerHour: group[first].cost,
            percentileLatencyMs: answer.percentileLatency.map { Double($0) / 1e6 }, boundMs: answer.bound.map { $0 * 1e3 },
            steps: [], counts: oracle.counters))
      }
    }
    return .failure(Unattainable(
      reason: heap.isEmpty
        ? "no configuration within the hardware's replica limits meets the SLO"
        : "the exact search stopped after \(examined) configurations without a feasible one",
      attainableSLOMs: nil))
  }

  /// Every configuration of the exact search's space, simulated, cheapest feasible returned: for tests on small
  /// instances (its cost grows as the product of the stages' option counts).
  func bruteForce() -> (configuration: PipelineConfiguration, cost: Double)? {
    let options = stageOptions()
    var best: (PipelineConfiguration, Double)? = nil
    var indices = [Int](repeating: 0, count: options.count)
    while true {
      let config = PipelineConfiguration(stages: indices.enumerated().map { options[$0.offset][$0.element].configuration })
      let c = cost(config)
      if best == nil || c < best!.1 {
        if (try? oracle.simulateFully(config))?.result.feasible == true { best = (config, c) }
      }
      var j = 0
      while j < indices.count {
        indices[j] += 1
        if indices[j] < options[j].count { break }
        indices[j] = 0
        j += 1
      }
      if j == indices.count { return best }
    }
  }
}
