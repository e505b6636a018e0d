/// InferLine's tuner (Crankshaw et al., SoCC 2020, section 5; Crankshaw's thesis, high-frequency tuning) in
/// closed loop. Every tick it takes the envelope of the last `history` seconds of the pipeline's arrivals, the
/// rate `r(D) = alpha(D) / D` at window sizes D from the stage's smallest window, doubling, up to the history, and
/// compares it, size by size, with the planned envelope `r_plan(D)` of the trace the plan was verified on. At size
/// D a stage needs `k = ceil(r(D) x s_m / (mu_m x rho_m(D)))` replicas, with `mu_m` one replica's throughput at its
/// batch and `rho_m(D) = r_plan(D) x s_m / (k_plan x mu_m)` the plan's utilisation at that size: that is
/// `ceil(k_plan x r(D) / r_plan(D))`, less a tolerance (10%) for noise. The stage needs the most any size asks for;
/// with verified capacities (`Replay.verifiedCapacities`), the fewest replicas shown to carry that much traffic,
/// which is never more than the paper's count. Short sizes catch bursts, the
/// 60 s size the sustained rate; traffic within the planned envelope asks for at most the plan's replicas (steady
/// traffic does not flap), and the need follows the traffic from wherever the count is now.
///
/// Choices where the paper is silent (documented in the README):
/// - The smallest window is the larger of the stage's batch latency and the SLO: a burst shorter than the SLO is
///   absorbed by queueing, as the planner verified on the planning trace, so only rates over windows at least
///   that long are load the stage must sustain (a 2 ms window measures micro-bursts, not load).
/// - Scale up at once, counting replicas still being provisioned; scale down only after the need has stayed
///   lower for a hold no shorter than the provisioning delay (so a replica is not cancelled before it could
///   serve) and as long since the last scale-up, to the largest need over the hold.
struct InferLineTunerController: ReplicaController {
  let settings: InferLineTuner
  let interval: Int64
  let first: Int64
  let initial: [Int]
  /// Per stage, the indices of `sizes` it reads.
  let sizesOfStage: [[Int]]
  /// `rates[k][i]`: the rate at `sizes[k]` over the history before tick i.
  let rates: [[Double]]
  /// `r_plan(D)` at each size: the planning trace's envelope.
  let reference: [Double]
  let holdTicks: [Int]
  /// Per stage, what k replicas carry as a multiple of the planning traffic (`[k - 1]`); empty: proportional.
  let capacities: [[Double]]
  var recent: [[Int]]
  var lastUp: [Int64]

  init(_ settings: InferLineTuner, _ context: PolicyContext) {
    self.settings = settings
    let tick = nanoseconds(settings.tick)
    interval = tick
    first = context.arrivals.first ?? 0
    initial = context.initial
    let history = nanoseconds(settings.history)
    let smallest = context.models.map { settings.smallestWindow(serviceTime: $0.serviceTime, slo: context.slo) }
    let sizes = WindowSizes.doubling(from: min(smallest.min() ?? history, history), to: history)
    sizesOfStage = smallest.map { d in sizes.indices.filter { sizes[$0] >= d || $0 == sizes.count - 1 } }
    rates = RateSeries.envelopeRates(
      context.arrivals, ticks: RateSeries.ticks(context.arrivals, tick: tick), sizes: sizes, history: history)
    reference = ArrivalEnvelope(arrivals: context.planning, windowSizes: sizes).rates.map { max($0, 1e-9) }
    holdTicks = context.models.map { m in
      max(1, Int((Double(max(nanoseconds(settings.hold), m.provisioningDelay)) / Double(tick)).rounded(.up)))
    }
    capacities =
      context.capacities.count == context.models.count
      ? context.capacities : Array(repeating: [], count: context.models.count)
    recent = Array(repeating: [], count: context.models.count)
    lastUp = Array(repeating: .min, count: context.models.count)
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {}

  /// The highest `r(D) / r_plan(D)` over stage s's sizes at the tick `time`. - Complexity: O(sizes).
  func load(_ s: Int, at time: Int64) -> Double {
    let i = Int((time - first) / interval) - 1
    guard i >= 0, let count = rates.first?.count, i < count else { return 0 }
    return sizesOfStage[s].map { rates[$0][i] / reference[$0] }.max() ?? 0
  }

  /// Fewest replicas of stage s that carry `traffic` (a multiple of the planning trace's): from the verified
  /// capacities, extrapolated in proportion beyond them; the paper's `ceil(k_plan x traffic)` without them.
  func replicas(_ s: Int, carrying traffic: Double) -> Int {
    let c = capacities[s]
    guard let last = c.last, last > 0 else { return max(1, Int((Double(initial[s]) * traffic - 1e-9).rounded(.up))) }
    if let k = c.firstIndex(where: { $0 >= traffic - 1e-12 }) { return k + 1 }
    return max(c.count, Int((Double(c.count) * traffic / last - 1e-9).rounded(.up)))
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    var wanted = decided
    for s in decided.indices {
      // The traffic is max over D of r(D) / r_plan(D); the need, the fewest replicas whose verified capacity covers
      // it (at most the paper's ceil(k_plan x traffic)). Up as soon as the need exceeds the replicas decided, to the
      // need with the tolerance's headroom; down only to that headroom too, so a steady load does not flap.
      let traffic = load(s, at: time)
      let up = replicas(s, carrying: traffic)
      let down = replicas(s, carrying: traffic * (1 + settings.tolerance))
      recent[s].append(down)
      if recent[s].count > holdTicks[s] { recent[s].removeFirst() }
      if up > decided[s] {
        wanted[s] = max(up, down)  // scale up at once, with the band's headroom
        lastUp[s] = time
      } else if recent[s].count == holdTicks[s], recent[s].allSatisfy({ $0 < decided[s] }),
        lastUp[s] == .min || time - lastUp[s] >= Int64(holdTicks[s]) * interval
      {
        wanted[s] = recent[s].max()!  // lower for the whole hold
      }
    }
    return wanted
  }
}
