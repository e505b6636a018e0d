import Foundation
public import InferLine

/// A correction per model fitted from tracing spans: each stage's own time per query is observed, so a slowdown
/// and an overhead can be told apart stage by stage (end-to-end latencies alone cannot; see `Calibration`).
///
/// Each stage is fitted on its own: its spans' start times are the arrivals of a one-stage simulation of the
/// deployed stage configuration with service times `multiplier x L(n) + overhead`, and the predicted time per query
/// at the stage (queueing, batching and service) is matched to the span durations at every 5th percentile and P99 on
/// every other window (a grid, then a pattern search). Stages that share a model share its correction and are fitted
/// together. The rest of the windows are held out: a stage is **not explained** when the fit is off by more than
/// `Calibration.unexplainedError` on average there or by more than `stageWindowError` in any one window. The
/// corrected pipeline is then simulated end to end on the traced arrivals and routes, with the pipeline's network
/// delay, and judged window by window the same way; a hop whose measured delay is far from the pipeline file's is
/// simulated at its measured median (and said to be).
public struct StageCalibration: Sendable, Equatable, Codable {
  /// One stage's fit and its checks; percentiles of the time per query at the stage, ms.
  public struct StageFit: Sendable, Equatable, Codable {
    public var stage: String
    public var model: String
    /// The model's correction (shared with the other stages of the model).
    public var multiplier: Double
    public var overheadMs: Double
    public var visits: Int
    public var windows: [Calibration.WindowCheck]
    public var heldOut: Calibration.Errors
    public var training: Calibration.Errors
    /// The largest error after the fit at P50, P95 or P99 in any window (with at least 10 observations above the
    /// percentile), and where.
    public var worstWindowError: Double
    public var worstWindowStart: Int64?
    public var explained: Bool
    public var note: String?
    /// Per window with traced queries, the replicas the spans show the stage ran on (distinct
    /// `service.instance.id`s; 0 where the stage saw no query), when every span of the stage names its replica and
    /// some window differs from the configuration; the simulations then follow them.
    public var replicasSeen: [Int]? = nil
    /// The queueing the spans show (a stage's `service_span`), beside the corrected simulation's.
    public var queueing: QueueingCheck? = nil
  }

  /// A stage's queueing as its spans show it (from the stage span's start to its service span's) and as the
  /// corrected one-stage simulation has it, ms; and the observed median service (batch) time.
  public struct QueueingCheck: Sendable, Equatable, Codable {
    public var queries: Int
    public var observedMeanMs: Double
    public var observedP99Ms: Double
    public var simulatedMeanMs: Double
    public var simulatedP99Ms: Double
    public var observedServiceP50Ms: Double
  }

  /// A model's fitted correction.
  public struct Correction: Sendable, Equatable, Codable {
    public var model: String
    public var multiplier: Double
    public var overheadMs: Double
  }

  public var stages: [StageFit]
  /// Stages with fewer than 100 traced queries in every window: not fitted, their profiles used as they are.
  public var unfittedStages: [String] = []
  public var corrections: [Correction]
  public var routes: [SpanTrace.MeasuredRoute]
  public var hops: [SpanTrace.MeasuredHop]
  /// Per edge, the delay the corrected pipeline simulates in place of the file's, ms: the spans' median where it is
  /// further than `hopToleranceMs` (and 20%) from the file's; nil where the file's holds.
  public var hopDelaysMs: [Double?]? = nil
  /// End-to-end percentiles per window: observed, simulated with the profiles as they are, and corrected.
  public var endToEnd: [Calibration.WindowCheck]
  public var endToEndHeldOut: Calibration.Errors
  /// The largest P99 error after the correction in any held-out window.
  public var worstHeldOutP99Error: Double
  public var explained: Bool
  /// Why the correction is not used: the stage, hop or span the model cannot explain.
  public var note: String?
  public var reading: SpanTrace.Counts
  public var simulations: Int

  /// The percentiles matched: every 5th and the 99th. Unlike end-to-end latencies, a stage's times sit at a few
  /// values (a batch of each size with and without waiting), and the whole spread is what tells a slowdown (it
  /// stretches the gaps between batch sizes) from an overhead (it moves them all).
  static let fitted: [Double] = Array(stride(from: 5.0, through: 95, by: 5)) + [99]
  /// Above this relative error at a percentile in any one window of a stage or end to end, after the fit.
  public static let stageWindowError = 0.15
  /// A hop is named when its median measured delay is further than this from the pipeline's, ms (and 20%).
  public static let hopToleranceMs = 0.5

  /// Fits a correction per model to `spans` for `configuration` (what was deployed).
  /// - Parameter windowLength: nanoseconds.
  /// - Throws: `InputError` when fewer than two windows have 100 or more traced queries at some stage.
  /// - Complexity: about 300 one-stage simulations per model and three of the pipeline.
  public static func fit(
    inputs: PlanningInputs, configuration: PipelineConfiguration, spans: SpanTrace, windowLength: Int64
  ) throws -> StageCalibration {
    let pipeline = inputs.pipeline
    let model = PipelineModel(inputs)
    try model.check(configuration)
    if let sizes = spans.querySizes {
      try model.checkSizes(
        sizes, log: spans.reading.files.first, column: pipeline.sizeAttribute ?? "size",
        configuration: configuration)
    }
    let windows = ArrivalTrace.windows(of: spans.arrivals, length: windowLength).filter { $0.count > 0 }
    let deployment = DeploymentSeen(spans: spans, configuration: configuration, windows: windows)
    let data = try pipeline.stages.indices.map { s in
      try StageData(stage: s, inputs: inputs, spans: spans, windows: windows, deployment: deployment)
    }
    guard data.contains(where: { $0.windows.count >= 2 }) else {
      throw InputError(
        file: spans.reading.files.first,
        "per-stage calibration needs at least two windows with 100 or more traced queries at a stage (the most any stage has is \(data.map(\.windows.count).max() ?? 0))",
        fix: "give more traces or a shorter --window")
    }

    var simulations = 0
    var stageFits = [StageFit?](repeating: nil, count: pipeline.stages.count)
    var corrections: [Correction] = []
    let models = pipeline.stages.map(\.model).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    for model in models {
      let group = data.filter { pipeline.stages[$0.stage].model == model && !$0.windows.isEmpty }
      guard !group.isEmpty else { continue }
      @Sendable func loss(_ m: Double, _ o: Double) -> Double {
        var sum = 0.0
        for d in group {
          let predicted = d.predict(m, o)
          for i in d.windows.indices where i % 2 == 0 {
            for (p, observed) in zip(predicted[i], d.windows[i].percentiles) {
              let r = log(max(p, 1e-6) / max(observed, 1e-6))
              sum += r.isFinite ? r * r : 1e6
            }
          }
        }
        return sum
      }
      let best = CorrectionSearch.minimise(loss)
      simulations += best.evaluations * group.count
      corrections.append(Correction(model: model, multiplier: best.multiplier, overheadMs: best.overheadMs))
      for d in group {
        stageFits[d.stage] = stageFit(
          d, model: model, best: best, name: pipeline.stages[d.stage].name, spans: spans, deployment: deployment,
          simulations: &simulations)
      }
    }
    return endToEnd(
      inputs: inputs, spans: spans, windows: windows, deployment: deployment, stageFits: stageFits,
      corrections: corrections, simulations: simulations)
  }

  /// The deployment as the spans show it: each stage's replicas per window from its spans' replica ids, where they
  /// differ from the configuration's; replica changes at the windows' starts.
  struct DeploymentSeen {
    /// Per stage, its replicas per window (nil where the spans agree with the configuration).
    var replicasSeen: [[Int]?]
    /// The configuration at the first window.
    var initial: PipelineConfiguration
    var changes: [[ReplicaChange]]

    init(spans: SpanTrace, configuration: PipelineConfiguration, windows: [WorkloadWindow]) {
      let stages = configuration.stages.count
      replicasSeen = [[Int]?](repeating: nil, count: stages)
      initial = configuration
      changes = (0..<stages).map { _ in [] }
      for s in 0..<stages {
        guard let seen = spans.replicasSeen(stage: s, windows: windows),
          seen.contains(where: { $0 > 0 && $0 != configuration.stages[s].replicas })
        else { continue }
        replicasSeen[s] = seen
        var current = seen.first { $0 > 0 }!
        initial.stages[s].replicas = current
        for (w, count) in zip(windows, seen) where count > 0 && count != current {
          changes[s].append(ReplicaChange(time: w.start, stage: s, replicas: count))
          current = count
        }
      }
    }
  }

  /// One stage's data: where each query is among its arrivals, and per compared window (100 traced queries or
  /// more) the queries and the observed percentiles of their span durations at `fitted`.
  struct StageData: Sendable {
    var stage: Int
    /// `position[q]`: where query q's arrival is among the stage's, sorted (-1 when it did not visit).
    var position: [Int]
    var windows: [(start: Int64, queries: [Int], percentiles: [Double], count: Int)]
    var skippedWindows: Int
    /// The one-stage simulation with the profiles as they are; a correction changes its latency tables only
    /// (they hold profile values, so correcting them is correcting the profile).
    var base: SimulationInput

    /// - Complexity: O(queries log queries).
    init(
      stage s: Int, inputs: PlanningInputs, spans: SpanTrace, windows: [WorkloadWindow], deployment: DeploymentSeen
    )
      throws
    {
      let pipeline = inputs.pipeline
      let n = spans.count
      let visitors = (0..<n).filter { spans.stageStarts[s * n + $0] != .min }
      let sorted = visitors.sorted { spans.stageStarts[s * n + $0] < spans.stageStarts[s * n + $1] }
      var position = [Int](repeating: -1, count: n)
      for (k, q) in sorted.enumerated() { position[q] = k }
      var compared: [(start: Int64, queries: [Int], percentiles: [Double], count: Int)] = []
      var skipped = 0
      for w in windows {
        let queries = w.range.filter { position[$0] >= 0 }
        guard queries.count >= 100 else {
          if !queries.isEmpty { skipped += 1 }
          continue
        }
        let values = queries.map { Milliseconds.of(spans.stageEnds[s * n + $0] - spans.stageStarts[s * n + $0]) }
          .sorted()
        compared.append(
          (
            w.start, queries, StageCalibration.fitted.map { Percentile(percent: $0).value(inSorted: values)! },
            queries.count
          ))
      }
      var single = inputs
      single.pipeline.stages = [pipeline.stages[s]]
      single.pipeline.edges = []
      single.pipeline.networkDelayMs = 0
      single.pipeline.spanAttribute = nil
      single.pipeline.sizeAttribute = nil
      base = try PipelineModel(single).simulationInput(
        arrivals: sorted.map { spans.stageStarts[s * n + $0] },
        configuration: PipelineConfiguration(stages: [deployment.initial.stages[s]]), routes: .drawn(seed: 1),
        replicaChanges: deployment.changes[s].map { ReplicaChange(time: $0.time, stage: 0, replicas: $0.replicas) },
        querySizes: spans.querySizes.map { sizes in sorted.map { sizes[$0] } })
      stage = s
      self.position = position
      self.windows = compared
      skippedWindows = skipped
    }

    /// The one-stage simulation with the correction applied to its latency tables.
    func corrected(_ m: Double, _ o: Double) -> SimulationInput {
      var input = base
      input.stages[0].latencyTable = base.stages[0].latencyTable.map {
        ProfileTable.calibrated($0, multiplier: m, overheadMs: o)
      }
      input.stages[0].p99Table = base.stages[0].p99Table?.map {
        ProfileTable.calibrated($0, multiplier: m, overheadMs: o)
      }
      input.stages[0].sizedLatencies = base.stages[0].sizedLatencies.map { sized in
        SizedLatencies(
          bounds: sized.bounds,
          tables: sized.tables.map { $0.map { ProfileTable.calibrated($0, multiplier: m, overheadMs: o) } })
      }
      return input
    }

    /// The stage's predicted percentiles per compared window with the correction applied, ms.
    func predict(_ m: Double, _ o: Double) -> [[Double]] {
      let fitted = StageCalibration.fitted
      guard let latencies = Estimator.simulate(corrected(m, o), options: .latenciesOnly).latencies
      else {
        return windows.map { _ in fitted.map { _ in .infinity } }
      }
      return Selection.windowPercentilesMs(
        latencies, windows: windows.map(\.queries), positions: position, percents: fitted)
    }
  }

  /// One stage's fit with its model's correction: its windows before and after, its errors, what the fit does
  /// not explain (`note`), and where the spans split queueing from service, the queueing beside the simulation's.
  /// - Complexity: two or three one-stage simulations (counted in `simulations`).
  static func stageFit(
    _ d: StageData, model: String, best: CorrectionSearch.Result, name: String, spans: SpanTrace,
    deployment: DeploymentSeen, simulations: inout Int
  ) -> StageFit {
    let before = d.predict(1, 0), after = d.predict(best.multiplier, best.overheadMs)
    simulations += 2
    let check = judge(
      observed: d.windows.map(\.percentiles), counts: d.windows.map(\.count), before: before, after: after)
    var note: String? = nil
    if let k = check.training.after.indices.first(where: { !(check.training.after[$0] <= Calibration.unexplainedError) }
    ) {
      note = String(
        format: "stage '%@' is %.0f%% off at P%g on the training windows even after the fit", name,
        check.training.after[k] * 100, Calibration.percents[k])
    } else if let k = check.heldOut.after.indices.first(where: {
      !(check.heldOut.after[$0] <= Calibration.unexplainedError)
    }) {
      note = String(
        format: "stage '%@' is %.0f%% off at P%g on the held-out windows", name, check.heldOut.after[k] * 100,
        Calibration.percents[k])
    } else if let w = check.worst, !(w.error <= stageWindowError) {
      note =
        String(format: "stage '%@' is %.0f%% off at P%g in the window at ", name, w.error * 100, w.percent)
        + InstantText.describe(
          d.windows[w.window].start, relative: d.windows[w.window].start < Calibration.earliestAbsoluteInstant)
    } else if best.atEdge {
      note = "stage '\(name)': the fit ended at the edge of its range"
    }
    if let n = note {
      note =
        n
        + " (a slowdown and an overhead do not explain it: another configuration deployed, or work the stage's profile does not have?)"
    }
    let queueing = queueingCheck(d, best: best, spans: spans, simulations: &simulations)
    let reported = Calibration.percents.map { fitted.firstIndex(of: $0)! }
    return StageFit(
      stage: name, model: model, multiplier: best.multiplier, overheadMs: best.overheadMs,
      visits: d.base.arrivals.count,
      windows: d.windows.indices.map { i in
        Calibration.WindowCheck(
          start: d.windows[i].start, heldOut: i % 2 == 1, queries: d.windows[i].count,
          observedMs: reported.map { d.windows[i].percentiles[$0] }, predictedMs: reported.map { before[i][$0] },
          calibratedMs: reported.map { after[i][$0] })
      }, heldOut: check.heldOut, training: check.training, worstWindowError: check.worst?.error ?? 0,
      worstWindowStart: check.worst.map { d.windows[$0.window].start }, explained: note == nil, note: note,
      replicasSeen: deployment.replicasSeen[d.stage], queueing: queueing)
  }

  /// Where the spans split queueing from service (100 queries or more): the queueing they show beside the
  /// corrected simulation's, and the observed median service. Nil otherwise.
  static func queueingCheck(
    _ d: StageData, best: CorrectionSearch.Result, spans: SpanTrace, simulations: inout Int
  ) -> QueueingCheck? {
    guard !spans.serviceStarts.isEmpty else { return nil }
    let s = d.stage, n = spans.count
    var waits: [Int64] = []
    var services: [Int64] = []
    for q in 0..<n where spans.stageStarts[s * n + q] != .min && spans.serviceStarts[s * n + q] != .min {
      waits.append(spans.serviceStarts[s * n + q] - spans.stageStarts[s * n + q])
      services.append(spans.serviceEnds[s * n + q] - spans.serviceStarts[s * n + q])
    }
    guard waits.count >= 100 else { return nil }
    waits.sort()
    services.sort()
    let simulated = Estimator.simulate(
      d.corrected(best.multiplier, best.overheadMs), options: .init(summarisesLatencies: false)
    ).stages[0]
    simulations += 1
    return QueueingCheck(
      queries: waits.count,
      observedMeanMs: Double(waits.reduce(0, +)) / Double(waits.count) / 1e6,
      observedP99Ms: Milliseconds.of(waits[Percentile.p99.rank(of: waits.count) - 1]),
      simulatedMeanMs: simulated.meanWaitNanoseconds / 1e6,
      simulatedP99Ms: Milliseconds.of(simulated.p99WaitNanoseconds),
      observedServiceP50Ms: Milliseconds.of(services[Percentile(percent: 50).rank(of: services.count) - 1]))
  }

  /// The calibration from the stages' fits: hops whose measured delay is far from the file's simulated at the
  /// spans' median, then the corrected pipeline end to end on the traced arrivals and routes, window by window,
  /// before and after, and what the stages' fits leave unexplained. - Complexity: two simulations of the pipeline.
  static func endToEnd(
    inputs: PlanningInputs, spans: SpanTrace, windows: [WorkloadWindow], deployment: DeploymentSeen,
    stageFits: [StageFit?], corrections: [Correction], simulations: Int
  ) -> StageCalibration {
    let pipeline = inputs.pipeline
    let fitted = Self.fitted
    var simulations = simulations
    let hops = spans.measuredHops(pipeline)
    let delays: [Double?] = hops.map {
      $0.queries > 0 && abs($0.medianMs - $0.fileMs) > max(hopToleranceMs, 0.2 * $0.fileMs) ? $0.medianMs : nil
    }
    let corrected = Self.corrected(inputs, corrections, delays: delays)
    let routes = RouteSource.visited(spans.visitedStages, edges: pipeline.edges.map { ($0.parent, $0.child) })
    let observedEndToEnd: [(start: Int64, queries: Range<Int>, percentiles: [Double], count: Int)] = windows.compactMap
    {
      w in
      guard w.count >= 100 else { return nil }
      let values = w.range.map { Double(spans.endToEndMs[$0]) }.sorted()
      return (w.start, w.range, fitted.map { Percentile(percent: $0).value(inSorted: values)! }, w.count)
    }
    func endToEnd(_ model: PipelineModel) -> [[Double]] {
      simulations += 1
      guard
        let input = try? model.simulationInput(
          arrivals: spans.arrivals, configuration: deployment.initial, routes: routes,
          replicaChanges: deployment.changes.flatMap { $0 }, querySizes: spans.querySizes),
        let latencies = Estimator.simulate(input, options: .latenciesOnly).latencies
      else { return observedEndToEnd.map { _ in fitted.map { _ in .infinity } } }
      return observedEndToEnd.map { w in
        let values = latencies[w.queries].sorted()
        return fitted.map { Milliseconds.of(values[Percentile(percent: $0).rank(of: values.count) - 1]) }
      }
    }
    let e2eBefore = endToEnd(PipelineModel(inputs)), e2eAfter = endToEnd(PipelineModel(corrected))
    let e2e = judge(
      observed: observedEndToEnd.map(\.percentiles), counts: observedEndToEnd.map(\.count), before: e2eBefore,
      after: e2eAfter)
    let p99 = fitted.firstIndex(of: 99)!
    let heldOutP99 = observedEndToEnd.indices.filter { $0 % 2 == 1 }.map {
      abs(e2eAfter[$0][p99] / observedEndToEnd[$0].percentiles[p99] - 1)
    }
    let worstHeldOut = heldOutP99.max() ?? 0

    let fits = stageFits.compactMap { $0 }
    var note = fits.compactMap(\.note).first
    if note == nil, !(worstHeldOut <= stageWindowError) || (e2e.worst.map { !($0.error <= stageWindowError) } ?? false)
    {
      let unmapped = spans.reading.unmappedNames.sorted { $0.value > $1.value }.prefix(3).map { "'\($0.key)'" }
      note =
        String(
          format: "every stage is explained but the corrected pipeline is %.0f%% off end to end in some window",
          max(worstHeldOut, e2e.worst?.error ?? 0) * 100)
        + (unmapped.isEmpty
          ? ": time outside the stages' spans (a stage missing from the pipeline?)"
          : ": time outside the stages' spans, such as spans \(unmapped.joined(separator: ", ")) that mark no stage (a stage missing from the pipeline?)")
    }
    let reported = Calibration.percents.map { fitted.firstIndex(of: $0)! }
    return StageCalibration(
      stages: fits,
      unfittedStages: pipeline.stages.indices.filter { stageFits[$0] == nil }.map {
        pipeline.stages[$0].name
      }, corrections: corrections, routes: spans.measuredRoutes(pipeline), hops: hops, hopDelaysMs: delays,
      endToEnd: observedEndToEnd.indices.map { i in
        Calibration.WindowCheck(
          start: observedEndToEnd[i].start, heldOut: i % 2 == 1, queries: observedEndToEnd[i].count,
          observedMs: reported.map { observedEndToEnd[i].percentiles[$0] },
          predictedMs: reported.map { e2eBefore[i][$0] },
          calibratedMs: reported.map { e2eAfter[i][$0] })
      }, endToEndHeldOut: e2e.heldOut, worstHeldOutP99Error: worstHeldOut, explained: note == nil, note: note,
      reading: spans.reading, simulations: simulations)
  }

  /// Errors before and after on the training (even) and held-out (odd) windows at `Calibration.percents`, and the
  /// worst window after (a percentile counts in a window with at least 10 observations above it). `observed`,
  /// `before` and `after` hold each window's values at `fitted`'s percentiles. - Complexity: O(windows).
  static func judge(
    observed: [[Double]], counts: [Int], before: [[Double]], after: [[Double]], fitted: [Double] = fitted
  ) -> (
    training: Calibration.Errors, heldOut: Calibration.Errors, worst: (error: Double, window: Int, percent: Double)?
  ) {
    let percents = Calibration.percents
    let reported: [Int] = percents.map { fitted.firstIndex(of: $0)! }
    func errors(parity: Int) -> Calibration.Errors {
      var sums = (
        before: [Double](repeating: 0, count: percents.count), after: [Double](repeating: 0, count: percents.count)
      )
      var n = 0
      for i in observed.indices where i % 2 == parity {
        n += 1
        for (k, p) in reported.enumerated() {
          sums.before[k] += abs(before[i][p] / observed[i][p] - 1)
          sums.after[k] += abs(after[i][p] / observed[i][p] - 1)
        }
      }
      let count = Double(max(n, 1))
      return Calibration.Errors(before: sums.before.map { $0 / count }, after: sums.after.map { $0 / count })
    }
    var worst: (error: Double, window: Int, percent: Double)? = nil
    for i in observed.indices {
      for (k, p) in reported.enumerated() {
        let above: Double = Double(counts[i]) * (1 - percents[k] / 100)
        guard above >= 10 else { continue }
        let error: Double = abs(after[i][p] / observed[i][p] - 1)
        if worst == nil || error > worst!.error { worst = (error, i, percents[k]) }
      }
    }
    return (errors(parity: 0), errors(parity: 1), worst)
  }

  /// The inputs with each fitted model's profiles corrected.
  public func apply(to inputs: PlanningInputs) -> PlanningInputs {
    Self.corrected(inputs, corrections, delays: hopDelaysMs ?? [])
  }

  /// `inputs` with each model's correction, and each edge's measured delay where `delays` gives one.
  static func corrected(
    _ inputs: PlanningInputs, _ corrections: [Correction], delays: [Double?] = []
  ) -> PlanningInputs {
    var copy = inputs
    for (k, delay) in delays.enumerated() where delay != nil && k < copy.pipeline.edges.count {
      copy.pipeline.edges[k].delayMs = delay
    }
    for c in corrections {
      func adjust(_ l: Int64) -> Int64 {
        ProfileTable.calibrated(l, multiplier: c.multiplier, overheadMs: c.overheadMs)
      }
      for i in copy.profiles.profiles.indices where copy.profiles.profiles[i].model == c.model {
        copy.profiles.profiles[i] = copy.profiles.profiles[i].mappingLatencies(adjust)
      }
    }
    return copy
  }
}

/// The per-stage calibration's two-parameter search: `multiplier` on a log grid from 0.5 to 4 (12% apart, 1
/// among them) by `overhead` from 0 to 128 ms, evaluated side by side on the cores, then a pattern search with
/// halving steps from each of the four best grid points.
enum CorrectionSearch {
  /// Losses closer than this count as equal, and the smaller overhead is taken: where the batches seen cannot tell a
  /// slowdown from an overhead (one batch size only, `multiplier x L(1) + overhead` is all that shows), the
  /// correction is the pure slowdown, the one that predicts the larger batches slower.
  static let tieTolerance = 1e-5

  /// The correction found, its loss, the losses evaluated, and whether it lies at the edge of the ranges.
  typealias Result = (multiplier: Double, overheadMs: Double, loss: Double, evaluations: Int, atEdge: Bool)

  static func minimise(_ loss: @escaping @Sendable (Double, Double) -> Double) -> Result {
    let overheads: [Double] = [0, 0.5, 1, 2, 4, 8, 16, 32, 64, 128]
    // Multipliers 2^(j/6) from 0.5 to 4, 1 (the profiles as they are) among them.
    let points: [(Double, Double)] = (-6...12).flatMap { (j: Int) -> [(Double, Double)] in
      let m: Double = pow(2, Double(j) / 6)
      return overheads.map { (m, $0) }
    }
    let values = ResultSlots<Double>(count: points.count)
    DispatchQueue.concurrentPerform(iterations: points.count) { i in values[i] = loss(points[i].0, points[i].1) }
    var evaluations = points.count
    typealias Point = (m: Double, o: Double, loss: Double)
    @Sendable func better(_ a: Point, than b: Point) -> Bool {
      a.loss < b.loss - tieTolerance || (a.loss <= b.loss + tieTolerance && a.o < b.o - 1e-9)
    }
    let grid = points.indices.map { (m: points[$0].0, o: points[$0].1, loss: values[$0]!) }
    let ranked = grid.sorted { better($0, than: $1) }
    // The searches side by side (each a pure function of its start, so the answer is the same as one after another).
    let starts = Array(ranked.prefix(4))
    let found = ResultSlots<(point: Point, evaluations: Int)>(count: starts.count)
    DispatchQueue.concurrentPerform(iterations: starts.count) { k in
      var point = starts[k]
      var evaluations = 0
      var stepM = 0.1, stepO = max(point.o * 0.25, 0.5)
      var moves = 0
      while (stepM > 0.001 || stepO > 0.01) && moves < 1_000 {
        moves += 1
        var improved = false
        for (dm, dO) in [(stepM, 0.0), (-stepM, 0.0), (0.0, stepO), (0.0, -stepO), (stepM, -stepO), (-stepM, stepO)] {
          let m = min(
            max(point.m * exp(dm), Calibration.multiplierRange.lowerBound), Calibration.multiplierRange.upperBound)
          let o = min(max(point.o + dO, Calibration.overheadRangeMs.lowerBound), Calibration.overheadRangeMs.upperBound)
          let candidate = (m: m, o: o, loss: loss(m, o))
          evaluations += 1
          if better(candidate, than: point) {
            point = candidate
            improved = true
          }
        }
        if !improved {
          stepM /= 2
          stepO /= 2
        }
      }
      found[k] = (point, evaluations)
    }
    var best = ranked[0]
    for k in starts.indices {
      evaluations += found[k]!.evaluations
      if better(found[k]!.point, than: best) { best = found[k]!.point }
    }
    let atEdge =
      best.m <= Calibration.multiplierRange.lowerBound * 1.001
      || best.m >= Calibration.multiplierRange.upperBound * 0.999
      || best.o >= Calibration.overheadRangeMs.upperBound * 0.999
    return (best.m, best.o, best.loss, evaluations, atEdge)
  }
}

extension StageCalibration {
  /// Reads the deployed configuration file and the span files and fits: what `calibrate --traces` and
  /// `report --calibrate --calibration-traces` share.
  /// - Throws: `InputError` for unreadable files or too few traced queries; `DiagnosticsError` for a bad
  ///   configuration file.
  public static func fit(
    inputs: PlanningInputs, deployed config: String, traces: [String], windowLength: Int64
  ) throws -> StageCalibration {
    let configuration = try PipelineConfiguration.load(path: config, pipeline: inputs.pipeline)
    let spans = try SpanTrace.read(paths: traces, pipeline: inputs.pipeline)
    return try fit(inputs: inputs, configuration: configuration, spans: spans, windowLength: windowLength)
  }

  /// One line: the corrections and the held-out end-to-end P99 error before and after (or why they are not used).
  public var summary: String {
    let fitted = corrections.map { String(format: "%@ x %.3f + %.2f ms", $0.model, $0.multiplier, $0.overheadMs) }
      .joined(separator: ", ")
    let p99 = Calibration.percents.firstIndex(of: 99)!
    let errors = String(
      format:
        "held-out end-to-end P99 error %.1f%% with the profiles as they are, %.1f%% corrected (worst window %.1f%%); from %d traced queries",
      endToEndHeldOut.before[p99] * 100, endToEndHeldOut.after[p99] * 100, worstHeldOutP99Error * 100, reading.queries)
    let skipped = reading.skippedTraces + reading.malformedRecords + reading.malformedSpans
    let left = skipped > 0 ? " (\(skipped) traces, records or spans not usable: see calibrate --traces)" : ""
    return explained
      ? "Calibrated per stage against traced spans: \(fitted); \(errors)\(left)."
      : "Traced spans NOT explained, profiles used as they are: \(note ?? ""); best fit \(fitted); \(errors)\(left)."
  }

  /// The fit in words and tables, as `calibrate --traces` prints it.
  public var lines: [String] {
    var out = [
      summary, "",
      "stage        model                 fit                  visits  held-out error P50/P95/P99  worst window",
    ]
    func pad(_ s: String, _ n: Int) -> String {
      s.count >= n ? s + " " : s.padding(toLength: n, withPad: " ", startingAt: 0)
    }
    func triple(_ v: [Double]) -> String { v.map { String(format: "%.1f%%", $0 * 100) }.joined(separator: "/") }
    for s in stages {
      out.append(
        pad(TerminalText.safe(s.stage), 13) + pad(TerminalText.safe(s.model), 22)
          + pad(String(format: "x %.3f + %.2f ms", s.multiplier, s.overheadMs), 21) + pad("\(s.visits)", 8)
          + pad(triple(s.heldOut.after), 28) + String(format: "%.1f%%", s.worstWindowError * 100)
          + (s.explained ? "" : "  NOT EXPLAINED"))
      if let w = s.queueing {
        out.append(
          "  \(TerminalText.safe(s.stage)) queued "
            + String(
              format:
                "mean %.2f ms, P99 %.2f ms in its spans; the fit simulates mean %.2f ms, P99 %.2f ms (service P50 %.2f ms)",
              w.observedMeanMs, w.observedP99Ms, w.simulatedMeanMs, w.simulatedP99Ms, w.observedServiceP50Ms))
      }
      if let seen = s.replicasSeen {
        out.append(
          "  \(TerminalText.safe(s.stage)) ran on \(seen.map(String.init).joined(separator: ", ")) replicas by window (service.instance.id); the simulations follow them"
        )
      }
    }
    out += ["", "edge                         file p   measured p   hop: file ms  median ms  P99 ms"]
    for (r, h) in zip(routes, hops) {
      out.append(
        pad(TerminalText.safe("\(r.parent) -> \(r.child)"), 29) + pad(String(format: "%.3f", r.fileProbability), 9)
          + pad(String(format: "%.3f", r.measuredProbability), 13) + pad(String(format: "%.2f", h.fileMs), 14)
          + pad(String(format: "%.2f", h.medianMs), 11) + String(format: "%.2f", h.p99Ms))
    }
    for (h, delay) in zip(hops, hopDelaysMs ?? []) where delay != nil {
      out.append(
        "  the hop \(TerminalText.safe("\(h.parent) -> \(h.child)")) is simulated at the spans' "
          + String(format: "%.2f ms in place of the file's %.2f ms", delay!, h.fileMs))
    }
    let r = reading
    out += [
      "",
      "read: \(r.spans) spans in \(r.traces) traces (\(r.formats.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key) records" }.joined(separator: ", "))); \(r.queries) traces made queries",
    ]
    let skips: [(Int, String)] = [
      (r.malformedRecords, "records that are not spans"), (r.malformedSpans, "spans without ids, names or times"),
      (r.tracesWithoutStages, "traces with no stage's span"),
      (r.tracesWithRepeatedStage, "traces that visit a stage twice"),
      (r.partialTraces, "partial traces (a stage without its parent's span)"),
      (r.skewedTraces, "traces with clock skew (a stage starting before its parent ended)"),
      (r.orphanSpans, "orphan spans (parent not in the trace; the trace is kept)"),
      (r.unmappedSpans, "spans that mark no stage (kept as part of their trace's time)"),
    ]
    for (n, what) in skips where n > 0 { out.append("  \(n) \(what)") }
    if !unfittedStages.isEmpty {
      out.append(
        "  not fitted (fewer than 100 traced queries in every window; profiles used as they are): "
          + unfittedStages.map { TerminalText.safe($0) }.joined(separator: ", "))
    }
    if let first = r.firstMalformed { out.append("  first unusable record: \(TerminalText.safe(first))") }
    if !r.unmappedNames.isEmpty {
      out.append(
        "  span names that mark no stage: "
          + r.unmappedNames.sorted { $0.value > $1.value }.prefix(5).map {
            "\(TerminalText.safe($0.key)) (\($0.value))"
          }
          .joined(separator: ", "))
    }
    return out
  }
}
