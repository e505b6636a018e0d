/// A stage whose replicas each keep their own queue, in the stage-by-stage simulator: the balancers that depend only
/// on the stage's own state (`DispatchPolicy.roundRobin`, `.shortestQueue`), with `ReplicaQueues`' rules. Each
/// arrival joins the queue the balancer picks (loads counting queries queued and in service, the first of equals;
/// or in turn, counting arrivals); an idle replica serves at once, and a replica whose batch finishes takes its
/// next batch from its own queue. Replicas come and go by `ReplicaQueues.changeReplicas`' rules
/// (`changeReplicaQueues`). The random balancers draw from one generator shared by every stage in event order,
/// which a stage simulated on its own cannot reproduce, so they stay event by event.
/// Plain copyable storage, freed by its owner (`free`).
/// - Complexity: O(1) per query for round robin, O(replicas) for the shortest queue; memory 16 bytes per query
///   queued, and a batch's query numbers per replica.
struct ReplicaQueueLane {
  /// One replica: the queries in its queue with their arrival times (`entries[head ..< tail]`; copied out of the
  /// lane, which then keeps nothing queued), its load and whether it serves.
  struct Queue {
    var entries: UnsafeMutablePointer<QueuedQuery>
    var head = 0
    var tail = 0
    var capacity: Int
    /// Queries queued or in service.
    var load = 0
    var busy = false
    /// Leaves the stage once its batch finishes.
    var retiring = false

    init() {
      capacity = 64
      entries = .allocate(capacity: capacity)
    }

    var isEmpty: Bool { head == tail }

    @inline(__always)
    mutating func append(_ entry: QueuedQuery) {
      if _slowPath(tail == capacity) {
        // Full: drop the served front, and double when what is kept fills more than half.
        let kept = tail - head
        if head > 0 { entries.update(from: entries + head, count: kept) }
        if kept * 2 > capacity { entries = entries.movedToDoubled(count: kept, capacity: &capacity) }
        tail = kept
        head = 0
      }
      entries[tail] = entry
      tail += 1
    }
  }

  let shortestQueue: Bool
  /// Round robin's turn: arrivals so far.
  var turn = 0
  /// Every replica the stage has had, numbered in the order they came (a replica that left keeps its number).
  var queues: UnsafeMutablePointer<Queue>
  var slots: Int
  var slotCapacity: Int
  /// The serving replicas in the balancer's order (those that came first first): `order[0 ..< active]`.
  var order: UnsafeMutablePointer<Int>
  var active: Int
  /// Queries queued at any replica.
  var waiting = 0
  /// Per replica, the query numbers of its batch in service: `members[r * batchLimit ..< r * batchLimit + size]`.
  var members: UnsafeMutablePointer<Int32>
  let batchLimit: Int

  init(replicas: Int, shortestQueue: Bool, batchLimit: Int) {
    self.shortestQueue = shortestQueue
    self.batchLimit = batchLimit
    slots = replicas
    slotCapacity = max(replicas, 1)
    queues = .allocate(capacity: slotCapacity)
    for r in 0..<replicas { (queues + r).initialize(to: Queue()) }
    order = .allocate(capacity: slotCapacity)
    for r in 0..<replicas { order[r] = r }
    active = replicas
    members = .allocate(capacity: slotCapacity * batchLimit)
  }

  func free() {
    for r in 0..<slots { queues[r].entries.deallocate() }
    queues.deallocate()
    order.deallocate()
    members.deallocate()
  }

  /// A new replica, idle, last in the balancer's order.
  mutating func add() {
    if slots == slotCapacity {
      var capacity = slotCapacity
      queues = queues.movedToDoubled(count: slots, capacity: &capacity)
      capacity = slotCapacity
      order = order.movedToDoubled(count: active, capacity: &capacity)
      let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * slotCapacity * batchLimit)
      bigger.moveInitialize(from: members, count: slotCapacity * batchLimit)
      members.deallocate()
      members = bigger
      slotCapacity *= 2
    }
    (queues + slots).initialize(to: Queue())
    order[active] = slots
    slots += 1
    active += 1
  }

  /// The replica the next arrival joins (`ShortestQueueBalancer`, `RoundRobinBalancer`).
  @inline(__always)
  mutating func choose() -> Int {
    if shortestQueue {
      var best = order[0]
      var least = queues[best].load
      for k in 1..<active where queues[order[k]].load < least {
        best = order[k]
        least = queues[best].load
      }
      return best
    }
    defer { turn += 1 }
    return order[turn % active]
  }
}

extension StageByStageSimulation {
  /// `runLane` for a stage with a queue per replica (`ReplicaQueueLane`): replica changes, then finishes (in
  /// creation order), then arrivals at one instant, as the event queue handles them; each arrival is copied into
  /// its replica's queue with its time, so the lane keeps none of them.
  mutating func runReplicaQueueLane<Outlet: StageOutlet>(
    _ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>, outlet into: inout Outlet
  ) {
    // A local copy, kept in registers (`runLane`).
    var outlet = into
    defer { into = outlet }
    var lane = lanes[s]
    let balancer = replicaQueues.unsafelyUnwrapped + s
    let isRoot = lane.queries == nil
    let times = isRoot ? trace : lane.times
    let column = options.collectWaitPercentiles ? waits.base + s : nil
    // Arrivals are counted, and the last one found, at the end (`Lane.noteArrivals`).
    let firstArrival = lane.arrived
    var handled = 0
    while true {
      let arrivalTime = lane.arrived < lane.end ? times[lane.arrived - lane.base] : .max
      if _slowPath(lane.changeNext < lane.changeCount), let change = lane.changeComesFirst(arrivalTime: arrivalTime) {
        guard change.time <= through else { break }
        lane.takeChange()
        handled += 1
        changeReplicaQueues(&lane, stage: s, to: change.replicas, at: change.time, waits: column)
        continue
      }
      if lane.heapCount > 0, lane.heap[0].time <= arrivalTime {
        let finishTime = lane.heap[0].time
        guard finishTime <= through else { break }
        let batch = lane.takeFinish()
        handled += 1
        // The batch's `start` is its replica; its queries are that replica's members.
        let r = batch.start
        let members = balancer.pointee.members + r * balancer.pointee.batchLimit
        outlet.finish(
          Finish(time: batch.time, sequence: batch.sequence, start: 0, size: batch.size, began: batch.began),
          at: finishTime, queries: members, base: 0)
        if options.stopWhenInfeasible && outlet.misses > allowedMisses {
          stopped = true
          break
        }
        balancer.pointee.queues[r].busy = false
        balancer.pointee.queues[r].load -= batch.size
        if _slowPath(balancer.pointee.queues[r].retiring) {
          // It leaves after its batch (`ReplicaQueues.finished`).
          balancer.pointee.queues[r].retiring = false
          lane.noteReplicaCount(at: finishTime, change: -1)
        } else {
          serve(&lane, replica: r, stage: s, at: finishTime, waits: column)
        }
      } else if lane.arrived < lane.end {
        guard arrivalTime <= through else { break }
        let query = lane.queries.map { $0[lane.arrived - lane.base] } ?? Int32(truncatingIfNeeded: lane.arrived)
        lane.arrived += 1
        join(&lane, QueuedQuery(query: query, since: arrivalTime), stage: s, at: arrivalTime, waits: column)
      } else {
        break
      }
    }
    // Every arrival handled is in a replica's queue or served: the lane keeps none of them.
    lane.served = lane.arrived
    let arrivalsHandled = lane.arrived - firstArrival
    lane.noteArrivals(arrivalsHandled, times: times)
    lanes[s] = lane
    events += handled + (isRoot ? 0 : arrivalsHandled)
  }

  /// A query (arrived at `entry.since`) joins the queue the balancer picks at t; an idle replica serves at once
  /// (`ReplicaQueues.arrive`).
  @inline(__always)
  mutating func join(
    _ lane: inout Lane, _ entry: QueuedQuery, stage s: Int, at t: Int64,
    waits column: UnsafeMutablePointer<LargestValues>?
  ) {
    let balancer = replicaQueues.unsafelyUnwrapped + s
    let r = balancer.pointee.choose()
    balancer.pointee.queues[r].append(entry)
    balancer.pointee.queues[r].load += 1
    balancer.pointee.waiting += 1
    if !balancer.pointee.queues[r].busy { serve(&lane, replica: r, stage: s, at: t, waits: column) }
  }

  /// Stage s's replica count becomes `count` (at least one) at t, as `ReplicaQueues.changeReplicas` does it: added
  /// replicas come last in the balancer's order; leaving ones are the idle first, then the least loaded, then the
  /// first to come, and their queued queries join the remaining queues again at t (keeping their arrival time, so
  /// their waits count from it); busy ones leave after their batch.
  mutating func changeReplicaQueues(
    _ lane: inout Lane, stage s: Int, to count: Int, at t: Int64,
    waits column: UnsafeMutablePointer<LargestValues>?
  ) {
    let balancer = replicaQueues.unsafelyUnwrapped + s
    let target = max(1, count)
    let current = balancer.pointee.active
    if target > current {
      for _ in current..<target { balancer.pointee.add() }
      lane.noteReplicaCount(at: t, change: target - current)
      return
    }
    guard target < current else { return }
    let queues = balancer.pointee.queues
    let serving = (0..<current).map { balancer.pointee.order[$0] }
    let leaving = serving.sorted {
      (queues[$0].busy ? 1 : 0, queues[$0].load, $0) < (queues[$1].busy ? 1 : 0, queues[$1].load, $1)
    }.prefix(current - target)
    var kept = 0
    for r in serving where !leaving.contains(r) {
      balancer.pointee.order[kept] = r
      kept += 1
    }
    balancer.pointee.active = kept
    for r in leaving {
      let queued = Array(
        UnsafeBufferPointer(start: queues[r].entries + queues[r].head, count: queues[r].tail - queues[r].head))
      queues[r].head = 0
      queues[r].tail = 0
      queues[r].load -= queued.count
      balancer.pointee.waiting -= queued.count
      if queues[r].busy { queues[r].retiring = true } else { lane.noteReplicaCount(at: t, change: -1) }
      for entry in queued { join(&lane, entry, stage: s, at: t, waits: column) }
    }
  }

  /// Idle replica r takes a batch from its own queue, if anything waits there (`ReplicaQueues.serve`).
  @inline(__always)
  mutating func serve(
    _ lane: inout Lane, replica r: Int, stage s: Int, at t: Int64,
    waits column: UnsafeMutablePointer<LargestValues>?
  ) {
    let balancer = replicaQueues.unsafelyUnwrapped + s
    let queue = balancer.pointee.queues + r
    let count = queue.pointee.tail - queue.pointee.head
    guard count > 0 else { return }
    let size = min(count, balancer.pointee.batchLimit)
    let members = balancer.pointee.members + r * balancer.pointee.batchLimit
    let queued = queue.pointee.entries + queue.pointee.head
    var waited: Int64 = 0
    for i in 0..<size {
      members[i] = queued[i].query
      let wait = t - queued[i].since
      waited += wait
      column?.pointee.add(wait)
    }
    queue.pointee.head += size
    balancer.pointee.waiting -= size
    if queue.pointee.head == queue.pointee.tail {
      queue.pointee.head = 0
      queue.pointee.tail = 0
    }
    queue.pointee.busy = true
    var duration = latency.base[latencyStart.base[s] + size - 1]
    if sized.follows(stage: s) { duration = sized.latency(stage: s, batch: size) { Int(members[$0]) } }
    lane.sequence &+= 1
    lane.push(Finish(time: t + duration, sequence: lane.sequence, start: r, size: size, began: t))
    lane.inService += size
    lane.waitSum += Double(waited)
    lane.busy += duration
    lane.batches += 1
    lane.visits += size
    lane.batchSizes[size] += 1
  }
}
