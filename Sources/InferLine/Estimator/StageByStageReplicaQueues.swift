/// A stage whose replicas each keep their own queue, in the stage-by-stage simulator: the balancers that depend only
/// on the stage's own state (`DispatchPolicy.roundRobin`, `.shortestQueue`), with `ReplicaQueues`' rules. Each
/// arrival joins the queue the balancer picks (loads counting queries queued and in service, the first of equals;
/// or in turn, counting arrivals); an idle replica serves at once, and a replica whose batch finishes takes its
/// next batch from its own queue. The random balancers draw from one generator shared by every stage in event
/// order, which a stage simulated on its own cannot reproduce, so they stay event by event.
/// Plain copyable storage, freed by its owner (`free`).
/// - Complexity: O(1) per query for round robin, O(replicas) for the shortest queue; memory a position per query
///   queued, and a batch's query numbers per replica.
struct ReplicaQueueLane {
  /// One replica: the arrival positions in its queue (`positions[head ..< tail]`), its load and whether it serves.
  struct Queue {
    var positions: UnsafeMutablePointer<Int>
    var head = 0
    var tail = 0
    var capacity: Int
    /// Queries queued or in service.
    var load = 0
    var busy = false

    init() {
      capacity = 64
      positions = .allocate(capacity: capacity)
    }

    var isEmpty: Bool { head == tail }

    @inline(__always)
    mutating func append(_ position: Int) {
      if _slowPath(tail == capacity) {
        // Full: drop the served front, and double when what is kept fills more than half.
        let kept = tail - head
        if head > 0 { positions.update(from: positions + head, count: kept) }
        if kept * 2 > capacity { positions = positions.movedToDoubled(count: kept, capacity: &capacity) }
        tail = kept
        head = 0
      }
      positions[tail] = position
      tail += 1
    }
  }

  let replicas: Int
  let shortestQueue: Bool
  /// Round robin's turn: arrivals so far.
  var turn = 0
  var queues: UnsafeMutablePointer<Queue>
  /// Per replica, the query numbers of its batch in service: `members[r * batchLimit ..< r * batchLimit + size]`.
  let members: UnsafeMutablePointer<Int32>
  let batchLimit: Int

  init(replicas: Int, shortestQueue: Bool, batchLimit: Int) {
    self.replicas = replicas
    self.shortestQueue = shortestQueue
    self.batchLimit = batchLimit
    queues = .allocate(capacity: max(replicas, 1))
    for r in 0..<replicas { (queues + r).initialize(to: Queue()) }
    members = .allocate(capacity: max(replicas * batchLimit, 1))
  }

  func free() {
    for r in 0..<replicas { queues[r].positions.deallocate() }
    queues.deallocate()
    members.deallocate()
  }

  /// The replica the next arrival joins (`ShortestQueueBalancer`, `RoundRobinBalancer`).
  @inline(__always)
  mutating func choose() -> Int {
    if shortestQueue {
      var best = 0
      var least = queues[0].load
      for r in 1..<replicas where queues[r].load < least {
        best = r
        least = queues[r].load
      }
      return best
    }
    defer { turn += 1 }
    return turn % replicas
  }

  /// The first arrival position still queued at any replica (`arrived` when none is): where the lane may drop
  /// what comes before.
  func firstQueued(arrived: Int) -> Int {
    var first = arrived
    for r in 0..<replicas where !queues[r].isEmpty { first = min(first, queues[r].positions[queues[r].head]) }
    return first
  }
}

extension StageByStageSimulation {
  /// `runLane` for a stage with a queue per replica (`ReplicaQueueLane`): finishes before arrivals at the same
  /// instant, in creation order, as the event queue handles them; a batch's queries are copied out of the lane, so
  /// the lane keeps only arrivals still queued somewhere (`served` is the first of them).
  mutating func runReplicaQueueLane(_ s: Int, through: Int64, trace: UnsafeMutablePointer<Int64>) {
    var lane = lanes[s]
    let balancer = replicaQueues.unsafelyUnwrapped + s
    let isRoot = lane.queries == nil
    let times = isRoot ? trace : lane.times
    let column = options.collectWaitPercentiles ? waits.base + s : nil
    var handled = 0
    var arrivalsHandled = 0
    while true {
      let arrivalTime = lane.arrived < lane.end ? times[lane.arrived - lane.base] : .max
      if lane.heapCount > 0, lane.heap[0].time <= arrivalTime {
        let finishTime = lane.heap[0].time
        guard finishTime <= through else { break }
        let batch = lane.takeFinish()
        handled += 1
        // The batch's `start` is its replica; its queries are that replica's members.
        let r = batch.start
        let members = balancer.pointee.members + r * balancer.pointee.batchLimit
        finish(
          stage: s,
          Finish(time: batch.time, sequence: batch.sequence, start: 0, size: batch.size, began: batch.began),
          at: finishTime, queries: members, base: 0, trace: trace)
        if options.stopWhenInfeasible && misses > allowedMisses {
          stopped = true
          break
        }
        balancer.pointee.queues[r].busy = false
        balancer.pointee.queues[r].load -= batch.size
        serve(&lane, replica: r, stage: s, at: finishTime, times: times, waits: column)
      } else if lane.arrived < lane.end {
        guard arrivalTime <= through else { break }
        let position = lane.arrived
        lane.arrived += 1
        handled += 1
        arrivalsHandled += 1
        lane.lastEvent = arrivalTime
        let r = balancer.pointee.choose()
        balancer.pointee.queues[r].append(position)
        balancer.pointee.queues[r].load += 1
        if !balancer.pointee.queues[r].busy {
          serve(&lane, replica: r, stage: s, at: arrivalTime, times: times, waits: column)
        }
      } else {
        break
      }
    }
    lane.served = balancer.pointee.firstQueued(arrived: lane.arrived)
    lanes[s] = lane
    events += handled - (isRoot ? arrivalsHandled : 0)
  }

  /// Idle replica r takes a batch from its own queue, if anything waits there (`ReplicaQueues.serve`).
  @inline(__always)
  mutating func serve(
    _ lane: inout Lane, replica r: Int, stage s: Int, at t: Int64, times: UnsafeMutablePointer<Int64>,
    waits column: UnsafeMutablePointer<LargestValues>?
  ) {
    let balancer = replicaQueues.unsafelyUnwrapped + s
    let queue = balancer.pointee.queues + r
    let count = queue.pointee.tail - queue.pointee.head
    guard count > 0 else { return }
    let size = min(count, balancer.pointee.batchLimit)
    let members = balancer.pointee.members + r * balancer.pointee.batchLimit
    let queued = queue.pointee.positions + queue.pointee.head
    var waited: Int64 = 0
    for i in 0..<size {
      let position = queued[i]
      members[i] = lane.queries.map { $0[position - lane.base] } ?? Int32(truncatingIfNeeded: position)
      let wait = t - times[position - lane.base]
      waited += wait
      column?.pointee.add(wait)
    }
    queue.pointee.head += size
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
