import Foundation
public import InferLine

/// How far the simulator's predictions are from the latencies a deployment was observed to have, and a correction
/// fitted to close the gap.
///
/// The model: every batch takes `multiplier x L(n) + overhead` instead of the profiled `L(n)`. The multiplier
/// stands for hardware or software slower (or faster) than where the profiles were measured, and scales queueing
/// with it; the overhead for what each stage adds whatever the batch (RPC, serialisation, pre- and
/// post-processing), so a query pays it once per stage it visits. Two numbers for the whole pipeline because
/// end-to-end latencies cannot tell the stages apart: separate multipliers per stage are not identifiable from
/// them (a slower first stage and a slower second stage give the same sums).
///
/// The fit minimises the squared log-ratio of predicted to observed P10, P50, P90, P95 and P99 over the training windows
/// (every other window; the rest are held out): a grid, then pattern searches from its three best points. The observations are
/// **not explained** when even the best fit is off by more than `Calibration.unexplainedError` at some
/// percentile on average over the training windows or over the held-out ones, makes the held-out P99 worse than
/// the profiles as they are, is off by more than `unexplainedWindowError` in any one window, or ends at a bound of
/// its range; the report then says so instead of using the fit.
public struct Calibration: Sendable, Equatable, Codable {
  /// Predicted and observed percentiles of one window, milliseconds.
  public struct WindowCheck: Sendable, Equatable, Codable {
    public var start: Int64
    public var heldOut: Bool
    public var queries: Int
    public var observedMs: [Double]
    /// With the profiles as they are, and with the fitted correction.
    public var predictedMs: [Double]
    public var calibratedMs: [Double]
  }

  /// Mean absolute relative error, per percentile of `percents`, over a set of windows.
  public struct Errors: Sendable, Equatable, Codable {
    public var before: [Double]
    public var after: [Double]
  }

  /// The percentiles compared and reported.
  public static let percents: [Double] = [50, 95, 99]
  /// The percentiles the fit matches: the reported ones and the 10th, near the latency floor, which tells a fixed
  /// overhead (it moves the floor) from a slowdown (it stretches the spread).
  static let fitted: [Double] = [10, 50, 90, 95, 99]
  /// Above this mean relative error at a percentile after the fit, the model does not explain the observations.
  public static let unexplainedError = 0.10
  /// Window starts before this (2001-09-09, nanoseconds since the epoch) are from a relative log (seconds from its
  /// start): how a calibration's windows are shown without the trace.
  public static let earliestAbsoluteInstant: Int64 = 1_000_000_000_000_000_000
  /// Above this relative error at a percentile in any one window after the fit (where the window has at least 10
  /// observations above that percentile), the model does not explain the observations either.
  public static let unexplainedWindowError = 0.25
  static let multiplierRange = 0.2...10.0
  static let overheadRangeMs = 0.0...2_000.0

  public var multiplier: Double
  public var overheadMs: Double
  public var windows: [WindowCheck]
  public var heldOut: Errors
  public var training: Errors
  public var explained: Bool
  /// Why the fit is not used, when it is not.
  public var note: String?
  /// Simulations the fit ran.
  public var simulations: Int
  /// Queries whose observed latency was missing, unreadable or negative (not compared), and windows with fewer than
  /// 100 observations (not compared either).
  public var skippedObservations = 0
  public var skippedWindows = 0

  /// Fits the correction for `configuration` (what was deployed) on a log with observed end-to-end latencies.
  /// - Parameters:
  ///   - observedMs: per query, milliseconds (NaN where the log had none: skipped).
  ///   - windowLength: nanoseconds.
  /// - Throws: `InputError` when fewer than two windows have enough observations to compare.
  /// - Complexity: about 400 simulations of the log.
  public static func fit(
    inputs: PlanningInputs, configuration: PipelineConfiguration, arrivals: [Int64], observedMs: [Float],
    windowLength: Int64, routes: RouteSource
  ) throws -> Calibration {
    precondition(arrivals.count == observedMs.count)
    let base = PipelineModel(inputs)
    try base.check(configuration)
    // Windows with at least 100 observed queries, so that their P99 means something.
    // Aligned to the clock, as the report's windows are (the windows without a query do not count).
    let windows = ArrivalTrace.windows(of: arrivals, length: windowLength).filter { $0.count > 0 }
    // Per window, the queries with a usable observation (found once: every simulation compares the same ones).
    let observed: [(start: Int64, queries: [Int], percentiles: [Double], count: Int)] = windows.compactMap { w in
      let queries = w.range.filter { observedMs[$0].isFinite && observedMs[$0] >= 0 }
      guard queries.count >= 100 else { return nil }
      let values = queries.map { Double(observedMs[$0]) }.sorted()
      return (w.start, queries, fitted.map { Percentile(percent: $0).value(inSorted: values)! }, values.count)
    }
    if let quiet = observed.first(where: { $0.percentiles[fitted.firstIndex(of: 50)!] <= 0 }) {
      throw InputError(
        "half or more of the observed latencies in the window at \(quiet.start) ns are 0 ms: no pipeline answers in no time",
        fix: "name the column of end-to-end latency in milliseconds with --latency-column (not a status or a count)")
    }
    guard observed.count >= 2 else {
      throw InputError(
        "calibration needs at least two windows with 100 or more observed latencies (found \(observed.count))",
        fix: "give a longer log, a shorter --window, or the log's latency column with --latency-column")
    }
    // Drawn routes are drawn once and given to every simulation (the same run as drawing them in each: the balancer
    // keeps the routes' seed).
    var simulated = (routes: routes, dispatchSeed: UInt64?.none)
    if case .drawn(let seed) = routes {
      let probabilities = inputs.pipeline.edges.map(\.probability)
      simulated = (
        .given(RouteSource.drawnMasks(seed: seed, probabilities: probabilities, count: arrivals.count)), seed
      )
    }
    let sharedRoutes = simulated
    let windowQueries = observed.map(\.queries)
    /// Per window, the predicted percentiles (ms) with the correction applied: nearest ranks selected, not sorted.
    @Sendable func predict(_ m: Double, _ o: Double) -> [[Double]] {
      let model = PipelineModel(inputs.calibrated(multiplier: m, overheadMs: o))
      guard
        let input = try? model.simulationInput(
          arrivals: arrivals, configuration: configuration, routes: sharedRoutes.routes,
          dispatchSeed: sharedRoutes.dispatchSeed),
        let latencies = Estimator.simulate(input, options: .latenciesOnly).latencies
      else { return observed.map { _ in fitted.map { _ in .infinity } } }
      return Selection.windowPercentilesMs(latencies, windows: windowQueries, percents: fitted)
    }
    let trainingIndices = observed.indices.filter { $0 % 2 == 0 }
    @Sendable func loss(_ predicted: [[Double]]) -> Double {
      var sum = 0.0
      for i in trainingIndices {
        for (p, o) in zip(predicted[i], observed[i].percentiles) {
          let r = log(max(p, 1e-6) / max(o, 1e-6))
          sum += r.isFinite ? r * r : 1e6
        }
      }
      return sum
    }
    var cache: [String: (Double, [[Double]])] = [:]
    var simulations = 0
    @Sendable func key(_ m: Double, _ o: Double) -> String { String(format: "%.6f %.6f", m, o) }
    func evaluate(_ m: Double, _ o: Double) -> (Double, [[Double]]) {
      if let known = cache[key(m, o)] { return known }
      simulations += 1
      let p = predict(m, o)
      let result = (loss(p), p)
      cache[key(m, o)] = result
      return result
    }
    // A grid (the loss is rugged: batch sizes jump as service times change), then a pattern search with halving
    // steps from each of the three best grid points.
    let overheads: [Double] = [0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128]
    let points: [(Double, Double)] = (0...20).flatMap { (k: Int) -> [(Double, Double)] in
      let m: Double = 0.5 * pow(8, Double(k) / 20)  // 11% apart
      return overheads.map { (m, $0) }
    }
    let predictions = ResultSlots<[[Double]]>(count: points.count)
    DispatchQueue.concurrentPerform(iterations: points.count) { i in predictions[i] = predict(points[i].0, points[i].1)
    }
    var grid: [(m: Double, o: Double, loss: Double)] = []
    for (i, (m, o)) in points.enumerated() {
      let p = predictions[i]!
      simulations += 1
      cache[key(m, o)] = (loss(p), p)
      grid.append((m, o, loss(p)))
    }
    var best = (m: 1.0, o: 0.0, loss: evaluate(1, 0).0)
    // The three searches side by side, each with the shared results so far and its own new ones (the same points
    // and the same answer as one after another: every evaluation is a pure function of its point).
    let starts = Array(grid.sorted(by: { $0.loss < $1.loss }).prefix(3))
    let known = cache
    let searches = ResultSlots<(point: (m: Double, o: Double, loss: Double), found: [String: (Double, [[Double]])])>(
      count: starts.count)
    DispatchQueue.concurrentPerform(iterations: starts.count) { k in
      var found: [String: (Double, [[Double]])] = [:]
      func lossAt(_ m: Double, _ o: Double) -> Double {
        if let result = known[key(m, o)] ?? found[key(m, o)] { return result.0 }
        let p = predict(m, o)
        found[key(m, o)] = (loss(p), p)
        return found[key(m, o)]!.0
      }
      var point = starts[k]
      var stepM = 0.06, stepO = max(point.o * 0.25, 0.5)
      while stepM > 0.002 || stepO > 0.02 {
        var improved = false
        for (dm, dO) in [(stepM, 0.0), (-stepM, 0.0), (0.0, stepO), (0.0, -stepO), (stepM, -stepO), (-stepM, stepO)] {
          let m = min(max(point.m * exp(dm), multiplierRange.lowerBound), multiplierRange.upperBound)
          let o = min(max(point.o + dO, overheadRangeMs.lowerBound), overheadRangeMs.upperBound)
          let l = lossAt(m, o)
          if l < point.loss {
            point = (m, o, l)
            improved = true
          }
        }
        if !improved {
          stepM /= 2
          stepO /= 2
        }
      }
      searches[k] = (point, found)
    }
    for k in starts.indices {
      let search = searches[k]!
      for (point, result) in search.found where cache[point] == nil {
        cache[point] = result
        simulations += 1
      }
      if search.point.loss < best.loss { best = search.point }
    }
    let before = evaluate(1, 0).1, after = evaluate(best.m, best.o).1
    let reported = percents.map { fitted.firstIndex(of: $0)! }
    // The fit is judged where it was not made (the held-out windows) and window by window, not only on average.
    let check = StageCalibration.judge(
      observed: observed.map(\.percentiles), counts: observed.map(\.count), before: before, after: after,
      fitted: fitted)
    let training = check.training, heldOut = check.heldOut, worstWindow = check.worst
    let p99 = percents.firstIndex(of: 99)!
    var note: String? = nil
    let cause =
      "the observations are not explained by slower or faster service and a fixed overhead (a stage missing from the pipeline, a different configuration than the one given, or load that was not in the log?)"
    if let worst = training.after.max(), !(worst <= unexplainedError) {
      note =
        String(format: "the fitted model is still %.0f%% off at some percentile on the training windows: ", worst * 100)
        + cause
    } else if let k = heldOut.after.indices.max(by: { heldOut.after[$0] < heldOut.after[$1] }),
      !(heldOut.after[k] <= unexplainedError)
    {
      note =
        String(
          format:
            "the fit does not carry over to the held-out windows: %.0f%% off at P%g there (%.0f%% on the training windows): ",
          heldOut.after[k] * 100, percents[k], training.after[k] * 100) + cause
    } else if heldOut.after[p99] > heldOut.before[p99] + 0.01 {
      note =
        String(
          format:
            "the fit makes the held-out windows' P99 worse (%.1f%% off calibrated, %.1f%% with the profiles as they are): ",
          heldOut.after[p99] * 100, heldOut.before[p99] * 100) + cause
    } else if let w = worstWindow, !(w.error <= unexplainedWindowError) {
      note =
        String(format: "the fitted model is %.0f%% off at P%g in the ", w.error * 100, w.percent)
        + "\(w.window % 2 == 1 ? "held-out" : "training") window at \(InstantText.describe(observed[w.window].start, relative: observed[w.window].start < earliestAbsoluteInstant))"
        + String(format: " (more than %.0f%% in one window): ", unexplainedWindowError * 100) + cause
    } else if best.m <= multiplierRange.lowerBound * 1.001 || best.m >= multiplierRange.upperBound * 0.999
      || best.o >= overheadRangeMs.upperBound * 0.999
    {
      note = "the fit ended at the edge of its range; the observations are far from anything the profiles predict"
    }
    return Calibration(
      multiplier: best.m, overheadMs: best.o,
      windows: observed.indices.map { i in
        WindowCheck(
          start: observed[i].start, heldOut: i % 2 == 1, queries: observed[i].count,
          observedMs: reported.map { observed[i].percentiles[$0] }, predictedMs: reported.map { before[i][$0] },
          calibratedMs: reported.map { after[i][$0] })
      }, heldOut: heldOut, training: training, explained: note == nil, note: note, simulations: simulations,
      skippedObservations: observedMs.filter { !($0.isFinite && $0 >= 0) }.count,
      skippedWindows: windows.count - observed.count)
  }
}

extension Calibration {
  /// One line: the fitted values and the held-out errors before and after (or why the fit is not used).
  public var summary: String {
    func percents(_ v: [Double]) -> String {
      zip(Self.percents, v).map { String(format: "P%g %.1f%%", $0, $1 * 100) }.joined(separator: ", ")
    }
    let fitted = String(
      format: "service times x %.3f + %.2f ms per stage (%d simulations)", multiplier, overheadMs, simulations)
    var errors =
      "held-out error \(percents(heldOut.before)) with the profiles as they are, \(percents(heldOut.after)) calibrated"
    if skippedObservations > 0 || skippedWindows > 0 {
      errors +=
        "; not compared: \(skippedObservations) queries without a usable observed latency, \(skippedWindows) window\(skippedWindows == 1 ? "" : "s") with fewer than 100 observations"
    }
    return explained
      ? "Calibrated against observed latencies: \(fitted); \(errors)."
      : "Observed latencies NOT explained, profiles used as they are: \(note ?? ""); best fit \(fitted); \(errors)."
  }
}

extension PlanningInputs {
  /// The same inputs with every profiled batch latency replaced by `multiplier x L(n) + overhead`.
  public func calibrated(multiplier: Double, overheadMs: Double) -> PlanningInputs {
    var copy = self
    copy.profiles = profiles.calibrated(multiplier: multiplier, overheadMs: overheadMs)
    return copy
  }
}

extension ProfileTable {
  /// Every latency (p50, p99 and size buckets alike) as `multiplier x L + overhead`, rounded to the nanosecond, at
  /// least 1 ns.
  public func calibrated(multiplier: Double, overheadMs: Double) -> ProfileTable {
    var copy = self
    copy.profiles = profiles.map { p in
      p.mappingLatencies { Self.calibrated($0, multiplier: multiplier, overheadMs: overheadMs) }
    }
    return copy
  }

  /// One latency (ns) as `multiplier x L + overhead`, rounded to the nanosecond, at least 1 ns.
  static func calibrated(_ latency: Int64, multiplier: Double, overheadMs: Double) -> Int64 {
    max(1, Int64((Double(latency) * multiplier + overheadMs * 1e6).rounded()))
  }
}

extension Calibration {
  /// Reads the logs and the deployed configuration file and fits the profiles to the pipeline's observed
  /// latencies: what `calibrate` and `report --calibrate` share. Routes come from the log's visited stages when it
  /// has them, else are drawn from `seed`.
  /// - Throws: `InputError` for unreadable files or a log without observed latencies; `DiagnosticsError` for a bad
  ///   configuration file.
  public static func fit(
    inputs: PlanningInputs, deployed config: String, logs: [String], log: LogReadOptions, windowLength: Int64,
    seed: UInt64
  ) throws -> Calibration {
    let configuration = try PipelineConfiguration.load(path: config, pipeline: inputs.pipeline)
    let set = try QueryLogSet.read(paths: logs, options: log)
    let trace = try set.trace(for: inputs.pipeline)
    guard let observed = trace.observedLatencyMs else {
      throw InputError(
        file: logs.first, "has no observed latencies to calibrate against",
        fix: "name the log's latency column with --latency-column (milliseconds, end to end)")
    }
    let routes: RouteSource =
      trace.visitedStages.map { .visited($0, edges: inputs.pipeline.edges.map { ($0.parent, $0.child) }) }
      ?? .drawn(seed: seed)
    return try Calibration.fit(
      inputs: inputs, configuration: configuration, arrivals: trace.arrivals, observedMs: observed,
      windowLength: windowLength, routes: routes)
  }
}

extension Calibration {
  /// What a deployment of `deployed` would have logged for `arrivals` if its service times were `slowdown` times
  /// the profiled ones plus `overheadMs` per stage and batch, with lognormal noise of spread `noise` on each
  /// observation: end-to-end latencies in milliseconds, a hidden truth for `fit` to recover. Routes are drawn from
  /// `seed`, the noise from `RandomStream.observationNoise`. - Complexity: one simulation of the arrivals.
  /// - Throws: `InputError` for a configuration the pipeline cannot run.
  public static func observedLatencies(
    inputs: PlanningInputs, deployed: PipelineConfiguration, arrivals: [Int64], slowdown: Double, overheadMs: Double,
    noise: Double, seed: UInt64
  ) throws -> [Double] {
    let model = PipelineModel(inputs.calibrated(multiplier: slowdown, overheadMs: overheadMs))
    let latencies = Estimator.simulate(
      try model.simulationInput(arrivals: arrivals, configuration: deployed, routes: .drawn(seed: seed)),
      options: .latenciesOnly
    ).latencies!
    var rng = SeededGenerator(seed: RandomStream.observationNoise.seed(seed))
    return latencies.map { Milliseconds.of($0) * exp(noise * rng.nextStandardNormal()) }
  }
}
