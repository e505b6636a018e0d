/// InferLine's tuner (Crankshaw et al., SoCC 2020, section 5; Crankshaw's thesis, high-frequency tuning) in
/// closed loop. Every tick it takes the last `history` seconds of the pipeline's arrivals and their envelope:
/// `lambda(t)`, the highest rate `alpha(D) / D` over window sizes D from the stage's smallest window, doubling,
/// up to the history. A stage needs `k = ceil(lambda x s_m / (mu_m x rho_m))` replicas, with `mu_m` one replica's
/// throughput at its batch and `rho_m` the plan's utilisation measured the same way on its planning trace
/// (`rho_m = lambda_plan x s_m / (k_plan x mu_m)`, `lambda_plan` the highest tick's `lambda` there: the plan was
/// verified feasible for that envelope, so its replicas carry any traffic up to it). Traffic like the plan's
/// therefore asks for at most the plan's replicas (steady traffic does not flap), and the need follows the
/// traffic from wherever the count is now.
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
  /// Per stage, `lambda_plan` (the planning trace's highest tick).
  let reference: [Double]
  let holdTicks: [Int]
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
    let planningTicks = RateSeries.ticks(context.planning, tick: tick)
    let planningRates = RateSeries.envelopeRates(
      context.planning, ticks: planningTicks, sizes: sizes, history: history)
    reference = sizesOfStage.map { use in
      let lambdas = planningTicks.indices.map { i in use.map { planningRates[$0][i] }.max() ?? 0 }
        .filter { $0 > 0 }.sorted()
      return lambdas.last ?? 1
    }
    holdTicks = context.models.map { m in
      max(1, Int((Double(max(nanoseconds(settings.hold), m.provisioningDelay)) / Double(tick)).rounded(.up)))
    }
    recent = Array(repeating: [], count: context.models.count)
    lastUp = Array(repeating: .min, count: context.models.count)
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {}

  /// `lambda` of stage s at the tick `time`. - Complexity: O(sizes).
  func lambda(_ s: Int, at time: Int64) -> Double {
    let i = Int((time - first) / interval) - 1
    guard i >= 0, let count = rates.first?.count, i < count else { return 0 }
    return sizesOfStage[s].map { rates[$0][i] }.max() ?? 0
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    var wanted = decided
    for s in decided.indices {
      // k = ceil(lambda s / (mu rho)) with rho = lambda_plan s / (k_plan mu): k_plan x lambda / lambda_plan.
      let required = max(1, Int((Double(initial[s]) * lambda(s, at: time) / reference[s] - 1e-9).rounded(.up)))
      recent[s].append(required)
      if recent[s].count > holdTicks[s] { recent[s].removeFirst() }
      if required > decided[s] {
        wanted[s] = required  // scale up at once
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
