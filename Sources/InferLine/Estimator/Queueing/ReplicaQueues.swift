/// A queue per replica (`DispatchPolicy` other than `.centralQueue`): each arriving query joins the queue of the
/// replica its stage's balancer picks (`ReplicaBalancer`, kept per stage with each replica's load), and a replica
/// serves batches from its own queue only. Leaving replicas are the idle ones first, then the least loaded; the
/// queries they had queued are dispatched again (keeping the time they joined). A stage keeps at least one
/// replica (its queries have nowhere else to wait). - Complexity: O(1) per query plus the balancer's choice.
struct ReplicaQueues: QueueingDiscipline, ~Copyable {
  /// Per replica number (serverless instances have unused entries): its waiting queries from `queueHead` on,
  /// whether it is serving, and whether it leaves after its batch.
  var queues: [[QueuedQuery]] = []
  var queueHead: [Int] = []
  var isBusy: [Bool] = []
  var retiring: [Bool] = []
  /// Per replica, its queries queued or in service, kept as they change (what the balancers compare).
  var load: Slab<Int>
  /// Per stage: its serving replicas, its queries waiting, and how an arriving query picks a replica's queue.
  var stageReplicas: [[Int]]
  var waiting: Slab<Int>
  var balancers: Slab<StageBalancer>
  var random = SeededGenerator(seed: 0)

  init(_ input: SimulationInput) {
    let stages = input.stageCount
    precondition(input.dispatch != .centralQueue, "per-replica queues for a central queue's input")
    stageReplicas = Array(repeating: [], count: stages)
    waiting = Slab(repeating: 0, count: stages)
    load = Slab(repeating: 0, count: max(1, input.stages.reduce(0) { $0 + $1.replicas }))
    balancers = Slab(repeating: input.dispatch.balancer()!, count: stages)
    switch input.dispatch {
    case .random(let seed), .powerOfChoices(_, let seed):
      random = SeededGenerator(seed: RandomStream.dispatch.seed(seed))
    default: break
    }
  }

  func queued(stage s: Int) -> Int { waiting.base[s] }

  mutating func added(replica r: Int, stage s: Int, state: inout SimulationState) {
    while queues.count <= r {
      queues.append([])
      queueHead.append(0)
      isBusy.append(false)
      retiring.append(false)
    }
    load.grow(to: r + 1, filling: 0)
    stageReplicas[s].append(r)
  }

  @inline(__always)
  mutating func arrive(query q: Int, stage s: Int, at t: Int64, state: inout SimulationState) {
    arrive(query: q, stage: s, at: t, since: t, state: &state)
  }

  /// A query joins the queue of the replica the stage's balancer picks (waiting since `since`); an idle replica
  /// serves at once.
  mutating func arrive(query q: Int, stage s: Int, at t: Int64, since: Int64, state: inout SimulationState) {
    let replicas = stageReplicas[s]
    precondition(!replicas.isEmpty, "a stage without replicas")
    let chosen = balancers.base[s].choose(among: replicas, loads: load.base, random: &random)
    if state.overflow.isActive && isBusy[chosen]
      && state.overflows(stage: s, queued: queues[chosen].count - queueHead[chosen], replicas: 1, at: t)
    {
      return state.serveOnServerless(query: q, stage: s, at: t)
    }
    queues[chosen].append(QueuedQuery(query: Int32(q), since: since))
    load.base[chosen] += 1
    waiting.base[s] += 1
    if !isBusy[chosen] { serve(replica: chosen, stage: s, at: t, state: &state) }
  }

  /// An idle replica takes a batch from its own queue, if anything waits there.
  mutating func serve(replica r: Int, stage s: Int, at t: Int64, state: inout SimulationState) {
    let count = queues[r].count - queueHead[r]
    guard count > 0 else {
      if queueHead[r] > 0 {  // drained: reuse the storage
        queues[r].removeAll(keepingCapacity: true)
        queueHead[r] = 0
      }
      return
    }
    let size = min(count, state.batchLimit.base[s])
    let members = state.members.base + r * state.memberStride
    var waited: Int64 = 0
    for i in 0..<size {
      let entry = queues[r][queueHead[r] + i]
      members[i] = entry.query
      let wait = t - entry.since
      waited += wait
      state.noteWait(stage: s, wait)
    }
    queueHead[r] += size
    waiting.base[s] -= size
    if queueHead[r] > 4096 && queueHead[r] * 2 > queues[r].count {
      queues[r].removeFirst(queueHead[r])
      queueHead[r] = 0
    }
    isBusy[r] = true
    state.startBatch(replica: r, stage: s, size: size, waited: waited, at: t)
    checkLoad(r, state: state)
  }

  mutating func finished(replica r: Int, stage s: Int, at t: Int64, state: inout SimulationState) {
    isBusy[r] = false
    load.base[r] -= state.memberCount.base[r]
    checkLoad(r, state: state)
    if retiring[r] {
      retiring[r] = false
      state.noteReplicaCount(stage: s, at: t, change: -1)
      return
    }
    serve(replica: r, stage: s, at: t, state: &state)
  }

  /// With invariant checks: the kept load is what the replica's queue and batch hold.
  @inline(__always)
  func checkLoad(_ r: Int, state: borrowing SimulationState) {
    #if INFERLINE_INVARIANTS
      precondition(
        load.base[r] == queues[r].count - queueHead[r] + (isBusy[r] ? state.memberCount.base[r] : 0),
        "a replica's kept load differs from its queue and batch")
    #endif
  }

  mutating func changeReplicas(stage s: Int, to count: Int, warm: Bool, at t: Int64, state: inout SimulationState) {
    let target = max(1, count)
    let current = stageReplicas[s].count
    if target > current {
      for _ in current..<target { added(replica: state.addReplica(stage: s, cold: !warm), stage: s, state: &state) }
      state.noteReplicaCount(stage: s, at: t, change: target - current)
    } else if target < current {
      let order = stageReplicas[s].sorted {
        (isBusy[$0] ? 1 : 0, load.base[$0], $0) < (isBusy[$1] ? 1 : 0, load.base[$1], $1)
      }
      let leaving = Set(order.prefix(current - target))
      stageReplicas[s].removeAll { leaving.contains($0) }
      for r in order.prefix(current - target) {
        let queued = queues[r][queueHead[r]...]
        queues[r] = []
        queueHead[r] = 0
        load.base[r] -= queued.count
        checkLoad(r, state: state)
        waiting.base[s] -= queued.count
        if isBusy[r] { retiring[r] = true } else { state.noteReplicaCount(stage: s, at: t, change: -1) }
        for entry in queued { arrive(query: Int(entry.query), stage: s, at: t, since: entry.since, state: &state) }
      }
    }
  }
}
