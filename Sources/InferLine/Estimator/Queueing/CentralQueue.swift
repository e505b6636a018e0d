/// One FIFO queue per stage, served by any idle replica (`DispatchPolicy.centralQueue`, the ideal balancer):
/// whenever a replica is idle and the queue is not empty, it takes `n = min(queued, b)` queries at once. A removed
/// busy replica finishes its batch first. - Complexity: O(1) per query and per batch, amortised.
struct CentralQueue: QueueingDiscipline, ~Copyable {
  /// A stage's queue: a ring of `capacity` entries from `head`, `count` of them waiting.
  struct Ring {
    var storage: UnsafeMutablePointer<QueuedQuery>
    var capacity: Int
    var head = 0
    var count = 0
  }

  var rings: Slab<Ring>
  /// First idle replica of each stage (-1 when none); replicas chain through `nextIdle`.
  var idleHead: Slab<Int32>
  var nextIdle: Slab<Int32>
  /// Per stage, busy replicas that leave when their batch is done.
  var pendingRemovals: Slab<Int>

  init(_ input: SimulationInput) {
    let stages = input.stageCount
    rings = Slab(
      (0..<stages).map { _ in
        let capacity = 256
        let storage = UnsafeMutablePointer<QueuedQuery>.allocate(capacity: capacity)
        storage.initialize(repeating: QueuedQuery(query: 0, since: 0), count: capacity)
        return Ring(storage: storage, capacity: capacity)
      })
    idleHead = Slab(repeating: -1, count: stages)
    nextIdle = Slab(repeating: -1, count: max(1, input.stages.reduce(0) { $0 + $1.replicas }))
    pendingRemovals = Slab(repeating: 0, count: stages)
  }

  deinit {
    for s in 0..<rings.capacity where rings.base[s].capacity > 0 { rings.base[s].storage.deallocate() }
  }

  func queued(stage s: Int) -> Int { rings.base[s].count }

  mutating func added(replica r: Int, stage s: Int, state: inout SimulationState) {
    nextIdle.grow(to: r + 1, filling: -1)
    nextIdle.base[r] = idleHead.base[s]
    idleHead.base[s] = Int32(r)
  }

  @inline(__always)
  mutating func arrive(query q: Int, stage s: Int, at t: Int64, state: inout SimulationState) {
    if state.overflow.isActive && idleHead.base[s] < 0
      && state.overflows(
        stage: s, queued: rings.base[s].count, replicas: state.active.base[s] - pendingRemovals.base[s], at: t)
    {
      return state.serveOnServerless(query: q, stage: s, at: t)
    }
    if rings.base[s].count == rings.base[s].capacity { grow(stage: s) }
    var index = rings.base[s].head + rings.base[s].count
    if index >= rings.base[s].capacity { index -= rings.base[s].capacity }
    rings.base[s].storage[index] = QueuedQuery(query: Int32(q), since: t)
    rings.base[s].count += 1
    dispatch(stage: s, at: t, state: &state)
  }

  /// Doubles stage s's ring, its queries first.
  mutating func grow(stage s: Int) {
    let old = rings.base[s]
    let bigger = UnsafeMutablePointer<QueuedQuery>.allocate(capacity: old.capacity * 2)
    for i in 0..<old.count { (bigger + i).initialize(to: old.storage[(old.head + i) % old.capacity]) }
    old.storage.deallocate()
    rings.base[s] = Ring(storage: bigger, capacity: old.capacity * 2, head: 0, count: old.count)
  }

  /// Idle replicas take batches while queries wait.
  @inline(__always)
  mutating func dispatch(stage s: Int, at t: Int64, state: inout SimulationState) {
    let collect = state.options.collectWaitPercentiles
    while rings.base[s].count > 0 && idleHead.base[s] >= 0 {
      let replica = Int(idleHead.base[s])
      idleHead.base[s] = nextIdle.base[replica]
      var ring = rings.base[s]
      let size = min(ring.count, state.batchLimit.base[s])
      let members = state.members.base + replica * state.memberStride
      var waited: Int64 = 0
      for i in 0..<size {
        let entry = ring.storage[ring.head]
        ring.head += 1
        if ring.head == ring.capacity { ring.head = 0 }
        members[i] = entry.query
        let wait = t - entry.since
        waited += wait
        if collect { state.waits[s].add(wait) }
      }
      ring.count -= size
      rings.base[s] = ring
      state.startBatch(replica: replica, stage: s, size: size, waited: waited, at: t)
    }
  }

  mutating func finished(replica r: Int, stage s: Int, at t: Int64, state: inout SimulationState) {
    if pendingRemovals.base[s] > 0 {
      pendingRemovals.base[s] -= 1
      state.noteReplicaCount(stage: s, at: t, change: -1)
    } else {
      nextIdle.base[r] = idleHead.base[s]
      idleHead.base[s] = Int32(r)
    }
    dispatch(stage: s, at: t, state: &state)
  }

  /// New replicas serve at once; idle ones leave first, and busy ones after their batch.
  mutating func changeReplicas(stage s: Int, to count: Int, warm: Bool, at t: Int64, state: inout SimulationState) {
    let target = max(0, count)
    let effective = state.active.base[s] - pendingRemovals.base[s]
    if target > effective {
      var add = target - effective
      let cancel = min(add, pendingRemovals.base[s])
      pendingRemovals.base[s] -= cancel
      add -= cancel
      for _ in 0..<add { added(replica: state.addReplica(stage: s, cold: !warm), stage: s, state: &state) }
      state.noteReplicaCount(stage: s, at: t, change: add)
      dispatch(stage: s, at: t, state: &state)
    } else if target < effective {
      var remove = effective - target
      while remove > 0 && idleHead.base[s] >= 0 {
        idleHead.base[s] = nextIdle.base[Int(idleHead.base[s])]
        remove -= 1
        state.noteReplicaCount(stage: s, at: t, change: -1)
      }
      pendingRemovals.base[s] += remove  // busy ones leave when their batch is done
    }
  }
}
