// Performance harness for the engine. Each benchmark runs the optimised code and a plain baseline side by side
// in the same process, and prints both and their ratio. Build in release mode:
//   swift run -c release inferline-bench envelope [arrivals]
import Foundation
import InferLine
import InferLineNight
import Synchronization

/// Wall time of `body`, best of `runs`, in seconds.
func best<T>(of runs: Int, _ body: () -> T) -> (Double, T) {
  var bestTime = Double.infinity
  var result: T? = nil
  for _ in 0..<runs {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = body()
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    if elapsed < bestTime {
      bestTime = elapsed
      result = value
    }
  }
  return (bestTime, result!)
}

/// The benchmarks' 24-hour diurnal day at `rate` mean queries per second (peak/trough 4, seed 21): its arrivals and
/// trace.
func diurnalDay(rate: Double) -> (day: [Int64], trace: ArrivalTrace) {
  let day = TraceGenerator.arrivals(
    .diurnal(meanRate: rate, peakToTrough: 4), duration: 86_400, start: 1_795_824_000_000_000_000, seed: 21)
  return (day, ArrivalTrace(arrivals: day))
}

/// A pipeline on the sample 2026 catalog and profiles.
func sampleCatalogModel(_ pipeline: String) -> PipelineModel {
  PipelineModel(
    try! PlanningInputs.load(
      pipeline: pipeline, hardware: "SampleTraces/hardware/aws-2026.yaml",
      profiles: "SampleTraces/profiles/profiles-2026.csv"))
}

/// The plain two-pointer alpha(D), one window size at a time: the baseline the issue's figure is compared with.
func baselineMaxArrivals(_ t: [Int64], _ window: Int64) -> Int {
  var best = 0, j = 0
  for i in t.indices {
    if j < i { j = i }
    while j < t.count, t[j] < t[i] + window { j += 1 }
    best = max(best, j - i)
  }
  return best
}

/// Network calculus: 10 million arrivals, 20 window sizes, 8 token-bucket rates, single-threaded.
func envelopeBenchmark(arrivals count: Int) {
  let rate = 200.0
  let t = TraceGenerator.arrivals(.gamma(rate: rate, cv: 2), duration: Double(count) / rate, start: 0, seed: 1)
  let sizes = WindowSizes.logSpaced(from: 1_000_000, to: 60_000_000_000, count: 20)
  let rates = TokenBucketCurve.defaultRates(t, shortestWindow: sizes[0])
  print("envelope: \(t.count) arrivals, \(sizes.count) window sizes, \(rates.count) token-bucket rates, one thread")
  let (fast, alpha) = best(of: 3) { ArrivalEnvelope.maxArrivals(t, within: sizes, parallel: false) }
  let (plain, baseline) = best(of: 3) { sizes.map { baselineMaxArrivals(t, $0) } }
  precondition(alpha == baseline, "the two implementations disagree")
  let steps = Double(t.count * sizes.count)
  print(String(format: "  alpha(D)        %.3f s  %6.0f M arrival x window steps/s", fast, steps / fast / 1e6))
  print(
    String(
      format: "  baseline        %.3f s  %6.0f M steps/s  (plain two pointers, one size at a time)", plain,
      steps / plain / 1e6))
  print(String(format: "  speed-up        %.2fx", plain / fast))
  let (fits, _) = best(of: 3) { rates.map { TokenBucket.fit(t, rate: $0) } }
  let bucketSteps = Double(t.count * rates.count)
  print(String(format: "  sigma(rho)      %.3f s  %6.0f M arrival x rate steps/s", fits, bucketSteps / fits / 1e6))
  let (parallel, _) = best(of: 3) { ArrivalEnvelope.maxArrivals(t, within: sizes) }
  print(String(format: "  alpha(D), all cores %.3f s  %6.0f M steps/s", parallel, steps / parallel / 1e6))
  print(String(format: "  total (alpha + sigma, one thread) %.3f s", fast + fits))
}

/// Peak resident memory so far, bytes (getrusage's high-water mark).
func peakResidentBytes() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_maxrss * 1024
}

/// Lindley's recursion for one FIFO server, batch 1: the least work any simulator of one stage can do per query.
func lindley(_ arrivals: [Int64], service: Int64) -> Int64 {
  var free: Int64 = 0
  var worst: Int64 = 0
  for a in arrivals {
    let finish = max(free, a) + service
    worst = max(worst, finish - a)
    free = finish
  }
  return worst
}

/// The estimator's inputs: 1 million Poisson queries at 1,000 q/s, every stage at 80% utilisation, batch 1, one
/// replica: a 4-stage chain, a tree (one branch) and a 4-stage pipeline with a branch and a join (a -> b 0.6,
/// a -> c 0.5, b -> d, c -> d).
func estimatorInputs(queries: Int) -> [(name: String, input: SimulationInput)] {
  let rate = 1000.0
  let arrivals = TraceGenerator.arrivals(.poisson(rate: rate), duration: Double(queries) / rate, start: 0, seed: 7)
  func stages(_ visitShare: [Double]) -> [StageService] {
    visitShare.map { share in
      StageService(batchSize: 1, replicas: 1, latencyTable: [Int64(0.8 / (rate * share) * 1e9)])
    }
  }
  return [
    (
      "4-stage chain",
      SimulationInput(
        arrivals: arrivals, stageCount: 4, edges: [(0, 1), (1, 2), (2, 3)], edgeProbabilities: [1, 1, 1],
        stages: stages([1, 1, 1, 1]), hopDelay: 1_000_000, routes: .drawn(seed: 1), slo: 1_000_000_000)
    ),
    (
      "tree (a -> b 0.6, a -> c 0.3)",
      SimulationInput(
        arrivals: arrivals, stageCount: 3, edges: [(0, 1), (0, 2)], edgeProbabilities: [0.6, 0.3],
        stages: stages([1, 0.6, 0.3]), hopDelay: 1_000_000, routes: .drawn(seed: 1), slo: 1_000_000_000)
    ),
    (
      "4 stages with a branch and a join",
      SimulationInput(
        arrivals: arrivals, stageCount: 4, edges: [(0, 1), (0, 2), (1, 3), (2, 3)],
        edgeProbabilities: [0.6, 0.5, 1, 1], stages: stages([1.0, 0.6, 0.5, 1 - 0.4 * 0.5]), routes: .drawn(seed: 1),
        slo: 1_000_000_000)
    ),
    ("realistic chain (x4 b1, x2 b8, x2 b2, x1 b1; 800 q/s)", realisticChain(queries: queries)),
    ("realistic chain, a queue per replica, shortest queue", balancedChain(queries: queries, .shortestQueue)),
    ("realistic chain, a queue per replica, round robin", balancedChain(queries: queries, .roundRobin)),
  ]
}

/// The realistic chain with each replica keeping its own queue, fed by `dispatch` (`ReplicaQueueLane`).
func balancedChain(queries: Int, _ dispatch: DispatchPolicy) -> SimulationInput {
  var chain = realisticChain(queries: queries)
  chain.dispatch = dispatch
  return chain
}

/// The chain closer to what teams run (issue 31): 4 stages with 4 replicas at batch 1, 2 at batch 8, 2 at batch 2
/// and 1 replica, on Poisson queries at 800 q/s; busy 80%, about 50%, about 40% and 80%.
func realisticChain(queries: Int) -> SimulationInput {
  let rate = 800.0
  let arrivals = TraceGenerator.arrivals(.poisson(rate: rate), duration: Double(queries) / rate, start: 0, seed: 11)
  let ms: (Double) -> Int64 = { Int64($0 * 1e6) }
  return SimulationInput(
    arrivals: arrivals, stageCount: 4, edges: [(0, 1), (1, 2), (2, 3)], edgeProbabilities: [1, 1, 1],
    stages: [
      StageService(batchSize: 1, replicas: 4, latencyTable: [ms(4)]),
      StageService(batchSize: 8, replicas: 2, latencyTable: (1...8).map { ms(2 + Double($0)) }),
      StageService(batchSize: 2, replicas: 2, latencyTable: [ms(1.5), ms(2.2)]),
      StageService(batchSize: 1, replicas: 1, latencyTable: [ms(1)]),
    ], hopDelay: 1_000_000, routes: .drawn(seed: 1), slo: 1_000_000_000)
}

/// Peak memory growth per query of one simulation, bytes beyond the trace, measured in a fresh process of this
/// benchmark (`estimator-memory INDEX FULL EVENT QUERIES`): getrusage's peak only grows within a process.
func memoryPerQuery(_ index: Int, full: Bool, eventByEvent: Bool, queries: Int) -> Double {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
  process.arguments = ["estimator-memory", "\(index)", full ? "1" : "0", eventByEvent ? "1" : "0", "\(queries)"]
  let pipe = Pipe()
  process.standardOutput = pipe
  try! process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan
}

/// The estimator on `estimatorInputs`, one thread: each stage by stage against the event-driven simulator as the
/// baseline (their results must be identical), with Lindley's recursion as the floor. A case the stage-by-stage
/// simulator does not answer (a join's tie it cannot order) is said so and timed event by event only.
func estimatorBenchmark(queries: Int) {
  let inputs = estimatorInputs(queries: queries)
  let n = Double(inputs[0].input.arrivals.count)
  print(
    "estimator: \(Int(n)) queries, one thread; the first three 80% utilisation at every stage, batch 1, one replica")
  print("  (memory: peak growth per query beyond the trace's 8 bytes, each in a fresh process)")
  for (index, (name, input)) in inputs.enumerated() {
    let fastPath = Estimator.runsStageByStage(input)
    for collect in [false, true] {
      let label = collect ? "full statistics" : "latencies only "
      let fastOptions = Estimator.Options(collectWaitPercentiles: collect)
      let slowOptions = Estimator.Options(collectWaitPercentiles: collect, eventByEvent: true)
      var fastTime = Double.infinity, slowTime = Double.infinity
      var fast: SimulationResult? = nil, slow: SimulationResult? = nil
      var answered = fastPath
      for _ in 0..<5 {
        let (t2, r2) = best(of: 1) { Estimator.simulate(input, options: slowOptions) }
        if t2 < slowTime { (slowTime, slow) = (t2, r2) }
        guard answered else { continue }
        let (t1, r1) = best(of: 1) { Estimator.simulateStageByStage(input, options: fastOptions) }
        guard let r1 else {
          answered = false
          print("  \(name): the stage-by-stage simulator refused a tie at a join; event by event only")
          continue
        }
        if t1 < fastTime { (fastTime, fast) = (t1, r1) }
      }
      let visits = Double(slow!.stageVisits)
      let slowMemory = memoryPerQuery(index, full: collect, eventByEvent: true, queries: queries)
      if answered {
        precondition(
          fast!.latencies == slow!.latencies && fast!.stages == slow!.stages && fast!.events == slow!.events,
          "the stage-by-stage simulator must give the event-driven results exactly")
        let fastMemory = memoryPerQuery(index, full: collect, eventByEvent: false, queries: queries)
        print(
          String(
            format:
              "  %@, %@: stage by stage %.3f s = %6.2f M stage visits/s, %.1f bytes/query; event by event %.3f s = %5.2f M/s, %.1f bytes/query; %.1fx; identical results",
            name, label, fastTime, visits / fastTime / 1e6, fastMemory, slowTime, visits / slowTime / 1e6,
            slowMemory, slowTime / fastTime))
      } else {
        print(
          String(
            format: "  %@, %@: event by event %.3f s = %5.2f M stage visits/s, %.1f bytes/query (%d events)", name,
            label, slowTime, visits / slowTime / 1e6, slowMemory, slow!.events))
      }
    }
  }
  let arrivals = inputs[0].input.arrivals
  let (baseline, _) = best(of: 3) { lindley(arrivals, service: 800_000) }
  print(
    String(
      format: "  floor: Lindley's recursion, one stage, batch 1: %.4f s (%.0f M queries/s)", baseline,
      n / baseline / 1e6))
}

/// The planner on each sample pipeline: a one-hour window of Poisson traffic at 200 q/s, greedy and exact, and
/// the greedy planner without its screens (every check a full simulation) as the baseline.
func plannerBenchmark(rate: Double) {
  let arrivals = TraceGenerator.arrivals(.poisson(rate: rate), duration: 3600, start: 0, seed: 11)
  print("planner: one hour at \(Int(rate)) q/s (\(arrivals.count) queries), 2026 catalog, both cores")
  for name in ["image-processing", "video-monitoring", "social-media", "cascade"] {
    let model = PipelineModel(
      try! PlanningInputs.load(
        pipeline: "SampleTraces/pipelines/\(name).yaml", hardware: "SampleTraces/hardware/aws-2026.yaml",
        profiles: "SampleTraces/profiles/profiles-2026.csv"))
    func run(_ label: String, screens: Bool, _ body: (Planner) -> Result<Plan, Unattainable>) -> Double {
      let oracle = FeasibilityOracle(model: model, arrivals: arrivals, seed: 1, screens: screens)
      let start = DispatchTime.now().uptimeNanoseconds
      let result = body(Planner(oracle: oracle))
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      let c = oracle.counters
      switch result {
      case .success(let plan):
        print(
          String(
            format: "  %-17@ %-9@ %7.2f s  $%7.3f/h  %4d simulations, %4d cut short, %3d by the bound, %4d ruled out",
            name, label, seconds, plan.costPerHour, c.estimatorRuns, c.stoppedEarly, c.acceptedByBound, c.ruledOut))
      case .failure(let why):
        print("  \(name) \(label): \(why)")
      }
      return seconds
    }
    let greedy = run("greedy", screens: true) { $0.greedy() }
    let plain = run("unscreened", screens: false) { $0.greedy() }
    _ = run("optimal", screens: true) { $0.optimal() }
    print(String(format: "  %-17@ screens make the greedy planner %.1fx faster", name, plain / greedy))
  }
}

/// Tuner replay: a 24-hour diurnal day averaging 200 q/s through a 4-stage pipeline with a branch and a join,
/// planned (greedy) on its busiest hour, then replayed under every policy; the static plan is the baseline.
/// - Parameter tunerRuns: more than 0 replays only the InferLine tuner from the mean plan, that many times (the
///   policy the replay figure is hardest for).
func replayBenchmark(rate: Double, tunerRuns: Int = 0) {
  let pipeline = "Benchmarks/four-stage.yaml"
  let model = sampleCatalogModel(pipeline)
  let (day, trace) = diurnalDay(rate: rate)
  let hours = trace.windows(length: 3_600_000_000_000)
  let busiest = hours.max { $0.count < $1.count }!
  let meanCount = Double(day.count) / Double(hours.count)
  let typical = hours.min { abs(Double($0.count) - meanCount) < abs(Double($1.count) - meanCount) }!
  func plan(_ w: WorkloadWindow) -> (Double, PipelineConfiguration, [Int64]) {
    let arrivals = w.relativeArrivals(in: trace)
    let (seconds, p) = best(of: 1) {
      WindowPlanning.plan(model: model, window: w, arrivals: arrivals, seed: 1, budget: .standard).recommended!
    }
    return (seconds, p.configuration, arrivals)
  }
  let (peakSeconds, peakPlan, peakArrivals) = plan(busiest)
  let (_, meanPlan, meanArrivals) = plan(typical)
  func describe(_ c: PipelineConfiguration) -> String {
    c.describe(stageNames: model.stageNames)
  }
  print(
    String(
      format: "replay: %d queries over 24 h (diurnal, mean %.0f q/s, peak/trough 4), 4 stages with a branch and a join",
      day.count, rate))
  print(String(format: "  plan of the busiest hour (%.1f s to plan): ", peakSeconds) + describe(peakPlan))
  print("  plan of an average hour: " + describe(meanPlan))
  func replay(
    _ label: String, _ config: PipelineConfiguration, _ planning: [Int64], _ policy: ScalingPolicy, unit: Bool = false
  ) {
    let (seconds, result) = best(of: 1) {
      try! Replay.run(
        arrivals: day, model: model, configuration: config, planning: planning, policy: policy, unit: unit)
    }
    // Simulated time per wall time: the day's span over the replay's seconds (issue 31's replay figure).
    let span = Double(day.last! - day.first!) / 1e9
    print(
      String(
        format: "  %-34@ %5.1f s (%6.0fx real time)  cost $%8.2f  misses %7.3f%%  P99 %8.1f ms  decisions %5d", label,
        seconds, span / seconds, result.cost, result.missRate * 100, result.percentileLatencyMs, result.decisions))
  }
  if tunerRuns > 0 {
    for _ in 0..<tunerRuns {
      replay("inferline tuner from the mean plan", meanPlan, meanArrivals, .inferline(InferLineTuner()))
    }
    return
  }
  replay("static peak (busiest-hour plan)", peakPlan, peakArrivals, .fixed)
  replay("static mean (average-hour plan)", meanPlan, meanArrivals, .fixed)
  replay("inferline tuner from the mean plan", meanPlan, meanArrivals, .inferline(InferLineTuner()))
  replay("hpa from the mean plan", meanPlan, meanArrivals, .hpa(HorizontalPodAutoscaler()))
  replay("ray serve from the mean plan", meanPlan, meanArrivals, .ray(RayServeAutoscaler()))
  replay("knative kpa from the mean plan", meanPlan, meanArrivals, .kpa(KnativeAutoscaler()))
  let unit = Planner(oracle: FeasibilityOracle(model: model, arrivals: meanArrivals, seed: 1)).coarseGrainedBaselines()
  if let cg = unit.first {
    replay("CG unit (mean hour's CG-Peak), static", cg.configuration, meanArrivals, .fixed, unit: true)
    replay("CG unit + inferline tuner", cg.configuration, meanArrivals, .inferline(InferLineTuner()), unit: true)
    replay("CG unit + hpa", cg.configuration, meanArrivals, .hpa(HorizontalPodAutoscaler()), unit: true)
  }
}

/// The planner over a whole day: the 24 hourly windows of a diurnal day, planned as `report` plans them (greedy,
/// CG baselines, then the branch-and-bound search warm-started from them), against greedy alone on the same
/// windows in the same run (what the report planned with before).
func plannerDayBenchmark(rate: Double) {
  let (day, trace) = diurnalDay(rate: rate)
  let windows = trace.windows(length: 3_600_000_000_000)
  print(
    String(
      format: "planner over a day: %d queries, 24 h diurnal, mean %.0f q/s, peak/trough 4, hourly windows, both cores",
      day.count, rate))
  // The cascade: 25% of queries go on to BERT-large, so the units on which that route alone is over the SLO can
  // never meet it, whatever their copies (the CG search's route floor).
  for pipeline in [
    "Benchmarks/four-stage.yaml", "SampleTraces/pipelines/video-monitoring.yaml", "SampleTraces/pipelines/cascade.yaml",
  ] {
    let model = sampleCatalogModel(pipeline)
    func greedyAlone(everyMove: Bool) -> (seconds: Double, plans: [Plan?]) {
      best(of: 1) { () -> [Plan?] in
        let slots = ResultSlots<Plan>(count: windows.count)
        DispatchQueue.concurrentPerform(iterations: windows.count) { i in
          var planner = Planner(
            oracle: FeasibilityOracle(model: model, arrivals: windows[i].relativeArrivals(in: trace), seed: 1))
          planner.exhaustiveCandidates = everyMove
          if case .success(let p) = planner.greedy() { slots[i] = p }
        }
        return slots.values
      }
    }
    // The paper's greedy as previous versions ran it (every move simulated at every step): today's baseline.
    let (everyMoveSeconds, everyMovePlans) = greedyAlone(everyMove: true)
    let (greedySeconds, greedyPlans) = greedyAlone(everyMove: false)
    let greedyCosts = greedyPlans.map { $0?.costPerHour }
    precondition(
      zip(greedyPlans, everyMovePlans).allSatisfy { $0?.configuration == $1?.configuration },
      "skipping hopeless moves must not change greedy's plans")
    let (seconds, plans) = best(of: 1) {
      WindowPlanning.planAll(model: model, trace: trace, windows: windows, seed: 1, budget: .standard)
    }
    let planned = plans.filter(\.planned)
    let proven = planned.filter { $0.recommended?.provenOptimal == true }.count
    let simulations = planned.reduce(0) { $0 + ($1.recommended?.counts.estimatorRuns ?? 0) }
    let total = planned.compactMap(\.recommended?.costPerHour).reduce(0, +)
    let greedyTotal = greedyCosts.compactMap { $0 }.reduce(0, +)
    let differ = zip(plans, greedyCosts).filter { p, g in
      guard let r = p.recommended?.costPerHour, let g else { return false }
      return g > r + 1e-9
    }.count
    let maxGap = plans.compactMap { $0.greedy?.gapToRecommended }.max() ?? 0
    print("  \(model.name):")
    print(
      String(
        format:
          "    recommended (greedy + CG + search)  %6.1f s  %5.2f s/window  %d of %d windows proven optimal  %5d simulations  $%.2f over the day's windows",
        seconds, seconds / Double(planned.count), proven, planned.count, simulations, total))
    print(
      String(
        format:
          "    greedy alone (baseline)             %6.1f s  %5.2f s/window  %d windows planned  $%.2f; greedy dearer in %d windows, by up to %.1f%%",
        greedySeconds, greedySeconds / Double(planned.count), greedyCosts.compactMap { $0 }.count, greedyTotal, differ,
        maxGap * 100))
    print(
      String(
        format:
          "    greedy alone, every move simulated    %6.1f s  %5.2f s/window  %5d simulations (skipping hopeless moves: %d)",
        everyMoveSeconds, everyMoveSeconds / Double(planned.count),
        everyMovePlans.reduce(0) { $0 + ($1?.counts.estimatorRuns ?? 0) },
        greedyPlans.reduce(0) { $0 + ($1?.counts.estimatorRuns ?? 0) }))
    print(
      String(
        format:
          "    ratio: recommended planning takes %.2fx the time of greedy alone, %.2fx that of greedy with every move simulated",
        seconds / greedySeconds, seconds / everyMoveSeconds))
  }
}

/// The closed-loop replay over a diurnal day (issue acceptance): per pipeline, the busiest and the average hour's
/// recommended plans; static provisioning of each; the InferLine tuner from each; the autoscalers from the
/// busiest hour's plan; and, against coarse-grained provisioning, CG-Peak static and the CG unit under HPA.
/// Minutes over 1% counts minutes of the day whose queries missed the SLO more than 1% of the time.
func replayDayBenchmark(rate: Double, pipelines: [String]) {
  let (day, trace) = diurnalDay(rate: rate)
  let hours = trace.windows(length: 3_600_000_000_000)
  let busiest = WindowPlanning.busiest(hours)!
  let meanCount = Double(day.count) / Double(hours.count)
  let average = hours.indices.min {
    abs(Double(hours[$0].count) - meanCount) < abs(Double(hours[$1].count) - meanCount)
  }!
  print(
    String(
      format: "replay over a day: %d queries, 24 h diurnal, mean %.0f q/s, peak/trough 4, closed loop", day.count, rate)
  )
  for name in pipelines {
    let model = PipelineModel(
      try! PlanningInputs.load(
        pipeline: name.hasSuffix(".yaml") ? name : "SampleTraces/pipelines/\(name).yaml",
        hardware: "SampleTraces/hardware/aws-2026.yaml", profiles: "SampleTraces/profiles/profiles-2026.csv"))
    func plan(_ i: Int) -> (WindowPlan, [Int64]) {
      let arrivals = hours[i].relativeArrivals(in: trace)
      return (
        WindowPlanning.plan(model: model, window: hours[i], arrivals: arrivals, seed: 1, budget: .standard), arrivals
      )
    }
    let (peakPlan, peakArrivals) = plan(busiest)
    let (meanPlan, meanArrivals) = plan(average)
    guard let peak = peakPlan.recommended?.configuration, let mean = meanPlan.recommended?.configuration else {
      print("  \(model.name): the busiest or the average hour has no plan")
      continue
    }
    print("  \(model.name), SLO P99 <= \(String(format: "%g", Double(model.slo) / 1e6)) ms")
    print(
      "    busiest hour's plan: \(peak.describe(stageNames: model.stageNames)) ($\(String(format: "%.3f", model.cost(peak)))/h)"
    )
    print(
      "    average hour's plan: \(mean.describe(stageNames: model.stageNames)) ($\(String(format: "%.3f", model.cost(mean)))/h)"
    )
    var results: [String: ReplayResult] = [:]
    func replay(
      _ label: String, _ config: PipelineConfiguration, _ planning: [Int64], _ policy: ScalingPolicy, unit: Bool = false
    ) {
      let (seconds, r) = best(of: 1) {
        try! Replay.run(
          arrivals: day, model: model, configuration: config, planning: planning, policy: policy, unit: unit)
      }
      results[label] = r
      let badMinutes = r.missRatePerMinute.filter { $0 > 0.01 }.count
      print(
        String(
          format: "    %-36@ %6.1f s  $%8.2f  misses %7.3f%%  minutes >1%% %5.2f%%  P99 %9.1f ms  decisions %5d",
          label, seconds, r.cost, r.missRate * 100, Double(badMinutes) / Double(r.missRatePerMinute.count) * 100,
          r.percentileLatencyMs, r.decisions))
      if ProcessInfo.processInfo.environment["INFERLINE_BENCH_TIMELINES"] != nil {
        for t in r.timelines {
          print(
            "      \(t.stage): "
              + t.points.map { "\(($0.time - day[0]) / 60_000_000_000)m:\($0.replicas)" }.joined(separator: " "))
        }
      }
    }
    replay("static, busiest hour's plan", peak, peakArrivals, .fixed)
    replay("static, average hour's plan", mean, meanArrivals, .fixed)
    // The static replays' simulation side by side, A B A B: the closed loop with no decisions and a latency
    // summary (what they ran before) against the plain simulation they run now (stage by stage where that applies,
    // no summary); the same latencies.
    for (label, config) in [("busiest", peak), ("average", mean)] {
      let input = try! model.simulationInput(arrivals: day, configuration: config, routes: .drawn(seed: 1))
      var closed = [Double](), plain = [Double](), same = true
      for _ in 0..<2 {
        let (a, x) = best(of: 1) { ClosedLoopSimulation(input, options: .init(collectWaitPercentiles: false)).finish() }
        let (b, y) = best(of: 1) { Estimator.simulate(input, options: .latenciesOnly) }
        closed.append(a)
        plain.append(b)
        same = same && x.latencies == y.latencies && x.stages == y.stages
      }
      print(
        String(
          format:
            "    static %@ plan, simulation alone: closed loop %.2f / %.2f s, now %.2f / %.2f s (%@), %.1fx; same: %@",
          label, closed[0], closed[1], plain[0], plain[1],
          Estimator.runsStageByStage(input) ? "stage by stage" : "event by event", closed.min()! / plain.min()!,
          same ? "yes" : "NO"))
    }
    // Knobs from the environment, for exploring (INFERLINE_TUNER_HEADROOM, INFERLINE_TUNER_SLO_FRACTION).
    var tuner = InferLineTuner()
    let environment = ProcessInfo.processInfo.environment
    if let v = environment["INFERLINE_TUNER_HEADROOM"].flatMap(Double.init) { tuner.maximumHeadroom = v }
    if let v = environment["INFERLINE_TUNER_SLO_FRACTION"].flatMap(Double.init) { tuner.headroomSLOFraction = v }
    if let v = environment["INFERLINE_TUNER_QUIET_GAP"].flatMap(Double.init) { tuner.longestQuietGap = v }
    if let v = environment["INFERLINE_TUNER_GAP_MARGIN"].flatMap(Double.init) { tuner.quietGapMargin = v }
    if let v = environment["INFERLINE_TUNER_GAP_QUANTILE"].flatMap(Double.init) { tuner.quietGapQuantile = v }
    if let v = environment["INFERLINE_TUNER_GAP_CONFIDENCE"].flatMap(Double.init) { tuner.quietGapConfidence = v }
    if let v = environment["INFERLINE_TUNER_SHORT_BURSTS"] { tuner.shortBurstsAboveThePlan = v == "1" }
    if let v = environment["INFERLINE_TUNER_LASTING"].flatMap(Double.init) { tuner.lastingWindow = v }
    if let v = environment["INFERLINE_TUNER_DEVIATIONS"].flatMap(Double.init) { tuner.lastingDeviations = v }
    replay("inferline tuner from the busiest plan", peak, peakArrivals, .inferline(tuner))
    replay("inferline tuner from the average plan", mean, meanArrivals, .inferline(tuner))
    replay("hpa from the busiest plan", peak, peakArrivals, .hpa(HorizontalPodAutoscaler()))
    replay("ray serve from the busiest plan", peak, peakArrivals, .ray(RayServeAutoscaler()))
    replay("knative kpa from the busiest plan", peak, peakArrivals, .kpa(KnativeAutoscaler()))
    replay("predictive (what-if) from the busiest plan", peak, peakArrivals, .predictive(PredictiveScaler()))
    if let cg = peakPlan.baselines.first(where: { $0.name == "CG-Peak" }) {
      replay("CG-Peak, static", cg.configuration, peakArrivals, .fixed, unit: true)
      let cgMean = meanPlan.baselines.first(where: { $0.name == "CG-Peak" })?.configuration ?? cg.configuration
      replay("CG unit (average hour) + hpa", cgMean, meanArrivals, .hpa(HorizontalPodAutoscaler()), unit: true)
      let tuner = results["inferline tuner from the busiest plan"]!,
        staticPeak = results["static, busiest hour's plan"]!
      let cgPeak = results["CG-Peak, static"]!, cgHPA = results["CG unit (average hour) + hpa"]!
      print(
        String(
          format: "    tuner from the busiest plan vs static busiest plan: %.1f%% cheaper",
          (1 - tuner.cost / staticPeak.cost) * 100))
      if let fromAverage = results["inferline tuner from the average plan"] {
        print(
          String(
            format: "    tuner from the average plan vs static busiest plan: %.1f%% cheaper",
            (1 - fromAverage.cost / staticPeak.cost) * 100))
      }
      print(
        String(format: "    planner + tuner vs CG-Peak: %.2fx cheaper (paper: up to 7.6x)", cgPeak.cost / tuner.cost))
      let ratio: String
      if tuner.missRate == 0 && cgHPA.missRate == 0 {
        ratio = "neither misses"
      } else if tuner.missRate == 0 {
        ratio = String(format: "none against %.3f%%", cgHPA.missRate * 100)
      } else if cgHPA.missRate == 0 {
        ratio = String(format: "%.3f%% against none", tuner.missRate * 100)
      } else if tuner.missRate <= cgHPA.missRate {
        ratio = String(
          format: "%.1fx fewer (%.3f%% against %.3f%%)", cgHPA.missRate / tuner.missRate, tuner.missRate * 100,
          cgHPA.missRate * 100)
      } else {
        ratio = String(
          format: "%.1fx MORE (%.3f%% against %.3f%%)", tuner.missRate / max(cgHPA.missRate, 1e-12),
          tuner.missRate * 100, cgHPA.missRate * 100)
      }
      print("    planner + tuner vs CG unit + HPA, SLO misses: \(ratio) (paper: up to 34.5x fewer)")
    }
  }
}

/// Where a window's planning time goes, on the busiest window of a diurnal day: the CG baselines, the search,
/// then greedy, one after the other on one oracle (as `WindowPlanning.plan` runs them).
func plannerPartsBenchmark(rate: Double) {
  let trace = diurnalDay(rate: rate).trace
  let windows = trace.windows(length: 3_600_000_000_000)
  let arrivals = windows[WindowPlanning.busiest(windows)!].relativeArrivals(in: trace)
  print("planning time by part, busiest hour of a \(Int(rate)) q/s diurnal day (\(arrivals.count) queries)")
  // The cascade: 25% of queries go on to BERT-large, so the units on which that route alone is over the SLO can
  // never meet it, whatever their copies (the CG search's route floor).
  for pipeline in [
    "Benchmarks/four-stage.yaml", "SampleTraces/pipelines/video-monitoring.yaml", "SampleTraces/pipelines/cascade.yaml",
  ] {
    let model = sampleCatalogModel(pipeline)
    let oracle = FeasibilityOracle(model: model, arrivals: arrivals, seed: 1)
    let planner = Planner(oracle: oracle)
    let (cgSeconds, cg) = best(of: 1) { planner.coarseGrainedBaselines() }
    let cgRuns = oracle.counters.estimatorRuns
    let (searchSeconds, _) = best(of: 1) {
      planner.optimal(incumbents: cg.filter(\.feasible).map { ($0.name, $0.configuration) })
    }
    let searchRuns = oracle.counters.estimatorRuns - cgRuns
    let (greedySeconds, _) = best(of: 1) { planner.greedy() }
    let greedyRuns = oracle.counters.estimatorRuns - cgRuns - searchRuns
    let alone = FeasibilityOracle(model: model, arrivals: arrivals, seed: 1)
    let (aloneSeconds, _) = best(of: 1) { Planner(oracle: alone).greedy() }
    let everyMove = FeasibilityOracle(model: model, arrivals: arrivals, seed: 1)
    let (everyMoveSeconds, _) = best(of: 1) { () -> Result<Plan, Unattainable> in
      var planner = Planner(oracle: everyMove)
      planner.exhaustiveCandidates = true
      return planner.greedy()
    }
    print(
      String(
        format:
          "  %-17@ CG %5.1f s (%3d sims)  search %5.1f s (%3d)  greedy after them %5.1f s (%3d)  | greedy alone %5.1f s (%3d)  every move simulated %5.1f s (%3d)",
        model.name, cgSeconds, cgRuns, searchSeconds, searchRuns, greedySeconds, greedyRuns, aloneSeconds,
        alone.counters.estimatorRuns, everyMoveSeconds, everyMove.counters.estimatorRuns))
  }
}

/// Stage outputs shared between the oracle's checks (`StageOutputCache`): every hourly window of a diurnal day
/// planned as the report plans it (the CG baselines, the search warm-started by them, greedy, the descent from an
/// unproven plan), windows in parallel on every core, with the oracle handing on stages a check shares with a
/// recent run against simulating every stage, A B A B in one run; the plans must be the same.
func stageOutputsBenchmark(rate: Double) {
  let (day, trace) = diurnalDay(rate: rate)
  let windows = trace.windows(length: 3_600_000_000_000)
  print(
    String(
      format: "window planning over a day: %d queries, 24 h diurnal, mean %.0f q/s, hourly windows, both cores",
      day.count, rate))
  for pipeline in [
    "Benchmarks/four-stage.yaml", "SampleTraces/pipelines/video-monitoring.yaml", "SampleTraces/pipelines/cascade.yaml",
    "SampleTraces/pipelines/image-processing.yaml",
  ] {
    let model = sampleCatalogModel(pipeline)
    func planDay(sharing: Bool) -> (seconds: Double, plans: [PipelineConfiguration?], replayed: Int, simulated: Int) {
      let counts = Mutex((0, 0))
      let (seconds, plans) = best(of: 1) { () -> [PipelineConfiguration?] in
        let slots = ResultSlots<PipelineConfiguration>(count: windows.count)
        DispatchQueue.concurrentPerform(iterations: windows.count) { i in
          let oracle = FeasibilityOracle(
            model: model, arrivals: windows[i].relativeArrivals(in: trace), seed: 1, sharesStageOutputs: sharing)
          let planner = Planner(oracle: oracle)
          let cg = planner.coarseGrainedBaselines()
          var plan = try? planner.optimal(incumbents: cg.filter(\.feasible).map { ($0.name, $0.configuration) }).get()
          let greedy = try? planner.greedy().get()
          if plan == nil || plan!.provenOptimal != true, let g = greedy,
            g.costPerHour < (plan?.costPerHour ?? .infinity) - 1e-9
          {
            plan = g
            plan!.provenOptimal = false
          }
          if let p = plan { plan = planner.descend(from: p) }
          slots[i] = plan?.configuration
          let stages = oracle.stageCounts
          counts.withLock {
            $0.0 += stages.replayed
            $0.1 += stages.simulated
          }
        }
        return slots.values
      }
      let (replayed, simulated) = counts.withLock { $0 }
      return (seconds, plans, replayed, simulated)
    }
    var shared: [Double] = []
    var every: [Double] = []
    var stages = (replayed: 0, simulated: 0)
    for _ in 0..<2 {
      let a = planDay(sharing: false)
      let b = planDay(sharing: true)
      precondition(a.plans == b.plans, "sharing stage outputs must not change a plan")
      every.append(a.seconds)
      shared.append(b.seconds)
      stages = (b.replayed, b.simulated)
    }
    print(
      String(
        format:
          "  %-17@ every stage simulated %5.1f s, %5.1f s | stage outputs shared %5.1f s, %5.1f s | %.2fx; %d of %d stage simulations handed on (%.0f%%)",
        model.name, every[0], every[1], shared[0], shared[1], (every[0] + every[1]) / (shared[0] + shared[1]),
        stages.replayed, stages.replayed + stages.simulated,
        100 * Double(stages.replayed) / Double(max(1, stages.replayed + stages.simulated))))
  }
}

/// On-off traffic (issue 26's acceptance): seeded Markov-modulated on-off logs through three pipelines at 15-minute
/// and 1-hour windows. Side by side in one run: the InferLine tuner as the paper scales down (a hold of the
/// provisioning delay), the tuner with the burst-recurrence scale-down, the static busiest-window plan, and the
/// recommendation among the tuner, static, predictive scaling and the per-window schedule.
func onOffBenchmark(hours: Double) {
  struct Case {
    var name: String
    var process: ArrivalProcess.OnOff
  }
  let cases = [
    Case(name: "20 q/s bursts of 6 s, gaps of 40 s", process: .init(onRate: 20, meanOn: 6, meanOff: 40)),
    Case(name: "30 q/s bursts of 5 s, gaps of 30 s", process: .init(onRate: 30, meanOn: 5, meanOff: 30)),
    Case(
      name: "80 q/s bursts of 10 s, gaps of 2 min, 0.5 q/s between",
      process: .init(onRate: 80, offRate: 0.5, meanOn: 10, meanOff: 120)),
    Case(
      name: "40 q/s bursts of 20 s, gaps of 4 min, 1 q/s between",
      process: .init(onRate: 40, offRate: 1, meanOn: 20, meanOff: 240)),
    Case(name: "60 q/s bursts of 45 s, gaps of 3 min", process: .init(onRate: 60, meanOn: 45, meanOff: 180)),
  ]
  print(
    String(
      format: "on-off logs of %g h, seed 5; misses are shares of queries over the P99 SLO, bad minutes those above 1%%",
      hours))
  var worst = (
    tuner: 0.0, recommended: 0.0, tunerMinutes: 0.0, recommendedMinutes: 0.0, tunerFailures: 0,
    recommendedFailures: 0, cases: 0, sentences: 0, contradictions: 0, dearerThanStatic: 0.0
  )
  let only = ProcessInfo.processInfo.environment["INFERLINE_BENCH_CASE"].flatMap(Int.init)
  for (k, c) in cases.enumerated() where only == nil || only == k {
    let arrivals = TraceGenerator.arrivals(
      .onOff(c.process), duration: hours * 3600, start: 1_795_824_000_000_000_000, seed: 5)
    let gaps = zip(arrivals.dropFirst(), arrivals).map { Double($0 - $1) }
    let mean = gaps.reduce(0, +) / Double(gaps.count)
    let cv = (gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count)).squareRoot() / mean
    print(
      String(
        format: "%@: %d queries, mean %.2f q/s, gap CV %.1f", c.name, arrivals.count,
        Double(arrivals.count) / hours / 3600, cv))
    let trace = ArrivalTrace(arrivals: arrivals)
    for name in ["image-processing", "video-monitoring", "social-media"] {
      let model = PipelineModel(
        try! PlanningInputs.load(
          pipeline: "SampleTraces/pipelines/\(name).yaml", hardware: "SampleTraces/hardware/aws-2026.yaml",
          profiles: "SampleTraces/profiles/profiles-2026.csv"))
      for window: Int64 in [900_000_000_000, 3_600_000_000_000] {
        let workload = try! CapacityAnalysis.Workload(trace: trace, windowLength: window)
        let plans = WindowPlanning.planAll(
          model: model, trace: trace, windows: workload.windows, seed: 1, budget: .standard)
        guard let busiest = plans[workload.busiest].recommended?.configuration else {
          print("  \(name), \(window / 60_000_000_000) min windows: the busiest window has no plan")
          continue
        }
        var paper = InferLineTuner()
        paper.longestQuietGap = 0
        paper.shortBurstsAboveThePlan = true
        paper.restoreAfterBadMinute = false
        // Knobs from the environment, for exploring: INFERLINE_TUNER_GAP_MARGIN, INFERLINE_TUNER_KEEP_ABOVE_PLAN.
        var ours = InferLineTuner()
        let environment = ProcessInfo.processInfo.environment
        if let v = environment["INFERLINE_TUNER_GAP_MARGIN"].flatMap(Double.init) { ours.quietGapMargin = v }
        if let v = environment["INFERLINE_TUNER_KEEP_ABOVE_PLAN"] { ours.keepAboveThePlan = v == "1" }
        if let v = environment["INFERLINE_TUNER_GAP_QUANTILE"].flatMap(Double.init) { ours.quietGapQuantile = v }
        if let v = environment["INFERLINE_TUNER_GAP_CONFIDENCE"].flatMap(Double.init) { ours.quietGapConfidence = v }
        if let v = environment["INFERLINE_TUNER_LASTING"].flatMap(Double.init) { ours.lastingWindow = v }
        if let v = environment["INFERLINE_TUNER_DEVIATIONS"].flatMap(Double.init) { ours.lastingDeviations = v }
        let policies: [ScalingPolicy] = [.inferline(paper), .inferline(ours), .fixed, .predictive(PredictiveScaler())]
        var replays = try! CapacityAnalysis.replays(
          model: model, workload: workload, configuration: busiest, policies: policies, seed: 1)
        replays[0].policy = "paper tuner"
        if let schedule = try! CapacityAnalysis.scheduleReplay(model: model, workload: workload, plans: plans, seed: 1)
        {
          replays.append(schedule)
        }
        if let peak = plans[workload.busiest].baselines.first(where: { $0.name == "CG-Peak" }) {
          var r = try! CapacityAnalysis.replays(
            model: model, workload: workload, configuration: peak.configuration, policies: [.fixed], unit: true,
            seed: 1)[0]
          r.policy = "CG-Peak"
          replays.append(r)
        }
        // When nothing kept the SLO (per query and per minute), the plan with headroom and the tuner from it.
        let added = try! Headroom.replays(
          model: model, workload: workload, configuration: busiest, replayed: Array(replays.dropFirst()), seed: 1)
        replays += added
        let rec = Recommendation.choose(
          replays: Array(replays.dropFirst()), percentile: model.inputs.pipeline.slo.percentile)!
        func badMinutes(_ r: ReplayResult) -> Double {
          Double(r.missRatePerMinute.filter { $0 > 0.01 }.count) / Double(max(1, r.missRatePerMinute.count)) * 100
        }
        func cell(_ r: ReplayResult) -> String {
          String(format: "$%6.2f %6.2f%% (%4.1f%% min)", r.cost, r.missRate * 100, badMinutes(r))
        }
        let chosen = replays.first { $0.policy == rec.policy }!
        // The tuner and static from the plan the report replays them from: the plan with headroom when it had one.
        let tuner = added.last ?? replays[1], fixed = added.first ?? replays[2]
        let allowed = PipelineSpec.SLO.allowance(model.inputs.pipeline.slo.percentile)
        worst.tunerFailures += Recommendation.meets(tuner, allowed) ? 0 : 1
        worst.recommendedFailures += Recommendation.meets(chosen, allowed) ? 0 : 1
        worst.cases += 1
        // The savings table's sentences against the figures beside them: no "both meet" unless both kept the SLO,
        // no "both miss" unless neither did, and "cheaper", "dearer", "costs the same" as the costs order.
        for other in replays.dropFirst() where other.policy != chosen.policy {
          let a = ComparedSide(replay: chosen, allowed: allowed), b = ComparedSide(replay: other, allowed: allowed)
          let text = CostComparison.sentence(a, b)
          let order = CostComparison.order(a, b)
          let costWord = order == .cheaper ? "cheaper" : order == .dearer ? "dearer" : "costs the same"
          let orderHolds =
            order == .same
            ? abs(a.cost - b.cost) <= max(0.005, 0.0005 * max(a.cost, b.cost))
            : order == .cheaper ? a.cost < b.cost : a.cost > b.cost
          if !text.contains(costWord) || !orderHolds || (text.contains("both meet") && !(a.meetsSLO && b.meetsSLO))
            || (text.contains("both miss") && (a.meetsSLO || b.meetsSLO))
            || (a.meetsSLO != b.meetsSLO && (text.contains("both meet") || text.contains("both miss")))
          {
            worst.contradictions += 1
            print("      contradiction: \(other.policy): \(text)")
          }
          worst.sentences += 1
        }
        worst.tuner = max(worst.tuner, tuner.missRate)
        worst.dearerThanStatic = max(worst.dearerThanStatic, tuner.cost - fixed.cost)
        worst.tunerMinutes = max(worst.tunerMinutes, badMinutes(tuner))
        worst.recommended = max(worst.recommended, chosen.missRate)
        worst.recommendedMinutes = max(worst.recommendedMinutes, badMinutes(chosen))
        print(
          String(
            format:
              "  %-16@ %3d min  paper tuner %@ | tuner%@ %@ | static%@ %@ | tuner/static cost %.3f | recommended %@ %@",
            name, Int(window / 60_000_000_000), cell(replays[0]), added.isEmpty ? "" : "+h", cell(tuner),
            added.isEmpty ? "" : "+h", cell(fixed), tuner.cost / fixed.cost, rec.policy, cell(chosen)))
        if environment["INFERLINE_BENCH_TIMELINES"] != nil {
          for t in tuner.timelines {
            print(
              "      \(t.stage): "
                + t.points.map { "\(($0.time - arrivals[0]) / 1_000_000_000)s:\($0.replicas)" }.joined(separator: " "))
          }
          let bad = tuner.missRatePerMinute.enumerated().filter { $0.element > 0.01 }
          print(
            "      bad minutes: "
              + bad.map { String(format: "%d:%.0f%%", $0.offset, $0.element * 100) }.joined(separator: " "))
        }
        if environment["INFERLINE_BENCH_ALL"] != nil {
          for r in replays.dropFirst(3) { print("      \(r.policy): \(cell(r))") }
        }
      }
    }
  }
  print(
    String(
      format:
        "worst: tuner %.3f%% of queries, %.2f%% of minutes; recommended %.3f%% of queries, %.2f%% of minutes; SLO (per query and per minute) missed by the tuner in %d of %d cases, by the recommendation in %d (+h: from the plan with headroom, replayed when nothing from the plan kept the SLO)",
      worst.tuner * 100, worst.tunerMinutes, worst.recommended * 100, worst.recommendedMinutes, worst.tunerFailures,
      worst.cases, worst.recommendedFailures))
  print(String(format: "the tuner's largest cost over static: $%.4f (0 or less: never dearer)", worst.dearerThanStatic))
  print(
    "savings-table sentences checked against their figures: \(worst.sentences), contradicted: \(worst.contradictions)")
}

/// Brute force for the proofs benchmark, apart from the planner: every configuration of the catalog (every
/// hardware type, every profiled batch size whose throughput beats every smaller one, 1 up to the replica limit)
/// that costs less than `cost`, simulated event by event (the other simulator) with no screen. Returns how many
/// were simulated and the first found feasible, if any (there must be none below a proven optimum).
func cheaperFeasible(
  model: PipelineModel, arrivals: [Int64], sloMs: Double, below cost: Double
) -> (simulated: Int, feasible: PipelineConfiguration?) {
  let perStage: [[(StageConfiguration, Double)]] = model.stages.map { stage in
    stage.options.flatMap { o -> [(StageConfiguration, Double)] in
      var best = 0.0
      var sizes: [Int] = []
      for b in o.profiledBatchSizes {
        let throughput = Double(b) / Double(o.latencyTable[b - 1])
        if throughput > best {
          best = throughput
          sizes.append(b)
        }
      }
      return sizes.flatMap { b in
        (1...o.replicaLimit).map {
          (StageConfiguration(hardware: o.hardware, batchSize: b, replicas: $0), Double($0) * o.pricePerHour)
        }
      }
    }
  }
  var cheaper: [[StageConfiguration]] = []
  func walk(_ m: Int, _ partial: [StageConfiguration], _ total: Double) {
    if m == perStage.count {
      cheaper.append(partial)
      return
    }
    for (c, price) in perStage[m] where total + price < cost - 1e-9 { walk(m + 1, partial + [c], total + price) }
  }
  walk(0, [], 0)
  let all = cheaper
  let slo = Int64((sloMs * 1e6).rounded())
  let found = ResultSlots<Int>(count: 1)
  DispatchQueue.concurrentPerform(iterations: cheaper.count) { i in
    let input = try! model.simulationInput(
      arrivals: arrivals, configuration: PipelineConfiguration(stages: all[i]), routes: .drawn(seed: 1), slo: slo)
    let result = Estimator.simulate(
      input, options: .init(stopWhenInfeasible: true, collectWaitPercentiles: false, eventByEvent: true))
    if result.feasible { found[0] = i }
  }
  return (cheaper.count, found[0].map { PipelineConfiguration(stages: cheaper[$0]) })
}

/// Proofs at the default budget on held-out-style instances: chains of 2-4 stages over three hardware types
/// (about $0.21/h up to 6 replicas, $0.61/h up to 5, $1.38/h up to 4), latencies L(n) = a + c n^0.92 with seeded
/// coefficients and one dominated batch size, a gamma trace (CV 3, 150 q/s, 100 s: about 15k queries), five SLOs
/// from tight to loose per instance, planned as the report plans a window (the coarse-grained baselines that meet
/// the SLO are the search's incumbents). Side by side in one run: chains searched prefix by prefix (`ChainSearch`)
/// and the search over whole configurations with the prefix bound (the previous default).
func proofsBenchmark(instances: Int) {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("inferline-proofs-\(getpid())")
  try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  let catalog = """
    hardware:
      - {type: small, price_per_hour: 0.21, max_replicas: 6}
      - {type: medium, price_per_hour: 0.61, max_replicas: 5}
      - {type: large, price_per_hour: 1.38, max_replicas: 4}

    """
  let catalogPath = folder.appendingPathComponent("catalog.yaml").path
  try! catalog.write(toFile: catalogPath, atomically: true, encoding: .utf8)
  struct Tally {
    var windows = 0, proven = 0, threeStage = 0, threeStageProven = 0, noPlan = 0
    var worstGap = 0.0, seconds = 0.0, simulations = 0, prefixRuledOut = 0
    /// By stage count: windows, proven, unproven with no plan, worst unproven gap, seconds.
    var byStages: [Int: (windows: Int, proven: Int, noPlan: Int, worstGap: Double, seconds: Double)] = [:]
  }
  var with = Tally(), without = Tally()
  var disagreements = 0
  let verbose = ProcessInfo.processInfo.environment["INFERLINE_BENCH_VERBOSE"] != nil
  // INFERLINE_BENCH_VERIFY=1: every plan of two or three stages proven prefix by prefix is checked by brute force
  // (`cheaperFeasible`).
  let verify = ProcessInfo.processInfo.environment["INFERLINE_BENCH_VERIFY"] != nil
  var verified = (windows: 0, simulations: 0, wrong: 0)
  var frontier = (instances: 0, points: 0, proven: 0, notThePlan: 0, rises: 0, boundAboveCost: 0, contradicts: 0)
  print("proofs: \(instances) instances x 5 SLOs, default budget (\(SearchBudget.standard.simulations) simulations)")
  for instance in 0..<instances {
    var rng = SeededGenerator(seed: UInt64(1000 + instance))
    let stages = 2 + instance % 3
    var pipeline = "name: held-out-\(instance)\nslo: {latency_ms: 100}\nstages:\n"
    for m in 0..<stages { pipeline += "  - {name: s\(m), model: m\(m)}\n" }
    pipeline += "edges:\n" + (1..<stages).map { "  s\($0 - 1) -> s\($0): 1\n" }.joined()
    var profiles = "model,hardware,batch_size,latency_ms,statistic\n"
    for m in 0..<stages {
      // Faster hardware: a smaller fixed cost and per-item cost.
      let a = 2 + Double(rng.next() % 400) / 100, c = 0.4 + Double(rng.next() % 160) / 100
      let dominated = [2, 4, 8][Int(rng.next() % 3)]
      for (k, type) in ["small", "medium", "large"].enumerated() {
        let speed = [1.0, 2.1, 4.3][k] * (0.9 + Double(rng.next() % 20) / 100)
        for b in [1, 2, 4, 8, 16] {
          var latency = (a + c * pow(Double(b), 0.92)) / speed
          // One batch size that no one should choose: slower per item than the next smaller one.
          if b == dominated { latency *= 2.2 }
          profiles += "m\(m),\(type),\(b),\(String(format: "%.3f", latency)),p99\n"
        }
      }
    }
    let pipelinePath = folder.appendingPathComponent("p\(instance).yaml").path
    let profilePath = folder.appendingPathComponent("f\(instance).csv").path
    try! pipeline.write(toFile: pipelinePath, atomically: true, encoding: .utf8)
    try! profiles.write(toFile: profilePath, atomically: true, encoding: .utf8)
    let model = PipelineModel(
      try! PlanningInputs.load(pipeline: pipelinePath, hardware: catalogPath, profiles: profilePath))
    let arrivals = TraceGenerator.arrivals(
      .gamma(rate: 150, cv: 3), duration: 100, start: 0, seed: UInt64(2000 + instance))
    let floor = Double(model.latencyFloor.nanoseconds) / 1e6
    let factors = [1.6, 2.2, 3, 4.5, 7]
    var chainPlans: [Double: Plan] = [:]
    for factor in factors {
      let slo = floor * factor
      var outcomes: [(cost: Double?, proven: Bool)] = []
      for usePrefix in [true, false] {
        let oracle = FeasibilityOracle(model: model, arrivals: arrivals, seed: 1, sloMs: slo)
        let start = DispatchTime.now().uptimeNanoseconds
        var planner = Planner(oracle: oracle)
        planner.usesChainSearch = usePrefix
        // As the report plans a window: the coarse-grained baselines that meet the SLO are the search's incumbents.
        let incumbents = planner.coarseGrainedBaselines().filter(\.feasible).map {
          (name: $0.name, configuration: $0.configuration)
        }
        let result = planner.bestPlan(budget: .standard, incumbents: incumbents)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var t = usePrefix ? with : without
        t.windows += 1
        t.seconds += seconds
        t.simulations += oracle.counters.estimatorRuns
        t.prefixRuledOut += oracle.ruledOutByPrefix
        if stages == 3 { t.threeStage += 1 }
        switch result {
        case .success(let plan):
          outcomes.append((plan.costPerHour, plan.provenOptimal == true))
          if plan.provenOptimal == true {
            t.proven += 1
            if stages == 3 { t.threeStageProven += 1 }
          } else {
            t.worstGap = max(t.worstGap, plan.gap ?? .infinity)
          }
        case .failure(let why):
          outcomes.append((nil, why.proven))
          if why.proven {
            t.proven += 1
            if stages == 3 { t.threeStageProven += 1 }
          } else {
            t.noPlan += 1
          }
        }
        var row = t.byStages[stages] ?? (0, 0, 0, 0, 0)
        row.windows += 1
        row.seconds += seconds
        switch result {
        case .success(let plan):
          if plan.provenOptimal == true {
            row.proven += 1
          } else {
            row.worstGap = max(row.worstGap, plan.gap ?? .infinity)
          }
        case .failure(let why):
          if why.proven { row.proven += 1 } else { row.noPlan += 1 }
        }
        t.byStages[stages] = row
        if usePrefix { with = t } else { without = t }
        if usePrefix, case .success(let plan) = result { chainPlans[factor] = plan }
        // Brute force on two and three stages (four stages have millions of cheaper configurations).
        if verify, usePrefix, stages <= 3, case .success(let plan) = result, plan.provenOptimal == true {
          let check = cheaperFeasible(model: model, arrivals: arrivals, sloMs: slo, below: plan.costPerHour)
          verified.windows += 1
          verified.simulations += check.simulated
          if let c = check.feasible {
            verified.wrong += 1
            print("    WRONG #\(instance) x\(factor): proven $\(plan.costPerHour)/h, but \(c) is cheaper and feasible")
          }
        }
        if verbose {
          switch result {
          case .success(let plan):
            print(
              String(
                format: "    %@ #%d %d stages x%.1f: $%.2f lb $%.2f %@ %@, %d skipped",
                usePrefix ? "with" : "without", instance, stages, factor, plan.costPerHour,
                plan.lowerBoundPerHour ?? 0, plan.provenOptimal == true ? "proven" : "UNPROVEN",
                plan.effort?.description ?? "", oracle.ruledOutByPrefix))
          case .failure(let why):
            print("    \(usePrefix ? "with" : "without") #\(instance) \(stages) stages x\(factor): \(why)")
          }
        }
      }
      // Two proven answers that differ would be a bug (unproven plans may differ).
      if outcomes[0].proven && outcomes[1].proven,
        outcomes[0].cost.map({ c in outcomes[1].cost.map { abs(c - $0) > 1e-9 } ?? true }) ?? (outcomes[1].cost != nil)
      {
        disagreements += 1
      }
    }
    // The frontier over the same five SLOs, as the report draws it: the pipeline's SLO is the middle one (3x the
    // floor), whose window plan is the point there.
    if let middle = chainPlans[3] {
      let path = folder.appendingPathComponent("p\(instance)-frontier.yaml").path
      try! pipeline.replacingOccurrences(of: "latency_ms: 100", with: "latency_ms: \(floor * 3)")
        .write(toFile: path, atomically: true, encoding: .utf8)
      let atThree = PipelineModel(
        try! PlanningInputs.load(pipeline: path, hardware: catalogPath, profiles: profilePath))
      let points = Planner.frontier(
        model: atThree, arrivals: arrivals, seed: 1, multipliers: factors.map { $0 / 3 }, budget: .standard,
        incumbents: [("today's plan", middle.configuration)], planAtSLO: middle)
      frontier.instances += 1
      var previous = Double.infinity
      for (point, factor) in zip(points, factors) {
        frontier.points += 1
        let cost = point.costPerHour ?? .infinity
        if factor == 3 && (point.configuration != middle.configuration || cost != middle.costPerHour) {
          frontier.notThePlan += 1
        }
        if cost > previous + 1e-9 { frontier.rises += 1 }
        previous = cost
        if point.provenOptimal == true { frontier.proven += 1 }
        if let bound = point.lowerBoundPerHour, bound > cost + 1e-9 { frontier.boundAboveCost += 1 }
        // The same question asked of the window's search: the same answer where either is proven.
        if let plan = chainPlans[factor], let c = point.costPerHour,
          (plan.provenOptimal == true && c < plan.costPerHour - 1e-9)
            || (point.provenOptimal == true && plan.costPerHour < c - 1e-9)
            || (plan.provenOptimal == true && point.provenOptimal == true && abs(c - plan.costPerHour) > 1e-9)
        {
          frontier.contradicts += 1
        }
      }
    }
  }
  for (label, t) in [("prefix by prefix", with), ("whole configurations", without)] {
    print(
      String(
        format:
          "  %-22@ proven %3d of %3d (three stages: %d of %d), unproven with no plan %d, worst unproven gap %.1f%%, %.2f s per window, %.0f simulations per window, %d ruled out by prefixes",
        label, t.proven, t.windows, t.threeStageProven, t.threeStage, t.noPlan, t.worstGap * 100,
        t.seconds / Double(max(t.windows, 1)), Double(t.simulations) / Double(max(t.windows, 1)), t.prefixRuledOut))
  }
  for stages in with.byStages.keys.sorted() {
    for (label, t) in [("prefix by prefix", with), ("whole configurations", without)] {
      guard let row = t.byStages[stages] else { continue }
      print(
        String(
          format:
            "    %d stages, %-20@ proven %2d of %2d, unproven with no plan %d, worst unproven gap %.1f%%, %.2f s per window",
          stages, label, row.proven, row.windows, row.noPlan, row.worstGap * 100,
          row.seconds / Double(max(row.windows, 1))
        ))
    }
  }
  print(String(format: "  time per window, with / without: %.2fx", with.seconds / max(without.seconds, 1e-9)))
  print("  windows both proved with different answers: \(disagreements) (must be 0)")
  print(
    "  frontier over the five SLOs (\(frontier.instances) instances, \(frontier.points) points, \(frontier.proven) proven): the point at the pipeline's SLO is not its plan \(frontier.notThePlan), rises \(frontier.rises), bound above cost \(frontier.boundAboveCost), contradicts the window's proven plan \(frontier.contradicts) (each must be 0)"
  )
  if verify {
    print(
      "  brute force (event by event, no screen): \(verified.windows) proven plans checked, \(verified.simulations) cheaper configurations simulated, \(verified.wrong) cheaper and feasible (must be 0)"
    )
  }
}

/// Trace ingestion and calibration on the sample day (`SampleTraces/logs/video-observed.csv.gz`, the deployed
/// video-monitoring configuration): the log's lines read by the query-log reader, and the same queries as OTLP JSON
/// spans (a root span and a span per stage, from the simulator's stage finishes) read by the span reader, side by
/// side; then the end-to-end calibration on the log and the per-stage calibration on the spans.
func spansBenchmark() {
  let root = "SampleTraces"
  let inputs = try! PlanningInputs.load(
    pipeline: root + "/pipelines/video-monitoring.yaml", hardware: root + "/hardware/aws-2026.yaml",
    profiles: root + "/profiles/profiles-2026.csv")
  let configuration = try! PipelineConfiguration.load(
    path: root + "/pipelines/video-monitoring.config.yaml", pipeline: inputs.pipeline)
  let logPath = root + "/logs/video-observed.csv.gz"
  var logOptions = LogReadOptions()
  logOptions.latencyColumn = "latency_ms"
  let log = try! QueryLogSet.read(paths: [logPath], options: logOptions)
  let trace = try! log.trace(for: inputs.pipeline)
  let arrivals = trace.arrivals
  let model = PipelineModel(inputs)
  let result = Estimator.simulate(
    try! model.simulationInput(arrivals: arrivals, configuration: configuration, routes: .drawn(seed: 1)),
    options: .init(recordStageFinishes: true))
  let finishes = result.stageFinishes!
  let n = arrivals.count
  var text = ""
  var spanCount = 0
  var chunk: [String] = []
  for q in 0..<n {
    var end = arrivals[q]
    for s in 0..<3 where finishes[s * n + q] != .min {
      let start = s == 0 ? arrivals[q] : finishes[q] + model.hopDelay
      chunk.append(
        "{\"traceId\":\"\(String(q, radix: 16))\",\"spanId\":\"\(s + 1)\",\"parentSpanId\":\"r\",\"name\":\"\(inputs.pipeline.stages[s].name)\",\"kind\":2,\"startTimeUnixNano\":\"\(start)\",\"endTimeUnixNano\":\"\(finishes[s * n + q])\",\"attributes\":[{\"key\":\"model\",\"value\":{\"stringValue\":\"\(inputs.pipeline.stages[s].model)\"}}]}"
      )
      end = max(end, finishes[s * n + q])
      spanCount += 1
    }
    chunk.append(
      "{\"traceId\":\"\(String(q, radix: 16))\",\"spanId\":\"r\",\"name\":\"request\",\"startTimeUnixNano\":\"\(arrivals[q])\",\"endTimeUnixNano\":\"\(end)\"}"
    )
    spanCount += 1
    if chunk.count >= 512 || q == n - 1 {
      text +=
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"serving\"}}]},\"scopeSpans\":[{\"spans\":[\(chunk.joined(separator: ","))]}]}]}\n"
      chunk = []
    }
  }
  let spanBytes = Array(text.utf8)
  let logBytes: [UInt8] = {
    let source = Process()
    source.executableURL = URL(fileURLWithPath: "/bin/gzip")
    source.arguments = ["-dc", logPath]
    let pipe = Pipe()
    source.standardOutput = pipe
    try! source.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    source.waitUntilExit()
    return Array(data)
  }()
  print("Trace ingestion, \(n) queries of the sample day (best of 3, side by side)")
  for _ in 0..<1 {
    let (logSeconds, _) = best(of: 3) {
      try! QueryLogReader.read(bytes: logBytes, name: "log", options: logOptions)
    }
    let (spanSeconds, spans) = best(of: 3) { () -> SpanTrace in
      var reading = SpanReader.Reading()
      SpanReader.read(bytes: spanBytes, file: "spans", into: &reading)
      return SpanTrace.assemble(reading, pipeline: inputs.pipeline)
    }
    precondition(spans.count == n)
    var parsed = SpanReader.Reading()
    let (readSeconds, _) = best(of: 1) { SpanReader.read(bytes: spanBytes, file: "spans", into: &parsed) }
    let (assembleSeconds, _) = best(of: 1) { SpanTrace.assemble(parsed, pipeline: inputs.pipeline) }
    print(String(format: "  spans: reading %.2f s, making queries %.2f s", readSeconds, assembleSeconds))
    print(
      String(
        format: "  query log: %8.0f lines/s  (%.2f s, %.1f MB)", Double(n) / logSeconds, logSeconds,
        Double(logBytes.count) / 1e6))
    print(
      String(
        format: "  spans:     %8.0f spans/s  (%.2f s, %.1f MB, %d spans, %.0f traces/s)",
        Double(spanCount) / spanSeconds,
        spanSeconds, Double(spanBytes.count) / 1e6, spanCount, Double(n) / spanSeconds))
    print(String(format: "  per query, spans / log line: %.1fx the time", spanSeconds / logSeconds))
    let window: Int64 = 3_600_000_000_000
    let (endToEnd, c) = best(of: 1) {
      try! Calibration.fit(
        inputs: inputs, configuration: configuration, arrivals: arrivals, observedMs: trace.observedLatencyMs!,
        windowLength: window, routes: .drawn(seed: 1))
    }
    let (perStage, sc) = best(of: 1) {
      try! StageCalibration.fit(inputs: inputs, configuration: configuration, spans: spans, windowLength: window)
    }
    print(String(format: "  calibration, end to end on the log: %.2f s (%d simulations)", endToEnd, c.simulations))
    print(
      String(
        format: "  calibration, per stage on the spans: %.2f s (%d simulations, one-stage ones included)", perStage,
        sc.simulations))
  }
}

/// Service times that follow each query's size (issue 33): the realistic chain with four size buckets per stage
/// (latency x 0.4, 0.6, 0.8 and 1 of the profiled) and lognormal sizes, against the same chain as profiled; stage by
/// stage (what both take) and event by event, side by side.
func sizesBenchmark(queries: Int) {
  let plain = realisticChain(queries: queries)
  var sized = plain
  var generator = SeededGenerator(seed: 21)
  sized.querySizes = plain.arrivals.map { _ in Float(min(511, 100 * exp(0.6 * generator.nextStandardNormal()))) }
  for s in sized.stages.indices {
    let table = sized.stages[s].latencyTable
    sized.stages[s].sizedLatencies = SizedLatencies(
      bounds: [64, 128, 256, 512],
      tables: [0.4, 0.6, 0.8, 1].map { f in table.map { Int64((Double($0) * f).rounded()) } })
  }
  print("Sized service, realistic chain, \(queries) queries (best of 3, side by side)")
  for _ in 0..<2 {
    func run(_ input: SimulationInput, events: Bool) -> (Double, SimulationResult) {
      best(of: 3) {
        Estimator.simulate(input, options: .init(collectWaitPercentiles: false, eventByEvent: events))
      }
    }
    let (plainFast, a) = run(plain, events: false)
    let (sizedFast, b) = run(sized, events: false)
    let (plainEvents, _) = run(plain, events: true)
    let (sizedEvents, d) = run(sized, events: true)
    precondition(b.latencies == d.latencies, "both simulators agree on the sized run")
    func rate(_ seconds: Double, _ visits: Int) -> String {
      String(format: "%6.2f M visits/s (%.3f s)", Double(visits) / seconds / 1e6, seconds)
    }
    print("  as profiled, stage by stage: " + rate(plainFast, a.stageVisits))
    print(
      "  sized,       stage by stage: " + rate(sizedFast, b.stageVisits)
        + String(format: "  %.2fx the time as profiled", sizedFast / plainFast))
    print("  as profiled, event by event: " + rate(plainEvents, a.stageVisits))
    print(
      "  sized,       event by event: " + rate(sizedEvents, b.stageVisits)
        + String(format: "  %.2fx the time as profiled", sizedEvents / plainEvents))
    print(
      String(
        format: "  P99: as profiled %.2f ms, sized %.2f ms", Double(a.summary!.p99) / 1e6, Double(b.summary!.p99) / 1e6)
    )
  }
}

/// The event-driven simulator on the cases only it runs, for issue 28's refactor (its parts must be no slower):
/// the realistic chain (`realisticChain`) with a central queue, with per-replica queues under shortest-queue and
/// power-of-two balancers, with a serverless tier on the first stage, and with lognormal service times; the
/// pipeline with a join; and the realistic chain in closed loop (replica counts changed every second). Best of
/// `runs`, one thread; a checksum of the latencies to compare two builds' results.
func eventSimulatorBenchmark(queries: Int, runs: Int) {
  let chain = realisticChain(queries: queries)
  var cases: [(String, SimulationInput)] = [("realistic chain, central queue", chain)]
  var shortest = chain
  shortest.dispatch = .shortestQueue
  cases.append(("realistic chain, per-replica queues, shortest queue", shortest))
  var twoChoices = chain
  twoChoices.dispatch = .powerOfChoices(choices: 2, seed: 3)
  cases.append(("realistic chain, per-replica queues, power of 2", twoChoices))
  var tier = chain
  tier.stages[0].replicas = 3
  tier.overflow = [
    ServerlessOverflow(
      latency: 6_000_000, coldStart: 200_000_000, concurrencyLimit: 50, keepWarm: 60_000_000_000,
      maximumWait: 8_000_000),
    nil, nil, nil,
  ]
  cases.append(("realistic chain, serverless tier on stage 1", tier))
  var lognormal = chain
  lognormal.serviceTimes = .lognormal(seed: 5)
  lognormal.stages = lognormal.stages.map { s in
    var s = s
    s.p99Table = s.latencyTable.map { $0 * 2 }
    return s
  }
  cases.append(("realistic chain, lognormal service", lognormal))
  cases.append(("4 stages with a branch and a join", estimatorInputs(queries: queries)[2].input))
  print("event-simulator: \(chain.arrivals.count) queries, event by event, one thread, best of \(runs)")
  func checksum(_ r: SimulationResult) -> UInt64 {
    (r.latencies ?? []).reduce(UInt64(r.events)) { $0 &* 31 &+ UInt64(bitPattern: $1) }
  }
  for (name, input) in cases {
    let (seconds, result) = best(of: runs) {
      Estimator.simulate(input, options: .init(collectWaitPercentiles: true, eventByEvent: true))
    }
    print(
      String(
        format: "  %-55@ %.3f s = %6.2f M visits/s  checksum %016llx", name, seconds,
        Double(result.stageVisits) / seconds / 1e6, checksum(result)))
  }
  // Closed loop: a tick every second reads every stage and sets stage 1 to 4 or 5 replicas in turn; event by
  // event, and stage by stage between ticks (which must give the same checksum); with the central queue and with
  // a queue per replica fed by the shortest queue.
  for (loop, eventByEvent) in [(chain, true), (chain, false), (shortest, true), (shortest, false)] {
    let (seconds, result) = best(of: runs) { () -> SimulationResult in
      let run = ClosedLoopSimulation(loop, options: .init(collectWaitPercentiles: false, eventByEvent: eventByEvent))
      var t: Int64 = 1_000_000_000
      var tick = 0
      let end = chain.arrivals.last ?? 0
      while t < end {
        run.advance(until: t)
        var inFlight = 0
        for s in 0..<4 { inFlight += run.observe(stage: s).inFlight }
        run.setReplicas(stage: 0, to: tick % 2 == 0 ? 5 : 4 + inFlight % 2, at: t)
        tick += 1
        t += 1_000_000_000
      }
      return run.finish()
    }
    print(
      String(
        format: "  %-55@ %.3f s = %6.2f M visits/s  checksum %016llx",
        "realistic chain, " + (loop.dispatch == .centralQueue ? "" : "shortest queue, ") + "closed loop (tick 1 s)"
          + (eventByEvent ? "" : ", stage by stage"), seconds,
        Double(result.stageVisits) / seconds / 1e6, checksum(result)))
  }
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "envelope":
  envelopeBenchmark(arrivals: arguments.dropFirst().first.flatMap { Int($0) } ?? 10_000_000)
case "replay":
  replayBenchmark(rate: arguments.dropFirst().first.flatMap { Double($0) } ?? 200)
case "replay-tuner":
  replayBenchmark(
    rate: arguments.dropFirst().first.flatMap { Double($0) } ?? 200,
    tunerRuns: arguments.dropFirst(2).first.flatMap { Int($0) } ?? 3)
case "planner-parts":
  plannerPartsBenchmark(rate: arguments.dropFirst().first.flatMap { Double($0) } ?? 200)
case "stage-outputs":
  stageOutputsBenchmark(rate: arguments.dropFirst().first.flatMap { Double($0) } ?? 200)
case "planner-day":
  plannerDayBenchmark(rate: arguments.dropFirst().first.flatMap { Double($0) } ?? 200)
case "replay-day":
  let rest = Array(arguments.dropFirst())
  replayDayBenchmark(
    rate: rest.first.flatMap { Double($0) } ?? 20,
    pipelines: rest.count > 1 ? Array(rest.dropFirst()) : ["image-processing", "video-monitoring"])
case "spans":
  spansBenchmark()
case "sizes":
  sizesBenchmark(queries: arguments.dropFirst().first.flatMap { Int($0) } ?? 1_000_000)
case "onoff":
  onOffBenchmark(hours: arguments.dropFirst().first.flatMap { Double($0) } ?? 6)
case "proofs":
  proofsBenchmark(instances: arguments.dropFirst().first.flatMap { Int($0) } ?? 30)
case "planner":
  plannerBenchmark(rate: arguments.dropFirst().first.flatMap { Double($0) } ?? 200)
case "estimator":
  estimatorBenchmark(queries: arguments.dropFirst().first.flatMap { Int($0) } ?? 1_000_000)
case "event-simulator":
  let values = arguments.dropFirst().compactMap { Int($0) }
  eventSimulatorBenchmark(queries: values.first ?? 1_000_000, runs: values.dropFirst().first ?? 5)
case "estimator-memory":
  // A child of `estimator`: one simulation, then the peak memory growth per query (bytes) on stdout.
  let values = arguments.dropFirst().compactMap { Int($0) }
  let input = estimatorInputs(queries: values[3])[values[0]].input
  // Linux: reset the peak to the current size (making the inputs had a peak of its own), then measure.
  func status(_ key: String) -> Double {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
    return Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
  }
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
  let before = status("VmRSS")
  let result = Estimator.simulate(
    input, options: .init(collectWaitPercentiles: values[1] == 1, eventByEvent: values[2] == 1))
  precondition(result.queries == input.arrivals.count)
  print((status("VmHWM") - before) * 1024 / Double(input.arrivals.count))
case "estimator-realistic":
  // For profilers: only the realistic chain, stage by stage (or with `event`, event by event), latencies only, 10 runs.
  let chain = realisticChain(queries: 1_000_000)
  let options = Estimator.Options(collectWaitPercentiles: false, eventByEvent: arguments.dropFirst().first == "event")
  let (seconds, result) = best(of: 10) { Estimator.simulate(chain, options: options) }
  print(String(format: "%.4f s, %.2f M stage visits/s", seconds, Double(result.stageVisits) / seconds / 1e6))
case "estimator-join":
  // For profilers: only the 4 stages with a branch and a join, stage by stage (or with `event`, event by event),
  // latencies only, 10 runs.
  let join = estimatorInputs(queries: 1_000_000)[2].input
  let options = Estimator.Options(collectWaitPercentiles: false, eventByEvent: arguments.dropFirst().first == "event")
  let (seconds, result) = best(of: 10) { Estimator.simulate(join, options: options) }
  print(String(format: "%.4f s, %.2f M stage visits/s", seconds, Double(result.stageVisits) / seconds / 1e6))
case "estimator-chain":
  // For profilers: only the 4-stage chain, stage by stage, latencies only (or with `full`, all statistics), 20 runs.
  let full = arguments.dropFirst().first == "full"
  let arrivals = TraceGenerator.arrivals(.poisson(rate: 1000), duration: 1000, start: 0, seed: 7)
  let chain = SimulationInput(
    arrivals: arrivals, stageCount: 4, edges: [(0, 1), (1, 2), (2, 3)], edgeProbabilities: [1, 1, 1],
    stages: (0..<4).map { _ in StageService(batchSize: 1, replicas: 1, latencyTable: [800_000]) },
    hopDelay: 1_000_000, slo: 1_000_000_000)
  let (seconds, result) = best(of: 20) { Estimator.simulate(chain, options: .init(collectWaitPercentiles: full)) }
  print(String(format: "%.4f s, %.2f M stage visits/s", seconds, Double(result.stageVisits) / seconds / 1e6))
default:
  print(
    "usage: inferline-bench envelope [arrivals] | estimator [queries] | event-simulator [queries] [runs] | planner [rate] | proofs [instances] | planner-day [rate] | replay [rate] | replay-tuner [rate] [runs] | replay-day [rate] [pipeline...] | onoff [hours] | spans"
  )
  exit(arguments.first == "--help" ? 0 : 64)
}
