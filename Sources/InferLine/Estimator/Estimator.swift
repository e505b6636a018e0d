import Foundation
import HeapModule

/// The discrete-event simulator that predicts every query's end-to-end latency.
///
/// Each stage has one FIFO queue and `k` replicas. Whenever a replica is idle and the queue is not empty, it takes
/// `n = min(queue length, b)` queries at once and is busy for `L(n)`; then each query goes on along its route
/// (joins wait for every parent on the route). Events are handled one at a time in the order (time, kind,
/// creation), with kinds ordered replica changes, then batch finishes, then arrivals; the trace's arrivals count
/// as created before any arrival the simulation makes. Stages dispatch after every single event. All arithmetic is
/// in integer nanoseconds, so with deterministic service times and given routes the result is a pure function of
/// the trace and the configuration.
/// - Complexity: O(events x log(events in flight)); memory about 20 bytes per query beyond the trace.
public enum Estimator {
  /// Options that trade detail for speed.
  public struct Options: Sendable {
    /// Stop as soon as more queries have missed the SLO than its percentile allows (for feasibility checks).
    public var stopWhenInfeasible = false
    /// Keep per-stage queueing delays for their P99 (8 bytes per stage visit).
    public var collectWaitPercentiles = true

    public init(stopWhenInfeasible: Bool = false, collectWaitPercentiles: Bool = true) {
      self.stopWhenInfeasible = stopWhenInfeasible
      self.collectWaitPercentiles = collectWaitPercentiles
    }
  }

  /// Simulates the whole trace.
  public static func simulate(_ input: SimulationInput, options: Options = Options()) -> SimulationResult {
    var state = SimulationState(input: input, options: options)
    return state.run()
  }

  /// Whether the SLO percentile is met, stopping as soon as the answer is known.
  public static func feasible(_ input: SimulationInput) -> (feasible: Bool, stoppedEarly: Bool) {
    let result = simulate(input, options: Options(stopWhenInfeasible: true, collectWaitPercentiles: false))
    return (result.feasible, result.stoppedEarly)
  }
}

/// An event in the simulator's queue, ordered by (time, kind, creation).
struct SimulationEvent: Comparable {
  static let change: UInt64 = 0
  static let finish: UInt64 = 1
  static let arrival: UInt64 = 2

  var time: Int64
  /// kind << 56 | creation sequence.
  var order: UInt64
  /// Stage.
  var stage: Int32
  /// Replica (finish), query (arrival) or replica count (change).
  var subject: Int32

  var kind: UInt64 { order >> 56 }

  @inline(__always)
  static func < (a: Self, b: Self) -> Bool { a.time != b.time ? a.time < b.time : a.order < b.order }
  static func == (a: Self, b: Self) -> Bool { a.time == b.time && a.order == b.order }
}

/// A query waiting in a stage's queue, with the time it joined it.
struct QueuedQuery {
  var query: Int32
  var since: Int64
}

/// A FIFO of waiting queries: a growable ring buffer.
struct QueryQueue {
  private var storage: [QueuedQuery] = Array(repeating: QueuedQuery(query: 0, since: 0), count: 64)
  private var head = 0
  private(set) var count = 0

  @inline(__always)
  mutating func append(_ q: QueuedQuery) {
    if count == storage.count { grow() }
    var index = head + count
    if index >= storage.count { index -= storage.count }
    storage[index] = q
    count += 1
  }

  @inline(__always)
  mutating func removeFirst() -> QueuedQuery {
    let q = storage[head]
    head += 1
    if head == storage.count { head = 0 }
    count -= 1
    return q
  }

  private mutating func grow() {
    var bigger = [QueuedQuery](repeating: QueuedQuery(query: 0, since: 0), count: storage.count * 2)
    for i in 0..<count { bigger[i] = storage[(head + i) % storage.count] }
    storage = bigger
    head = 0
  }
}

/// The mutable state of one simulation run.
struct SimulationState {
  let input: SimulationInput
  let options: Options
  typealias Options = Estimator.Options

  // Pipeline shape.
  let stageCount: Int
  /// Outgoing edges per stage: (edge index, child).
  let outgoing: [[(edge: Int, child: Int)]]
  /// Index of each stage among join stages (several parents), or -1.
  let joinIndex: [Int]
  let joinCount: Int
  let roots: [Int]
  let order: [Int]

  // Per query.
  var routeMask: [UInt64]
  var lastFinish: [Int64]
  var remaining: [UInt8]
  var joinWaiting: [UInt8]
  var missed: [Bool]

  // Per stage.
  var queues: [QueryQueue]
  var idle: [[Int32]]
  var batches: [[[Int32]]]
  var active: [Int]
  var pendingRemovals: [Int]
  var lastReplicaChange: [Int64]
  var stats: [StageStatistics]
  var waits: [[Int64]]

  var heap = Heap<SimulationEvent>()
  var sequence: UInt64 = 0
  var misses = 0
  var allowedMisses: Int
  var events = 0
  var visits = 0
  var routeRNG: SeededGenerator
  var serviceRNG: SeededGenerator
  /// Route facts per distinct route mask: stages visited, and expected parents per join stage.
  var routeCache: [UInt64: (visited: UInt8, joins: [UInt8])] = [:]

  init(input: SimulationInput, options: Options) {
    self.input = input
    self.options = options
    stageCount = input.stageCount
    precondition(input.edges.count <= 64, "at most 64 edges")
    var out = [[(edge: Int, child: Int)]](repeating: [], count: stageCount)
    var parents = [Int](repeating: 0, count: stageCount)
    for (k, e) in input.edges.enumerated() {
      out[e.parent].append((k, e.child))
      parents[e.child] += 1
    }
    outgoing = out
    var joins = [Int](repeating: -1, count: stageCount)
    var j = 0
    for s in 0..<stageCount where parents[s] > 1 {
      joins[s] = j
      j += 1
    }
    joinIndex = joins
    joinCount = j
    roots = (0..<stageCount).filter { parents[$0] == 0 }
    order = PipelineSpec.topologicalOrder(count: stageCount, edges: input.edges.map { ($0.parent, $0.child) }) ?? []
    let n = input.arrivals.count
    routeMask = [UInt64](repeating: 0, count: input.edges.isEmpty ? 0 : n)
    if case .given(let masks) = input.routes {
      precondition(masks.count == n, "given routes must have one entry per query")
      routeMask = masks
    }
    lastFinish = input.arrivals
    remaining = [UInt8](repeating: 0, count: n)
    joinWaiting = [UInt8](repeating: 0, count: n * j)
    missed = [Bool](repeating: false, count: n)
    queues = [QueryQueue](repeating: QueryQueue(), count: stageCount)
    idle = input.stages.map { s in (0..<Int32(s.replicas)).reversed().map { $0 } }
    batches = input.stages.map { s in [[Int32]](repeating: [], count: s.replicas) }
    active = input.stages.map(\.replicas)
    pendingRemovals = [Int](repeating: 0, count: stageCount)
    let start = input.arrivals.first ?? 0
    lastReplicaChange = [Int64](repeating: start, count: stageCount)
    stats = input.stages.map { s in
      StageStatistics(
        visits: 0, batches: 0, busyNanoseconds: 0, replicaNanoseconds: 0, totalWaitNanoseconds: 0,
        p99WaitNanoseconds: 0, batchSizeCounts: [Int](repeating: 0, count: s.batchSize + 1))
    }
    waits = [[Int64]](repeating: [], count: stageCount)
    allowedMisses = input.percentile.allowedMisses(of: n)
    var routeSeed: UInt64 = 0
    if case .drawn(let seed) = input.routes { routeSeed = seed }
    routeRNG = SeededGenerator(seed: routeSeed)
    switch input.serviceTimes {
    case .deterministic: serviceRNG = SeededGenerator(seed: 0)
    case .lognormal(let seed), .exponential(let seed): serviceRNG = SeededGenerator(seed: seed ^ 0x5EED_5EED)
    }
  }

  @inline(__always)
  mutating func push(time: Int64, kind: UInt64, stage: Int, subject: Int32) {
    sequence &+= 1
    heap.insert(SimulationEvent(time: time, order: kind << 56 | sequence, stage: Int32(stage), subject: subject))
  }

  mutating func run() -> SimulationResult {
    let arrivals = input.arrivals
    let n = arrivals.count
    for change in input.replicaChanges.sorted(by: { ($0.time, $0.stage) < ($1.time, $1.stage) }) {
      push(time: change.time, kind: SimulationEvent.change, stage: change.stage, subject: Int32(change.replicas))
    }
    var nextArrival = 0
    var stopped = false
    var now = arrivals.first ?? 0
    while true {
      // The next event: the heap's, unless the next trace arrival comes first. Trace arrivals sort after every
      // change and finish at their time, and before arrivals the simulation creates.
      if let top = heap.min, nextArrival >= n || top.time < arrivals[nextArrival]
        || (top.time == arrivals[nextArrival] && top.kind < SimulationEvent.arrival)
      {
        let event = heap.removeMin()
        now = event.time
        events += 1
        switch event.order >> 56 {
        case SimulationEvent.finish: finish(stage: Int(event.stage), replica: Int(event.subject), at: now)
        case SimulationEvent.arrival: arrive(query: Int(event.subject), stage: Int(event.stage), at: now)
        default: changeReplicas(stage: Int(event.stage), to: Int(event.subject), at: now)
        }
      } else if nextArrival < n {
        now = arrivals[nextArrival]
        events += 1
        enter(query: nextArrival, at: now)
        nextArrival += 1
      } else {
        break
      }
      if options.stopWhenInfeasible && misses > allowedMisses {
        stopped = true
        break
      }
    }
    // Replica time up to the end.
    for s in 0..<stageCount {
      stats[s].replicaNanoseconds += Int64(active[s]) * (now - lastReplicaChange[s])
      if options.collectWaitPercentiles, !waits[s].isEmpty {
        waits[s].sort()
        stats[s].p99WaitNanoseconds = Percentile(percent: 99).value(inSorted: waits[s])!
      }
    }
    if stopped {
      return SimulationResult(
        queries: n, latencies: nil, stoppedEarly: true, misses: misses, feasible: false, summary: nil, stages: stats,
        stageVisits: visits, events: events)
    }
    var latencies = lastFinish
    var over = 0
    for q in 0..<n {
      if remaining[q] > 0 || q >= nextArrival {
        latencies[q] = .max  // never fully served (a stage without replicas)
      } else {
        latencies[q] -= arrivals[q]
      }
      if latencies[q] > input.slo { over += 1 }
    }
    let feasible = over <= allowedMisses
    return SimulationResult(
      queries: n, latencies: latencies, stoppedEarly: false, misses: over, feasible: feasible,
      summary: n > 0 ? LatencySummary(latencies: latencies) : nil, stages: stats, stageVisits: visits, events: events)
  }

  /// A trace arrival: draw the route, then enter every root.
  mutating func enter(query q: Int, at t: Int64) {
    if !input.edges.isEmpty {
      if case .drawn = input.routes {
        var mask: UInt64 = 0
        for (k, p) in input.edgeProbabilities.enumerated() where routeRNG.nextUnitInterval() < p {
          mask |= 1 << UInt64(k)
        }
        routeMask[q] = mask
      }
      let facts = routeFacts(routeMask[q])
      remaining[q] = facts.visited
      if joinCount > 0 {
        for j in 0..<joinCount { joinWaiting[q * joinCount + j] = facts.joins[j] }
      }
    } else {
      remaining[q] = UInt8(stageCount)
    }
    for r in roots { arrive(query: q, stage: r, at: t) }
  }

  /// Stages visited and parents to wait for at each join, for a route.
  mutating func routeFacts(_ mask: UInt64) -> (visited: UInt8, joins: [UInt8]) {
    if let known = routeCache[mask] { return known }
    var visited = [Bool](repeating: false, count: stageCount)
    for r in roots { visited[r] = true }
    var joins = [UInt8](repeating: 0, count: joinCount)
    for s in order where visited[s] {
      for (k, c) in outgoing[s] where mask & (1 << UInt64(k)) != 0 {
        visited[c] = true
        if joinIndex[c] >= 0 { joins[joinIndex[c]] += 1 }
      }
    }
    let facts = (UInt8(visited.filter { $0 }.count), joins)
    routeCache[mask] = facts
    return facts
  }

  /// A query joins a stage's queue; the stage dispatches.
  @inline(__always)
  mutating func arrive(query q: Int, stage s: Int, at t: Int64) {
    queues[s].append(QueuedQuery(query: Int32(q), since: t))
    dispatch(stage: s, at: t)
  }

  /// Idle replicas take batches while queries wait.
  mutating func dispatch(stage s: Int, at t: Int64) {
    let service = input.stages[s]
    while queues[s].count > 0, let replica = idle[s].popLast() {
      let size = min(queues[s].count, service.batchSize)
      var members = batches[s][Int(replica)]
      members.removeAll(keepingCapacity: true)
      for _ in 0..<size {
        let entry = queues[s].removeFirst()
        members.append(entry.query)
        let wait = t - entry.since
        stats[s].totalWaitNanoseconds += wait
        if options.collectWaitPercentiles { waits[s].append(wait) }
      }
      batches[s][Int(replica)] = members
      let duration = serviceTime(stage: s, size: size)
      stats[s].busyNanoseconds += duration
      stats[s].batches += 1
      stats[s].visits += size
      stats[s].batchSizeCounts[size] += 1
      visits += size
      push(time: t + duration, kind: SimulationEvent.finish, stage: s, subject: replica)
    }
  }

  @inline(__always)
  mutating func serviceTime(stage s: Int, size: Int) -> Int64 {
    let median = input.stages[s].latencyTable[size - 1]
    switch input.serviceTimes {
    case .deterministic:
      return median
    case .exponential:
      return max(1, Int64((-Double(median) * log(serviceRNG.nextUnitInterval())).rounded()))
    case .lognormal:
      guard let p99 = input.stages[s].p99Table?[size - 1], p99 > median else { return median }
      let sigma = log(Double(p99) / Double(median)) / 2.326_347_874_040_840_8
      return max(1, Int64((Double(median) * exp(sigma * serviceRNG.nextStandardNormal())).rounded()))
    }
  }

  /// A batch finishes: its queries go on along their routes; the replica serves again (or leaves).
  mutating func finish(stage s: Int, replica: Int, at t: Int64) {
    let members = batches[s][replica]
    let slo = input.slo
    for q32 in members {
      let q = Int(q32)
      if t > lastFinish[q] { lastFinish[q] = t }
      remaining[q] &-= 1
      if !missed[q] && t - input.arrivals[q] > slo {
        missed[q] = true
        misses += 1
      }
      if outgoing[s].isEmpty { continue }
      let mask = routeMask[q]
      for (k, c) in outgoing[s] where mask & (1 << UInt64(k)) != 0 {
        let j = joinIndex[c]
        if j >= 0 {
          joinWaiting[q * joinCount + j] &-= 1
          if joinWaiting[q * joinCount + j] != 0 { continue }  // other parents still running
        }
        push(time: t + input.hopDelay, kind: SimulationEvent.arrival, stage: c, subject: q32)
      }
    }
    if pendingRemovals[s] > 0 {
      pendingRemovals[s] -= 1
      noteReplicaCount(stage: s, at: t, change: -1)
    } else {
      idle[s].append(Int32(replica))
    }
    dispatch(stage: s, at: t)
  }

  /// Replica time is accounted whenever the count changes.
  mutating func noteReplicaCount(stage s: Int, at t: Int64, change: Int) {
    stats[s].replicaNanoseconds += Int64(active[s]) * (t - lastReplicaChange[s])
    lastReplicaChange[s] = t
    active[s] += change
  }

  /// The tuner's decision: `count` replicas from now. New replicas serve at once; a removed busy replica
  /// finishes its batch first.
  mutating func changeReplicas(stage s: Int, to count: Int, at t: Int64) {
    let target = max(0, count)
    let effective = active[s] - pendingRemovals[s]
    if target > effective {
      var add = target - effective
      let cancel = min(add, pendingRemovals[s])
      pendingRemovals[s] -= cancel
      add -= cancel
      for _ in 0..<add {
        batches[s].append([])
        idle[s].append(Int32(batches[s].count - 1))
      }
      noteReplicaCount(stage: s, at: t, change: add)
      dispatch(stage: s, at: t)
    } else if target < effective {
      var remove = effective - target
      while remove > 0, idle[s].popLast() != nil {
        remove -= 1
        noteReplicaCount(stage: s, at: t, change: -1)
      }
      pendingRemovals[s] += remove  // busy ones leave when their batch is done
    }
  }
}
