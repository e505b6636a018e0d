/// Predictive scaling (after MArk, ATC'19) in closed loop: every tick it forecasts the pipeline's arrival rate one
/// provisioning delay ahead and provisions for it now, so a ramp's replicas are serving when the load arrives.
///
/// The forecast is Holt's linear (double exponential) smoothing of the rate per tick: a level and a trend, no
/// training, and a forecast `level + trend x steps` for any horizon (MArk forecasts with ARIMA or an LSTM over
/// history). From the second day of a log that spans several, the forecast is seasonal instead: the rate one horizon
/// ahead on the day before, scaled by how today's last hour compares with the same hour yesterday, so a daily
/// step (a batch job at noon) is provisioned before it comes, which no trend can do. The need is the paper's proportional rule on the forecast: `ceil(k_plan x max(forecast, now) /
/// r_plan)` with `r_plan` the planning trace's mean rate, within the same 10% band as the tuner; it scales up at
/// once and down only after the need has stayed lower for a hold no shorter than the provisioning delay.
struct PredictiveController: ReplicaController {
  let settings: PredictiveScaler
  let interval: Int64
  let first: Int64
  let initial: [Int]
  /// The rate over each tick (queries per second), `rates[i]` for the tick ending at `first + (i + 1) x tick`.
  let rates: [Double]
  /// The planning trace's mean rate.
  let planned: Double
  /// Per stage, the forecast horizon in ticks (its provisioning delay, at least one tick).
  let horizon: [Double]
  /// Ticks in a day, and the prefix sums of `rates` (for hourly means).
  let ticksPerDay: Int
  let cumulative: [Double]
  var level: Double? = nil
  var trend = 0.0
  var scaling: HeldScaling

  init(_ settings: PredictiveScaler, _ context: PolicyContext) {
    self.settings = settings
    let tick = nanoseconds(settings.tick)
    interval = tick
    first = context.arrivals.first ?? 0
    initial = context.initial
    rates = RateSeries.meanRate(context.arrivals, ticks: RateSeries.ticks(context.arrivals, tick: tick), window: tick)
    planned = max(PipelineModel.meanRate(context.planning), 1e-9)
    horizon = context.models.map { max(1, Double($0.provisioningDelay) / Double(tick)) }
    scaling = HeldScaling(models: context.models, hold: settings.hold, interval: tick)
    ticksPerDay = Int(86_400_000_000_000 / tick)
    var sum = 0.0
    cumulative =
      [0]
      + rates.map {
        sum += $0
        return sum
      }
  }

  /// Mean rate over ticks `[from, to)`, clamped to the log.
  func meanRate(from: Int, to: Int) -> Double {
    let a = max(0, min(from, rates.count)), b = max(a, min(to, rates.count))
    return b > a ? (cumulative[b] - cumulative[a]) / Double(b - a) : 0
  }

  /// The seasonal forecast for tick i + h from the day before, or nil in the log's first day (and a day later
  /// than the log's first hour).
  func seasonal(at i: Int, horizon h: Int) -> Double? {
    let hour = Int(3_600_000_000_000 / interval)
    guard i - ticksPerDay - hour >= 0, i + h - ticksPerDay < rates.count else { return nil }
    let yesterday = meanRate(from: i - ticksPerDay - hour + 1, to: i - ticksPerDay + 1)
    let today = meanRate(from: i - hour + 1, to: i + 1)
    let ahead = meanRate(from: i + h - ticksPerDay - 1, to: i + h - ticksPerDay + 2)  // three ticks around it
    return yesterday > 0 ? ahead * today / yesterday : ahead
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {}

  /// The fewest replicas of stage s for `rate` at the plan's utilisation.
  func replicas(_ s: Int, for rate: Double) -> Int {
    max(1, Int((Double(initial[s]) * rate / planned - 1e-9).rounded(.up)))
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    let i = Int((time - first) / interval) - 1
    guard i >= 0, i < rates.count else { return decided }
    let now = rates[i]
    if let previous = level {
      let next = settings.levelSmoothing * now + (1 - settings.levelSmoothing) * (previous + trend)
      trend = settings.trendSmoothing * (next - previous) + (1 - settings.trendSmoothing) * trend
      level = next
    } else {
      level = now
    }
    var wanted = decided
    for s in decided.indices {
      // Seasonal: one tick further than the delay, so the replicas serve from the start of the tick that needs them.
      let forecast =
        seasonal(at: i, horizon: Int(horizon[s].rounded(.up)) + 1) ?? max(0, level! + trend * horizon[s])
      let rate = max(forecast, now)
      let up = replicas(s, for: rate)
      let down = replicas(s, for: rate * (1 + settings.tolerance))
      wanted[s] = scaling.next(s, up: up, down: down, decided: decided[s], at: time)
    }
    return wanted
  }
}
