/// The serverless overflow tiers of a simulation (`ServerlessOverflow`, one per stage at most), with their state:
/// per stage, invocations running, provisioned instances idle, instances idle and warm (with the time they went
/// idle, most recent last), instances gone cold, and what the tier served. Its instances are numbered among the
/// replicas (so a finish event names them) but never join a stage's replicas or its queueing.
struct OverflowTier: ~Copyable {
  let tiers: [ServerlessOverflow?]
  /// Whether any stage has a tier (the simulator checks nothing else when none does).
  let isActive: Bool
  /// Per replica number: whether it is a serverless instance, and whether a provisioned one (always warm).
  var isServerless: [Bool] = []
  var isProvisioned: [Bool] = []
  var provisionedIdle: [[Int]]
  var running: [Int]
  var warmInstances: [[(id: Int, since: Int64)]]
  var spareInstances: [[Int]]
  var statistics: [OverflowStatistics]

  init(_ input: SimulationInput) {
    let stages = input.stageCount
    precondition(input.overflow.isEmpty || input.overflow.count == stages, "one overflow entry per stage")
    tiers = input.overflow
    isActive = input.overflow.contains { $0 != nil }
    statistics = Array(repeating: OverflowStatistics(), count: stages)
    running = Array(repeating: 0, count: stages)
    warmInstances = Array(repeating: [], count: stages)
    spareInstances = Array(repeating: [], count: stages)
    provisionedIdle = Array(repeating: [], count: stages)
  }

  /// Stage s's tier statistics, nil when it has no tier.
  package func statistics(stage s: Int) -> OverflowStatistics? {
    tiers.isEmpty || tiers[s] == nil ? nil : statistics[s]
  }

  /// Records replica number `id` (every replica and instance gets one, in order).
  mutating func numbered(_ id: Int, serverless: Bool) {
    precondition(id == isServerless.count, "replica numbers in order")
    isServerless.append(serverless)
    isProvisioned.append(false)
  }

  /// Instance `id` of stage s is provisioned (always warm) and idle.
  mutating func provision(_ id: Int, stage s: Int) {
    isProvisioned[id] = true
    provisionedIdle[s].append(id)
  }

  /// Whether a query arriving at stage s, behind `queued` queries and with every one of `replicas` replicas busy,
  /// goes to the serverless tier: its estimated wait `(floor(queued / (k b)) + 1) x L(b)` (`fullBatch` = L(b)) is
  /// over the tier's `maximumWait`, the tier has room, and the tier would finish it sooner (its latency, plus the
  /// cold start when no instance is warm, under the wait plus L(b)).
  @inline(__always)
  package func takes(stage s: Int, queued: Int, replicas: Int, batchLimit b: Int, fullBatch: Int64, at t: Int64) -> Bool
  {
    guard let tier = tiers[s], running[s] < tier.concurrencyLimit else { return false }
    let wait = Int64(queued / (max(1, replicas) * b) + 1) * fullBatch
    guard wait > tier.maximumWait else { return false }
    return tier.latency + (hasWarmInstance(stage: s, tier: tier, at: t) ? 0 : tier.coldStart) < wait + fullBatch
  }

  /// Whether stage s's tier has an instance that serves without a cold start at t: an idle provisioned one, or the
  /// most recently idle one within the keep-warm time (the others went idle earlier still).
  @inline(__always)
  func hasWarmInstance(stage s: Int, tier: ServerlessOverflow, at t: Int64) -> Bool {
    !provisionedIdle[s].isEmpty || (warmInstances[s].last.map { t - $0.since <= tier.keepWarm } ?? false)
  }

  /// Starts one invocation at stage s: on an idle provisioned instance, else the most recently idle warm one, else
  /// a cold one (an instance idle longer than `keepWarm`), which adds the cold start. The instance is nil when a
  /// new one is needed (the caller numbers it). Counts the invocation.
  mutating func invoke(stage s: Int, at t: Int64) -> (instance: Int?, duration: Int64) {
    let tier = tiers[s]!
    let warm = hasWarmInstance(stage: s, tier: tier, at: t)
    var instance: Int? = provisionedIdle[s].popLast() ?? (warm ? warmInstances[s].removeLast().id : nil)
    if !warm {  // every idle instance went idle longer ago than the keep-warm time: all cold
      spareInstances[s] += warmInstances[s].map(\.id)
      warmInstances[s].removeAll()
    }
    var duration = tier.latency
    if instance == nil {
      duration += tier.coldStart
      statistics[s].coldStarts += 1
      instance = spareInstances[s].popLast()
    }
    running[s] += 1
    statistics[s].queries += 1
    statistics[s].billedNanoseconds += duration
    return (instance, duration)
  }

  /// Replica `r` of stage s finished at t: when it is a serverless instance, it goes idle (warm, or provisioned)
  /// and this returns true.
  @inline(__always)
  mutating func release(_ r: Int, stage s: Int, at t: Int64) -> Bool {
    guard isActive && isServerless[r] else { return false }
    running[s] -= 1
    if isProvisioned[r] { provisionedIdle[s].append(r) } else { warmInstances[s].append((r, t)) }
    return true
  }
}
