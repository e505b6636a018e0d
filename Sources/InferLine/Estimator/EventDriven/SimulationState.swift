import Foundation

/// A replica change or batch finish in the simulator's queue, ordered by (time, kind, creation). (Arrivals the
/// simulation creates sort after both at the same time and wait in their own queue, `ArrivalQueue`.)
struct SimulationEvent: Comparable {
  static let change: UInt64 = 0
  static let finish: UInt64 = 1
  /// Set in a change's `subject` when the replicas it adds were warmed up before they serve (pre-warming).
  static let warm: Int32 = 1 << 30

  var time: Int64
  /// kind << 56 | creation sequence.
  var order: UInt64
  /// Stage.
  var stage: Int32
  /// Replica (finish) or replica count (change).
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

/// What every queueing discipline of the event-driven simulator shares (`EventSimulation`): the pipeline's
/// shape, each stage's counts, each replica's batch, each query's route and progress, the pending events, the
/// service-time sampler and the overflow tier. Stages, replicas and queries are numbered; their state is kept in
/// flat buffers indexed by those numbers. Non-copyable: it owns those buffers, which free themselves.
struct SimulationState: ~Copyable {
  let input: SimulationInput
  let options: Estimator.Options
  typealias Options = Estimator.Options

  // Pipeline shape.
  let stageCount: Int
  let edgeCount: Int
  /// Outgoing edges of stage s: `outEdge.base[outStart.base[s] ..< outStart.base[s + 1]]` (edge index) and `outChild` (child).
  let outStart: Slab<Int>
  let outEdge: Slab<Int>
  let outChild: Slab<Int>
  /// Index of each stage among join stages (several parents), or -1.
  let joinIndex: Slab<Int>
  let joinCount: Int
  let roots: [Int]
  let rootSlab: Slab<Int>
  let order: [Int]
  let hop: Int64
  let slo: Int64

  // Per stage.
  let batchLimit: Slab<Int>
  var sampler: ServiceTimeSampler
  var overflow: OverflowTier
  /// Whether routes are drawn (not given), and each edge's `RouteDraw` threshold.
  let drawRoutes: Bool
  let routeThreshold: Slab<UInt64>
  /// Replicas serving, including ones finishing a last batch before they leave.
  var active: Slab<Int>
  var lastReplicaChange: Slab<Int64>
  /// Replica time accounted up to `lastReplicaChange`, nanoseconds.
  var replicaTime: Slab<Int64>
  var visitCount: Slab<Int>
  var batchCount: Slab<Int>
  var busy: Slab<Int64>
  var waitSum: Slab<Double>
  /// Batches of n queries at stage s: `batchSizes.base[batchSizeStart[s] + n]`.
  let batchSizeStart: [Int]
  var batchSizes: Slab<Int>
  /// Per stage, the largest queueing delays (enough for their P99).
  var waits: [LargestValues]
  /// Queries in service (in a batch on a replica) per stage.
  var inService: Slab<Int>

  // Per replica (numbered across stages; stages that gain replicas add numbers).
  var replicaCount = 0
  let memberStride: Int
  var members: Slab<Int32>
  var memberCount: Slab<Int>
  var replicaStage: Slab<Int32>
  /// Per replica, slow batches still to serve (`ColdStart`); replicas present at the start have none.
  var coldLeft: [Int32] = []
  let coldBatches: Int32
  let coldSlowdown: Double

  // Per query.
  var routeMask: Slab<UInt64>
  var lastFinish: Slab<Int64>
  var remaining: Slab<UInt8>
  var joinWaiting: Slab<UInt8>
  var missed: Slab<Bool>

  /// Replica changes and batch finishes.
  var heap = EventQueue()
  /// Arrivals at child stages, in time order.
  var created: ArrivalQueue
  /// Per edge, its delay, when edges' delays differ (`SimulationInput.edgeDelays`); empty otherwise (every edge
  /// takes `hop`).
  let edgeDelay: Slab<Int64>
  /// With `edgeDelay`: per query and join, the latest of its parents' finishes plus their edges' delays so far.
  var joinReady: Slab<Int64>
  var sequence: UInt64 = 0
  /// Where `advance(until:)` stopped: the next trace arrival, the current time, and whether an infeasibility
  /// check stopped the run for good.
  var nextArrival = 0
  var now: Int64 = 0
  var stopped = false
  var misses = 0
  let allowedMisses: Int
  var events = 0
  var visits = 0
  var routeRNG: SeededGenerator
  /// Route facts per distinct route mask: stages visited, and expected parents per join stage.
  var routeCache: [UInt64: (visited: UInt8, joins: [UInt8])] = [:]
  /// The same, indexed by mask, for up to 12 edges (`smallRoutes`; no hashing on the hot path): stages visited
  /// (0 = not yet known) and, at `mask * joinCount + j`, parents to wait for at join j.
  let smallRoutes: Bool
  /// The pipeline's shape (for route facts off the hot path).
  let graph: PipelineGraph
  let routeVisited: Slab<UInt8>
  let routeJoins: Slab<UInt8>

  init(input: SimulationInput, options: Options, graph: PipelineGraph) {
    self.input = input
    self.options = options
    let stages = input.stageCount
    stageCount = stages
    edgeCount = input.edges.count
    precondition(input.edges.count <= PipelineSpec.maximumEdges, "at most 64 edges (checked when the pipeline loads)")
    precondition(input.stages.count == stages)
    outStart = Slab(graph.childStart)
    outEdge = Slab(graph.childEdge)
    outChild = Slab(graph.children)
    joinIndex = Slab(graph.joinIndex)
    self.graph = graph
    smallRoutes = input.edges.count <= 12
    routeVisited = smallRoutes ? Slab(repeating: 0, count: 1 << input.edges.count) : Slab.empty()
    routeJoins =
      smallRoutes ? Slab(repeating: 0, count: (1 << input.edges.count) * max(graph.joinCount, 1)) : Slab.empty()
    joinCount = graph.joinCount
    roots = graph.roots
    rootSlab = Slab(roots)
    order = graph.order ?? []
    hop = input.edgeDelays?.first ?? input.hopDelay
    slo = input.slo

    batchLimit = Slab(input.stages.map(\.batchSize))
    var sizeOffsets: [Int] = []
    var sizeTotal = 0
    for service in input.stages {
      sizeOffsets.append(sizeTotal)
      sizeTotal += service.batchSize + 1
    }
    sampler = ServiceTimeSampler(input)
    overflow = OverflowTier(input)
    if case .drawn = input.routes { drawRoutes = true } else { drawRoutes = false }
    routeThreshold = Slab(RouteDraw(probabilities: input.edgeProbabilities).thresholds)
    batchSizeStart = sizeOffsets
    batchSizes = Slab(repeating: 0, count: sizeTotal)
    active = Slab(repeating: 0, count: stages)
    let first = input.arrivals.first ?? 0
    lastReplicaChange = Slab(repeating: first, count: stages)
    replicaTime = Slab(repeating: 0, count: stages)
    visitCount = Slab(repeating: 0, count: stages)
    batchCount = Slab(repeating: 0, count: stages)
    busy = Slab(repeating: 0, count: stages)
    waitSum = Slab(repeating: 0.0, count: stages)
    waits = (0..<stages).map { _ in
      LargestValues(percentile: .p99, maximumCount: input.arrivals.count)
    }
    inService = Slab(repeating: 0, count: stages)
    now = input.arrivals.first ?? 0

    memberStride = max(1, input.stages.map(\.batchSize).max() ?? 1)
    let initialReplicas = max(1, input.stages.reduce(0) { $0 + $1.replicas })
    members = Slab(repeating: 0, count: initialReplicas * memberStride)
    memberCount = Slab(repeating: 0, count: initialReplicas)
    replicaStage = Slab(repeating: 0, count: initialReplicas)
    coldBatches = Int32(input.coldStart?.batches ?? 0)
    coldSlowdown = input.coldStart?.slowdown ?? 1

    let n = input.arrivals.count
    routeMask = Slab(repeating: 0, count: input.edges.isEmpty ? 1 : n)
    if case .given(let masks) = input.routes {
      precondition(masks.count == n, "given routes must have one entry per query")
      // Without edges every route is empty (and the mask buffer has one slot).
      if !input.edges.isEmpty { for q in 0..<n { routeMask.base[q] = masks[q] } }
    }
    lastFinish = Slab(repeating: 0, count: n)
    for q in 0..<n { lastFinish.base[q] = input.arrivals[q] }
    remaining = Slab(repeating: 0, count: n)
    joinWaiting = Slab(repeating: 0, count: max(1, n * graph.joinCount))
    if let delays = input.edgeDelays, delays.contains(where: { $0 != delays.first }) {
      precondition(delays.count == input.edges.count && delays.allSatisfy { $0 >= 0 }, "one delay per edge")
      edgeDelay = Slab(delays)
      joinReady = Slab(repeating: .min, count: max(1, n * graph.joinCount))
      created = ArrivalQueue(ordered: false)
    } else {
      edgeDelay = Slab.empty()
      joinReady = Slab.empty()
      created = ArrivalQueue()
    }
    missed = Slab(repeating: false, count: n)
    allowedMisses = input.percentile.allowedMisses(of: n)
    var routeSeed: UInt64 = 0
    if case .drawn(let seed) = input.routes { routeSeed = seed }
    routeRNG = SeededGenerator(seed: routeSeed)
  }

  @inline(__always)
  mutating func push(time: Int64, kind: UInt64, stage: Int, subject: Int32) {
    sequence &+= 1
    heap.insert(SimulationEvent(time: time, order: kind << 56 | sequence, stage: Int32(stage), subject: subject))
  }

  /// Numbers a new replica of stage s (or a serverless instance of its tier), idle, with room for a batch; the
  /// queueing discipline then takes it in (`QueueingDiscipline.added`). Cold replicas serve their first
  /// `ColdStart.batches` batches slowly.
  mutating func addReplica(stage s: Int, cold: Bool, serverless: Bool = false) -> Int {
    let id = replicaCount
    replicaCount += 1
    memberCount.grow(to: replicaCount, filling: 0)
    replicaStage.grow(to: replicaCount, filling: 0)
    members.grow(to: replicaCount * memberStride, filling: 0)
    replicaStage.base[id] = Int32(s)
    coldLeft.append(cold && !serverless ? coldBatches : 0)
    overflow.numbered(id, serverless: serverless)
    return id
  }

  /// The run's result from the state reached (after `advance(until: .max)`).
  func result() -> SimulationResult {
    let arrivals = input.arrivals
    let n = arrivals.count
    var stats: [StageStatistics] = []
    for s in 0..<stageCount {
      let replicaTime = busyReplicaTime(stage: s, until: now)
      var p99Wait: Int64 = 0
      if options.collectWaitPercentiles {
        var largest = waits[s]
        p99Wait = largest.value() ?? 0
      }
      stats.append(
        StageStatistics(
          visits: visitCount.base[s], batches: batchCount.base[s], busyNanoseconds: busy.base[s],
          replicaNanoseconds: replicaTime,
          totalWaitNanoseconds: waitSum.base[s], p99WaitNanoseconds: p99Wait,
          batchSizeCounts: (0...batchLimit[s]).map { batchSizes.base[batchSizeStart[s] + $0] },
          overflow: overflow.statistics(stage: s)))
    }
    if stopped {
      return SimulationResult(
        queries: n, latencies: nil, stoppedEarly: true, misses: misses, feasible: false, summary: nil, stages: stats,
        stageVisits: visits, events: events)
    }
    var over = 0
    let latencies = [Int64](unsafeUninitializedCapacity: n) { buffer, count in
      for q in 0..<n {
        let l = remaining.base[q] > 0 ? Int64.max : lastFinish.base[q] - arrivals[q]  // .max: never fully served
        buffer[q] = l
        if l > slo { over += 1 }
      }
      count = n
    }
    return SimulationResult(
      queries: n, latencies: latencies, stoppedEarly: false, misses: over, feasible: over <= allowedMisses,
      summary: n > 0 && options.summarisesLatencies ? LatencySummary(latencies: latencies) : nil, stages: stats,
      stageVisits: visits, events: events)
  }

  /// Replica time of stage s up to `end`, nanoseconds.
  func busyReplicaTime(stage s: Int, until end: Int64) -> Int64 {
    replicaTime.base[s] + Int64(active.base[s]) * (end - lastReplicaChange.base[s])
  }

  /// A trace arrival's route: drawn (or given), then the stages it will visit and the parents each join waits for.
  @inline(__always)
  mutating func route(query q: Int) {
    guard edgeCount > 0 else {
      remaining.base[q] = UInt8(stageCount)
      return
    }
    if drawRoutes {
      routeMask.base[q] = RouteDraw.mask(
        UnsafeBufferPointer(start: routeThreshold.base, count: edgeCount), &routeRNG)
    }
    let mask = routeMask.base[q]
    if smallRoutes {
      // Small pipelines: the route's facts from flat tables, filled on first use.
      if routeVisited.base[Int(mask)] == 0 { fillRouteTables(mask) }
      remaining.base[q] = routeVisited.base[Int(mask)]
      for j in 0..<joinCount { joinWaiting.base[q * joinCount + j] = routeJoins.base[Int(mask) * joinCount + j] }
    } else {
      let facts = routeFacts(mask)
      remaining.base[q] = facts.visited
      for j in 0..<joinCount { joinWaiting.base[q * joinCount + j] = facts.joins[j] }
    }
  }

  /// Records a route's facts in the flat tables (pipelines of up to 12 edges).
  mutating func fillRouteTables(_ mask: UInt64) {
    let facts = computeRouteFacts(mask)
    routeVisited.base[Int(mask)] = facts.visited
    for j in 0..<joinCount { routeJoins.base[Int(mask) * joinCount + j] = facts.joins[j] }
  }

  /// Stages visited and parents to wait for at each join, for a route (cached).
  mutating func routeFacts(_ mask: UInt64) -> (visited: UInt8, joins: [UInt8]) {
    if let known = routeCache[mask] { return known }
    let facts = computeRouteFacts(mask)
    routeCache[mask] = facts
    return facts
  }

  func computeRouteFacts(_ mask: UInt64) -> (visited: UInt8, joins: [UInt8]) { graph.routeFacts(mask) }

  /// A query waited `wait` nanoseconds at stage s before its batch started.
  @inline(__always)
  mutating func noteWait(stage s: Int, _ wait: Int64) {
    if options.collectWaitPercentiles { waits[s].add(wait) }
  }

  /// A replica starts serving the `size` queries just put in its members (who waited `waited` in all): the
  /// stage's counts, and the finish event.
  @inline(__always)
  mutating func startBatch(replica: Int, stage s: Int, size: Int, waited: Int64, at t: Int64) {
    memberCount.base[replica] = size
    waitSum.base[s] += Double(waited)
    var duration = sampler.duration(stage: s, size: size, batch: members.base + replica * memberStride)
    if coldBatches > 0 && coldLeft[replica] > 0 {
      coldLeft[replica] -= 1
      duration = Int64((Double(duration) * coldSlowdown).rounded())
    }
    busy.base[s] += duration
    batchCount.base[s] += 1
    visitCount.base[s] += size
    batchSizes.base[batchSizeStart[s] + size] += 1
    inService.base[s] += size
    visits += size
    push(time: t + duration, kind: SimulationEvent.finish, stage: s, subject: Int32(replica))
  }

  /// A replica's batch finishes at t: its queries go on along their routes (to `created`); returns the replica's
  /// stage. What the replica does next is its queueing discipline's (or its tier's) business.
  mutating func finishBatch(replica: Int, at t: Int64, arrivals: UnsafeBufferPointer<Int64>) -> Int {
    let s = Int(replicaStage.base[replica])
    let base = replica * memberStride
    let from = outStart.base[s], to = outStart.base[s + 1]
    inService.base[s] -= memberCount.base[replica]
    for i in 0..<memberCount.base[replica] {
      let q32 = members.base[base + i]
      let q = Int(q32)
      if t > lastFinish.base[q] { lastFinish.base[q] = t }
      remaining.base[q] &-= 1
      if !missed.base[q] && t - arrivals[q] > slo {
        missed.base[q] = true
        misses += 1
      }
      if from == to { continue }
      let mask = routeMask.base[q]
      for e in from..<to where mask & (1 << UInt64(outEdge.base[e])) != 0 {
        let c = outChild.base[e]
        let j = joinIndex.base[c]
        var arrival = t + hop
        if _slowPath(!created.ordered) { arrival = t + edgeDelay.base[Int(outEdge.base[e])] }
        if j >= 0 {
          let slot = q * joinCount + j
          joinWaiting.base[slot] &-= 1
          if _slowPath(!created.ordered) {
            joinReady.base[slot] = max(joinReady.base[slot], arrival)
            arrival = joinReady.base[slot]
          }
          if joinWaiting.base[slot] != 0 { continue }  // other parents still running
        }
        created.append(time: arrival, stage: c, query: q32)
      }
    }
    return s
  }

  /// Replica time is accounted whenever the count changes.
  mutating func noteReplicaCount(stage s: Int, at t: Int64, change: Int) {
    replicaTime.base[s] += Int64(active.base[s]) * (t - lastReplicaChange.base[s])
    lastReplicaChange.base[s] = t
    active.base[s] += change
  }

  /// Whether a query arriving at stage s, behind `queued` queries with every one of `replicas` replicas busy,
  /// goes to the stage's serverless tier (`OverflowTier.takes`).
  @inline(__always)
  func overflows(stage s: Int, queued: Int, replicas: Int, at t: Int64) -> Bool {
    let b = batchLimit.base[s]
    return overflow.takes(
      stage: s, queued: queued, replicas: replicas, batchLimit: b, fullBatch: sampler.profiled(stage: s, size: b),
      at: t)
  }

  /// Serves one query alone on stage s's serverless tier (`OverflowTier.invoke`), numbering a new instance when
  /// none is idle.
  mutating func serveOnServerless(query q: Int, stage s: Int, at t: Int64) {
    let (instance, duration) = overflow.invoke(stage: s, at: t)
    let r = instance ?? addReplica(stage: s, cold: false, serverless: true)
    members.base[r * memberStride] = Int32(q)
    memberCount.base[r] = 1
    visitCount.base[s] += 1
    inService.base[s] += 1
    visits += 1
    push(time: t + duration, kind: SimulationEvent.finish, stage: s, subject: Int32(r))
  }
}
