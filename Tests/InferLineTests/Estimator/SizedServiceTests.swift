import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// Service times that follow each query's size: a batch takes the latency of its largest input's size bucket.
@Suite struct SizedServiceTests {
  static let ms: Int64 = 1_000_000

  /// Two buckets (inputs up to 100, and up to 1000) at batch sizes 1 to 3.
  static let twoBuckets = SizedLatencies(
    bounds: [100, 1000], tables: [[10 * ms, 12 * ms, 14 * ms], [30 * ms, 40 * ms, 50 * ms]])

  /// One replica of batch 3 on eight queries, worked by hand (milliseconds):
  /// - q0 at 0 (size 50) finds the replica idle: alone, bucket <= 100, L(1) = 10: done at 10.
  /// - q1, q2, q3 at 2, 4, 6 (sizes 500, 20, 80) wait; at 10 they go together, largest 500: bucket <= 1000,
  ///   L(3) = 50: done at 60 (latencies 58, 56, 54).
  /// - q4 at 61 (size 10) alone: 10, done at 71.
  /// - q5 at 65 (size exactly 100: the first bucket holds it) and q6 at 66 (size unknown: the largest bucket) go
  ///   together at 71: L(2) of the largest bucket, 40: done at 111 (latencies 46, 45).
  /// - q7 at 200 (size 1000, the largest bucket's edge) alone: 30.
  @Test func aBatchTakesItsLargestInputsBucketAsWorkedByHand() {
    let arrivals: [Int64] = [0, 2, 4, 6, 61, 65, 66, 200].map { $0 * Self.ms }
    let sizes: [Float] = [50, 500, 20, 80, 10, 100, .nan, 1000]
    var service = StageService(batchSize: 3, replicas: 1, latencyTable: [30 * Self.ms, 40 * Self.ms, 50 * Self.ms])
    service.sizedLatencies = Self.twoBuckets
    var input = SimulationInput(
      arrivals: arrivals, stageCount: 1, edges: [], edgeProbabilities: [], stages: [service], slo: 1_000 * Self.ms)
    input.querySizes = sizes
    let latencies = Estimator.simulate(input).latencies!.map { $0 / Self.ms }
    let expected: [Int64] = [10, 58, 56, 54, 10, 46, 45, 30]
    #expect(latencies == expected)
    let eventDriven = Estimator.simulate(input, options: .init(eventByEvent: true)).latencies!.map { $0 / Self.ms }
    #expect(eventDriven == expected, "both simulators")

    // Without sizes every batch takes `latencyTable` (the largest bucket's): q0 30; q1-q3 at 30 with L(3) 50,
    // done at 80; q4 waits too (61 < 80) and goes with q5, q6 at 80: L(3), done at 130; q7 30.
    input.querySizes = nil
    let blind = Estimator.simulate(input).latencies!.map { $0 / Self.ms }
    let expectedBlind: [Int64] = [30, 78, 76, 74, 69, 65, 64, 30]
    #expect(blind == expectedBlind)
  }

  /// Sizes belong to the query: on a chain whose first stage is sized and second is not, the second stage's batches
  /// take its one table whatever the sizes, and a query's size still decides its first-stage batch.
  @Test func onlyStagesWithSizedProfilesFollowTheSizes() {
    let arrivals: [Int64] = [0, 100 * Self.ms]
    var first = StageService(batchSize: 3, replicas: 1, latencyTable: [30 * Self.ms, 40 * Self.ms, 50 * Self.ms])
    first.sizedLatencies = Self.twoBuckets
    let second = StageService(batchSize: 1, replicas: 1, latencyTable: [7 * Self.ms])
    var input = SimulationInput(
      arrivals: arrivals, stageCount: 2, edges: [(0, 1)], edgeProbabilities: [1], stages: [first, second],
      hopDelay: Self.ms, slo: 1_000 * Self.ms)
    input.querySizes = [5, 999]
    let latencies = Estimator.simulate(input).latencies!.map { $0 / Self.ms }
    let expected: [Int64] = [18, 38]  // 10 (small input) or 30 (large), a 1 ms hop, 7
    #expect(latencies == expected)
  }

  /// Sizes from a log, buckets from a profiles file: `PipelineModel.simulationInput` keeps the pessimistic lookup
  /// between profiled batch sizes in every bucket, and a log's size above the largest bucket is refused with the
  /// profiles file, the stage and the fix.
  @Test func profilesGiveBucketsAndLargerSizesAreRefused() throws {
    let folder = TemporaryFolder()
    let model = try PipelineModel(
      Self.inputs(folder, profileRows: Self.rows(bounds: [64, 512], l1: [4, 9], l4: [6, 20])))
    let option = model.stages[0].options[0]
    let largest: [Int64] = [9, 20, 20, 20].map { $0 * Self.ms }
    let tables: [[Int64]] = [[4, 6, 6, 6], [9, 20, 20, 20]].map { $0.map { $0 * Self.ms } }
    #expect(option.latencyTable == largest, "without sizes: the largest bucket")
    #expect(option.sizedLatencies?.tables == tables)
    #expect(model.hasSizedProfiles)
    let configuration = PipelineConfiguration(stages: [StageConfiguration(hardware: "gpu", batchSize: 3, replicas: 1)])
    let input = try model.simulationInput(
      arrivals: [0, 0, 0], configuration: configuration, querySizes: [10, 64, 3])
    // q0 alone (bucket 64, L(1) 4); q1, q2 together at 4 ms (bucket 64, L(2) = L(4) 6).
    let latencies = Estimator.simulate(input).latencies!.map { $0 / Self.ms }
    let expected: [Int64] = [4, 10, 10]
    #expect(latencies == expected)
    #expect(throws: Never.self) { try model.checkSizes([512, .nan], log: "log.csv", column: "tokens") }
    do {
      try model.checkSizes([600], log: "log.csv", column: "tokens")
      Issue.record("a size above the largest bucket was accepted")
    } catch let error as InputError {
      let text = error.description
      #expect(text.contains("profiles.csv") && text.contains("up to size 512") && text.contains("600"))
      #expect(text.contains("profile a size bucket of at least 600"))
    }
  }

  /// Sizes drawn from a lognormal of mean 1 (scaled to 100 tokens) and latencies proportional to size describe the
  /// same variability as the correlated-service what-if with full correlation and the same log-spread: a batch
  /// takes L(n) x its largest factor in both. On a two-stage chain with batching, 200,000 queries through a real
  /// log and profiles file, the P99s agree within 4% with independent draws, and within 3% with the what-if's own
  /// factors written as the sizes (the sized run rounds each factor up to its bucket, buckets 2% apart).
  @Test func lognormalSizesMatchTheCorrelatedWhatIf() throws {
    let sigma = 0.5
    let folder = TemporaryFolder()
    var generator = SeededGenerator(seed: 11)
    let arrivals = TraceGenerator.arrivals(.poisson(rate: 400), duration: 500, start: 0, seed: 5)
    var log = "timestamp_ms,tokens\n"
    for t in arrivals {
      let factor = exp(sigma * generator.nextStandardNormal() - sigma * sigma / 2)
      log += "\(Double(t) / 1e6),\(String(format: "%.3f", 100 * factor))\n"
    }
    let logPath = folder.write("log.csv", log)
    let read = try QueryLogReader.read(path: logPath, options: LogReadOptions())
    let column = read.report.sizeColumn, unreadable = read.report.unreadableSizes
    #expect(column == "tokens" && unreadable == 0)
    let trace = read.traces[0]
    let sizes = try #require(trace.querySizes)
    // Buckets 100 x 1.02^k tokens, latencies L(n) x bucket / 100 (a latency proportional to the input).
    let bounds = (-160...160).map { 100 * pow(1.02, Double($0)) }
    func l(_ n: Int, _ base: Double) -> Double { base * (1 + 0.25 * Double(n - 1)) }
    var rows: [String] = []
    for (model, base) in [("first", 2.0), ("second", 3.0)] {
      for bound in bounds {
        for n in 1...8 {
          rows.append("\(model),gpu,\(n),\(l(n, base) * bound / 100),p50,\(String(format: "%.4f", bound))")
        }
      }
    }
    let unsized = ["first", "second"].flatMap { m in
      (1...8).map { n in "\(m)-plain,gpu,\(n),\(l(n, m == "first" ? 2 : 3)),p50," }
    }
    let inputs = try Self.inputs(folder, profileRows: rows + unsized, chain: true)
    let model = PipelineModel(inputs)
    try model.checkSizes(sizes, log: logPath, column: "tokens")
    let configuration = PipelineConfiguration(stages: [
      StageConfiguration(hardware: "gpu", batchSize: 8, replicas: 1),
      StageConfiguration(hardware: "gpu", batchSize: 8, replicas: 2),
    ])
    func p99(_ input: SimulationInput) -> Double {
      var latencies = Estimator.simulate(input).latencies!
      latencies.sort()
      return Double(latencies[Percentile.p99.rank(of: latencies.count) - 1]) / 1e6
    }
    let sized = p99(
      try model.simulationInput(
        arrivals: trace.arrivals, configuration: configuration, querySizes: sizes))
    let plain = try PipelineModel(
      Self.inputs(folder, profileRows: unsized.map { $0.replacingOccurrences(of: "-plain", with: "") }, chain: true))
    let correlated = p99(
      try plain.simulationInput(
        arrivals: trace.arrivals, configuration: configuration,
        serviceTimes: .correlated(seed: 3, sigma: sigma, correlation: 1)))
    let asProfiled = p99(try plain.simulationInput(arrivals: trace.arrivals, configuration: configuration))
    // The same factors as the what-if's (its hashed normals written into the log's sizes): only the buckets differ.
    let same: [Float] = (0..<trace.arrivals.count).map { q in
      Float(100 * exp(sigma * HashedNormal.value(seed: 3, key: UInt64(q)) - sigma * sigma / 2))
    }
    let sizedSame = p99(
      try model.simulationInput(arrivals: trace.arrivals, configuration: configuration, querySizes: same))
    #expect(abs(sized / correlated - 1) < 0.04, "sized P99 \(sized) ms, correlated what-if \(correlated) ms")
    #expect(abs(sizedSame / correlated - 1) < 0.03, "same factors: \(sizedSame) ms against \(correlated) ms")
    #expect(sized > asProfiled * 1.2, "the sizes matter here: \(sized) ms against \(asProfiled) ms as profiled")
  }

  /// Planning with the sizes (`PipelineModel(inputs, sizeTable: .fastest)`, the oracle given the sizes): the
  /// plan the search proves optimal costs what exhaustive enumeration finds, on small random instances (two stages,
  /// two hardware types, batch sizes 1, 2 and 4 in two size buckets, up to three replicas, 300 queries a second,
  /// tight to loose SLOs),
  /// the enumeration taking every profiled batch size (dominated or not) and simulating each candidate with the
  /// sizes in full.
  @Test(arguments: Array(1...6) as [UInt64])
  func plansWithSizesEqualExhaustiveSearch(seed: UInt64) throws {
    var rng = SeededGenerator(seed: seed)
    let folder = TemporaryFolder()
    var profiles = ["model,hardware,batch_size,latency_ms,statistic,size"]
    for m in ["a", "b"] {
      for (k, h) in ["h0", "h1"].enumerated() {
        let fixed = Double(rng.next() % 4 + 2) / Double(k + 1), per = Double(rng.next() % 3 + 1) / Double(k + 1)
        let small = 0.3 + Double(rng.next() % 4) / 10  // the small bucket's share of the large one's latency
        for n in [1, 2, 4] {
          let large = fixed + per * Double(n)
          profiles.append("\(m),\(h),\(n),\(String(format: "%.3f", large * small)),p99,100")
          profiles.append("\(m),\(h),\(n),\(String(format: "%.3f", large)),p99,1000")
        }
      }
    }
    let baseSLO = Double(15 + rng.next() % 30)
    let pipeline =
      "name: small\nslo: {latency_ms: \(baseSLO)}\nstages:\n  - {name: a, model: a}\n  - {name: b, model: b}\nedges:\n  a -> b: 1\n"
    let catalog =
      "hardware:\n  - {type: h0, price_per_hour: 0.5, max_replicas: 3}\n  - {type: h1, price_per_hour: 1.3, max_replicas: 3}\n"
    let inputs = try PlanningInputs.load(
      pipeline: folder.write("p.yaml", pipeline), hardware: folder.write("h.yaml", catalog),
      profiles: folder.write("f.csv", profiles.joined(separator: "\n")))
    let arrivals = TraceGenerator.arrivals(.gamma(rate: 300, cv: 1.5), duration: 8, start: 0, seed: seed)
    let sizes: [Float] = arrivals.indices.map { _ in rng.next() % 5 == 0 ? 700 : 50 }  // a fifth large
    let simulated = PipelineModel(inputs)
    let bounds = PipelineModel(inputs, sizeTable: .fastest)
    var choices: [(StageConfiguration, Double)] = []
    for (h, price) in [("h0", 0.5), ("h1", 1.3)] {
      for n in [1, 2, 4] {
        for k in 1...3 {
          choices.append((StageConfiguration(hardware: h, batchSize: n, replicas: k), Double(k) * price))
        }
      }
    }
    var all: [(cost: Double, stages: [StageConfiguration])] = []
    for x in choices { for y in choices { all.append((x.1 + y.1, [x.0, y.0])) } }
    all.sort { $0.cost < $1.cost }
    for factor in [0.35, 0.6, 1] {
      let slo = baseSLO * factor
      func feasible(_ stages: [StageConfiguration]) -> Bool {
        let input = try! simulated.simulationInput(
          arrivals: arrivals, configuration: PipelineConfiguration(stages: stages), routes: .drawn(seed: 7),
          slo: ProfileTable.nanoseconds(slo), dispatchSeed: 7, querySizes: sizes)
        return Estimator.simulate(input, options: .init(collectWaitPercentiles: false)).feasible
      }
      let brute = all.first { feasible($0.stages) }?.cost
      let oracle = FeasibilityOracle(model: bounds, arrivals: arrivals, seed: 7, sloMs: slo, querySizes: sizes)
      switch Planner(oracle: oracle).optimal() {
      case .success(let plan):
        let b = try #require(
          brute, "seed \(seed) x\(factor): the search found $\(plan.costPerHour)/h, brute force nothing")
        #expect(plan.provenOptimal == true)
        #expect(
          abs(plan.costPerHour - b) < 1e-9, "seed \(seed) x\(factor): search \(plan.costPerHour), brute force \(b)")
        #expect(feasible(plan.configuration.stages))
      case .failure(let why):
        #expect(brute == nil, "seed \(seed) x\(factor): brute force found $\(brute ?? 0)/h; the search said \(why)")
      }
    }
  }

  /// A calibration's correction (`multiplier x L + overhead`) reaches every size bucket, end-to-end and per stage.
  @Test func calibrationCorrectsEverySizeBucket() throws {
    let folder = TemporaryFolder()
    let inputs = try Self.inputs(folder, profileRows: Self.rows(bounds: [64, 512], l1: [4, 9], l4: [6, 20]))
    let corrected = inputs.profiles.calibrated(multiplier: 2, overheadMs: 1).profiles[0]
    let expected: [[Int64]] = [[9, 13], [19, 41]].map { $0.map { $0 * Self.ms } }
    #expect(corrected.sizeBuckets?.map(\.latencies) == expected)
    #expect(corrected.latencies == expected[1])
    let perStage = StageCalibration.corrected(
      inputs, [StageCalibration.Correction(model: "m", multiplier: 2, overheadMs: 1)]
    ).profiles.profiles[0]
    #expect(perStage == corrected)
  }

  // MARK: - Inputs

  /// Profile rows for model `m` on `gpu` at batch sizes 1 and 4, per bucket: L(1) and L(4) in milliseconds.
  static func rows(bounds: [Double], l1: [Double], l4: [Double]) -> [String] {
    bounds.indices.flatMap { k in
      ["m,gpu,1,\(l1[k]),p50,\(bounds[k])", "m,gpu,4,\(l4[k]),p50,\(bounds[k])"]
    }
  }

  /// A one-stage pipeline of model `m` (or, with `chain`, `first -> second`) on `gpu`, with these profile rows.
  static func inputs(_ folder: TemporaryFolder, profileRows: [String], chain: Bool = false) throws -> PlanningInputs {
    let pipeline =
      chain
      ? """
      name: sized
      slo:
        latency_ms: 500
        percentile: 99
      stages:
        - name: first
          model: first
        - name: second
          model: second
      edges:
        first -> second: 1
      """
      : """
      name: sized
      slo:
        latency_ms: 500
        percentile: 99
      stages:
        - name: only
          model: m
      """
    return try PlanningInputs.load(
      pipeline: folder.write("pipeline.yaml", pipeline),
      hardware: folder.write("hardware.yaml", "name: test\nhardware:\n  - type: gpu\n    price_per_hour: 1.0\n"),
      profiles: folder.write(
        "profiles.csv", (["model,hardware,batch_size,latency_ms,statistic,size"] + profileRows).joined(separator: "\n"))
    )
  }
}
