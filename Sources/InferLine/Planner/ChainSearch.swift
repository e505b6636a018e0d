import Dispatch
import HeapModule

/// The cost-ordered search for a chain (each stage at most one parent and one child, in index order), as a
/// best-first branch and bound over prefixes, each stage simulated once per prefix.
///
/// The first k stages of a chain see the same arrivals whatever the later stages are, so a prefix's simulation
/// holds for every configuration that starts with it: each query's arrival at the next stage, and the SLO misses
/// among queries whose route ended within the prefix. Extending a prefix by one stage simulates that stage alone
/// on those arrivals (the same events, to the nanosecond, as the whole pipeline's simulation).
///
/// A prefix's lower bound is its cost plus the cheapest completion that could still meet the SLO: each query's
/// latency is at least its arrival at the next stage (exact) plus, for each later stage on its route, the hop and
/// the fastest batch the completion's hardware can take. Per stage only the options no faster option is cheaper
/// than matter (a Pareto front of speed and cost), so the cheapest completion is a small enumeration, counted by
/// binary search over the queries' times so far, grouped by how many stages their route has. The bound is exact
/// (never above the cheapest feasible configuration with that prefix).
///
/// Prefixes come off a heap lowest bound first, eight at a time simulated in parallel (the answer does not
/// depend on the cores); a full configuration whose simulation meets the SLO becomes the incumbent, and the search
/// is proven when the lowest bound left reaches the incumbent. One stage's simulation counts as one simulation
/// against the budget.
struct ChainSearch {
  /// A prefix of the chain: its first `length` stages' options, and what its simulation leaves.
  final class Prefix: @unchecked Sendable {
    let parent: Prefix?
    let length: Int
    /// The option of stage `length - 1` (index in the search's option list); -1 for the empty prefix.
    let option: Int
    let cost: Double
    /// What simulating the prefix left, while kept (dropped beyond the memory cap and made again on demand).
    var output: StageOutput?

    init(parent: Prefix?, length: Int, option: Int, cost: Double, output: StageOutput? = nil) {
      self.parent = parent
      self.length = length
      self.option = option
      self.cost = cost
      self.output = output
    }
  }

  /// Arrivals at the stage after a prefix, in the order the simulator creates them (its parent's finishes by time,
  /// then by position), with their queries; and the SLO misses among queries whose route ended in the prefix.
  struct StageOutput: Sendable {
    var times: [Int64]
    /// Nil for the trace itself (query = position).
    var queries: [Int32]?
    var endedMisses: Int

    var bytes: Int { times.count * 12 }
  }

  struct Entry: Comparable {
    var key: Double
    var sequence: Int
    var prefix: Prefix
    static func < (a: Self, b: Self) -> Bool { (a.key, a.sequence) < (b.key, b.sequence) }
    static func == (a: Self, b: Self) -> Bool { a.key == b.key && a.sequence == b.sequence }
  }

  /// What the search found.
  struct Outcome {
    /// The cheapest configuration it showed feasible (cheaper than the incumbent it was given), if any.
    var found: PipelineConfiguration?
    /// True when nothing cheaper than the best known configuration is feasible (or nothing is, with none known).
    var proven: Bool
    /// When stopped: dollars per hour below which nothing is feasible.
    var lowerBound: Double?
    var stoppedBy: SearchEffort.Stop?
    /// Full configurations simulated.
    var examined: Int
  }

  let model: PipelineModel
  let options: [[Planner.StageOption]]
  let arrivals: [Int64]
  let slo: Int64
  let allowedMisses: Int
  /// Per query, how many stages of the chain its route visits (1...stages).
  let depth: [UInt8]
  /// Delay of the edge into each stage (0 for the root).
  let hop: [Int64]
  /// Per stage and option: the fewest nanoseconds any batch the option allows takes.
  let fastest: [[Int64]]
  /// Per stage: the options worth completing a prefix with, as (fastest batch, cost), fastest first, each cheaper
  /// than every faster one.
  let fronts: [[(fastest: Int64, cost: Double)]]
  /// Per stage and option: its simulation service.
  let services: [[StageService]]
  /// Bytes of prefix outputs kept at once.
  let memoryCap: Int

  /// Nil unless `model` is a chain in index order (stage m's parent is m - 1).
  init?(
    model: PipelineModel, options: [[Planner.StageOption]], arrivals: [Int64], masks: [UInt64]?, slo: Int64,
    memoryCap: Int = 192 << 20
  ) {
    let n = model.stages.count
    guard n >= 1, !arrivals.isEmpty, model.roots == [0] else { return nil }
    var edgeInto = [0]
    for m in 1..<max(1, n) {
      guard model.incoming[m].count == 1, let e = model.incoming[m].first, e.parent == m - 1,
        model.outgoing[m - 1].count == 1, let k = model.edgeIndex(e), k < 64
      else { return nil }
      edgeInto.append(k)
    }
    guard model.outgoing[n - 1].isEmpty else { return nil }
    self.model = model
    self.options = options
    self.arrivals = arrivals
    self.slo = slo
    self.memoryCap = memoryCap
    allowedMisses = model.percentile.allowedMisses(of: arrivals.count)
    hop = (0..<n).map { $0 == 0 ? 0 : model.delay(model.incoming[$0][0]) }
    depth = arrivals.indices.map { q in
      guard let masks else { return UInt8(n) }
      var d = 1
      while d < n && masks[q] & (1 << UInt64(edgeInto[d])) != 0 { d += 1 }
      return UInt8(d)
    }
    var fastest: [[Int64]] = []
    var services: [[StageService]] = []
    for (m, stage) in options.enumerated() {
      var f: [Int64] = []
      var s: [StageService] = []
      for o in stage {
        let option = model.stages[m].option(hardware: o.configuration.hardware)!
        let table = Array(option.latencyTable.prefix(o.configuration.batchSize))
        f.append(table.min() ?? 0)
        s.append(
          StageService(batchSize: o.configuration.batchSize, replicas: o.configuration.replicas, latencyTable: table))
      }
      fastest.append(f)
      services.append(s)
    }
    self.fastest = fastest
    self.services = services
    fronts = options.indices.map { m in
      let bySpeed = options[m].indices.sorted {
        (fastest[m][$0], options[m][$0].costPerHour) < (fastest[m][$1], options[m][$1].costPerHour)
      }
      var front: [(fastest: Int64, cost: Double)] = []
      for i in bySpeed where front.last.map({ options[m][i].costPerHour < $0.cost - 1e-12 }) ?? true {
        if front.last?.fastest == fastest[m][i] { continue }
        front.append((fastest[m][i], options[m][i].costPerHour))
      }
      return front
    }
  }

  // MARK: - One stage at a time

  /// Stage `m` (option `i`) simulated alone on the arrivals a prefix leaves: the arrivals it passes to stage
  /// m + 1 and the misses among queries whose route ends at it. - Complexity: O(arrivals x log(arrivals)).
  func advance(_ input: StageOutput, stage m: Int, option i: Int) -> StageOutput {
    let count = input.times.count
    guard count > 0 else { return StageOutput(times: [], queries: [], endedMisses: input.endedMisses) }
    let simulation = SimulationInput(
      arrivals: input.times, stageCount: 1, edges: [], edgeProbabilities: [], stages: [services[m][i]], slo: slo,
      percentile: model.percentile)
    var options = Estimator.Options(collectWaitPercentiles: false)
    options.summarisesLatencies = false
    let latencies = Estimator.simulate(simulation, options: options).latencies!
    var finishes = [Int64](repeating: 0, count: count)
    var sorted = true
    for p in 0..<count {
      finishes[p] = input.times[p] + latencies[p]
      if p > 0 && finishes[p] < finishes[p - 1] { sorted = false }
    }
    // The simulator hands a stage's finishes on by time, then by batch (whose order is the queue's): by position.
    var order = Array(0..<count)
    if !sorted { order.sort { finishes[$0] != finishes[$1] ? finishes[$0] < finishes[$1] : $0 < $1 } }
    var times: [Int64] = []
    var queries: [Int32] = []
    times.reserveCapacity(count)
    queries.reserveCapacity(count)
    var ended = input.endedMisses
    let next = m + 1
    for p in order {
      let q = input.queries.map { Int($0[p]) } ?? p
      if Int(depth[q]) > next {
        times.append(finishes[p] + hop[next])
        queries.append(Int32(truncatingIfNeeded: q))
      } else if finishes[p] - arrivals[q] > slo {
        ended += 1
      }
    }
    return StageOutput(times: times, queries: queries, endedMisses: ended)
  }

  // MARK: - Bounds

  /// Per query arriving at stage k, its time so far (arrival there less its trace arrival), grouped by the stage
  /// its route ends at (index d - k - 1 for depth d), sorted; of a group larger than the misses allowed, only its
  /// largest values (the misses allowed and one, with ties), which decide whether a completion keeps within the
  /// allowance: above a kept value a count is exact, below them all it is over the allowance either way.
  /// - Complexity: O(arrivals) expected, plus sorting what is kept.
  func timesSoFar(_ output: StageOutput, at k: Int) -> [[Int64]] {
    var groups = [[Int64]](repeating: [], count: model.stages.count - k)
    for (p, t) in output.times.enumerated() {
      let q = output.queries.map { Int($0[p]) } ?? p
      groups[Int(depth[q]) - k - 1].append(t - arrivals[q])
    }
    let deciding = allowedMisses + 1
    for g in groups.indices {
      if groups[g].count > deciding {
        let smallestKept = Selection.select(&groups[g], groups[g].count - deciding)
        groups[g].removeAll { $0 < smallestKept }
      }
      groups[g].sort()
    }
    return groups
  }

  /// The cheapest completion of stages k+1 ..< stages, given stage k takes at least `first` nanoseconds per batch:
  /// dollars per hour, or nil when no completion keeps the misses within the allowance.
  func cheapestCompletion(after k: Int, first: Int64, groups: [[Int64]], endedMisses: Int) -> Double? {
    let n = model.stages.count
    var best = Double.infinity
    var chosen = [Int64](repeating: 0, count: n)
    chosen[k] = first
    func misses() -> Int {
      var total = endedMisses
      var path: Int64 = 0
      for d in (k + 1)...n {
        path += chosen[d - 1] + (d - 1 > k ? hop[d - 1] : 0)
        let group = groups[d - k - 1]
        // Queries whose time so far is above slo - path miss.
        var lo = 0, hi = group.count
        let limit = slo - path
        while lo < hi {
          let mid = (lo + hi) >> 1
          if group[mid] > limit { hi = mid } else { lo = mid + 1 }
        }
        total += group.count - lo
        if total > allowedMisses { return total }
      }
      return total
    }
    func choose(_ j: Int, _ cost: Double) {
      guard cost < best else { return }
      if j == n {
        if misses() <= allowedMisses { best = cost }
        return
      }
      for entry in fronts[j] {
        chosen[j] = entry.fastest
        choose(j + 1, cost + entry.cost)
      }
    }
    choose(k + 1, 0)
    return best.isFinite ? best : nil
  }

  // MARK: - The search

  /// Runs the search below `incumbent` (dollars per hour of the best configuration known, if any).
  /// - Parameter simulated: called with the number of stage simulations run after each batch (the budget's count).
  func run(
    budget: SearchBudget, incumbent: Double?, started: ContinuousClock.Instant, simulationsBefore: () -> Int,
    simulated: (Int) -> Void
  ) -> Outcome {
    let n = model.stages.count
    var best = incumbent ?? .infinity
    var found: Prefix? = nil
    var heap = Heap<Entry>()
    var sequence = 0
    var kept: [Prefix] = []
    var keptBytes = 0
    var examined = 0

    /// Pushes the extensions of a simulated prefix whose bound is below the best known.
    func expand(_ prefix: Prefix, key: Double) {
      let k = prefix.length
      let output = prefix.output!
      let groups = timesSoFar(output, at: k)
      var completion: [Int64: Double?] = [:]
      for (i, option) in options[k].enumerated() {
        let f = fastest[k][i]
        if completion[f] == nil {
          completion[f] = .some(cheapestCompletion(after: k, first: f, groups: groups, endedMisses: output.endedMisses))
        }
        guard let rest = completion[f]! else { continue }
        let childKey = max(key, prefix.cost + option.costPerHour + rest)
        guard childKey < best - 1e-9 else { continue }
        sequence += 1
        heap.insert(
          Entry(
            key: childKey, sequence: sequence,
            prefix: Prefix(parent: prefix, length: k + 1, option: i, cost: prefix.cost + option.costPerHour)))
      }
    }
    func keep(_ prefix: Prefix) {
      kept.append(prefix)
      keptBytes += prefix.output!.bytes
      var dropped = 0
      while keptBytes > memoryCap && dropped < kept.count - 1 {
        keptBytes -= kept[dropped].output?.bytes ?? 0
        kept[dropped].output = nil
        dropped += 1
      }
      if dropped > 0 { kept.removeFirst(dropped) }
    }
    /// A prefix's output, simulated again from its nearest kept ancestor when it was dropped.
    var remade = 0
    func materialise(_ prefix: Prefix) -> StageOutput {
      if let output = prefix.output { return output }
      let input = materialise(prefix.parent!)
      let output = advance(input, stage: prefix.length - 1, option: prefix.option)
      remade += 1
      prefix.output = output
      keep(prefix)
      return output
    }

    let root = Prefix(
      parent: nil, length: 0, option: -1, cost: 0, output: StageOutput(times: arrivals, queries: nil, endedMisses: 0))
    expand(root, key: 0)
    var proven = false
    var stoppedBy: SearchEffort.Stop? = nil
    var lowerBound: Double? = nil
    while true {
      guard let top = heap.min else {
        proven = true
        break
      }
      if top.key >= best - 1e-9 {
        proven = true
        break
      }
      if examined >= budget.configurations {
        stoppedBy = .configurations
      } else if simulationsBefore() >= budget.simulations {
        stoppedBy = .simulations
      } else if let seconds = budget.seconds, started.duration(to: .now) >= .seconds(seconds) {
        stoppedBy = .time
      }
      if stoppedBy != nil {
        lowerBound = min(top.key, best)
        break
      }
      var group: [Entry] = []
      while group.count < 8, let entry = heap.min, entry.key < best - 1e-9 {
        heap.removeMin()
        group.append(entry)
      }
      let inputs = group.map { materialise($0.prefix.parent!) }
      let prefixes = group.map(\.prefix)
      let outputs = ResultSlots<StageOutput>(count: group.count)
      DispatchQueue.concurrentPerform(iterations: group.count) { g in
        let prefix = prefixes[g]
        outputs[g] = advance(inputs[g], stage: prefix.length - 1, option: prefix.option)
      }
      simulated(group.count + remade)
      remade = 0
      for (g, entry) in group.enumerated() {
        let prefix = entry.prefix, output = outputs[g]!
        if prefix.length == n {
          examined += 1
          if output.endedMisses <= allowedMisses && prefix.cost < best - 1e-9 {
            best = prefix.cost
            found = prefix
          }
          continue
        }
        prefix.output = output
        keep(prefix)
        expand(prefix, key: entry.key)
      }
    }
    var configuration: PipelineConfiguration? = nil
    if let found {
      var stages: [StageConfiguration] = []
      var p: Prefix? = found
      while let prefix = p, prefix.length > 0 {
        stages.append(options[prefix.length - 1][prefix.option].configuration)
        p = prefix.parent
      }
      configuration = PipelineConfiguration(stages: stages.reversed())
    }
    return Outcome(
      found: configuration, proven: proven, lowerBound: lowerBound, stoppedBy: stoppedBy, examined: examined)
  }
}
