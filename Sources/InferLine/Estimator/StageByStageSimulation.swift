import Foundation

/// The simulator's fast path: each stage is simulated on its own, in topological order, one time slice at a time,
/// with the same results as `SimulationState` to the nanosecond.
///
/// It applies when service times are deterministic, the queue is central (or a queue per replica fed by a balancer
/// that reads only the stage's own state: `ReplicaQueueLane`), and no replica starts cold or hands queries to a
/// serverless tier. Then a stage's events depend only on its own arrivals, which its parents'
/// finishes create, and its own replica changes, so nothing needs a global event queue:
/// - a stage's queue is FIFO and its arrivals come in order, so the queue is a range of its arrival list and a
///   batch is a sub-range (no copying);
/// - only the stage's own batch finishes go through a heap (at most one entry per replica), ordered (time,
///   creation) like the event queue, and they sort before arrivals at the same time;
/// - a parent's finishes at one time are handled in creation order, so a one-parent child's arrivals come out in
///   the order the event queue would create them;
/// - a join's arrival is complete when the last parent the query visits finishes it; the join puts its arrivals
///   in the event queue's creation order before its lane runs, and refuses a tie it cannot order
///   (`StageByStageJoin`, then `simulate` returns nil);
/// - replica changes (given up front, or by a closed loop between ticks) are each stage's own list, handled
///   before finishes and arrivals at the same instant, by the central queue's rules;
/// - while every replica is busy, arrivals before the next finish only join the queue, and are skipped over in
///   one step;
/// - a stage configured as in another run, with every stage upstream of it, can be handed on from that run's
///   recording instead of simulated (`share(replaying:recording:)`, `StageRecording`).
/// Slices of about 16,384 trace arrivals keep the arrival lists short (memory is O(slice + queues)) and let a
/// feasibility check stop soon after the misses exceed the allowance. Every event of a slice at a stage is before
/// the slice's end, and a parent has handled every finish before that end first, so slicing changes nothing.
/// A run stopped early has the same verdict and miss count as the event-driven one; its partial statistics
/// differ (the two have handled different events when they stop).
/// - Complexity: O(stage visits + batches x log(replicas)); memory about 9 bytes per query (17 with drawn or given
///   routes that vary) beyond the trace and the result, 56 bytes per slot of a join's table of waiting queries,
///   plus about 0.16 bytes per stage visit with wait percentiles.
struct StageByStageSimulation: ~Copyable {
  /// Whether the fast path gives exactly the event-driven simulator's answer for this input.
  /// A queue per replica applies with the balancers that depend only on the stage's own state (round robin, the
  /// shortest queue: `ReplicaQueueLane`) when every stage starts with a replica.
  static func applies(to input: SimulationInput, graph: PipelineGraph? = nil) -> Bool {
    guard case .deterministic = input.serviceTimes, input.coldStart == nil,
      input.overflow.allSatisfy({ $0 == nil }), !input.arrivals.isEmpty, input.stages.count == input.stageCount,
      input.edges.count <= 64
    else { return false }
    switch input.dispatch {
    case .centralQueue: break
    case .roundRobin, .shortestQueue:
      guard input.stages.allSatisfy({ $0.replicas >= 1 }) else { return false }
    case .random, .powerOfChoices: return false
    }
    return (graph ?? PipelineGraph(input)).order != nil
  }

  /// Runs the input stage by stage; nil when a join met a tie this simulator cannot order (see
  /// `StageByStageJoin`), and the event-driven simulator must answer instead.
  package static func simulate(
    _ input: SimulationInput, options: Estimator.Options, graph: PipelineGraph
  ) -> SimulationResult? {
    var simulation = StageByStageSimulation(input: input, options: options, graph: graph)
    return simulation.run()
  }

  /// A batch in service: when it finishes, its creation order, its arrivals at the stage (positions) and when it
  /// began.
  struct Finish {
    var time: Int64
    var sequence: UInt64
    var start: Int
    var size: Int
    var began: Int64

    @inline(__always)
    static func precedes(_ a: Finish, _ b: Finish) -> Bool {
      a.time != b.time ? a.time < b.time : a.sequence < b.sequence
    }
  }

  /// The end of a lane's arrival list that its one parent appends to (room, and one past the last arrival), held
  /// by the parent's outlet for a lane run (`FewChildrenOutlet`) and stored back after it.
  struct LaneTail {
    var times: UnsafeMutablePointer<Int64>
    var queries: UnsafeMutablePointer<Int32>
    var capacity: Int
    let base: Int
    var end: Int

    init(_ lane: Lane) {
      times = lane.times
      queries = lane.queries!
      capacity = lane.capacity
      base = lane.base
      end = lane.end
    }

    func store(into lane: inout Lane) {
      lane.times = times
      lane.queries = queries
      lane.capacity = capacity
      lane.end = end
    }

    /// Room for `count` more arrivals.
    @inline(__always)
    mutating func reserve(_ count: Int) {
      while _slowPath(end - base + count > capacity) { grow() }
    }

    mutating func grow() {
      var doubled = capacity
      queries = queries.movedToDoubled(count: end - base, capacity: &doubled)
      times = times.movedToDoubled(count: end - base, capacity: &capacity)
    }
  }

  /// A lane's counts at the end of a run, as `result()` reads them.
  struct LaneCounts: Sendable {
    var visits: Int
    var batches: Int
    var busy: Int64
    var waitSum: Double
    var replicaTime: Int64
    var lastChange: Int64
    var replicas: Int
    var lastEvent: Int64
    /// Batches by size, 0 up to the batch size limit.
    var batchSizes: [Int]
  }

  /// One stage: its arrivals (times and queries, by absolute position `base + i`), queue, replicas and counts.
  struct Lane {
    var times: UnsafeMutablePointer<Int64>
    /// Nil at a root, whose arrivals are the trace itself (query = position).
    var queries: UnsafeMutablePointer<Int32>?
    var capacity: Int
    /// Absolute position of element 0, and one past the last arrival known.
    var base = 0
    var end = 0
    /// Arrivals handled so far; the queue is `served ..< arrived`.
    var arrived = 0
    var served = 0
    var idle: Int
    var heap: UnsafeMutablePointer<Finish>
    var heapCount = 0
    var heapCapacity: Int
    var sequence: UInt64 = 0
    var lastEvent: Int64 = .min
    // Replicas, as `CentralQueue` changes them: serving (with those finishing a last batch), busy ones to leave
    // after their batch, queries in service, and replica time up to the last change.
    var replicas: Int
    var pendingRemovals = 0
    var inService = 0
    var replicaTime: Int64 = 0
    var lastChange: Int64
    /// Replica changes in the order the event queue handles them (time, then as given): `changes[next ..< count]`
    /// still to come.
    var changes: UnsafeMutablePointer<ReplicaChange>
    var changeCapacity = 1
    var changeNext = 0
    var changeCount = 0
    // Statistics, as `SimulationState` keeps them.
    var visits = 0
    var batches = 0
    var busy: Int64 = 0
    var waitSum = 0.0
    var batchSizes: UnsafeMutablePointer<Int>
    /// Whether a batch in service is a range of the arrivals (`Finish.start` its first position); with a queue per
    /// replica, `Finish.start` is the replica and its queries are copied out (`ReplicaQueueLane`).
    var batchesAreRanges = true

    /// The counts `result()` reads, with batches of sizes up to `limit`.
    func counts(limit: Int) -> LaneCounts {
      LaneCounts(
        visits: visits, batches: batches, busy: busy, waitSum: waitSum, replicaTime: replicaTime,
        lastChange: lastChange, replicas: replicas, lastEvent: lastEvent,
        batchSizes: Array(UnsafeBufferPointer(start: batchSizes, count: limit + 1)))
    }

    /// Takes another run's final counts (a stage replayed from its recording).
    mutating func restore(_ counts: LaneCounts) {
      visits = counts.visits
      batches = counts.batches
      busy = counts.busy
      waitSum = counts.waitSum
      replicaTime = counts.replicaTime
      lastChange = counts.lastChange
      replicas = counts.replicas
      lastEvent = counts.lastEvent
      for (size, count) in counts.batchSizes.enumerated() { batchSizes[size] = count }
    }

    @inline(__always)
    mutating func append(time: Int64, query: Int32) {
      if _slowPath(end - base == capacity) { grow() }
      times[end - base] = time
      queries![end - base] = query
      end += 1
    }

    /// Room for `count` more arrivals.
    @inline(__always)
    mutating func reserve(_ count: Int) {
      while _slowPath(end - base + count > capacity) { grow() }
    }

    mutating func grow() {
      var tail = LaneTail(self)
      tail.grow()
      tail.store(into: &self)
    }

    /// Drops arrivals that are neither queued nor in a batch still in service, once they are at least as many as
    /// those kept: each arrival is moved O(1) times in all, however long a queue grows (an overloaded stage's
    /// backlog moved at every slice was a tenth of a report's planning time).
    mutating func compact() {
      guard queries != nil else { return }
      var keep = served
      if batchesAreRanges {
        for i in 0..<heapCount { keep = min(keep, heap[i].start) }
      }
      let drop = keep - base
      let kept = end - keep
      guard drop > 0, drop >= kept else { return }
      (times).update(from: times + drop, count: kept)
      queries!.update(from: queries! + drop, count: kept)
      base = keep
    }

    /// A change to come (after those already queued: the caller keeps them in the event queue's order).
    mutating func schedule(_ change: ReplicaChange) {
      if changeCount == changeCapacity {
        changes = changes.movedToDoubled(count: changeCount, capacity: &changeCapacity)
      }
      // After every change queued at or before its time (the event queue's order for equal times: as given).
      var i = changeCount
      while i > changeNext && changes[i - 1].time > change.time {
        (changes + i).initialize(to: changes[i - 1])
        i -= 1
      }
      (changes + i).initialize(to: change)
      changeCount += 1
    }

    /// Starts a batch of the `size` queries at the front of the queue at t, taking `duration`: its counts (and each
    /// query's wait, into `column`); returns its finish for the caller to keep. - Complexity: O(size).
    @inline(__always)
    mutating func startBatch(
      size: Int, duration: Int64, at t: Int64, times: UnsafeMutablePointer<Int64>,
      waits column: UnsafeMutablePointer<LargestValues>?
    ) -> Finish {
      inService += size
      idle -= 1
      batches += 1
      visits += size
      return openBatch(size: size, duration: duration, at: t, times: times, waits: column)
    }

    /// `startBatch` without the counts a one-replica lane takes at the end of its run instead (visits, batches,
    /// the replica busy or idle: `runSingleReplicaLane`). - Complexity: O(size).
    @inline(__always)
    mutating func openBatch(
      size: Int, duration: Int64, at t: Int64, times: UnsafeMutablePointer<Int64>,
      waits column: UnsafeMutablePointer<LargestValues>?
    ) -> Finish {
      let first = served
      let waited = Lane.waits(of: times + (first - base), count: size, at: t, into: column)
      sequence &+= 1
      served += size
      waitSum += Double(waited)
      busy += duration
      batchSizes[size] += 1
      return Finish(time: t + duration, sequence: sequence, start: first, size: size, began: t)
    }

    /// The waits of `count` queries that arrived at `arrivals[0 ..< count]` and start at t: their sum, and each
    /// into `column` (with wait percentiles).
    @inline(__always)
    static func waits(
      of arrivals: UnsafeMutablePointer<Int64>, count: Int, at t: Int64,
      into column: UnsafeMutablePointer<LargestValues>?
    ) -> Int64 {
      var waited: Int64 = 0
      if let column {
        for i in 0..<count {
          let wait = t - arrivals[i]
          waited += wait
          column.pointee.add(wait)
        }
      } else {
        for i in 0..<count { waited += t - arrivals[i] }
      }
      return waited
    }

    /// The first position from `from` (before `end`) whose arrival (`times[position]`, sorted) is after `through`.
    /// Four at a time without a branch on each: a loop ending on the first later arrival mispredicted its exit
    /// about once a batch, a quarter of a one-replica lane's time. - Complexity: O(arrivals taken).
    @inline(__always)
    static func arrivals(
      _ times: UnsafeMutablePointer<Int64>, from: Int, end: Int, through: Int64
    ) -> Int {
      var next = from
      var all = true
      while all && next + 4 <= end {
        let taken =
          (times[next] <= through ? 1 : 0) + (times[next + 1] <= through ? 1 : 0)
          + (times[next + 2] <= through ? 1 : 0) + (times[next + 3] <= through ? 1 : 0)
        next += taken
        all = taken == 4
      }
      if all { while next < end && times[next] <= through { next += 1 } }
      return next
    }

    /// The last `count` arrivals handled (up to `arrived`) were the lane's latest events: the last of them is its
    /// last event unless a later finish or change was. Lanes note their arrivals once per run, not per event.
    @inline(__always)
    mutating func noteArrivals(_ count: Int, times: UnsafeMutablePointer<Int64>) {
      if count > 0 { lastEvent = max(lastEvent, times[arrived - 1 - base]) }
    }

    /// Takes the first batch to finish: it is the lane's last event, and its queries leave service.
    @inline(__always)
    mutating func takeFinish() -> Finish {
      let batch = popFirst()
      lastEvent = batch.time
      inService -= batch.size
      return batch
    }

    /// The next event if it is a replica change (changes come before finishes and arrivals, the next at
    /// `arrivalTime`, at one instant); nil otherwise.
    @inline(__always)
    func changeComesFirst(arrivalTime: Int64) -> ReplicaChange? {
      guard changeNext < changeCount else { return nil }
      let change = changes[changeNext]
      guard change.time <= arrivalTime && (heapCount == 0 || change.time <= heap[0].time) else { return nil }
      return change
    }

    /// Takes the next replica change (`changeComesFirst`): it is the lane's last event.
    @inline(__always)
    mutating func takeChange() {
      lastEvent = changes[changeNext].time
      changeNext += 1
    }

    /// Whether no replica leaves after its batch and no change comes at or before `through`: its replica count
    /// stays as it is while its events up to `through` are handled.
    @inline(__always)
    func hasNoChange(through: Int64) -> Bool {
      pendingRemovals == 0 && (changeNext == changeCount || changes[changeNext].time > through)
    }

    /// The replica count changes at t by `change`: replica time is accounted up to t first.
    @inline(__always)
    mutating func noteReplicaCount(at t: Int64, change: Int) {
      replicaTime += Int64(replicas) * (t - lastChange)
      lastChange = t
      replicas += change
    }

    @inline(__always)
    mutating func push(_ finish: Finish) {
      if _slowPath(heapCount == heapCapacity) { heap = heap.movedToDoubled(count: heapCount, capacity: &heapCapacity) }
      var i = heapCount
      heapCount += 1
      while i > 0 {
        let parent = (i - 1) >> 1
        guard Finish.precedes(finish, heap[parent]) else { break }
        heap[i] = heap[parent]
        i = parent
      }
      heap[i] = finish
    }

    @inline(__always)
    mutating func popFirst() -> Finish {
      let first = heap[0]
      heapCount -= 1
      if heapCount > 0 {
        let last = heap[heapCount]
        var i = 0
        while true {
          var child = 2 * i + 1
          guard child < heapCount else { break }
          if child + 1 < heapCount && Finish.precedes(heap[child + 1], heap[child]) { child += 1 }
          guard Finish.precedes(heap[child], last) else { break }
          heap[i] = heap[child]
          i = child
        }
        heap[i] = last
      }
      return first
    }
  }

  let input: SimulationInput
  let options: Estimator.Options
  let queryCount: Int
  var lanes: Slab<Lane>
  /// Children of each stage: `children[childStart[s] ..< childStart[s + 1]]`, with the edge each one takes.
  let childStart: Slab<Int>
  let children: Slab<Int>
  let childEdge: Slab<Int>
  let order: [Int]
  let latencyStart: Slab<Int>
  let hop: Int64
  /// Per child entry (`children` order), the delay of its edge, when edges' delays differ (`delays` points to it);
  /// empty with `delays` nil when `hop` is on every edge.
  let childDelay: Slab<Int64>
  let delays: UnsafeMutablePointer<Int64>?
  let slo: Int64
  let latency: Slab<Int64>
  let batchLimit: Slab<Int>
  /// Latency by input size, when batches follow their inputs' sizes.
  let sized: SizedBatches
  /// Per query: the time of its last finish so far, in the storage of the result's latencies (while running).
  var lastFinish: UnsafeMutablePointer<Int64>? = nil
  /// A stepped run's last finishes, set while it advances (`lastFinish`) and turned into the latencies in place at
  /// the end: one buffer of a query's worth where a separate result array made two.
  var stepFinishes: [Int64] = []
  /// Per query, in feasibility checks and closed loops only: whether it has missed (a full run counts misses from
  /// the latencies).
  let missed: Slab<Bool>
  /// Route masks when they vary by query (drawn with a probability below 1, or given): `masks` points to them; it
  /// is nil when every edge is always taken, or when the routes are kept a byte a query (`narrowMasks`).
  let routeMasks: Slab<UInt64>
  let masks: UnsafeMutablePointer<UInt64>?
  /// Routes of a pipeline with up to 8 edges, a byte a query instead of `masks`' eight (nil otherwise).
  var narrowMasks: UnsafeMutablePointer<UInt8>? = nil
  /// Drawn routes are drawn a slice at a time, just before the slice runs (a feasibility check that stops early
  /// draws no more than it reached): the generator and how many queries have their route.
  var routeGenerator: SeededGenerator? = nil
  var routesDrawn = 0
  let routeDraw: RouteDraw
  let waits: Slab<LargestValues>
  /// With `recordStageFinishes`: each query's finish at each stage, stage-major; `Int64.min` until it finishes.
  let stageFinishes: Slab<Int64>
  let recordsFinishes: Bool
  var misses = 0
  let allowedMisses: Int
  var events = 0
  var stopped = false
  /// Joins (`StageByStageJoin`), by index among the joins (`joinIndex`, -1 for other stages); whether each stage
  /// has a join among its children; parents per join.
  let joins: Slab<StageByStageJoin>
  let joinIndex: Slab<Int>
  let feedsJoin: Slab<Bool>
  /// Per stage whose only child is a join, that child's place among the children (`children`); -1 otherwise.
  let onlyJoinChild: Slab<Int>
  let joinParents: [Int]
  let graph: PipelineGraph
  /// `graph` at a fixed address, for the outlets made at every lane run: a pointer copies without the retains of
  /// the graph's arrays (a closed loop makes four outlets a simulated second).
  let graphCell: Slab<PipelineGraph>
  /// Parents each join waits for, per route mask (`mask * joins + j`, 0 = not yet known), for up to 12 edges;
  /// a dictionary beyond.
  let routeJoins: Slab<UInt8>
  var routeJoinCache: [UInt64: [UInt8]] = [:]
  /// A join met a tie it cannot order: the run stops, and the event-driven simulator answers.
  var cannotOrder = false
  /// Queries whose slices have begun (their last finish and route written), whether the last of those slices
  /// is still running, and its last instant.
  var sliceEnd = 0
  var sliceOpen = false
  var sliceThrough: Int64 = .min
  /// Whether misses are counted as finishes come (feasibility checks stop on them; a closed loop reads them).
  let countsMisses: Bool
  /// A stepped run keeps its last finishes in `stepFinishes` (`run` writes them where the latencies will be).
  let ownsFinishes: Bool
  /// Whether replica counts may change (given up front, or by a closed loop): lanes then take the general path,
  /// and a query left in a queue with no replica is never served.
  var changesReplicas: Bool
  /// Per stage, the recording it is handed on from instead of simulated (`replaying`); empty when none is.
  /// Set by `share(replaying:recording:)`.
  var replays: [StageRecording?] = []
  var hasReplays = false
  /// Per replayed stage, the next batch and the next member to hand on.
  var replayBatch: [Int] = []
  var replayMember: [Int] = []
  /// This run's recorders, one per stage, when asked to record (`recordings()` hands their buffers over; until
  /// then the simulation frees them); nil otherwise.
  var recorders: UnsafeMutablePointer<StageRecorder>? = nil
  var recordersHandedOver = false
  /// Per stage, its replicas' own queues (`ReplicaQueueLane`), with a balancer other than the central queue; nil
  /// with a central queue.
  var replicaQueues: UnsafeMutablePointer<ReplicaQueueLane>? = nil

  /// - Parameter stepped: run in steps (`advance(until:)`, `observe`, `schedule`, `finish`) by a closed loop,
  ///   whose replica changes come as it goes.
  init(input: SimulationInput, options: Estimator.Options, graph: PipelineGraph? = nil, stepped: Bool = false) {
    self.input = input
    self.options = options
    let stages = input.stageCount
    let n = input.arrivals.count
    queryCount = n
    let graph = graph ?? PipelineGraph(input)
    self.graph = graph
    graphCell = Slab(repeating: graph, count: 1)
    let parents = graph.parentCount
    joins = Slab((0..<graph.joinCount).map { _ in StageByStageJoin() })
    joinIndex = Slab(graph.joinIndex)
    feedsJoin = Slab(
      (0..<stages).map { s in graph.children[graph.childStart[s]..<graph.childStart[s + 1]].contains { parents[$0] > 1 }
      })
    onlyJoinChild = Slab(
      (0..<stages).map { s in
        let first = graph.childStart[s]
        return graph.childStart[s + 1] == first + 1 && parents[graph.children[first]] > 1 ? first : -1
      })
    joinParents = (0..<stages).filter { parents[$0] > 1 }.map { parents[$0] }
    routeJoins =
      input.edges.count <= 12 && graph.joinCount > 0
      ? Slab(repeating: 0, count: (1 << input.edges.count) * graph.joinCount) : Slab.empty()
    childStart = Slab(graph.childStart)
    hop = input.edgeDelays?.first ?? input.hopDelay
    if let delays = input.edgeDelays, delays.contains(where: { $0 != delays.first }) {
      childDelay = Slab(graph.childEdge.map { delays[$0] })
      self.delays = childDelay.base
    } else {
      childDelay = Slab.empty()
      self.delays = nil
    }
    slo = input.slo
    children = Slab(graph.children)
    childEdge = Slab(graph.childEdge)
    order = graph.order ?? []
    let (starts, table) = input.flatLatencyTables
    latencyStart = Slab(starts)
    latency = Slab(table)
    batchLimit = Slab(input.stages.map(\.batchSize))
    sized = SizedBatches(input)
    countsMisses = options.stopWhenInfeasible || stepped
    missed = countsMisses ? Slab(repeating: false, count: n) : Slab.empty()
    ownsFinishes = stepped
    recordsFinishes = options.recordStageFinishes
    stageFinishes = recordsFinishes ? Slab(repeating: Int64.min, count: n * stages) : Slab.empty()
    allowedMisses = input.percentile.allowedMisses(of: n)
    routeDraw = RouteDraw(probabilities: input.edgeProbabilities)
    // Routes vary by query when given, or drawn with a probability below 1 (with probability 1 everywhere, the
    // event-driven simulator still draws but every mask is all ones). The event-driven simulator draws each
    // query's route at its arrival, in trace order: the same draws, a slice at a time (`drawRoutes`).
    var given: [UInt64]? = nil
    var drawn: UInt64? = nil
    switch input.routes {
    case .given(let masks):
      precondition(masks.count == n, "given routes must have one entry per query")
      given = masks
    case .drawn(let seed):
      if !input.edgeProbabilities.allSatisfy({ $0 >= 1 }) { drawn = seed }
    }
    let varies = !input.edges.isEmpty && (given != nil || drawn != nil)
    if varies, let drawn { routeGenerator = SeededGenerator(seed: drawn) }
    if varies && input.edges.count <= 8 {
      // A byte a query: a route has a bit per edge, and no other bit is read.
      routeMasks = Slab.empty()
      masks = nil
      let narrow = UnsafeMutablePointer<UInt8>.allocate(capacity: max(n, 1))
      // Through a buffer, so that the copy is vectorised (checked indexing kept it a byte at a time: 1% of a report).
      given?.withUnsafeBufferPointer { given in
        for q in 0..<n { narrow[q] = UInt8(truncatingIfNeeded: given[q]) }
      }
      narrowMasks = narrow
    } else if varies {
      if let given {
        routeMasks = Slab(given)
      } else {
        routeMasks = Slab<UInt64>(repeating: 0, count: n)
      }
      masks = routeMasks.base
    } else {
      routeMasks = Slab.empty()
      masks = nil
    }
    waits = Slab(repeating: LargestValues(percentile: .p99, maximumCount: n), count: stages)
    lanes = Slab(
      (0..<stages).map { s in
        let service = input.stages[s]
        let sizes = UnsafeMutablePointer<Int>.allocate(capacity: service.batchSize + 1)
        sizes.initialize(repeating: 0, count: service.batchSize + 1)
        let heapCapacity = max(service.replicas, 1)
        // A root's arrivals are the trace itself.
        let isRoot = parents[s] == 0
        let capacity = isRoot ? n : 1 << 12
        return Lane(
          times: .allocate(capacity: isRoot ? 1 : capacity), queries: isRoot ? nil : .allocate(capacity: capacity),
          capacity: capacity, end: isRoot ? n : 0, idle: service.replicas, heap: .allocate(capacity: heapCapacity),
          heapCapacity: heapCapacity, replicas: service.replicas, lastChange: input.arrivals.first ?? 0,
          changes: .allocate(capacity: 1), batchSizes: sizes)
      })
    // Changes given up front, in the event queue's order: by time, then stage, then as given.
    for change in input.replicaChanges.sorted(by: { ($0.time, $0.stage) < ($1.time, $1.stage) }) {
      lanes[change.stage].schedule(change)
    }
    changesReplicas = stepped || !input.replicaChanges.isEmpty
    if input.dispatch == .roundRobin || input.dispatch == .shortestQueue {
      let queues = UnsafeMutablePointer<ReplicaQueueLane>.allocate(capacity: stages)
      for s in 0..<stages {
        (queues + s).initialize(
          to: ReplicaQueueLane(
            replicas: input.stages[s].replicas, shortestQueue: input.dispatch == .shortestQueue,
            batchLimit: input.stages[s].batchSize))
        lanes.base[s].batchesAreRanges = false
      }
      replicaQueues = queues
    }
    // Written slice by slice as the run reaches it (`advance`), so it starts uninitialised.
    if stepped { stepFinishes = [Int64](unsafeUninitializedCapacity: n) { _, count in count = n } }
  }

  /// Before running: hands on stages from other runs and records this one.
  /// - Parameters:
  ///   - replaying: per stage, another run's recording to hand on instead of simulating the stage (nil: simulate
  ///     it). The caller vouches that each replayed stage and every stage upstream of it were configured the same
  ///     in that run, on the same trace, routes and service; the replayed stages must include their parents.
  ///     Not with wait percentiles, replica changes or steps.
  ///   - recording: keep what each stage did (`recordings()`; not with batches over 65,535).
  mutating func share(replaying: [StageRecording?], recording: Bool) {
    let stages = input.stageCount
    let parents = graph.parentCount
    precondition(!changesReplicas && !ownsFinishes, "recorded runs have no steps and no replica changes")
    precondition(self.recorders == nil && !hasReplays && sliceEnd == 0, "once, before running")
    let replays = replaying.contains { $0 != nil }
    precondition(!replays || !options.collectWaitPercentiles, "replayed stages keep no wait percentiles")
    precondition(!replays || replicaQueues == nil, "replayed stages have a central queue")
    precondition(!replays || replaying.count == stages, "one entry per stage")
    // Batch sizes are recorded in 16 bits; batches are recorded as ranges of a central queue's arrivals.
    let recording =
      recording && replicaQueues == nil && input.stages.allSatisfy { $0.batchSize <= Int(UInt16.max) }
    var recorders: UnsafeMutablePointer<StageRecorder>? = nil
    if recording {
      recorders = .allocate(capacity: stages)
      for s in 0..<stages {
        let feeds = graph.children[graph.childStart[s]..<graph.childStart[s + 1]].contains { parents[$0] > 1 }
        (recorders! + s).initialize(
          to: StageRecorder(isRoot: parents[s] == 0, keepsBegan: feeds && sized.follows(stage: s)))
      }
    }
    hasReplays = replays
    self.replays = replays ? replaying : []
    self.recorders = recorders
    replayBatch = Array(repeating: 0, count: replays ? stages : 0)
    replayMember = Array(repeating: 0, count: replays ? stages : 0)
    for s in 0..<stages {
      guard hasReplays, let recording = replaying[s] else { continue }
      precondition(
        graph.parents(of: s).allSatisfy { replaying[$0] != nil }, "a replayed stage's parents are replayed")
      // Its counts are the recorded run's; its lane takes no arrivals (those appended are dropped as it replays).
      lanes[s].restore(recording.final)
      lanes[s].served = lanes[s].end
      lanes[s].arrived = lanes[s].end
      lanes[s].base = lanes[s].end
      events += recording.events
    }
  }

  deinit {
    narrowMasks?.deallocate()
    if let recorders {
      if !recordersHandedOver {
        for s in 0..<input.stageCount { recorders[s].free() }
      }
      recorders.deallocate()
    }
    for j in 0..<graph.joinCount { joins[j].free() }
    if let replicaQueues {
      for s in 0..<input.stageCount { replicaQueues[s].free() }
      replicaQueues.deallocate()
    }
    for s in 0..<input.stageCount {
      lanes[s].times.deallocate()
      lanes[s].queries?.deallocate()
      lanes[s].heap.deallocate()
      lanes[s].changes.deallocate()
      lanes[s].batchSizes.deallocate()
    }
  }

  /// Trace arrivals per slice.
  static let sliceQueries = 16_384

  /// The result; nil when a join met a tie it cannot order (`StageByStageJoin`).
  mutating func run() -> SimulationResult? {
    let n = queryCount
    // The last finishes are kept where the latencies will be, and turned into them in place.
    let latencies = input.arrivals.withUnsafeBufferPointer { arrivals in
      [Int64](unsafeUninitializedCapacity: n) { buffer, count in
        let finishes = buffer.baseAddress!
        lastFinish = finishes
        advance(until: .max)
        lastFinish = nil
        // A run stopped early has no latencies (the buffer is written only up to where it stopped).
        guard !stopped else {
          count = 0
          return
        }
        for q in 0..<n { finishes[q] -= arrivals[q] }
        markNeverServed(finishes)
        count = n
      }
    }
    if cannotOrder { return nil }
    #if INFERLINE_INVARIANTS
      for j in 0..<graph.joinCount where !stopped {
        precondition(joins[j].pendingCount == 0, "every complete join arrival handed on")
      }
    #endif
    return result(latencies: latencies)
  }

  /// Handles every event stamped before `limit` (all of them for `.max`), slice by slice, into `lastFinish`:
  /// what a policy tick at `limit` sees. Stops for good when too many queries have missed in a feasibility
  /// check, or when a join meets a tie it cannot order (`cannotOrder`).
  mutating func advance(until limit: Int64) {
    guard ownsFinishes else { return advanceSlices(until: limit) }
    // Moved out for the run (no copy), so that the pointer is valid while it advances.
    var finishes: [Int64] = []
    swap(&finishes, &stepFinishes)
    finishes.withUnsafeMutableBufferPointer { buffer in
      lastFinish = buffer.baseAddress
      advanceSlices(until: limit)
      lastFinish = nil
    }
    swap(&finishes, &stepFinishes)
  }

  /// `advance(until:)` into `lastFinish`.
  mutating func advanceSlices(until limit: Int64) {
    let n = queryCount
    let finishes = lastFinish!
    input.arrivals.withUnsafeBufferPointer { arrivals in
      let trace = UnsafeMutablePointer(mutating: arrivals.baseAddress!)
      while !stopped {
        if !sliceOpen {
          if let cancellation = options.cancellation, cancellation.isCancelled {
            stopped = true
            break
          }
          // A query's last finish starts as its arrival, written as its slice comes: a check that stops early
          // touches no more of the buffer than it reached.
          let sliceStart = sliceEnd
          sliceEnd = min(n, sliceEnd + Self.sliceQueries)
          (finishes + sliceStart).initialize(from: arrivals.baseAddress! + sliceStart, count: sliceEnd - sliceStart)
          drawRoutes(upTo: sliceEnd)
          // Every event before the next slice's first arrival (all of them in the last slice).
          sliceThrough = sliceEnd < n ? arrivals[sliceEnd] - 1 : .max
          sliceOpen = true
        }
        let through = limit == .max ? sliceThrough : min(sliceThrough, limit - 1)
        for s in order {
          if _slowPath(hasReplays) && replays[s] != nil {
            replayLane(s, through: through, trace: trace)
            if stopped { break }
            continue
          }
          if joinIndex.base[s] >= 0 && !joins.base[joinIndex.base[s]].admit(through: through, into: &lanes.base[s]) {
            cannotOrder = true
            stopped = true
            break
          }
          let before = events
          runLane(s, through: through, trace: trace)
          if let recorders { recorders[s].events += events - before }
          if stopped { break }
        }
        // Stopped, at the limit inside this slice, or done.
        if stopped || through < sliceThrough || sliceEnd == n { break }
        for s in order { lanes[s].compact() }
        sliceOpen = false
      }
    }
  }

  /// Hands on stage s's recorded finishes up to and including `through`, as its simulation would: each batch
  /// through `finish`, into its children (the arrivals its own parents appended to its lane are dropped).
  mutating func replayLane(_ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>) {
    let recording = replays[s]!
    let r = recording.buffers
    lanes.base[s].base = lanes.base[s].end
    lanes.base[s].served = lanes.base[s].end
    lanes.base[s].arrived = lanes.base[s].end
    var k = replayBatch[s]
    var member = replayMember[s]
    while k < r.batchCount {
      let t = r.times[k]
      guard t <= through else { break }
      let size = Int(r.sizes[k])
      let start = r.starts.map { Int($0[k]) } ?? member
      // When it began: kept, or its size's duration before its finish; its dispatch number: its place (`StageRecorder`).
      let began = r.began?[k] ?? (t - latency.base[latencyStart.base[s] + size - 1])
      let batch = Finish(time: t, sequence: UInt64(k), start: start, size: size, began: began)
      finish(stage: s, batch, at: t, queries: r.queries, base: 0, trace: trace)
      k += 1
      if r.starts == nil { member += size }
      if options.stopWhenInfeasible && misses > allowedMisses {
        stopped = true
        break
      }
    }
    replayBatch[s] = k
    replayMember[s] = member
  }

  /// What each stage did, after a complete run made with `recording` (nil when it stopped early or a join met a
  /// tie): a replayed stage's recording is the one it replayed.
  mutating func recordings() -> [StageRecording]? {
    guard let recorders, !recordersHandedOver, !stopped, !cannotOrder else { return nil }
    recordersHandedOver = true
    return (0..<input.stageCount).map { s in
      if hasReplays, let replayed = replays[s] {
        recorders[s].free()
        return replayed
      }
      return StageRecording(recorders[s], final: lanes[s].counts(limit: input.stages[s].batchSize))
    }
  }

  /// Queries still queued at the end (a stage left with no replica) or waiting at a join for such a stage are
  /// never fully served: their latency is `Int64.max`, as the event-driven simulator reports it.
  func markNeverServed(_ latencies: UnsafeMutablePointer<Int64>) {
    for s in 0..<input.stageCount {
      let lane = lanes[s]
      for position in lane.served..<lane.end {
        latencies[lane.queries.map { Int($0[position - lane.base]) } ?? position] = .max
      }
    }
    for j in 0..<graph.joinCount where joins[j].partialCount > 0 {
      for slot in 0...joins[j].slotMask where joins[j].slots[slot].query >= 0 {
        latencies[Int(joins[j].slots[slot].query)] = .max
      }
    }
  }

  /// Draws the routes of the queries before `end`, in trace order: the draws the event-driven simulator makes at
  /// each arrival.
  mutating func drawRoutes(upTo end: Int) {
    guard var generator = routeGenerator, routesDrawn < end else { return }
    routeDraw.thresholds.withUnsafeBufferPointer { thresholds in
      if let narrowMasks {
        for q in routesDrawn..<end {
          narrowMasks[q] = UInt8(truncatingIfNeeded: RouteDraw.mask(thresholds, &generator))
        }
      } else if let masks {
        for q in routesDrawn..<end { masks[q] = RouteDraw.mask(thresholds, &generator) }
      }
    }
    routeGenerator = generator
    routesDrawn = end
  }

  /// Handles stage s's events up to and including time `through`, in the event queue's order.
  mutating func runLane(_ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>) {
    // A recorded run takes the general path (the one-replica loop has no recording step).
    // So does a lane whose replica count may change, unless it has one replica, none leaving, and no change due by
    // `through` (a closed loop's stage between decisions).
    let single =
      recorders == nil && lanes.base[s].replicas == 1
      && (!changesReplicas || lanes.base[s].hasNoChange(through: through))
    // Each lane compiled once per outlet, with its finish inlined (both in one loop spilled registers: 4-6% slower).
    if onlyJoinChild.base[s] >= 0, var outlet = onlyJoinOutlet(stage: s, trace: trace) {
      runChosenLane(s, through: through, trace: trace, single: single, outlet: &outlet)
      takeBack(outlet)
    } else if feedsJoin.base[s] {
      var outlet = joinOutlet(stage: s, trace: trace)
      runChosenLane(s, through: through, trace: trace, single: single, outlet: &outlet)
      takeBack(outlet)
    } else if case 1...2 = childStart.base[s + 1] - childStart.base[s] {
      var outlet = fewChildrenOutlet(stage: s, trace: trace)
      runChosenLane(s, through: through, trace: trace, single: single, outlet: &outlet)
      takeBack(outlet)
    } else {
      var outlet = outlet(stage: s, trace: trace)
      runChosenLane(s, through: through, trace: trace, single: single, outlet: &outlet)
      misses = outlet.misses
    }
  }

  /// The lane that fits stage s, through `outlet`: a queue per replica, one replica (`single`), or the general
  /// central queue.
  mutating func runChosenLane<Outlet: StageOutlet>(
    _ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>, single: Bool, outlet: inout Outlet
  ) {
    if replicaQueues != nil {
      runReplicaQueueLane(s, through: through, trace: trace, outlet: &outlet)
    } else if single {
      runSingleReplicaLane(s, through: through, trace: trace, outlet: &outlet)
    } else {
      runLane(s, through: through, trace: trace, outlet: &outlet)
    }
  }

  /// `runLane` for a central queue, its finished batches through `outlet`.
  mutating func runLane<Outlet: StageOutlet>(
    _ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>, outlet into: inout Outlet
  ) {
    // A local copy, kept in registers (through the `inout` its fields were loaded again at every batch).
    var outlet = into
    defer { into = outlet }
    // A local copy: only this stage's parent appends to its lane, and the parent has run already.
    var lane = lanes[s]
    let isRoot = lane.queries == nil
    let times = isRoot ? trace : lane.times
    let column = options.collectWaitPercentiles ? waits.base + s : nil
    let recorder = recorders.map { $0 + s }
    let limit = batchLimit.base[s]
    let table = latency.base + latencyStart.base[s]
    let follows = sized.follows(stage: s)
    // Arrivals are counted, and the last one found, at the end (`runSingleReplicaLane`); finishes and changes as
    // they come.
    let firstArrival = lane.arrived
    var handled = 0
    while true {
      let t: Int64
      let arrivalTime = lane.arrived < lane.end ? times[lane.arrived - lane.base] : .max
      if _slowPath(lane.changeNext < lane.changeCount), let change = lane.changeComesFirst(arrivalTime: arrivalTime) {
        guard change.time <= through else { break }
        lane.takeChange()
        handled += 1
        changeReplicas(&lane, stage: s, to: change.replicas, at: change.time, times: times, waits: column)
        continue
      }
      if lane.heapCount > 0, lane.heap[0].time <= arrivalTime {
        let finishTime = lane.heap[0].time
        guard finishTime <= through else { break }
        let batch = lane.takeFinish()
        handled += 1
        if _slowPath(recorder != nil) {
          recorder.unsafelyUnwrapped.pointee.record(
            time: finishTime, size: batch.size, start: batch.start, began: batch.began, members: lane.queries,
            base: lane.base)
        }
        outlet.finish(batch, at: finishTime, queries: lane.queries, base: lane.base)
        if options.stopWhenInfeasible && outlet.misses > allowedMisses {
          stopped = true
          break
        }
        if _slowPath(lane.pendingRemovals > 0) {
          // The replica leaves after its batch (`CentralQueue.finished`).
          lane.pendingRemovals -= 1
          lane.noteReplicaCount(at: finishTime, change: -1)
        } else {
          lane.idle += 1
        }
        t = finishTime
      } else if lane.arrived < lane.end {
        guard arrivalTime <= through else { break }
        lane.arrived += 1
        guard lane.idle > 0 else {
          // Every replica busy (or none): arrivals before the next finish or change only join the queue.
          var bound = lane.heapCount > 0 ? min(through, lane.heap[0].time - 1) : through
          if lane.changeNext < lane.changeCount { bound = min(bound, lane.changes[lane.changeNext].time - 1) }
          lane.arrived = Lane.arrivals(times - lane.base, from: lane.arrived, end: lane.end, through: bound)
          continue
        }
        t = arrivalTime
      } else {
        break
      }
      // Idle replicas take batches while queries wait (`dispatch`, in place: a call per batch cost more).
      while lane.idle > 0 && lane.served < lane.arrived {
        let size = min(lane.arrived - lane.served, limit)
        var duration = table[size - 1]
        if follows {
          duration = sizedDuration(stage: s, queries: lane.queries, base: lane.base, first: lane.served, size: size)
        }
        lane.push(lane.startBatch(size: size, duration: duration, at: t, times: times, waits: column))
      }
    }
    let arrivalsHandled = lane.arrived - firstArrival
    lane.noteArrivals(arrivalsHandled, times: times)
    lanes[s] = lane
    // A trace arrival is one event however many roots it enters: counted once, in `result()`.
    events += handled + (isRoot ? 0 : arrivalsHandled)
  }

  /// `runLane` for a stage with one replica: the batch in service is the only finish (no heap to consult), and
  /// while it runs every arrival before its end only joins the queue. Its finish step repeats `runLane`'s on
  /// purpose: sharing it through a helper that takes the lane `inout` costs 18% of the chain benchmark.
  mutating func runSingleReplicaLane<Outlet: StageOutlet>(
    _ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>, outlet into: inout Outlet
  ) {
    // A local copy, kept in registers (through the `inout` its fields were loaded again at every batch).
    var outlet = into
    defer { into = outlet }
    var lane = lanes[s]
    let isRoot = lane.queries == nil
    let times = isRoot ? trace : lane.times
    let column = options.collectWaitPercentiles ? waits.base + s : nil
    // Events are counted, and the last one found, at the end: arrivals by how far `arrived` moved, finishes as
    // they come (counted per event, under a branch on whether any arrivals came, they cost the chain benchmark 9%).
    let firstArrival = lane.arrived
    // So are the visits and batches started (by how far `served` and `sequence` moved), and the replica's state.
    let firstServed = lane.served, firstSequence = lane.sequence
    var finishes = 0
    var lastFinish = Int64.min
    let limit = batchLimit.base[s]
    let table = latency.base + latencyStart.base[s]
    let follows = sized.follows(stage: s)
    // The batch in service, kept in registers while the lane runs (its heap slot is written back at the end: a
    // batch stored there and loaded back at its finish stalled on store forwarding, 15% of the lane's time).
    var inService = lane.heapCount > 0
    var batch = inService ? lane.heap[0] : Finish(time: 0, sequence: 0, start: 0, size: 0, began: 0)
    while true {
      // Time t: the replica has just become idle (a finish, or an arrival that found it idle).
      let t: Int64
      if inService {
        let finishTime = batch.time
        // Arrivals before the finish (and within the slice) join the queue.
        let bound = min(through, finishTime - 1)
        lane.arrived = Lane.arrivals(times - lane.base, from: lane.arrived, end: lane.end, through: bound)
        guard finishTime <= through else { break }
        inService = false
        finishes += 1
        lastFinish = finishTime
        outlet.finish(batch, at: finishTime, queries: lane.queries, base: lane.base)
        if options.stopWhenInfeasible && outlet.misses > allowedMisses {
          stopped = true
          break
        }
        t = finishTime
      } else {
        guard lane.arrived < lane.end else { break }
        let arrivalTime = times[lane.arrived - lane.base]
        guard arrivalTime <= through else { break }
        lane.arrived += 1
        t = arrivalTime
      }
      // The idle replica takes a batch if queries wait (`dispatch` for one replica: its heap is one slot).
      guard lane.served < lane.arrived else { continue }
      let size = min(lane.arrived - lane.served, limit)
      var duration = table[size - 1]
      if follows {
        duration = sizedDuration(stage: s, queries: lane.queries, base: lane.base, first: lane.served, size: size)
      }
      batch = lane.openBatch(size: size, duration: duration, at: t, times: times, waits: column)
      inService = true
    }
    lane.heapCount = inService ? 1 : 0
    if inService { lane.heap[0] = batch }
    lane.inService = inService ? batch.size : 0
    lane.idle = inService ? 0 : 1
    lane.visits += lane.served - firstServed
    lane.batches += Int(truncatingIfNeeded: lane.sequence &- firstSequence)
    let arrivalsHandled = lane.arrived - firstArrival
    lane.noteArrivals(arrivalsHandled, times: times)
    lane.lastEvent = max(lane.lastEvent, lastFinish)
    lanes[s] = lane
    // A trace arrival is one event however many roots it enters: counted once, in `result()`.
    events += finishes + (isRoot ? 0 : arrivalsHandled)
  }

  /// Idle replicas take batches while queries wait. Mutating only so that the simulation is passed by reference:
  /// as a borrowing method of this non-copyable value, each call copied the whole value (609 bytes) first, 8% of a
  /// report's time.
  @inline(__always)
  mutating func dispatch(
    _ lane: inout Lane, stage s: Int, at t: Int64, times: UnsafeMutablePointer<Int64>,
    waits column: UnsafeMutablePointer<LargestValues>?
  ) {
    let limit = batchLimit.base[s]
    let table = latency.base + latencyStart.base[s]
    while lane.idle > 0 && lane.served < lane.arrived {
      let size = min(lane.arrived - lane.served, limit)
      var duration = table[size - 1]
      if sized.follows(stage: s) {
        duration = sizedDuration(stage: s, queries: lane.queries, base: lane.base, first: lane.served, size: size)
      }
      lane.push(lane.startBatch(size: size, duration: duration, at: t, times: times, waits: column))
    }
  }

  /// L(n) of the batch of `size` from arrival position `first` of stage s's lane (`queries` from `base`; nil at a
  /// root), by its queries' sizes (`SizedBatches`). Takes the lane's fields, not the lane: a copy of it per batch.
  mutating func sizedDuration(
    stage s: Int, queries: UnsafeMutablePointer<Int32>?, base: Int, first: Int, size: Int
  ) -> Int64 {
    if let queries {
      let local = queries - base + first
      return sized.latency(stage: s, batch: size) { Int(local[$0]) }
    }
    return sized.latency(stage: s, batch: size) { first + $0 }
  }

  /// Stage s's replica count becomes `count` at t, as `CentralQueue.changeReplicas` does it: added replicas cancel
  /// pending removals first and serve at once; removed ones are idle ones first, busy ones after their batch.
  mutating func changeReplicas(
    _ lane: inout Lane, stage s: Int, to count: Int, at t: Int64, times: UnsafeMutablePointer<Int64>,
    waits column: UnsafeMutablePointer<LargestValues>?
  ) {
    let target = max(0, count)
    let effective = lane.replicas - lane.pendingRemovals
    if target > effective {
      var add = target - effective
      let cancel = min(add, lane.pendingRemovals)
      lane.pendingRemovals -= cancel
      add -= cancel
      lane.idle += add
      lane.noteReplicaCount(at: t, change: add)
      dispatch(&lane, stage: s, at: t, times: times, waits: column)
    } else if target < effective {
      let remove = effective - target
      let idle = min(remove, lane.idle)
      lane.idle -= idle
      lane.noteReplicaCount(at: t, change: -idle)
      lane.pendingRemovals += remove - idle
    }
  }

  /// A batch finishes: each query's latency so far, its miss (in a feasibility check), and its arrivals at the
  /// children it goes on to, through the stage's outlet made for this one batch (the lanes that finish many keep
  /// theirs: `runLane`).
  mutating func finish(
    stage s: Int, _ batch: Finish, at t: Int64, queries: UnsafeMutablePointer<Int32>?, base: Int,
    trace: UnsafeMutablePointer<Int64>
  ) {
    if feedsJoin.base[s] {
      var outlet = joinOutlet(stage: s, trace: trace)
      outlet.finish(batch, at: t, queries: queries, base: base)
      takeBack(outlet)
    } else {
      var outlet = outlet(stage: s, trace: trace)
      outlet.finish(batch, at: t, queries: queries, base: base)
      misses = outlet.misses
    }
  }

  /// Stage s's `BatchOutlet`, with the misses so far. Mutating only so that the simulation is passed by reference.
  mutating func outlet(stage s: Int, trace: UnsafeMutablePointer<Int64>) -> BatchOutlet {
    BatchOutlet(
      from: childStart.base[s], to: childStart.base[s + 1], children: children.base, childEdge: childEdge.base,
      delays: delays, hop: hop, lanes: lanes.base, noted: queryFinishes(stage: s, trace: trace))
  }

  /// What every outlet reads and notes of a query that finishes at a stage: its route, the time (with
  /// `recordStageFinishes`), its miss in a feasibility check (counted), and its last finish where it goes no further.
  struct QueryFinishes {
    let finishes: UnsafeMutablePointer<Int64>
    /// Drawn routes, a byte a query up to 8 edges, else 8 bytes; both nil when every edge is taken.
    let narrow: UnsafeMutablePointer<UInt8>?
    let wide: UnsafeMutablePointer<UInt64>?
    let recorded: UnsafeMutablePointer<Int64>?
    let missed: UnsafeMutablePointer<Bool>?
    let trace: UnsafeMutablePointer<Int64>
    let slo: Int64
    var misses: Int

    @_transparent
    mutating func note(_ q: Int, at t: Int64) {
      if let recorded { recorded[q] = t }
      if let missed, !missed[q] && t - trace[q] > slo {
        missed[q] = true
        misses += 1
      }
    }

    var routed: Bool { narrow != nil || wide != nil }

    /// Query q's route mask, when routes are drawn (`routed`).
    @_transparent
    func mask(_ q: Int) -> UInt64 { narrow != nil ? UInt64(narrow.unsafelyUnwrapped[q]) : wide.unsafelyUnwrapped[q] }

    /// Query q's route mask; nil when every edge is taken.
    @_transparent
    func route(_ q: Int) -> UInt64? { routed ? mask(q) : nil }

    /// Query q finished at t and goes no further from here: t is its last finish unless another branch ends later.
    @_transparent
    func end(_ q: Int, at t: Int64) { if t > finishes[q] { finishes[q] = t } }
  }

  /// Stage s's `QueryFinishes`, with the misses so far. Mutating only so that the simulation is passed by reference.
  mutating func queryFinishes(stage s: Int, trace: UnsafeMutablePointer<Int64>) -> QueryFinishes {
    QueryFinishes(
      finishes: lastFinish!, narrow: narrowMasks, wide: masks,
      recorded: recordsFinishes ? stageFinishes.base + s * queryCount : nil, missed: countsMisses ? missed.base : nil,
      trace: trace, slo: slo, misses: misses)
  }

  /// Where a lane's finished batches go (`BatchOutlet`, `JoinOutlet`): the lanes are generic over it, so that each
  /// is compiled with its outlet's `finish` inlined.
  protocol StageOutlet {
    /// Queries that have missed so far.
    var misses: Int { get }
    /// The batch's queries (`queries[start - base ..<]`, or trace positions at a root) finish at t.
    mutating func finish(_ batch: Finish, at t: Int64, queries: UnsafeMutablePointer<Int32>?, base: Int)
  }

  /// Where the finished batches of a stage with no join among its children go: each query's miss (in a
  /// feasibility check) and last finish, and its arrivals at the children on its route. Made once per lane run,
  /// so that a batch's finish reads no field of the simulation (a call per batch that did was a fifth of a
  /// batch-1 stage's time); the caller takes `misses` back.
  struct BatchOutlet: StageOutlet {
    let from: Int
    let to: Int
    let children: UnsafeMutablePointer<Int>
    let childEdge: UnsafeMutablePointer<Int>
    let delays: UnsafeMutablePointer<Int64>?
    let hop: Int64
    let lanes: UnsafeMutablePointer<Lane>
    var noted: QueryFinishes
    var misses: Int { noted.misses }

    /// The batch's queries (`queries[start - base ..<]`, or trace positions at a root) finish at t.
    /// - Complexity: O(size x children).
    @_transparent
    mutating func finish(_ batch: Finish, at t: Int64, queries: UnsafeMutablePointer<Int32>?, base: Int) {
      let arrival = t + hop
      // A query's finish at a child is later than this one (the hop is not negative and service takes time), so
      // its last finish only needs writing where it goes on to no child.
      let routed = noted.routed
      // With routes, every child gets each query's slot and keeps it when the query's route takes its edge (no
      // branch on a drawn route: they were mispredicted about once a visit).
      var edges: UInt64 = 0
      if routed {
        for e in from..<to {
          lanes[children[e]].reserve(batch.size)
          edges |= 1 << UInt64(childEdge[e])
        }
      }
      for i in batch.start..<(batch.start + batch.size) {
        let q = queries.map { Int($0[i - base]) } ?? i
        noted.note(q, at: t)
        if from == to {
          noted.end(q, at: t)
          continue
        }
        let q32 = Int32(truncatingIfNeeded: q)
        if routed {
          let mask = noted.mask(q)
          for e in from..<to {
            let lane = lanes + children[e]
            let slot = lane.pointee.end - lane.pointee.base
            lane.pointee.times[slot] = delays.map { t + $0[e] } ?? arrival
            lane.pointee.queries.unsafelyUnwrapped[slot] = q32
            lane.pointee.end &+= Int(truncatingIfNeeded: (mask >> UInt64(childEdge[e])) & 1)
          }
          if mask & edges == 0 { noted.end(q, at: t) }
        } else {
          for e in from..<to {
            lanes[children[e]].append(time: delays.map { t + $0[e] } ?? arrival, query: q32)
          }
        }
      }
    }
  }

  /// Stage s's `FewChildrenOutlet` (one or two children, none a join), with its children's lane tails moved in
  /// (`takeBack` stores them back).
  mutating func fewChildrenOutlet(stage s: Int, trace: UnsafeMutablePointer<Int64>) -> FewChildrenOutlet {
    let e = childStart.base[s], two = childStart.base[s + 1] - e == 2
    let second = two ? e + 1 : e
    return FewChildrenOutlet(
      noted: queryFinishes(stage: s, trace: trace),
      two: two, first: LaneTail(lanes.base[children.base[e]]), second: LaneTail(lanes.base[children.base[second]]),
      firstBit: UInt64(childEdge.base[e]), secondBit: UInt64(childEdge.base[second]),
      firstDelay: delays.map { $0[e] } ?? hop, secondDelay: delays.map { $0[second] } ?? hop,
      firstChild: children.base[e], secondChild: children.base[second])
  }

  /// The misses and the children's lane tails a `FewChildrenOutlet` took.
  mutating func takeBack(_ outlet: consuming FewChildrenOutlet) {
    misses = outlet.misses
    outlet.first.store(into: &lanes.base[outlet.firstChild])
    if outlet.two { outlet.second.store(into: &lanes.base[outlet.secondChild]) }
  }

  /// `BatchOutlet` for a stage with one or two children, neither a join (a chain's stages, a branch): the ends of
  /// the children's arrival lists are held here for the lane run, so that the loop keeps them in registers instead
  /// of loading them through the lanes' pointer after every store. Made once per lane run; a child's only parent
  /// is this stage, so nothing else appends to it meanwhile.
  struct FewChildrenOutlet: StageOutlet {
    var noted: QueryFinishes
    var misses: Int { noted.misses }
    /// Whether there is a second child (else `second` is the first's copy, never stored back).
    let two: Bool
    var first: LaneTail
    var second: LaneTail
    /// Each child's edge as the place of its bit in a route mask, its delay (ns), and its stage.
    let firstBit: UInt64
    let secondBit: UInt64
    let firstDelay: Int64
    let secondDelay: Int64
    let firstChild: Int
    let secondChild: Int

    /// The batch's queries (`queries[start - base ..<]`, or trace positions at a root) finish at t.
    /// - Complexity: O(size).
    @_transparent
    mutating func finish(_ batch: Finish, at t: Int64, queries: UnsafeMutablePointer<Int32>?, base: Int) {
      first.reserve(batch.size)
      if two { second.reserve(batch.size) }
      let firstTime = t + firstDelay, secondTime = t + secondDelay
      let edges: UInt64 = 1 << firstBit | (two ? 1 << secondBit : 0)
      for i in batch.start..<(batch.start + batch.size) {
        let q = queries.map { Int($0[i - base]) } ?? i
        noted.note(q, at: t)
        let q32 = Int32(truncatingIfNeeded: q)
        // Every child gets the query's slot, and keeps it when its route takes the child's edge (no branch on a
        // drawn route); all of them without routes. The bit is shifted out, not tested: a test became a branch
        // again. A query's finish at a child is later than this one, so its last finish is written only where it
        // goes on to neither.
        let mask = noted.route(q) ?? ~0
        var slot = first.end - first.base
        first.times[slot] = firstTime
        first.queries[slot] = q32
        first.end &+= Int(truncatingIfNeeded: (mask >> firstBit) & 1)
        if two {
          slot = second.end - second.base
          second.times[slot] = secondTime
          second.queries[slot] = q32
          second.end &+= Int(truncatingIfNeeded: (mask >> secondBit) & 1)
        }
        if mask & edges == 0 { noted.end(q, at: t) }
      }
    }
  }

  /// Stage s's `JoinOutlet`, with the misses so far and the routes' joins known so far (moved in: `takeBack` returns
  /// them).
  mutating func joinOutlet(stage s: Int, trace: UnsafeMutablePointer<Int64>) -> JoinOutlet {
    for e in childStart.base[s]..<childStart.base[s + 1] where joinIndex.base[children.base[e]] >= 0 {
      joins.base[joinIndex.base[children.base[e]]].beginSegment()
    }
    var cache: [UInt64: [UInt8]] = [:]
    swap(&cache, &routeJoinCache)
    return JoinOutlet(
      plain: outlet(stage: s, trace: trace), stage: Int32(s), joins: joins.base, joinIndex: joinIndex.base,
      joinParents: joinParents, routeJoins: input.edges.count <= 12 ? routeJoins.base : nil, graph: graph,
      replayed: hasReplays ? replays.map { $0 != nil } : nil, routeJoinCache: cache)
  }

  /// The misses and the routes' joins a lane run's `JoinOutlet` found.
  mutating func takeBack(_ outlet: consuming JoinOutlet) {
    misses = outlet.plain.misses
    swap(&routeJoinCache, &outlet.routeJoinCache)
  }

  /// Stage s's `OnlyJoinOutlet` (s's only child is a join), with its join moved in (`takeBack` puts it back); nil
  /// when the join is handed on from a recording, or routes have more than 12 edges (`JoinOutlet` takes those).
  mutating func onlyJoinOutlet(stage s: Int, trace: UnsafeMutablePointer<Int64>) -> OnlyJoinOutlet? {
    let e = onlyJoinChild.base[s]
    let c = children.base[e]
    let routed = narrowMasks != nil || masks != nil
    guard !(hasReplays && replays[c] != nil), !routed || input.edges.count <= 12 else { return nil }
    let j = joinIndex.base[c]
    joins.base[j].beginSegment()
    return OnlyJoinOutlet(
      noted: queryFinishes(stage: s, trace: trace),
      edge: 1 << UInt64(childEdge.base[e]), delay: delays.map { $0[e] } ?? hop, stage: Int32(s),
      join: joins.base[j], joinNumber: j, joinCount: graph.joinCount, parents: joinParents[j],
      routeJoins: routed ? routeJoins.base : nil, graph: graphCell.base)
  }

  /// The misses and the join an `OnlyJoinOutlet` took.
  mutating func takeBack(_ outlet: consuming OnlyJoinOutlet) {
    misses = outlet.misses
    joins.base[outlet.joinNumber] = outlet.join
  }

  /// `JoinOutlet` for a stage whose only child is a join (a join's parents, as a rule): each query's arrival at the
  /// join goes into the join's table, a copy of it held here for the lane run, so that the loop keeps its fields
  /// in registers instead of loading them through the table's pointer after every store. Made once per lane run.
  struct OnlyJoinOutlet: StageOutlet {
    var noted: QueryFinishes
    var misses: Int { noted.misses }
    /// The edge to the join, as a route mask's bit, and its delay (ns).
    let edge: UInt64
    let delay: Int64
    let stage: Int32
    var join: StageByStageJoin
    /// The join's index among the joins, how many joins there are, and how many parents it has.
    let joinNumber: Int
    let joinCount: Int
    let parents: Int
    /// `StageByStageSimulation.routeJoins` when routes are drawn.
    let routeJoins: UnsafeMutablePointer<UInt8>?
    /// `StageByStageSimulation.graphCell`.
    let graph: UnsafeMutablePointer<PipelineGraph>

    /// The batch's queries (`queries[start - base ..<]`, or trace positions at a root) finish at t.
    /// - Complexity: O(size).
    @_transparent
    mutating func finish(_ batch: Finish, at t: Int64, queries: UnsafeMutablePointer<Int32>?, base: Int) {
      let arrival = t + delay
      for i in batch.start..<(batch.start + batch.size) {
        let q = queries.map { Int($0[i - base]) } ?? i
        noted.note(q, at: t)
        var expected = parents
        if let routeJoins {
          let mask = noted.mask(q)
          guard mask & edge != 0 else {
            noted.end(q, at: t)
            continue
          }
          let row = routeJoins + Int(mask) * joinCount
          if _slowPath(row[joinNumber] == 0) { Self.learn(row, mask: mask, graph: graph.pointee) }
          expected = Int(row[joinNumber])
        }
        let creation = StageByStageJoin.Creation(
          finish: t, began: batch.began, sequence: batch.sequence, stage: stage, member: Int32(i - batch.start))
        join.arrive(query: Int32(truncatingIfNeeded: q), expected: expected, time: arrival, creation: creation)
      }
    }

    /// Fills a route's row of `routeJoins`: how many parents each join waits for on it.
    @inline(never)
    static func learn(_ row: UnsafeMutablePointer<UInt8>, mask: UInt64, graph: PipelineGraph) {
      let facts = graph.routeFacts(mask).joins
      for k in facts.indices { row[k] = facts[k] }
    }
  }

  /// `BatchOutlet` for a stage with a join among its children: arrivals at joins go through the join's table
  /// (`StageByStageJoin.arrive`), the others straight to their lanes. Made once per lane run.
  struct JoinOutlet: StageOutlet {
    /// The fields a plain stage's outlet has, and its misses.
    var plain: BatchOutlet
    let stage: Int32
    let joins: UnsafeMutablePointer<StageByStageJoin>
    /// Per stage, its index among the joins (-1 for other stages).
    let joinIndex: UnsafeMutablePointer<Int>
    let joinParents: [Int]
    /// Parents each join waits for, per route mask (`StageByStageSimulation.routeJoins`; nil beyond 12 edges,
    /// where `routeJoinCache` keeps them).
    let routeJoins: UnsafeMutablePointer<UInt8>?
    let graph: PipelineGraph
    /// Per stage, whether it is handed on from a recording (nil when none is).
    let replayed: [Bool]?
    var routeJoinCache: [UInt64: [UInt8]]
    var misses: Int { plain.misses }

    /// The batch's queries (`queries[start - base ..<]`, or trace positions at a root) finish at t.
    /// - Complexity: O(size x children).
    @_transparent
    mutating func finish(_ batch: Finish, at t: Int64, queries: UnsafeMutablePointer<Int32>?, base: Int) {
      let from = plain.from, to = plain.to
      for i in batch.start..<(batch.start + batch.size) {
        let q = queries.map { Int($0[i - base]) } ?? i
        plain.noted.note(q, at: t)
        let q32 = Int32(truncatingIfNeeded: q)
        let route = plain.noted.route(q)  // nil: every edge is taken
        let mask = route ?? ~0
        var goesOn = false
        for e in from..<to where mask & (1 << UInt64(plain.childEdge[e])) != 0 {
          goesOn = true
          let c = plain.children[e]
          let time = plain.delays.map { t + $0[e] } ?? (t + plain.hop)
          let j = joinIndex[c]
          guard j >= 0 else {
            plain.lanes[c].append(time: time, query: q32)
            continue
          }
          // A replayed join takes nothing: its recording hands on its finishes.
          if let replayed, replayed[c] { continue }
          let creation = StageByStageJoin.Creation(
            finish: t, began: batch.began, sequence: batch.sequence, stage: stage, member: Int32(i - batch.start))
          joins[j].arrive(query: q32, expected: expectedParents(join: j, mask: route), time: time, creation: creation)
        }
        if !goesOn { plain.noted.end(q, at: t) }
      }
    }

    /// How many parents join j waits for on a route (all of them when every edge is taken).
    @inline(__always)
    mutating func expectedParents(join j: Int, mask: UInt64?) -> Int {
      guard let mask else { return joinParents[j] }
      let joinCount = graph.joinCount
      if let routeJoins {
        let row = routeJoins + Int(mask) * joinCount
        if _slowPath(row[j] == 0) {
          let facts = graph.routeFacts(mask).joins
          for k in 0..<joinCount { row[k] = facts[k] }
        }
        return Int(row[j])
      }
      if let known = routeJoinCache[mask] { return Int(known[j]) }
      let facts = graph.routeFacts(mask).joins
      routeJoinCache[mask] = facts
      return Int(facts[j])
    }
  }

  // MARK: In steps (a closed loop)

  /// Stage s as a policy sees it after `advance(until:)`.
  func observe(stage s: Int) -> ClosedLoopSimulation.StageObservation {
    let lane = lanes[s]
    return ClosedLoopSimulation.StageObservation(
      queued: replicaQueues.map { $0[s].waiting } ?? lane.arrived - lane.served, inService: lane.inService,
      replicas: lane.replicas,
      busyNanoseconds: lane.busy)
  }

  /// The time of the last event handled (the first arrival before any).
  var now: Int64 {
    var now = input.arrivals[0]
    for s in 0..<input.stageCount { now = max(now, lanes[s].lastEvent) }
    return now
  }

  /// A replica change to come, at or after the last `advance` limit.
  mutating func schedule(_ change: ReplicaChange) {
    lanes.base[change.stage].schedule(change)
  }

  /// Runs a stepped simulation to the end; nil when a join met a tie it cannot order.
  mutating func finish() -> SimulationResult? {
    advance(until: .max)
    guard !cannotOrder else { return nil }
    var latencies: [Int64] = []
    swap(&latencies, &stepFinishes)
    input.arrivals.withUnsafeBufferPointer { arrivals in
      latencies.withUnsafeMutableBufferPointer { buffer in
        for q in 0..<queryCount { buffer[q] -= arrivals[q] }
        markNeverServed(buffer.baseAddress!)
      }
    }
    return result(latencies: latencies)
  }

  func result(latencies: [Int64]) -> SimulationResult {
    let n = queryCount
    let now = self.now
    var stats: [StageStatistics] = []
    var visits = 0
    for s in 0..<input.stageCount {
      let lane = lanes[s]
      visits += lane.visits
      var p99Wait: Int64 = 0
      if options.collectWaitPercentiles { p99Wait = waits.base[s].value() ?? 0 }
      stats.append(
        StageStatistics(
          visits: lane.visits, batches: lane.batches, busyNanoseconds: lane.busy,
          replicaNanoseconds: lane.replicaTime + Int64(lane.replicas) * (now - lane.lastChange),
          totalWaitNanoseconds: lane.waitSum,
          p99WaitNanoseconds: p99Wait,
          batchSizeCounts: (0...input.stages[s].batchSize).map { lane.batchSizes[$0] }))
    }
    let finishes =
      recordsFinishes ? Array(UnsafeBufferPointer(start: stageFinishes.base, count: n * input.stageCount)) : nil
    if stopped {
      return SimulationResult(
        queries: n, latencies: nil, stoppedEarly: true, misses: misses, feasible: false, summary: nil, stages: stats,
        stageVisits: visits, events: events, stageFinishes: finishes)
    }
    var over = 0
    for l in latencies where l > slo { over += 1 }
    return SimulationResult(
      queries: n, latencies: latencies, stoppedEarly: false, misses: over, feasible: over <= allowedMisses,
      summary: options.summarisesLatencies ? LatencySummary(latencies: latencies) : nil, stages: stats,
      stageVisits: visits, events: events + n,
      stageFinishes: finishes)
  }
}
