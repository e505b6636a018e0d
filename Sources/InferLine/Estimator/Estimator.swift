import Foundation

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
    /// Keep per-stage queueing delays for their P99 (the largest 1%, about 0.16 bytes per stage visit).
    public var collectWaitPercentiles = true
    /// Use the event-driven simulator even where the stage-by-stage one applies (same results; for checks and
    /// benchmarks).
    public var eventByEvent = false
    /// Keep each query's finish time at each stage (`SimulationResult.stageFinishes`, 8 bytes per query and
    /// stage): the planner's prefix bounds read them. Only the stage-by-stage simulator keeps them.
    public var recordStageFinishes = false
    /// Summarise the latencies (`SimulationResult.summary`: percentiles, mean); a search that reads only the
    /// latencies leaves it out.
    public var summarisesLatencies = true

    public init(
      stopWhenInfeasible: Bool = false, collectWaitPercentiles: Bool = true, eventByEvent: Bool = false,
      recordStageFinishes: Bool = false
    ) {
      self.stopWhenInfeasible = stopWhenInfeasible
      self.collectWaitPercentiles = collectWaitPercentiles
      self.eventByEvent = eventByEvent
      self.recordStageFinishes = recordStageFinishes
    }
  }

  /// Simulates the whole trace: stage by stage where that applies (`StageByStageSimulation`, pipelines without
  /// joins at fixed replica counts and deterministic service), event by event otherwise.
  public static func simulate(_ input: SimulationInput, options: Options = Options()) -> SimulationResult {
    let graph = PipelineGraph(input)  // built once, for the check and whichever simulator runs
    if !options.eventByEvent && StageByStageSimulation.applies(to: input, graph: graph) {
      var simulation = StageByStageSimulation(input: input, options: options, graph: graph)
      return simulation.run()
    }
    var state = SimulationState(input: input, options: options, graph: graph)
    return state.run()
  }

  /// Whether `simulate` runs this input stage by stage (see `StageByStageSimulation`).
  public static func runsStageByStage(_ input: SimulationInput) -> Bool { StageByStageSimulation.applies(to: input) }

  /// Whether the SLO percentile is met, stopping as soon as the answer is known.
  public static func feasible(_ input: SimulationInput) -> (feasible: Bool, stoppedEarly: Bool) {
    let result = simulate(input, options: Options(stopWhenInfeasible: true, collectWaitPercentiles: false))
    return (result.feasible, result.stoppedEarly)
  }
}

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

/// A growable buffer of plain values, freed explicitly: the simulator's hot state lives in these so that no
/// access pays for a uniqueness check or reference counting.
struct Slab<Element> {
  private(set) var base: UnsafeMutablePointer<Element>
  private(set) var capacity: Int

  /// A copy of an array's elements (one zeroed slot when it is empty, so `base` is always valid).
  init(_ elements: [Element]) where Element: BitwiseCopyable {
    capacity = max(elements.count, 1)
    base = .allocate(capacity: capacity)
    UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Element>.stride)
    _ = UnsafeMutableBufferPointer(start: base, count: elements.count).initialize(from: elements)
  }

  // Specialised here for the types other files fill (a build compiling files separately would otherwise copy
  // each element through its type's witnesses: 9% of a debug `report` for the misses' flags alone).
  @_specialize(where Element == Bool)
  @_specialize(where Element == Int64)
  @_specialize(where Element == UInt64)
  @_specialize(where Element == Int)
  init(repeating value: Element, count: Int) {
    capacity = max(count, 1)
    base = .allocate(capacity: capacity)
    base.initialize(repeating: value, count: capacity)
  }

  /// Element `i`. Hot loops in other files read `base[i]` instead: a build that compiles files separately (debug, so
  /// the tests) cannot specialise this accessor there and would copy each element through its type's witnesses.
  @inline(__always) subscript(i: Int) -> Element {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }

  /// Grows to at least `wanted` elements, filling new ones with `value`.
  mutating func grow(to wanted: Int, filling value: Element) {
    guard wanted > capacity else { return }
    let size = max(wanted, capacity * 2)
    let bigger = UnsafeMutablePointer<Element>.allocate(capacity: size)
    bigger.moveInitialize(from: base, count: capacity)
    (bigger + capacity).initialize(repeating: value, count: size - capacity)
    base.deallocate()
    base = bigger
    capacity = size
  }

  func free() {
    base.deinitialize(count: capacity)
    base.deallocate()
  }
}

/// The mutable state of one simulation run. Stages, replicas and queries are numbered; their state is kept in
/// flat buffers indexed by those numbers. Non-copyable: it owns those buffers and frees them when it goes.
struct SimulationState: ~Copyable {
  let input: SimulationInput
  let options: Estimator.Options
  typealias Options = Estimator.Options

  // Pipeline shape.
  let stageCount: Int
  let edgeCount: Int
  /// Outgoing edges of stage s: `outEdge[outStart[s] ..< outStart[s + 1]]` (edge index) and `outChild` (child).
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
  /// L(n) of stage s at `latency[latencyStart[s] + n - 1]`.
  let latencyStart: Slab<Int>
  let latency: Slab<Int64>
  /// Service times are the profiled medians (no draw).
  let deterministicService: Bool
  /// Latency by input size, when batches follow their inputs' sizes.
  let sized: SizedBatches?
  /// Routes are drawn (not given), with these edge probabilities.
  let drawRoutes: Bool
  let edgeProbability: Slab<Double>
  var queueStorage: Slab<Slab<QueuedQuery>>
  var queueHead: Slab<Int>
  var queueCount: Slab<Int>
  /// First idle replica of each stage (-1 when none); replicas chain through `nextIdle`.
  var idleHead: Slab<Int32>
  var active: Slab<Int>
  var pendingRemovals: Slab<Int>
  var lastReplicaChange: Slab<Int64>
  /// Replica time accounted up to `lastReplicaChange`, nanoseconds.
  var replicaTime: Slab<Int64>
  var visitCount: Slab<Int>
  var batchCount: Slab<Int>
  var busy: Slab<Int64>
  var waitSum: Slab<Double>
  /// Batches of n queries at stage s: `batchSizes[batchSizeStart[s] + n]`.
  let batchSizeStart: [Int]
  var batchSizes: Slab<Int>
  /// Per stage, the largest queueing delays (enough for their P99).
  var waits: [LargestValues]

  // Per replica (numbered across stages; stages that gain replicas add numbers).
  var replicaCount: Int
  let memberStride: Int
  var nextIdle: Slab<Int32>
  var members: Slab<Int32>
  var memberCount: Slab<Int>

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
  /// Queries in service (in a batch on a replica) per stage.
  var inService: Slab<Int>
  var misses = 0
  let allowedMisses: Int
  var events = 0
  var visits = 0
  var routeRNG: SeededGenerator
  var serviceRNG: SeededGenerator
  /// Route facts per distinct route mask: stages visited, and expected parents per join stage.
  var routeCache: [UInt64: (visited: UInt8, joins: [UInt8])] = [:]
  /// The same, indexed by mask, for up to 12 edges (no hashing on the hot path): stages visited (0 = not yet
  /// known) and, at `mask * joinCount + j`, parents to wait for at join j.
  let routeVisited: Slab<UInt8>?
  let routeJoins: Slab<UInt8>?

  init(input: SimulationInput, options: Options, graph: PipelineGraph? = nil) {
    self.input = input
    self.options = options
    let stages = input.stageCount
    stageCount = stages
    edgeCount = input.edges.count
    precondition(input.edges.count <= PipelineSpec.maximumEdges, "at most 64 edges (checked when the pipeline loads)")
    precondition(input.stages.count == stages)
    let graph = graph ?? PipelineGraph(input)
    outStart = Slab(graph.childStart)
    outEdge = Slab(graph.childEdge)
    outChild = Slab(graph.children)
    joinIndex = Slab(graph.joinIndex)
    routeVisited = input.edges.count <= 12 ? Slab(repeating: 0, count: 1 << input.edges.count) : nil
    routeJoins =
      input.edges.count <= 12 ? Slab(repeating: 0, count: (1 << input.edges.count) * max(graph.joinCount, 1)) : nil
    joinCount = graph.joinCount
    roots = graph.roots
    rootSlab = Slab(roots)
    order = graph.order ?? []
    hop = input.edgeDelays?.first ?? input.hopDelay
    slo = input.slo

    batchLimit = Slab(input.stages.map(\.batchSize))
    var offsets: [Int] = []
    var table: [Int64] = []
    var sizeOffsets: [Int] = []
    var sizeTotal = 0
    for service in input.stages {
      offsets.append(table.count)
      table += service.latencyTable
      sizeOffsets.append(sizeTotal)
      sizeTotal += service.batchSize + 1
    }
    latencyStart = Slab(offsets)
    latency = Slab(table)
    if case .deterministic = input.serviceTimes { deterministicService = true } else { deterministicService = false }
    sized = SizedBatches(input)
    if case .drawn = input.routes { drawRoutes = true } else { drawRoutes = false }
    edgeProbability = Slab(input.edgeProbabilities)
    batchSizeStart = sizeOffsets
    batchSizes = Slab(repeating: 0, count: sizeTotal)
    queueStorage = Slab((0..<stages).map { _ in Slab(repeating: QueuedQuery(query: 0, since: 0), count: 256) })
    queueHead = Slab(repeating: 0, count: stages)
    queueCount = Slab(repeating: 0, count: stages)
    idleHead = Slab(repeating: -1, count: stages)
    active = Slab(repeating: 0, count: stages)
    pendingRemovals = Slab(repeating: 0, count: stages)
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
    let initialReplicas = input.stages.reduce(0) { $0 + $1.replicas }
    replicaCount = 0
    nextIdle = Slab(repeating: -1, count: max(initialReplicas, 1))
    members = Slab(repeating: 0, count: max(initialReplicas, 1) * memberStride)
    memberCount = Slab(repeating: 0, count: max(initialReplicas, 1))
    replicaStage = Slab(repeating: 0, count: max(initialReplicas, 1))
    replicaLoad = Slab(repeating: 0, count: max(initialReplicas, 1))

    let n = input.arrivals.count
    routeMask = Slab(repeating: 0, count: input.edges.isEmpty ? 1 : n)
    if case .given(let masks) = input.routes {
      precondition(masks.count == n, "given routes must have one entry per query")
      // Without edges every route is empty (and the mask buffer has one slot).
      if !input.edges.isEmpty { for q in 0..<n { routeMask[q] = masks[q] } }
    }
    lastFinish = Slab(repeating: 0, count: n)
    for q in 0..<n { lastFinish[q] = input.arrivals[q] }
    remaining = Slab(repeating: 0, count: n)
    joinWaiting = Slab(repeating: 0, count: max(1, n * graph.joinCount))
    if let delays = input.edgeDelays, delays.contains(where: { $0 != delays.first }) {
      precondition(delays.count == input.edges.count && delays.allSatisfy { $0 >= 0 }, "one delay per edge")
      edgeDelay = Slab(delays)
      joinReady = Slab(repeating: .min, count: max(1, n * graph.joinCount))
      created = ArrivalQueue(ordered: false)
    } else {
      edgeDelay = Slab(repeating: 0, count: 0)
      joinReady = Slab(repeating: 0, count: 0)
      created = ArrivalQueue()
    }
    missed = Slab(repeating: false, count: n)
    allowedMisses = input.percentile.allowedMisses(of: n)
    var routeSeed: UInt64 = 0
    if case .drawn(let seed) = input.routes { routeSeed = seed }
    routeRNG = SeededGenerator(seed: routeSeed)
    switch input.serviceTimes {
    case .deterministic: serviceRNG = SeededGenerator(seed: 0)
    case .lognormal(let seed), .exponential(let seed):
      serviceRNG = SeededGenerator(seed: RandomStream.serviceTimes.seed(seed))
    case .correlated: serviceRNG = SeededGenerator(seed: 0)
    }
    if case .centralQueue = input.dispatch { perReplicaQueues = false } else { perReplicaQueues = true }
    coldBatches = Int32(input.coldStart?.batches ?? 0)
    coldSlowdown = input.coldStart?.slowdown ?? 1
    precondition(input.overflow.isEmpty || input.overflow.count == stages, "one overflow entry per stage")
    overflow = input.overflow
    hasOverflow = input.overflow.contains { $0 != nil }
    overflowStatistics = Array(repeating: OverflowStatistics(), count: stages)
    serverlessRunning = Array(repeating: 0, count: stages)
    warmInstances = Array(repeating: [], count: stages)
    spareInstances = Array(repeating: [], count: stages)
    provisionedIdle = Array(repeating: [], count: stages)
    stageReplicas = Array(repeating: [], count: stages)
    balancers = Slab(repeating: input.dispatch.balancer() ?? .random(RandomBalancer()), count: stages)
    switch input.dispatch {
    case .random(let seed), .powerOfChoices(_, let seed):
      dispatchRNG = SeededGenerator(seed: RandomStream.dispatch.seed(seed))
    default: break
    }
    for (s, service) in input.stages.enumerated() {
      for _ in 0..<service.replicas { addReplica(stage: s, cold: false) }
      active[s] = service.replicas
    }
    for (s, tier) in input.overflow.enumerated() {
      for _ in 0..<(tier?.provisioned ?? 0) {
        let id = addReplica(stage: s, cold: false, serverless: true)
        isProvisioned[id] = true
        provisionedIdle[s].append(id)
      }
    }
  }

  var replicaStage: Slab<Int32>
  /// Per replica, slow batches still to serve (`ColdStart`); replicas present at the start have none.
  var coldLeft: [Int32] = []
  let coldBatches: Int32
  let coldSlowdown: Double

  // Per-replica queues (`DispatchPolicy` other than `.centralQueue`): each replica's waiting queries, from
  // `replicaQueueHead` on, whether it is serving, whether it leaves after its batch, each stage's serving
  // replicas, and the policy's state. (`queueCount` counts every query waiting at the stage in both modes.)
  let perReplicaQueues: Bool
  var replicaQueue: [[QueuedQuery]] = []
  var replicaQueueHead: [Int] = []
  var replicaBusy: [Bool] = []
  var retiring: [Bool] = []
  var stageReplicas: [[Int]]
  /// Per replica, its queries queued or in service, kept as they change (what the balancers compare).
  var replicaLoad: Slab<Int>
  /// Per stage, how an arriving query picks a replica's queue (read only with per-replica queues).
  var balancers: Slab<StageBalancer>
  var dispatchRNG = SeededGenerator(seed: 0)

  // The serverless overflow tier (`ServerlessOverflow`): its invocations are numbered among the replicas (so a
  // finish event names them) but never join a stage's replicas. Per stage: invocations running, instances idle and
  // warm (with the time they went idle, most recent last), numbers of instances gone cold, and the counts.
  let overflow: [ServerlessOverflow?]
  let hasOverflow: Bool
  var isServerless: [Bool] = []
  /// Provisioned instances (always warm), and each stage's idle ones.
  var isProvisioned: [Bool] = []
  var provisionedIdle: [[Int]]
  var serverlessRunning: [Int]
  var warmInstances: [[(id: Int, since: Int64)]]
  var spareInstances: [[Int]]
  var overflowStatistics: [OverflowStatistics]

  /// A new replica of stage s, idle (a serverless instance joins no stage's replicas). Cold replicas serve their
  /// first `ColdStart.batches` batches slowly.
  @discardableResult
  mutating func addReplica(stage s: Int, cold: Bool, serverless: Bool = false) -> Int {
    let id = replicaCount
    replicaCount += 1
    nextIdle.grow(to: replicaCount, filling: -1)
    memberCount.grow(to: replicaCount, filling: 0)
    replicaStage.grow(to: replicaCount, filling: 0)
    replicaLoad.grow(to: replicaCount, filling: 0)
    members.grow(to: replicaCount * memberStride, filling: 0)
    replicaStage[id] = Int32(s)
    coldLeft.append(cold && !serverless ? coldBatches : 0)
    isServerless.append(serverless)
    isProvisioned.append(false)
    if perReplicaQueues {
      replicaQueue.append([])
      replicaQueueHead.append(0)
      replicaBusy.append(false)
      retiring.append(false)
    }
    guard !serverless else { return id }
    if perReplicaQueues { stageReplicas[s].append(id) }
    nextIdle[id] = idleHead[s]
    idleHead[s] = Int32(id)
    return id
  }

  deinit { free() }

  func free() {
    for s in 0..<stageCount { queueStorage[s].free() }
    queueStorage.free()
    for slab in [queueHead, queueCount, active, pendingRemovals, visitCount, batchCount, inService] { slab.free() }
    for slab in [lastReplicaChange, busy, replicaTime] { slab.free() }
    waitSum.free()
    batchSizes.free()
    idleHead.free()
    nextIdle.free()
    members.free()
    memberCount.free()
    replicaStage.free()
    replicaLoad.free()
    balancers.free()
    for slab in [outStart, outEdge, outChild, joinIndex, rootSlab, batchLimit, latencyStart] { slab.free() }
    latency.free()
    edgeProbability.free()
    routeVisited?.free()
    routeJoins?.free()
    routeMask.free()
    lastFinish.free()
    remaining.free()
    joinWaiting.free()
    edgeDelay.free()
    joinReady.free()
    sized?.free()
    missed.free()
  }

  @inline(__always)
  mutating func push(time: Int64, kind: UInt64, stage: Int, subject: Int32) {
    sequence &+= 1
    heap.insert(SimulationEvent(time: time, order: kind << 56 | sequence, stage: Int32(stage), subject: subject))
  }

  mutating func run() -> SimulationResult {
    for change in input.replicaChanges.sorted(by: { ($0.time, $0.stage) < ($1.time, $1.stage) }) {
      push(time: change.time, kind: SimulationEvent.change, stage: change.stage, subject: Int32(change.replicas))
    }
    advance(until: .max)
    return result()
  }

  /// Handles every event stamped before `limit` (all of them for `.max`), in the simulator's order, then stops:
  /// what a policy tick at `limit` sees. Stops for good once too many queries have missed, in a feasibility check.
  mutating func advance(until limit: Int64) {
    guard !stopped else { return }
    let n = input.arrivals.count
    var nextArrival = self.nextArrival
    var now = self.now
    var stopped = false
    input.arrivals.withUnsafeBufferPointer { arrivals in
      while true {
        // The next event in (time, kind, creation) order. The heap holds replica changes and batch finishes, which
        // sort before arrivals at the same time; trace arrivals count as created before any arrival the
        // simulation makes, whose queue is already in creation order.
        let traceTime = nextArrival < n ? arrivals[nextArrival] : .max
        let createdTime = created.firstTime
        if let top = heap.min, top.time <= traceTime, top.time <= createdTime {
          guard top.time < limit else { break }
          let event = heap.removeMin()
          #if INFERLINE_INVARIANTS
            precondition(event.time >= now, "an event before the current time")
          #endif
          now = event.time
          events &+= 1
          if event.order >> 56 == SimulationEvent.finish {
            finish(replica: Int(event.subject), at: now, arrivals: arrivals)
          } else {
            changeReplicas(
              stage: Int(event.stage), to: Int(event.subject & ~SimulationEvent.warm),
              warm: event.subject & SimulationEvent.warm != 0, at: now)
          }
        } else if nextArrival < n, traceTime <= createdTime {
          guard traceTime < limit else { break }
          #if INFERLINE_INVARIANTS
            precondition(traceTime >= now, "arrivals must be sorted")
          #endif
          now = traceTime
          events &+= 1
          enter(query: nextArrival, at: now)
          nextArrival += 1
        } else if created.count > 0 {
          guard createdTime < limit else { break }
          let arrival = created.removeFirst()
          #if INFERLINE_INVARIANTS
            precondition(arrival.time >= now, "an event before the current time")
          #endif
          now = arrival.time
          events &+= 1
          arrive(query: Int(arrival.query), stage: Int(arrival.stage), at: now)
        } else {
          break
        }
        if options.stopWhenInfeasible && misses > allowedMisses {
          stopped = true
          break
        }
      }
    }
    self.nextArrival = nextArrival
    self.now = now
    self.stopped = stopped
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
          visits: visitCount[s], batches: batchCount[s], busyNanoseconds: busy[s], replicaNanoseconds: replicaTime,
          totalWaitNanoseconds: waitSum[s], p99WaitNanoseconds: p99Wait,
          batchSizeCounts: (0...batchLimit[s]).map { batchSizes[batchSizeStart[s] + $0] },
          overflow: overflow.isEmpty || overflow[s] == nil ? nil : overflowStatistics[s]))
    }
    if stopped {
      return SimulationResult(
        queries: n, latencies: nil, stoppedEarly: true, misses: misses, feasible: false, summary: nil, stages: stats,
        stageVisits: visits, events: events)
    }
    var over = 0
    let latencies = [Int64](unsafeUninitializedCapacity: n) { buffer, count in
      for q in 0..<n {
        let l = remaining[q] > 0 ? Int64.max : lastFinish[q] - arrivals[q]  // .max: never fully served
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
    replicaTime[s] + Int64(active[s]) * (end - lastReplicaChange[s])
  }

  /// A trace arrival: draw the route, then enter every root.
  @inline(__always)
  mutating func enter(query q: Int, at t: Int64) {
    if edgeCount > 0 {
      if drawRoutes {
        var mask: UInt64 = 0
        for k in 0..<edgeCount where routeRNG.nextUnitInterval() < edgeProbability[k] {
          mask |= 1 << UInt64(k)
        }
        routeMask[q] = mask
      }
      let mask = routeMask[q]
      if let visited = routeVisited, let joins = routeJoins {
        // Small pipelines: the route's facts from flat tables, filled on first use.
        if visited[Int(mask)] == 0 { fillRouteTables(mask) }
        remaining[q] = visited[Int(mask)]
        for j in 0..<joinCount { joinWaiting[q * joinCount + j] = joins[Int(mask) * joinCount + j] }
      } else {
        let facts = routeFacts(mask)
        remaining[q] = facts.visited
        for j in 0..<joinCount { joinWaiting[q * joinCount + j] = facts.joins[j] }
      }
    } else {
      remaining[q] = UInt8(stageCount)
    }
    for i in 0..<roots.count { arrive(query: q, stage: rootSlab[i], at: t) }
  }

  /// Records a route's facts in the flat tables (pipelines of up to 12 edges).
  mutating func fillRouteTables(_ mask: UInt64) {
    let facts = computeRouteFacts(mask)
    routeVisited![Int(mask)] = facts.visited
    for j in 0..<joinCount { routeJoins![Int(mask) * joinCount + j] = facts.joins[j] }
  }

  /// Stages visited and parents to wait for at each join, for a route (cached).
  mutating func routeFacts(_ mask: UInt64) -> (visited: UInt8, joins: [UInt8]) {
    if let known = routeCache[mask] { return known }
    let facts = computeRouteFacts(mask)
    routeCache[mask] = facts
    return facts
  }

  func computeRouteFacts(_ mask: UInt64) -> (visited: UInt8, joins: [UInt8]) {
    var visited = [Bool](repeating: false, count: stageCount)
    for r in roots { visited[r] = true }
    var joins = [UInt8](repeating: 0, count: joinCount)
    for s in order where visited[s] {
      for i in outStart[s]..<outStart[s + 1] where mask & (1 << UInt64(outEdge[i])) != 0 {
        visited[outChild[i]] = true
        if joinIndex[outChild[i]] >= 0 { joins[joinIndex[outChild[i]]] += 1 }
      }
    }
    return (UInt8(visited.filter { $0 }.count), joins)
  }

  /// A query joins a stage's queue; the stage dispatches.
  @inline(__always)
  mutating func arrive(query q: Int, stage s: Int, at t: Int64) {
    if perReplicaQueues { return arriveAtReplica(query: q, stage: s, at: t, since: t) }
    if hasOverflow && idleHead[s] < 0
      && overflows(stage: s, queued: queueCount[s], replicas: active[s] - pendingRemovals[s], at: t)
    {
      return serveOnServerless(query: q, stage: s, at: t)
    }
    if queueCount[s] == queueStorage[s].capacity { growQueue(stage: s) }
    var index = queueHead[s] + queueCount[s]
    if index >= queueStorage[s].capacity { index -= queueStorage[s].capacity }
    queueStorage[s][index] = QueuedQuery(query: Int32(q), since: t)
    queueCount[s] += 1
    dispatch(stage: s, at: t)
  }

  mutating func growQueue(stage s: Int) {
    let old = queueStorage[s]
    let bigger = Slab(repeating: QueuedQuery(query: 0, since: 0), count: old.capacity * 2)
    for i in 0..<queueCount[s] { bigger[i] = old[(queueHead[s] + i) % old.capacity] }
    old.free()
    queueStorage[s] = bigger
    queueHead[s] = 0
  }

  /// Idle replicas take batches while queries wait.
  @inline(__always)
  mutating func dispatch(stage s: Int, at t: Int64) {
    while queueCount[s] > 0 && idleHead[s] >= 0 {
      let replica = Int(idleHead[s])
      idleHead[s] = nextIdle[replica]
      let size = min(queueCount[s], batchLimit[s])
      let queue = queueStorage[s]
      let capacity = queue.capacity
      var head = queueHead[s]
      let base = replica * memberStride
      var waited: Int64 = 0
      for i in 0..<size {
        let entry = queue[head]
        head += 1
        if head == capacity { head = 0 }
        members[base + i] = entry.query
        let wait = t - entry.since
        waited += wait
        if options.collectWaitPercentiles { waits[s].add(wait) }
      }
      queueHead[s] = head
      queueCount[s] -= size
      startBatch(replica: replica, stage: s, size: size, waited: waited, at: t)
    }
  }

  /// A replica starts serving the `size` queries just put in its members (who waited `waited` in all): the
  /// stage's counts, and the finish event.
  @inline(__always)
  mutating func startBatch(replica: Int, stage s: Int, size: Int, waited: Int64, at t: Int64) {
    memberCount[replica] = size
    waitSum[s] += Double(waited)
    var duration = serviceTime(stage: s, size: size, members: replica * memberStride)
    if coldBatches > 0 && coldLeft[replica] > 0 {
      coldLeft[replica] -= 1
      duration = Int64((Double(duration) * coldSlowdown).rounded())
    }
    busy[s] += duration
    batchCount[s] += 1
    visitCount[s] += size
    batchSizes[batchSizeStart[s] + size] += 1
    inService[s] += size
    visits += size
    push(time: t + duration, kind: SimulationEvent.finish, stage: s, subject: Int32(replica))
  }

  /// A batch's service time; `members` is where its queries start in `members`.
  @inline(__always)
  mutating func serviceTime(stage s: Int, size: Int, members base: Int) -> Int64 {
    let profiled = latency[latencyStart[s] + size - 1]
    var median = profiled
    if let sized, sized.follows(stage: s) {
      let batch = members.base + base
      median = sized.latency(stage: s, batch: size) { Int(batch[$0]) }
    }
    if deterministicService { return median }
    switch input.serviceTimes {
    case .deterministic:
      return median
    case .exponential:
      return max(1, Int64((-Double(median) * log(serviceRNG.nextUnitInterval())).rounded()))
    case .lognormal:
      guard let p99 = input.stages[s].p99Table?[size - 1], p99 > profiled else { return median }
      let sigma = log(Double(p99) / Double(profiled)) / 2.326_347_874_040_840_8
      return max(1, Int64((Double(median) * exp(sigma * serviceRNG.nextStandardNormal())).rounded()))
    case .correlated(let seed, let sigma, let rho):
      var largest = 0.0
      for i in 0..<size {
        let q = UInt64(UInt32(bitPattern: members[base + i]))
        let shared = HashedNormal.value(seed: seed, key: q)
        let own = HashedNormal.value(seed: RandomStream.ownServiceFactor.seed(seed), key: q << 8 | UInt64(s & 0xFF))
        largest = max(
          largest, exp(sigma * ((rho).squareRoot() * shared + (1 - rho).squareRoot() * own) - sigma * sigma / 2))
      }
      return max(1, Int64((Double(median) * largest).rounded()))
    }
  }

  /// A batch finishes: its queries go on along their routes; the replica serves again (or leaves).
  mutating func finish(replica: Int, at t: Int64, arrivals: UnsafeBufferPointer<Int64>) {
    let s = Int(replicaStage[replica])
    let base = replica * memberStride
    let from = outStart[s], to = outStart[s + 1]
    inService[s] -= memberCount[replica]
    for i in 0..<memberCount[replica] {
      let q32 = members[base + i]
      let q = Int(q32)
      if t > lastFinish[q] { lastFinish[q] = t }
      remaining[q] &-= 1
      if !missed[q] && t - arrivals[q] > slo {
        missed[q] = true
        misses += 1
      }
      if from == to { continue }
      let mask = routeMask[q]
      for e in from..<to where mask & (1 << UInt64(outEdge[e])) != 0 {
        let c = outChild[e]
        let j = joinIndex[c]
        var arrival = t + hop
        if _slowPath(!created.ordered) { arrival = t + edgeDelay[Int(outEdge[e])] }
        if j >= 0 {
          let slot = q * joinCount + j
          joinWaiting[slot] &-= 1
          if _slowPath(!created.ordered) {
            joinReady[slot] = max(joinReady[slot], arrival)
            arrival = joinReady[slot]
          }
          if joinWaiting[slot] != 0 { continue }  // other parents still running
        }
        created.append(time: arrival, stage: c, query: q32)
      }
    }
    if hasOverflow && isServerless[replica] {
      serverlessRunning[s] -= 1
      if isProvisioned[replica] { provisionedIdle[s].append(replica) } else { warmInstances[s].append((replica, t)) }
      return
    }
    if perReplicaQueues {
      replicaBusy[replica] = false
      replicaLoad.base[replica] -= memberCount[replica]
      checkLoad(replica)
      if retiring[replica] {
        retiring[replica] = false
        noteReplicaCount(stage: s, at: t, change: -1)
        return
      }
      serveOwnQueue(replica: replica, stage: s, at: t)
      return
    }
    if pendingRemovals[s] > 0 {
      pendingRemovals[s] -= 1
      noteReplicaCount(stage: s, at: t, change: -1)
    } else {
      nextIdle[replica] = idleHead[s]
      idleHead[s] = Int32(replica)
    }
    dispatch(stage: s, at: t)
  }

  /// Queries a replica has queued or in service (what a balancer that looks at queues compares).
  func load(replica r: Int) -> Int { replicaLoad[r] }

  /// With invariant checks: the kept load is what the replica's queue and batch hold.
  @inline(__always)
  func checkLoad(_ r: Int) {
    #if INFERLINE_INVARIANTS
      precondition(
        replicaLoad[r] == replicaQueue[r].count - replicaQueueHead[r] + (replicaBusy[r] ? memberCount[r] : 0),
        "a replica's kept load differs from its queue and batch")
    #endif
  }

  /// A query joins the queue of the replica the stage's dispatch policy picks (waiting since `since`); an idle
  /// replica serves at once.
  mutating func arriveAtReplica(query q: Int, stage s: Int, at t: Int64, since: Int64) {
    let replicas = stageReplicas[s]
    precondition(!replicas.isEmpty, "a stage without replicas")
    precondition(perReplicaQueues, "per-replica arrival with a central queue")
    let chosen = balancers.base[s].choose(among: replicas, loads: replicaLoad.base, random: &dispatchRNG)
    if hasOverflow && replicaBusy[chosen]
      && overflows(stage: s, queued: replicaQueue[chosen].count - replicaQueueHead[chosen], replicas: 1, at: t)
    {
      return serveOnServerless(query: q, stage: s, at: t)
    }
    replicaQueue[chosen].append(QueuedQuery(query: Int32(q), since: since))
    replicaLoad.base[chosen] += 1
    queueCount[s] += 1
    if !replicaBusy[chosen] { serveOwnQueue(replica: chosen, stage: s, at: t) }
  }

  /// An idle replica takes a batch from its own queue, if anything waits there.
  mutating func serveOwnQueue(replica r: Int, stage s: Int, at t: Int64) {
    let waiting = replicaQueue[r].count - replicaQueueHead[r]
    guard waiting > 0 else {
      if replicaQueueHead[r] > 0 {  // drained: reuse the storage
        replicaQueue[r].removeAll(keepingCapacity: true)
        replicaQueueHead[r] = 0
      }
      return
    }
    let size = min(waiting, batchLimit[s])
    let base = r * memberStride
    var waited: Int64 = 0
    for i in 0..<size {
      let entry = replicaQueue[r][replicaQueueHead[r] + i]
      members[base + i] = entry.query
      let wait = t - entry.since
      waited += wait
      if options.collectWaitPercentiles { waits[s].add(wait) }
    }
    replicaQueueHead[r] += size
    queueCount[s] -= size
    if replicaQueueHead[r] > 4096 && replicaQueueHead[r] * 2 > replicaQueue[r].count {
      replicaQueue[r].removeFirst(replicaQueueHead[r])
      replicaQueueHead[r] = 0
    }
    replicaBusy[r] = true
    startBatch(replica: r, stage: s, size: size, waited: waited, at: t)
    checkLoad(r)
  }

  /// Replica time is accounted whenever the count changes.
  mutating func noteReplicaCount(stage s: Int, at t: Int64, change: Int) {
    replicaTime[s] += Int64(active[s]) * (t - lastReplicaChange[s])
    lastReplicaChange[s] = t
    active[s] += change
  }

  /// The tuner's decision: `count` replicas from now. New replicas serve at once; a removed busy replica
  /// finishes its batch first.
  mutating func changeReplicas(stage s: Int, to count: Int, warm: Bool, at t: Int64) {
    if perReplicaQueues { return changeOwnQueueReplicas(stage: s, to: count, warm: warm, at: t) }
    let target = max(0, count)
    let effective = active[s] - pendingRemovals[s]
    if target > effective {
      var add = target - effective
      let cancel = min(add, pendingRemovals[s])
      pendingRemovals[s] -= cancel
      add -= cancel
      for _ in 0..<add { addReplica(stage: s, cold: !warm) }
      noteReplicaCount(stage: s, at: t, change: add)
      dispatch(stage: s, at: t)
    } else if target < effective {
      var remove = effective - target
      while remove > 0 && idleHead[s] >= 0 {
        idleHead[s] = nextIdle[Int(idleHead[s])]
        remove -= 1
        noteReplicaCount(stage: s, at: t, change: -1)
      }
      pendingRemovals[s] += remove  // busy ones leave when their batch is done
    }
  }

  /// `changeReplicas` with a queue per replica: new replicas start with empty queues; leaving ones are the idle
  /// ones first, then the least loaded (the first of equals), and the queries they had queued are dispatched again
  /// (keeping the time they joined); a busy one finishes its batch first. A stage keeps at least one replica (its
  /// queries have nowhere else to wait).
  mutating func changeOwnQueueReplicas(stage s: Int, to count: Int, warm: Bool, at t: Int64) {
    let target = max(1, count)
    let current = stageReplicas[s].count
    if target > current {
      for _ in current..<target { addReplica(stage: s, cold: !warm) }
      noteReplicaCount(stage: s, at: t, change: target - current)
    } else if target < current {
      let order = stageReplicas[s].sorted {
        (replicaBusy[$0] ? 1 : 0, load(replica: $0), $0) < (replicaBusy[$1] ? 1 : 0, load(replica: $1), $1)
      }
      let leaving = Set(order.prefix(current - target))
      stageReplicas[s].removeAll { leaving.contains($0) }
      for r in order.prefix(current - target) {
        let waiting = replicaQueue[r][replicaQueueHead[r]...]
        replicaQueue[r] = []
        replicaQueueHead[r] = 0
        replicaLoad.base[r] -= waiting.count
        checkLoad(r)
        queueCount[s] -= waiting.count
        if replicaBusy[r] { retiring[r] = true } else { noteReplicaCount(stage: s, at: t, change: -1) }
        for entry in waiting { arriveAtReplica(query: Int(entry.query), stage: s, at: t, since: entry.since) }
      }
    }
  }

  /// Whether a query arriving at stage s, behind `queued` queries and with every one of `replicas` replicas busy,
  /// goes to the serverless tier: its estimated wait `(floor(queued / (k b)) + 1) x L(b)` is over the tier's
  /// `maximumWait`, the tier has room, and the tier would finish it sooner (its latency, plus the cold start when
  /// no instance is warm, under the wait plus L(b)).
  @inline(__always)
  func overflows(stage s: Int, queued: Int, replicas: Int, at t: Int64) -> Bool {
    guard let tier = overflow[s], serverlessRunning[s] < tier.concurrencyLimit else { return false }
    let b = batchLimit[s]
    let full = latency[latencyStart[s] + b - 1]
    let wait = Int64(queued / (max(1, replicas) * b) + 1) * full
    guard wait > tier.maximumWait else { return false }
    return tier.latency + (hasWarmInstance(stage: s, tier: tier, at: t) ? 0 : tier.coldStart) < wait + full
  }

  /// Whether stage s's tier has an instance that serves without a cold start at t: an idle provisioned one, or the
  /// most recently idle one within the keep-warm time (the others went idle earlier still).
  @inline(__always)
  func hasWarmInstance(stage s: Int, tier: ServerlessOverflow, at t: Int64) -> Bool {
    !provisionedIdle[s].isEmpty || (warmInstances[s].last.map { t - $0.since <= tier.keepWarm } ?? false)
  }

  /// Serves one query alone on stage s's serverless tier: on an idle provisioned instance, else the most recently
  /// idle warm one, else a cold one (an instance idle longer than `keepWarm`, or a new one), which adds the cold
  /// start.
  mutating func serveOnServerless(query q: Int, stage s: Int, at t: Int64) {
    let tier = overflow[s]!
    let warm = hasWarmInstance(stage: s, tier: tier, at: t)
    var instance: Int? = provisionedIdle[s].popLast() ?? (warm ? warmInstances[s].removeLast().id : nil)
    if !warm {  // every idle instance went idle longer ago than the keep-warm time: all cold
      spareInstances[s] += warmInstances[s].map(\.id)
      warmInstances[s].removeAll()
    }
    var duration = tier.latency
    if instance == nil {
      duration += tier.coldStart
      overflowStatistics[s].coldStarts += 1
      instance = spareInstances[s].popLast() ?? addReplica(stage: s, cold: false, serverless: true)
    }
    let r = instance!
    members[r * memberStride] = Int32(q)
    memberCount[r] = 1
    serverlessRunning[s] += 1
    overflowStatistics[s].queries += 1
    overflowStatistics[s].billedNanoseconds += duration
    visitCount[s] += 1
    inService[s] += 1
    visits += 1
    push(time: t + duration, kind: SimulationEvent.finish, stage: s, subject: Int32(r))
  }
}

/// A standard normal number drawn from a seed and a key alone (SplitMix64 then Box-Muller), so that a query's
/// draw does not depend on when it is made.
enum HashedNormal {
  static func value(seed: UInt64, key: UInt64) -> Double {
    let mix = SeededGenerator.splitMix64
    let a = mix(seed ^ mix(key)), b = mix(a)
    let u1 = (Double(a >> 11) + 0.5) / 9_007_199_254_740_992.0, u2 = Double(b >> 11) / 9_007_199_254_740_992.0
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }
}
