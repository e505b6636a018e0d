import DequeModule

/// InferLine's tuner (Crankshaw et al., SoCC 2020, section 5; Crankshaw's thesis, high-frequency tuning) in
/// closed loop. Every tick it takes the envelope of the last `history` seconds of the pipeline's arrivals, the
/// rate `r(D) = alpha(D) / D` at window sizes D from the stage's smallest window, doubling, up to the history, and
/// compares it, size by size, with the planned envelope `r_plan(D)` of the trace the plan was verified on. At size
/// D a stage needs `k = ceil(r(D) x s_m / (mu_m x rho_m(D)))` replicas, with `mu_m` one replica's throughput at its
/// batch and `rho_m(D) = r_plan(D) x s_m / (k_plan x mu_m)` the plan's utilisation at that size: that is
/// `ceil(k_plan x r(D) / r_plan(D))`, less a tolerance (10%) for noise. The stage needs the most any size asks for;
/// with verified capacities (`Replay.verifiedCapacities`), the fewer of that and the fewest replicas shown to carry
/// `max_D r(D) / r_stretch(D)`, the live traffic in units of the planning trace's busiest 20 minutes (the stretch
/// the capacities were simulated on). Short sizes catch bursts, the
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
/// - Above the plan's count, only load that lasts asks for replicas (`shortBurstsAboveThePlan` false): the mean
///   rate over the last `lastingWindow` (5 min, or the provisioning delay if longer) more than 10% above the
///   planning trace's highest such mean, and beyond what chance gives on traffic this noisy (`lastingDeviations`
///   standard deviations above the planning trace's mean). A replica asked for a shorter burst serves after the burst has gone; the
///   plan was verified to queue the planning trace's bursts. Up to the plan's count, the paper's rule at every size.
/// - Scale down only what the bursts will not need before a new replica could serve (`BurstRecurrence`): the j-th
///   of the plan's replicas goes only once the need has stayed below j for longer than `quietGapMargin` times the
///   longest quiet gap after which a need of j came back, and than the 99% quantile of an exponential gap whose
///   mean is the 95% upper bound of those gaps' mean (learned on the planning trace, then on the live traffic),
///   plus the provisioning delay; replicas added above the plan go after the hold. On
///   steady or diurnal traffic the needs recur within seconds and this adds little to the hold; on on-off traffic
///   it keeps a burst's replicas through the quiet minutes between bursts.
struct InferLineTunerController: ReplicaController {
  let settings: InferLineTuner
  let interval: Int64
  let first: Int64
  let initial: [Int]
  /// Per stage, the indices of `sizes` it reads.
  let sizesOfStage: [[Int]]
  /// Per stage, the load that asks for replicas above the plan's count (nil: every size, the paper's rule): the
  /// mean rate over the last `LastingLoad.window`, against the planning trace's highest mean over a window that
  /// long.
  let lasting: [LastingLoad?]
  /// The rate at `sizes[k]` over the history before tick i (computed beside the replay).
  let rates: BackgroundEnvelopeSeries
  /// With pre-warming, the mean rate over the history before each tick.
  let sustained: [Double]
  /// `r_plan(D)` at each size: the planning trace's envelope.
  let reference: [Double]
  /// `r_stretch(D)` at each size: the envelope of the planning trace's busiest stretch (the verified capacities'
  /// unit); empty without verified capacities.
  let stretchReference: [Double]
  /// Per stage, what k replicas carry as a multiple of the stretch's traffic (`[k - 1]`); nil: the paper's rule, or
  /// still being computed (`verified`).
  var capacities: [[Double]]?
  /// The verified capacities and the quiet gaps learned with them (`learnGaps` reads them), computed on a thread of
  /// their own while the replay starts (`PolicyContext.verifyCapacities`): taken at the first decision after they
  /// are ready, or waited for by the first that needs them. The capacities only ever lower a need, so a need of one
  /// replica never waits.
  var verified: BackgroundValue<VerifiedGaps>?
  /// Needs observed while `verified` was computed, observed again in order by the learned gaps once taken.
  var unobserved: [(stage: Int, need: Int, time: Int64)] = []
  var scaling: HeldScaling
  /// When each stage's needs last came and how long they stayed away.
  var recurrence: BurstRecurrence
  /// Per stage, nanoseconds from a scale-up decision until the replica serves.
  let delays: [Int64]
  /// What the pipeline's misses taught: the fewest replicas each stage keeps (`restoreAfterBadMinute`).
  var misses: MissFeedback

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
    let ticks = RateSeries.ticks(context.arrivals, tick: tick)
    rates = BackgroundEnvelopeSeries(arrivals: context.arrivals, ticks: ticks, sizes: sizes, history: history)
    sustained =
      (settings.prewarmSeconds ?? 0) > 0 ? RateSeries.meanRate(context.arrivals, ticks: ticks, window: history) : []
    reference = ArrivalEnvelope(arrivals: context.planning, windowSizes: sizes).rates.map { max($0, 1e-9) }
    capacities =
      context.capacities.count == context.models.count && !context.capacities.allSatisfy(\.isEmpty)
      ? context.capacities : nil
    stretchReference =
      capacities == nil && context.verifyCapacities == nil
      ? []
      : ArrivalEnvelope(arrivals: Replay.busiestStretch(context.planning), windowSizes: sizes).rates.map {
        max($0, 1e-9)
      }
    scaling = HeldScaling(models: context.models, hold: settings.hold, interval: tick)
    delays = context.models.map(\.provisioningDelay)
    misses = MissFeedback(
      arrivals: context.arrivals, allowed: context.allowedMissRate, stages: context.models.count,
      cooldown: (delays.max() ?? 0) + 60_000_000_000)
    recurrence = BurstRecurrence(
      longestGap: nanoseconds(settings.longestQuietGap), interval: tick, delays: delays)
    // Stages whose windows are equal share one (each is a pass over the whole trace).
    var lastingByWindow: [Int64: LastingLoad] = [:]
    lasting = zip(smallest, context.models).map { d, m in
      guard !settings.shortBurstsAboveThePlan else { return nil }
      let window = max(d, m.provisioningDelay, nanoseconds(settings.lastingWindow))
      if let known = lastingByWindow[window] { return known }
      let load = LastingLoad(
        window: window, arrivals: context.arrivals, ticks: ticks, planning: context.planning,
        deviations: settings.lastingDeviations)
      lastingByWindow[window] = load
      return load
    }
    // The replay starts with the plan's replicas, as if its needs had just been seen.
    let initialNeeds = initial.indices.map { (stage: $0, need: initial[$0], time: first) }
    if let verify = context.verifyCapacities {
      let start = self
      let planning = context.planning
      verified = BackgroundValue(name: "inferline verified capacities") {
        let capacities = verify()
        var learner = start
        learner.capacities = capacities
        if settings.longestQuietGap > 0 { learner.learnGaps(planning: planning, sizes: sizes, history: history) }
        return VerifiedGaps(capacities: capacities, gaps: learner.recurrence)
      }
      unobserved = initialNeeds
    } else {
      if settings.longestQuietGap > 0 { learnGaps(planning: context.planning, sizes: sizes, history: history) }
      for n in initialNeeds { recurrence.observe(n.stage, need: n.need, at: n.time) }
    }
  }

  /// The verified capacities and the planning trace's quiet gaps learned with them.
  struct VerifiedGaps: Sendable {
    var capacities: [[Double]]
    var gaps: BurstRecurrence
  }

  /// Takes the verified capacities and learned gaps (waiting for them if need be), and observes the needs seen
  /// meanwhile with them.
  mutating func takeVerified() {
    guard let done = verified?.value else { return }
    capacities = done.capacities
    recurrence = done.gaps
    for n in unobserved { recurrence.observe(n.stage, need: n.need, at: n.time) }
    unobserved = []
    verified = nil
  }

  /// Stage s's need at `time`, for the quiet gaps (kept aside while they are learned).
  private mutating func observe(_ s: Int, need: Int, at time: Int64) {
    if verified == nil {
      recurrence.observe(s, need: need, at: time)
    } else {
      unobserved.append((s, need, time))
    }
  }

  mutating func finish() {
    _ = verified?.value
  }

  /// Learns the quiet gaps of the planning trace: the needs this tuner would have computed at each tick over it.
  /// - Complexity: O(N x sizes) for the planning trace's envelopes, O(ticks x (sizes + replicas)) after.
  private mutating func learnGaps(planning: [Int64], sizes: [Int64], history: Int64) {
    let ticks = RateSeries.ticks(planning, tick: interval)
    guard !ticks.isEmpty else { return }
    let rates = RateSeries.envelopeRates(planning, ticks: ticks, sizes: sizes, history: history)
    let lastingRates = lasting.map { $0.map { RateSeries.meanRate(planning, ticks: ticks, window: $0.window) } ?? [] }
    let band = 1 + settings.tolerance
    for (i, t) in ticks.enumerated() {
      for s in initial.indices {
        let need = need(s, tick: i, rates: rates, lastingRate: lastingRates[s], factor: band, live: false)
        recurrence.observe(s, need: need, at: t)
      }
    }
    recurrence.forgetTimes()
  }

  /// The highest `rates[k][tick] / reference[k]` over stage s's sizes. - Complexity: O(sizes).
  func load(_ s: Int, tick i: Int, rates: some TickRates, against reference: [Double]) -> Double {
    guard i >= 0, i < rates.tickCount, !reference.isEmpty else { return 0 }
    var most = 0.0
    for k in sizesOfStage[s] { most = max(most, rates.rate(size: k, tick: i) / reference[k]) }
    return most
  }

  /// Stage s's need at tick i, with `factor` (growth or the tolerance band) applied to the traffic: the paper's need
  /// up to the plan's count; above it, only as many as the lasting load (`lastingRate[i]`, the mean over the last
  /// `LastingLoad.window`) asks for, since a replica asked for a burst shorter than its provisioning delay serves
  /// after the burst has gone, and the plan was verified to queue the planning trace's bursts.
  /// - Complexity: O(sizes).
  package func need(
    _ s: Int, tick i: Int, rates: some TickRates, lastingRate: [Double], factor: Double, live: Bool = true
  ) -> Int {
    let all = replicas(
      s, planned: load(s, tick: i, rates: rates, against: reference) * factor,
      stretch: load(s, tick: i, rates: rates, against: stretchReference) * factor)
    guard all > initial[s], let lasting = lasting[s] else { return all }
    // Above the plan, only once the load has lasted: the mean over the window more than the tolerance (10%) above
    // the planning trace's highest such mean; then the paper's need, all at once.
    let rate = i >= 0 && i < lastingRate.count ? lastingRate[i] : 0
    return rate * factor > lasting.threshold(tolerance: settings.tolerance, tick: i, live: live) ? all : initial[s]
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {}

  mutating func observeMisses(at time: Int64, total: Int) {
    if settings.restoreAfterBadMinute { misses.observe(at: time, total: total) }
  }

  /// Fewest replicas of stage s for live traffic `planned` (a multiple of the planning trace's envelope) and
  /// `stretch` (of the busiest stretch's): the paper's `ceil(k_plan x planned)`, or fewer where the verified
  /// capacities show fewer carry `stretch` (extrapolated in proportion beyond the counts measured).
  func replicas(_ s: Int, planned: Double, stretch: Double) -> Int {
    let paper = max(1, Int((Double(initial[s]) * planned - 1e-9).rounded(.up)))
    // Fewer than one replica is never the answer, so one does not wait for capacities still being computed.
    guard paper > 1, let all = capacities ?? verified?.value.capacities else { return paper }
    let c = all[s]
    guard let last = c.last, last > 0 else { return paper }
    if let k = c.firstIndex(where: { $0 >= stretch - 1e-12 }) { return min(paper, k + 1) }
    return min(paper, max(c.count, Int((Double(c.count) * stretch / last - 1e-9).rounded(.up))))
  }

  /// With pre-warming, how much the sustained rate (the mean over the history) is projected to grow over the
  /// look-ahead: as much as it grew over the previous look-ahead, from 1 to 2; 1 without pre-warming.
  func projectedGrowth(at time: Int64) -> Double {
    guard let ahead = settings.prewarmSeconds, ahead > 0 else { return 1 }
    let i = Int((time - first) / interval) - 1
    let back = i - max(1, Int((ahead * 1e9 / Double(interval)).rounded()))
    // Both means over a full history, and at most a doubling (a trend, not a burst).
    let full = Int((settings.history * 1e9 / Double(interval)).rounded(.up)) - 1
    guard back >= full, i < sustained.count, sustained[back] > 0 else { return 1 }
    return min(2, max(1, sustained[i] / sustained[back]))
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    var wanted = decided
    if let verified, verified.isReady { takeVerified() }
    misses.restore(at: time, decided: decided, plan: initial)
    for s in decided.indices {
      // The traffic is max over D of r(D) / r_plan(D) (and of r(D) / r_stretch(D) for the verified capacities); the
      // need, the paper's ceil(k_plan x traffic) or the fewer replicas whose verified capacity covers it. Up as soon as the need exceeds the replicas decided, to the
      // need with the tolerance's headroom; down only to that headroom too, so a steady load does not flap.
      let i = Int((time - first) / interval) - 1
      let live = lasting[s]?.rates ?? []
      let up = need(s, tick: i, rates: rates, lastingRate: live, factor: projectedGrowth(at: time))
      let down = need(s, tick: i, rates: rates, lastingRate: live, factor: 1 + settings.tolerance)
      wanted[s] = scaling.next(s, up: up, down: down, decided: decided[s], at: time)
      observe(s, need: down, at: time)
      if wanted[s] < decided[s] {
        takeVerified()
        let kept = recurrence.kept(
          s, at: time, delay: delays[s], margin: settings.quietGapMargin, quantile: settings.quietGapQuantile,
          confidence: settings.quietGapConfidence,
          limit: settings.keepAboveThePlan ? .max : initial[s])
        wanted[s] = min(decided[s], max(wanted[s], kept))
      }
      wanted[s] = max(wanted[s], misses.floors[s])
    }
    return wanted
  }
}

/// The load that lasts: the live mean rate over the last `window` (the longer of the provisioning delay and
/// `InferLineTuner.lastingWindow`) at each tick, the planning trace's highest mean over a window that long, and how
/// high that mean goes by chance on traffic this noisy, queries per second.
struct LastingLoad {
  /// Nanoseconds.
  let window: Int64
  /// The live mean rate over `[t - window, t)` at each tick.
  let rates: [Double]
  /// The planning trace's highest mean rate over `window` (at least 1e-9).
  let planned: Double
  /// Queries per minute: the planning trace's mean.
  let minuteMean: Double
  /// Per-minute count variances (queries squared): the planning trace's, and at each tick the live traffic's over
  /// its last hour of full minutes (`MinuteNoise`).
  let planningVariance: Double
  let liveVariance: [Double]
  /// Standard deviations of the mean over `window` that chance may reach (0: no noise bound).
  let deviations: Double

  /// - Complexity: O(N + ticks).
  init(window: Int64, arrivals: [Int64], ticks: [Int64], planning: [Int64], deviations: Double = 0) {
    self.window = window
    self.deviations = deviations
    rates = RateSeries.meanRate(arrivals, ticks: ticks, window: window)
    planned = max(ArrivalEnvelope(arrivals: planning, windowSizes: [window]).rates.first ?? 0, 1e-9)
    let plan = MinuteNoise(planning, span: .max)
    minuteMean = plan.mean(upTo: plan.counts.count)
    planningVariance = plan.variance(upTo: plan.counts.count)
    guard deviations > 0, let first = arrivals.first else {
      liveVariance = []
      return
    }
    let live = MinuteNoise(arrivals, span: 60)
    liveVariance = ticks.map { live.variance(upTo: Int(($0 - first) / MinuteNoise.minute)) }
  }

  /// The lasting rate above which the stage asks for replicas above the plan at tick i, queries per second: more
  /// than `tolerance` above the planning trace's highest, and beyond the planning trace's mean by `deviations`
  /// standard deviations of a mean over `window` (the larger of the planning and the live variance; a mean over
  /// `window` sums `window / minute` minute counts, independent when bursts are shorter than a minute).
  /// `live` false: the planning trace's variance only (its own ticks). - Complexity: O(1).
  func threshold(tolerance: Double, tick i: Int, live: Bool) -> Double {
    let base = (1 + tolerance) * planned
    guard deviations > 0 else { return base }
    let variance = max(planningVariance, live && i >= 0 && i < liveVariance.count ? liveVariance[i] : 0)
    let minutes = Double(window) / Double(MinuteNoise.minute)
    return max(base, (minuteMean + deviations * (variance / minutes).squareRoot()) / 60)
  }
}

/// A trace's arrivals per full minute from its first, and the variance of those counts from consecutive
/// differences (`sum (c_k - c_{k-1})^2 / (2 (n - 1))`), which a slow trend (a diurnal curve) barely moves.
struct MinuteNoise {
  static let minute: Int64 = 60_000_000_000
  /// Arrivals in each full minute.
  let counts: [Double]
  /// `squares[k]`: the sum of `(c_j - c_{j-1})^2` for j from 1 to k - 1; `sums[k]`: of the first k counts.
  private let squares: [Double]
  private let sums: [Double]
  /// How many full minutes before a given one count (60 for the live traffic's last hour).
  let span: Int

  /// - Complexity: O(N).
  init(_ trace: [Int64], span: Int) {
    self.span = span
    guard let first = trace.first, let last = trace.last else {
      (counts, squares, sums) = ([], [0], [0])
      return
    }
    let full = Int((last - first) / MinuteNoise.minute)
    let bounds = trace.withUnsafeBufferPointer {
      RateSeries.bounds($0, start: first, step: MinuteNoise.minute, count: full)
    }
    let c = (0..<full).map { Double(bounds[$0 + 1] - bounds[$0]) }
    counts = c
    var sq = [0.0], sm = [0.0]
    for k in c.indices {
      sm.append(sm[k] + c[k])
      sq.append(sq[k] + (k > 0 ? (c[k] - c[k - 1]) * (c[k] - c[k - 1]) : 0))
    }
    squares = sq
    sums = sm
  }

  /// The mean count of the last `span` full minutes before minute `end`. - Complexity: O(1).
  func mean(upTo end: Int) -> Double {
    let e = min(end, counts.count), b = max(0, e - span)
    return e > b ? (sums[e] - sums[b]) / Double(e - b) : 0
  }

  /// The differenced variance of the last `span` full minutes before minute `end` (0 under 2). - Complexity: O(1).
  func variance(upTo end: Int) -> Double {
    let e = min(end, counts.count), b = max(0, e - span)
    guard e - b >= 2 else { return 0 }
    return (squares[e] - squares[b + 1]) / (2 * Double(e - b - 1))
  }
}

/// The pipeline's misses as the tuner reads them: queries over the SLO against arrivals over the last 60 s. When
/// that share passes the allowance (with at least 2 queries over), every stage below the plan's count gets one
/// replica back and keeps it for the rest of the day (`floors`); the next check waits `cooldown` (the provisioning
/// delay and a minute), so one bad minute restores one replica.
struct MissFeedback {
  let arrivals: [Int64]
  let allowed: Double
  let cooldown: Int64
  /// Per stage, the fewest replicas it keeps.
  var floors: [Int]
  /// (time, misses seen in the second before it), the last 60 s, and their sum.
  var recent: Deque<(time: Int64, misses: Int)> = []
  var over = 0
  var total = 0
  var low = 0
  var high = 0
  var bad = false
  var quietUntil: Int64 = .min

  init(arrivals: [Int64], allowed: Double, stages: Int, cooldown: Int64) {
    self.arrivals = arrivals
    self.allowed = allowed
    self.cooldown = cooldown
    floors = Array(repeating: 0, count: stages)
  }

  /// Records the misses seen so far at `time` (once a second). - Complexity: amortised O(1) for the last minute's
  /// misses, O(log(arrivals passed)) for its arrivals (galloping: a step per arrival was 1% of a day's replay).
  mutating func observe(at time: Int64, total seen: Int) {
    recent.append((time, seen - total))
    over += seen - total
    total = seen
    let from = time - 60_000_000_000
    while let oldest = recent.first, oldest.time <= from {
      over -= oldest.misses
      recent.removeFirst()
    }
    arrivals.withUnsafeBufferPointer { a in
      high = RateSeries.firstAtOrAfter(time, in: a, from: high)
      low = RateSeries.firstAtOrAfter(from, in: a, from: low)
    }
    if time >= quietUntil, over >= 2, Double(over) > allowed * Double(max(1, high - low)) { bad = true }
  }

  /// After a bad minute: one replica back for each stage below the plan's count, kept from then on.
  mutating func restore(at time: Int64, decided: [Int], plan: [Int]) {
    guard bad else { return }
    bad = false
    quietUntil = time + cooldown
    for s in floors.indices where decided[s] < plan[s] { floors[s] = max(floors[s], decided[s] + 1) }
  }
}
