import Foundation

/// A forecast of a daily series (queries a day, the busiest window's rate) from the nights of a history: exponential
/// smoothing with a weekly season and a trend, the method picked among candidates by its error on held-out weeks,
/// prediction intervals from simulated future paths.
///
/// The candidates are the ETS family with additive errors (Hyndman, Koehler, Ord and Snyder, "Forecasting with
/// Exponential Smoothing: the State Space Approach", 2008; Hyndman and Athanasopoulos, "Forecasting: Principles and
/// Practice", 3rd ed., chapters 8 and 5.5): simple smoothing, Holt's linear and damped trends, and Holt-Winters
/// with a weekly season, each on the values and on their logarithms (a multiplicative season and a compounding
/// trend), and the seasonal naive method as the benchmark every method must beat. Each is fitted by least squares of
/// its one-step errors over a grid of smoothing parameters refined by a pattern search; the one with the lowest
/// mean absolute percentage error over the last weeks, forecast from before them (rolling origins, as
/// statsforecast's cross-validation does), is refitted on the whole series. Intervals are quantiles of future paths
/// simulated from the fitted model with normal errors of the residuals' variance (seeded), so that a month's mean
/// has an interval as well as each day.
public struct DailyForecast: Sendable, Equatable, Codable {
  /// The method chosen, in words: "Holt-Winters, weekly season, damped trend, on logarithms".
  public var method: String
  /// Its fitted parameters: alpha, beta, gamma, phi (those it has), and sigma (of the one-step errors, in the
  /// values' units or in logarithms).
  public var parameters: [String: Double]
  /// Mean absolute percentage error (0.05 is 5%) of each candidate on the held-out days, by method; the chosen one's
  /// is the lowest.
  public var heldOutErrors: [String: Double]
  /// Days held out per fold, and the folds.
  public var heldOutDays: Int
  public var folds: Int
  /// The days the forecast was fitted on.
  public var historyDays: Int
  /// The forecast of each day 1...horizon after the last: the paths' mean, and the bounds of the central 80% and
  /// 95% intervals.
  public var mean: [Double]
  public var lower80: [Double]
  public var upper80: [Double]
  public var lower95: [Double]
  public var upper95: [Double]
  /// The seed of the simulated paths.
  public var seed: UInt64

  /// The forecast of a stretch of days' mean (e.g. the next 30 days): its expected value, and upper bounds at 80%
  /// and 95% (each day at its own one-sided bound: conservative, as the days' errors are taken to move together).
  public struct Stretch: Sendable, Equatable, Codable {
    /// Days after the last day of history, 1-based and inclusive.
    public var firstDay: Int
    public var lastDay: Int
    public var mean: Double
    public var upper80: Double
    public var upper95: Double
  }
  public var stretches: [Stretch]
  /// How much wider than the paths show the stretches' bounds were made, because the held-out weeks' totals missed
  /// by more than the paths spread (1: not widened).
  public var stretchWidening: Double = 1

  /// Too short a history for a forecast.
  public static let minimumDays = 7
  /// Nights needed before a weekly season is tried: two weeks to fit and one to check.
  public static let seasonalDays = 21
  /// Simulated paths.
  public static let paths = 2_000

  /// - Parameters:
  ///   - values: one value per day, oldest first, all positive (`minimumDays` or more).
  ///   - horizon: days to forecast.
  ///   - stretches: day ranges (1-based, inclusive, within the horizon) whose mean is forecast with intervals.
  /// - Returns: nil for fewer than `minimumDays` values. - Complexity: O(candidates x grid x days + paths x horizon).
  public static func fit(
    _ values: [Double], horizon: Int, stretches: [ClosedRange<Int>] = [], seed: UInt64
  ) -> DailyForecast? {
    guard values.count >= minimumDays, values.allSatisfy({ $0 > 0 && $0.isFinite }), horizon >= 1 else { return nil }
    // Rolling origins a week apart, each forecasting the next `holdout` days from what came before it, as many as
    // leave `seasonalDays - 7` days to fit (up to four).
    let holdout = values.count >= 42 ? 14 : 7
    let training = values.count - holdout
    let folds = max(1, min(4, (training - (seasonalDays - 7)) / 7 + 1))
    var errors: [String: Double] = [:]
    // The best method so far, its error, and each fold's cut, fitted model and forecast.
    var best: (method: SmoothingMethod, error: Double, folds: [(Int, FittedSmoothing, [Double])])? = nil
    for method in SmoothingMethod.candidates(days: training - 7 * (folds - 1)) {
      var total = 0.0, count = 0
      var fits: [(Int, FittedSmoothing, [Double])] = []
      for fold in 0..<folds {
        let cut = training - 7 * fold
        let model = method.fitted(to: Array(values[..<cut]))
        let ahead = model.pointForecast(horizon: holdout)
        fits.append((cut, model, ahead))
        for h in 0..<holdout {
          total += abs(ahead[h] - values[cut + h]) / values[cut + h]
          count += 1
        }
      }
      let error = total / Double(count)
      errors[method.name] = error
      if best == nil || error < best!.error { best = (method, error, fits) }
    }
    // The paths' sigma: the fit's own, or larger where the held-out days strayed further from the forecasts than
    // the model expects at their distances (the fit does not know that its states and parameters are estimates).
    var chosen = best!.method.fitted(to: values)
    var scaled = 0.0, scaledCount = 0, stretchErrors: [Double] = []
    for (cut, model, ahead) in best!.folds {
      for h in 0..<holdout {
        let e = best!.method.logarithms ? log(values[cut + h] / ahead[h]) : values[cut + h] - ahead[h]
        scaled += e * e / model.varianceFactor(daysAhead: h + 1)
        scaledCount += 1
      }
      let realised = values[cut..<(cut + holdout)].reduce(0, +), forecast = ahead.reduce(0, +)
      if forecast > 0 { stretchErrors.append(log(realised / forecast)) }
    }
    chosen.heldOutSigma = (scaled / Double(max(scaledCount, 1))).squareRoot()
    let horizon = max(horizon, stretches.map(\.upperBound).max() ?? 0)
    var forecast = chosen.simulate(
      horizon: horizon, paths: paths, seed: RandomStream.forecastPaths.seed(seed),
      stretches: stretches.filter { $0.lowerBound >= 1 }, heldOut: holdout,
      heldOutStretchError: (stretchErrors.reduce(0) { $0 + $1 * $1 } / Double(max(stretchErrors.count, 1))).squareRoot()
    )
    forecast.heldOutErrors = errors
    forecast.heldOutDays = holdout
    forecast.folds = folds
    forecast.historyDays = values.count
    forecast.seed = seed
    return forecast
  }
}

/// One candidate of `DailyForecast`: a trend, whether it has a weekly season, and whether it smooths logarithms.
struct SmoothingMethod: Sendable, Equatable {
  enum Trend: Sendable { case none, additive, damped }
  var trend: Trend
  var seasonal: Bool
  var logarithms: Bool
  /// The seasonal naive benchmark (each day as the same weekday a week before).
  var naive = false

  static let period = 7

  var name: String {
    if naive { return "seasonal naive" }
    var parts = [seasonal ? "Holt-Winters, weekly season" : (trend == .none ? "simple smoothing" : "Holt")]
    switch trend {
    case .none: if seasonal { parts.append("no trend") }
    case .additive: parts.append(logarithms ? "compounding trend" : "linear trend")
    case .damped: parts.append("damped trend")
    }
    if logarithms { parts.append("on logarithms") }
    return parts.joined(separator: ", ")
  }

  /// The candidates for a fit on `days` days: seasonal ones from `DailyForecast.seasonalDays - 7` days on.
  static func candidates(days: Int) -> [SmoothingMethod] {
    var all: [SmoothingMethod] = []
    let seasonal = days >= DailyForecast.seasonalDays - 7
    if seasonal { all.append(SmoothingMethod(trend: .none, seasonal: true, logarithms: false, naive: true)) }
    for logarithms in [false, true] {
      for trend in [Trend.none, .additive, .damped] {
        all.append(SmoothingMethod(trend: trend, seasonal: false, logarithms: logarithms))
        if seasonal { all.append(SmoothingMethod(trend: trend, seasonal: true, logarithms: logarithms)) }
      }
    }
    return all
  }

  /// The smoothing parameters.
  struct Parameters: Sendable, Equatable {
    var alpha = 0.3, beta = 0.0, gamma = 0.0, phi = 1.0
  }

  /// The method fitted to `values`: parameters by least squares of the one-step errors (a grid, then a pattern
  /// search), and the states after the last value.
  func fitted(to values: [Double]) -> FittedSmoothing {
    let z = logarithms ? values.map { log($0) } : values
    if naive { return FittedSmoothing(method: self, series: z, parameters: .init(), sse: naiveSSE(z)) }
    var best = Parameters(), bestSSE = Double.infinity
    func consider(_ p: Parameters) {
      guard p.alpha > 0, p.alpha < 1, p.beta >= 0, p.beta <= p.alpha, p.gamma >= 0, p.gamma <= 1 - p.alpha,
        p.phi >= 0.8, p.phi <= 0.98 || trend != .damped
      else { return }
      let sse = FittedSmoothing.run(self, p, z).criterion
      if sse < bestSSE {
        bestSSE = sse
        best = p
      }
    }
    let alphas = stride(from: 0.05, through: 0.95, by: 0.1).map { $0 }
    let betas = trend == .none ? [0.0] : [0.0, 0.01, 0.05, 0.15]
    let gammas = seasonal ? [0.0, 0.05, 0.15, 0.3] : [0.0]
    let phis = trend == .damped ? [0.85, 0.95] : [1.0]
    for a in alphas {
      for b in betas { for g in gammas { for f in phis { consider(.init(alpha: a, beta: b, gamma: g, phi: f)) } } }
    }
    // Pattern search around the best grid point, halving the steps.
    var step = 0.05
    while step > 0.002 {
      var improved = true
      while improved {
        improved = false
        let start = bestSSE
        for d in [-step, step] {
          var p = best
          p.alpha += d
          consider(p)
          if trend != .none {
            p = best
            p.beta += d / 2
            consider(p)
          }
          if seasonal {
            p = best
            p.gamma += d
            consider(p)
          }
          if trend == .damped {
            p = best
            p.phi += d / 2
            consider(p)
          }
        }
        improved = bestSSE < start - 1e-12 * max(1, start)
      }
      step /= 2
    }
    return FittedSmoothing.run(self, best, z)
  }

  /// The seasonal naive method's one-step errors' sum of squares.
  func naiveSSE(_ z: [Double]) -> Double {
    let m = Self.period
    guard z.count > m else { return 0 }
    var sum = 0.0
    for t in m..<z.count {
      let e: Double = z[t] - z[t - m]
      sum += e * e
    }
    return sum
  }
}

/// A `SmoothingMethod` fitted to a series: its parameters, its states after the last value and its errors' sum of
/// squares.
struct FittedSmoothing: Sendable {
  var method: SmoothingMethod
  var parameters: SmoothingMethod.Parameters
  var level = 0.0, trend = 0.0
  /// The season's last `period` states, oldest first (the next day's is `season[0]`).
  var season = [Double](repeating: 0, count: SmoothingMethod.period)
  var sse: Double
  /// The fit's criterion: the mean squared error of forecasts 1 to 7 days ahead from each day (Hyndman et al.'s
  /// "AMSE"), which weighs the trend's long-run fit as well as the next day's.
  var criterion = 0.0
  var count: Int
  /// The naive method's last week (in the method's space).
  var lastWeek: [Double] = []

  init(method: SmoothingMethod, series z: [Double], parameters: SmoothingMethod.Parameters, sse: Double) {
    self.method = method
    self.parameters = parameters
    self.sse = sse
    count = max(z.count - SmoothingMethod.period, 1)
    lastWeek = Array(z.suffix(SmoothingMethod.period))
    while lastWeek.count < SmoothingMethod.period { lastWeek.insert(lastWeek.first ?? 0, at: 0) }
  }

  init(method: SmoothingMethod, parameters: SmoothingMethod.Parameters, sse: Double, count: Int) {
    self.method = method
    self.parameters = parameters
    self.sse = sse
    self.count = count
  }

  /// Runs the recursions of `method` with `p` over `z` from heuristic initial states (the first week's mean
  /// level and its deviations from it, the trend from the first two weeks or the first days).
  /// - Complexity: O(z.count).
  static func run(_ method: SmoothingMethod, _ p: SmoothingMethod.Parameters, _ z: [Double]) -> FittedSmoothing {
    let m = SmoothingMethod.period, n = z.count
    var level: Double, trend = 0.0
    var season = [Double](repeating: 0, count: m)
    if method.seasonal && n >= 2 * m {
      let first = z[0..<m].reduce(0, +) / Double(m), second = z[m..<(2 * m)].reduce(0, +) / Double(m)
      if method.trend != .none { trend = (second - first) / Double(m) }
      for i in 0..<m { season[i] = z[i] - (first + (Double(i) - Double(m - 1) / 2) * trend) }
      level = first - (Double(m - 1) / 2 + 1) * trend
    } else {
      let k = min(n - 1, 3)
      if method.trend != .none && k > 0 { trend = (z[k] - z[0]) / Double(k) }
      level = z[0] - trend
    }
    var sse = 0.0, multiStep = 0.0, multiStepCount = 0
    let phi = method.trend == .damped ? p.phi : 1
    for t in 0..<n {
      let s = method.seasonal ? season[t % m] : 0
      let e = z[t] - (level + phi * trend + s)
      sse += e * e
      // The errors 1...m days ahead from here, for the fit's criterion.
      var damp = 0.0, power = 1.0
      for h in 0..<min(m, n - t) {
        power *= phi
        damp += power
        let d = z[t + h] - (level + damp * trend + (method.seasonal ? season[(t + h) % m] : 0))
        multiStep += d * d
        multiStepCount += 1
      }
      level = level + phi * trend + p.alpha * e
      if method.trend != .none { trend = phi * trend + p.beta * e }
      if method.seasonal { season[t % m] = s + p.gamma * e }
    }
    var fitted = FittedSmoothing(method: method, parameters: p, sse: sse, count: n)
    fitted.criterion = multiStep / Double(max(multiStepCount, 1))
    fitted.level = level
    fitted.trend = trend
    // Rotate so that season[0] is the next day's (day n).
    fitted.season = (0..<m).map { season[(n + $0) % m] }
    return fitted
  }

  /// The number of parameters the fit chose (smoothing parameters and initial states), for the variance's degrees
  /// of freedom.
  var parameterCount: Int {
    if method.naive { return 0 }
    var k = 2  // alpha and the level
    if method.trend != .none { k += 2 }
    if method.trend == .damped { k += 1 }
    if method.seasonal { k += 1 + SmoothingMethod.period - 1 }
    return k
  }

  /// Sigma of the one-step errors implied by the held-out days' errors (`varianceFactor` taken out), when known.
  var heldOutSigma: Double? = nil

  /// Sigma of the one-step errors: the fit's, with its parameters taken off the degrees of freedom, or the
  /// held-out days' when larger.
  var sigma: Double { max((sse / Double(max(count - parameterCount, 1))).squareRoot(), heldOutSigma ?? 0) }

  /// The variance of the forecast `daysAhead` days on, over the one-step variance, for these additive-error
  /// recursions: 1 + the sum over j < h of c_j^2, with c_j = alpha + beta (phi + ... + phi^j) + gamma when j is a
  /// whole number of weeks (Hyndman et al. 2008, table 6.1; the seasonal naive method is a seasonal random walk).
  func varianceFactor(daysAhead h: Int) -> Double {
    let m = SmoothingMethod.period
    if method.naive { return 1 + Double((h - 1) / m) }
    let phi = method.trend == .damped ? parameters.phi : 1
    var total = 1.0, damp = 0.0, power = 1.0
    for j in 1..<max(h, 1) {
      power *= phi
      damp += power
      var c = parameters.alpha
      if method.trend != .none { c += parameters.beta * damp }
      if method.seasonal && j % m == 0 { c += parameters.gamma }
      total += c * c
    }
    return total
  }

  /// The forecast without noise, in the values' units, for days 1...horizon. - Complexity: O(horizon).
  func pointForecast(horizon: Int) -> [Double] {
    let m = SmoothingMethod.period
    var out: [Double] = []
    if method.naive {
      out = (0..<horizon).map { lastWeek[$0 % m] }
    } else {
      let phi = method.trend == .damped ? parameters.phi : 1
      var damp = 0.0, power = 1.0
      for h in 0..<horizon {
        power *= phi
        damp += power
        out.append(level + damp * trend + (method.seasonal ? season[h % m] : 0))
      }
    }
    return method.logarithms ? out.map { exp($0) } : out.map { max(0, $0) }
  }

  /// `paths` future paths with normal one-step errors of `sigma`, summarised by day (mean, 80% and 95% bounds) and
  /// by stretch. - Complexity: O(paths x horizon).
  /// - Parameters:
  ///   - heldOut: days of the held-out stretch whose error `heldOutStretchError` is (the root mean square of the
  ///     logarithm of realised over forecast totals); where that is larger than the paths' spread of the same
  ///     stretch, the stretches' bounds are widened by the ratio.
  func simulate(
    horizon: Int, paths: Int, seed: UInt64, stretches: [ClosedRange<Int>] = [], heldOut: Int = 0,
    heldOutStretchError: Double = 0
  ) -> DailyForecast {
    let m = SmoothingMethod.period
    var rng = SeededGenerator(seed: seed)
    var byDay = [[Double]](repeating: [], count: horizon)
    var heldOutTotals: [Double] = []
    let phi = method.trend == .damped ? parameters.phi : 1
    let sigma = self.sigma
    for _ in 0..<paths {
      var level = self.level, trend = self.trend, season = self.season, week = lastWeek
      for h in 0..<horizon {
        let e = sigma * rng.nextStandardNormal()
        var z: Double
        if method.naive {
          z = week[h % m] + e
          week[h % m] = z
        } else {
          let s = method.seasonal ? season[h % m] : 0
          z = level + phi * trend + s + e
          level = level + phi * trend + parameters.alpha * e
          if method.trend != .none { trend = phi * trend + parameters.beta * e }
          if method.seasonal { season[h % m] = s + parameters.gamma * e }
        }
        let value = method.logarithms ? exp(z) : max(0, z)  // a count is never below zero
        byDay[h].append(value)
      }
      if heldOut > 0 && heldOut <= horizon { heldOutTotals.append((0..<heldOut).reduce(0) { $0 + byDay[$1].last! }) }
    }
    func quantile(_ sorted: [Double], _ q: Double) -> Double {
      sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.down))))]
    }
    var forecast = DailyForecast(
      method: method.name, parameters: namedParameters, heldOutErrors: [:], heldOutDays: 0, folds: 0,
      historyDays: count, mean: [], lower80: [], upper80: [], lower95: [], upper95: [], seed: seed, stretches: [])
    var upper80ByDay: [Double] = [], upper95ByDay: [Double] = []
    for values in byDay {
      let sorted = values.sorted()
      upper80ByDay.append(quantile(sorted, 0.8))
      upper95ByDay.append(quantile(sorted, 0.95))
      forecast.mean.append(values.reduce(0, +) / Double(values.count))
      forecast.lower80.append(quantile(sorted, 0.1))
      forecast.upper80.append(quantile(sorted, 0.9))
      forecast.lower95.append(quantile(sorted, 0.025))
      forecast.upper95.append(quantile(sorted, 0.975))
    }
    // A stretch's bounds take every day at its own one-sided bound: the days' errors are assumed to move together,
    // which the fit's estimated level and trend make them do more than its paths show (they know nothing of the
    // estimates' own error), so the bound is on the safe side of the stretch's quantile.
    // The paths' spread of the held-out stretch's total, in logarithms, against the error the held-out folds showed.
    let logs = heldOutTotals.filter { $0 > 0 }.map { log($0) }
    let spread =
      logs.count > 1
      ? (logs.reduce(0) { $0 + $1 * $1 } / Double(logs.count) - pow(logs.reduce(0, +) / Double(logs.count), 2))
        .squareRoot() : 0
    let widen = spread > 0 ? max(1, heldOutStretchError / spread) : 1
    forecast.stretchWidening = widen
    forecast.stretches = stretches.map { r in
      let days = (r.lowerBound - 1)...(r.upperBound - 1), count = Double(r.count)
      let mean = forecast.mean[days].reduce(0, +) / count
      return .init(
        firstDay: r.lowerBound, lastDay: r.upperBound, mean: mean,
        upper80: mean + widen * (upper80ByDay[days].reduce(0, +) / count - mean),
        upper95: mean + widen * (upper95ByDay[days].reduce(0, +) / count - mean))
    }
    return forecast
  }

  var namedParameters: [String: Double] {
    var p = ["sigma": sigma]
    guard !method.naive else { return p }
    p["alpha"] = parameters.alpha
    if method.trend != .none { p["beta"] = parameters.beta }
    if method.seasonal { p["gamma"] = parameters.gamma }
    if method.trend == .damped { p["phi"] = parameters.phi }
    return p
  }
}
