import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

@Suite struct PipelineTests {
  let folder = TemporaryFolder()

  static let goodPipeline = """
    name: diamond
    slo:
      latency_ms: 200
      percentile: 99.9
    network_delay_ms: 2
    stages:
      - name: a
        model: m1
      - name: b
        model: m2
        hardware: [GPU]
      - name: c
        model: m2
      - name: d
        model: m1
    edges:
      a -> b: 0.5
      a -> c: 0.4
      b -> d: 1
      c -> d: 1
    """

  static let goodCatalog = """
    name: test
    hardware:
      - type: CPU
        price_per_hour: 0.25
      - type: GPU
        instance: big.box
        price_per_hour: 2
        provisioning_delay_s: 90
        max_replicas: 4

    """

  static let goodProfiles = """
    # a comment
    model,hardware,batch_size,latency_ms,statistic
    m1,CPU,1,10,p99
    m1,CPU,4,20,p99
    m1,GPU,1,2,p99
    m1,GPU,2,3,p99
    m1,GPU,8,12,p99
    m2,GPU,1,5,p99
    m2,GPU,4,8,p99
    m2,CPU,1,50,p99

    """

  func load(
    pipeline: String = goodPipeline, catalog: String = goodCatalog, profiles: String = goodProfiles,
    strict: Bool = false
  )
    -> Result<PlanningInputs, DiagnosticsError>
  {
    let p = folder.write("pipeline.yaml", pipeline)
    let h = folder.write("hardware.yaml", catalog)
    let f = folder.write("profiles.csv", profiles)
    do {
      return .success(try PlanningInputs.load(pipeline: p, hardware: h, profiles: f, strict: strict))
    } catch let error as DiagnosticsError {
      return .failure(error)
    } catch {
      fatalError("\(error)")
    }
  }

  func errors(
    pipeline: String = goodPipeline, catalog: String = goodCatalog, profiles: String = goodProfiles,
    strict: Bool = false
  )
    -> [Diagnostic]
  {
    switch load(pipeline: pipeline, catalog: catalog, profiles: profiles, strict: strict) {
    case .success: return []
    case .failure(let e): return e.diagnostics.filter { $0.severity == .error }
    }
  }

  @Test func goodFilesLoad() throws {
    let inputs = try load().get()
    let p = inputs.pipeline
    #expect(p.name == "diamond" && p.stages.map(\.name) == ["a", "b", "c", "d"])
    #expect(p.slo == PipelineSpec.SLO(latencyMs: 200, percentile: 99.9))
    #expect(p.networkDelayMs == 2)
    #expect(p.edges.map(\.probability) == [0.5, 0.4, 1, 1])
    #expect(p.roots == [0])
    #expect(p.stages[1].allowedHardware == ["GPU"])
    #expect(inputs.catalog.hardware(type: "GPU")?.maxReplicas == 4)
    #expect(inputs.catalog.hardware(type: "GPU")?.provisioningDelaySeconds == 90)
    #expect(inputs.warnings.isEmpty)
  }

  // MARK: Derived values against hand-computed ones

  @Test func scaleFactorsByHand() throws {
    let p = try load().get().pipeline
    // d is reached unless both a -> b and a -> c fail: 1 - 0.5 x 0.6 = 0.7.
    let s = p.scaleFactors()
    #expect(s.count == 4)
    #expect(abs(s[0] - 1) < 1e-12 && abs(s[1] - 0.5) < 1e-12 && abs(s[2] - 0.4) < 1e-12 && abs(s[3] - 0.7) < 1e-12)
    let chain = """
      name: chain
      slo: {latency_ms: 10}
      stages: [{name: x, model: m1}, {name: y, model: m1}, {name: z, model: m1}, {name: w, model: m1}]
      edges:
        - x -> y: 0.5
        - y -> z: 0.5
      """
    let c = try load(pipeline: chain).get().pipeline
    #expect(c.scaleFactors() == [1, 0.5, 0.25, 1])  // w has no parent: a second root
    #expect(c.roots == [0, 3])
    #expect(c.slo.percentile == 99)
  }

  @Test func largePipelinesEstimateScaleFactorsBySampling() throws {
    // A star of 22 edges (over the 20 enumerated exactly): each leaf is visited with its edge's probability.
    let leaves = (0..<22).map { "  - {name: s\($0), model: m1}" }.joined(separator: "\n")
    let edges = (0..<22).map { "  root -> s\($0): \(Double($0 % 5 + 1) / 10)" }.joined(separator: "\n")
    let star = "name: star\nslo: {latency_ms: 10}\nstages:\n  - {name: root, model: m1}\n\(leaves)\nedges:\n\(edges)\n"
    let p = try load(pipeline: star).get().pipeline
    let s = p.scaleFactors(samples: 100_000, seed: 3)
    for k in 0..<22 {
      let expected = Double(k % 5 + 1) / 10
      #expect(abs(s[k + 1] - expected) < 4 * (expected * (1 - expected) / 100_000).squareRoot() + 1e-9)
    }
  }

  @Test func latencyFloorByHand() throws {
    let inputs = try load().get()
    // Fastest L(1): a 2 ms (GPU), b 5 (GPU only), c 5 (GPU), d 2. Longest path a -> b -> d (or c): 2+2+5+2+2 = 13.
    let floor = PipelineModel(inputs).latencyFloor
    #expect(floor.nanoseconds == 13_000_000)
    #expect(floor.path.first == 0 && floor.path.last == 3 && floor.path.count == 3)
  }

  @Test func costByHand() throws {
    let inputs = try load().get()
    let config = PipelineConfiguration(stages: [
      .init(hardware: "CPU", batchSize: 1, replicas: 3), .init(hardware: "GPU", batchSize: 4, replicas: 2),
      .init(hardware: "GPU", batchSize: 1, replicas: 1), .init(hardware: "CPU", batchSize: 4, replicas: 1),
    ])
    let expected: Double = 0.75 + 4 + 2 + 0.25  // 3 x $0.25 + 2 x $2 + 1 x $2 + 1 x $0.25
    let model = PipelineModel(inputs)
    #expect(model.cost(config) == expected)
    #expect(model.costByHardware(config) == ["CPU": 1.0, "GPU": 6.0])
    // Hardware the catalog lacks is refused before any cost is taken (no `?? 0` price).
    var wrong = config
    wrong.stages[0].hardware = "TPU"
    #expect(throws: InputError.self) { try model.check(wrong) }
    #expect(model.cost(wrong).isNaN)
  }

  @Test func profileLookupIsPessimisticAndNeverExtrapolates() throws {
    let table = try load().get().profiles
    let m1 = try #require(table.profile(model: "m1", hardware: "GPU"))
    #expect(m1.batchSizes == [1, 2, 8])
    #expect(m1.latency(batch: 1) == 2_000_000)
    #expect(m1.latency(batch: 3) == 12_000_000)  // between 2 and 8: the next larger size's latency
    #expect(m1.latency(batch: 8) == 12_000_000)
    #expect(m1.latency(batch: 9) == nil)
    #expect(m1.latency(batch: 0) == nil)
    #expect(abs(m1.throughput(at: 1) - 2 / 0.003) < 1e-6)
    // Throughputs: 500, 666.7, 666.7 q/s: batch 8 is no better than batch 2.
    #expect(m1.dominatedBatchSizes == [8])
    #expect(m1.usefulBatchSizes == [1, 2])
    #expect(ProfileTable.nanoseconds(1.0000004) == 1_000_000 && ProfileTable.nanoseconds(0.0000006) == 1)
  }

  // MARK: Every validation error, each with a bad file

  @Test func cyclesAreErrorsNamingTheLoop() {
    let bad = Self.goodPipeline.replacingOccurrences(of: "  c -> d: 1", with: "  c -> d: 1\n  d -> a: 0.1")
    let e = errors(pipeline: bad)
    #expect(e.count == 1)
    #expect(e[0].message.contains("cycle: a -> b -> d -> a"))
    #expect(e[0].line == 21)
    #expect(e[0].description.hasPrefix(folder.path("pipeline.yaml") + ":21: error:"))
    let selfLoop = Self.goodPipeline.replacingOccurrences(of: "  c -> d: 1", with: "  c -> c: 1")
    #expect(errors(pipeline: selfLoop).first?.message.contains("to itself") == true)
  }

  @Test func unknownStagesInEdges() {
    let bad = Self.goodPipeline.replacingOccurrences(of: "b -> d: 1", with: "bb -> d: 1")
    let e = errors(pipeline: bad)
    #expect(e.count == 1 && e[0].line == 19)
    #expect(e[0].message.contains("unknown parent stage 'bb'") && e[0].message.contains("did you mean 'b'"))
    let child = Self.goodPipeline.replacingOccurrences(of: "a -> c: 0.4", with: "a -> x: 0.4")
    #expect(errors(pipeline: child).first?.message.contains("unknown child stage 'x'") == true)
  }

  @Test func probabilitiesOutsideZeroToOne() {
    let e = errors(pipeline: Self.goodPipeline.replacingOccurrences(of: "a -> b: 0.5", with: "a -> b: 1.5"))
    #expect(e.count == 1 && e[0].message.contains("probability 1.5 is outside [0, 1]") && e[0].line == 17)
    let negative = errors(pipeline: Self.goodPipeline.replacingOccurrences(of: "a -> b: 0.5", with: "a -> b: -0.1"))
    #expect(negative.count == 1)
    let words = errors(pipeline: Self.goodPipeline.replacingOccurrences(of: "a -> b: 0.5", with: "a -> b: often"))
    #expect(words.first?.message.contains("needs a probability") == true)
  }

  @Test func unknownKeysAreErrorsWithSuggestions() {
    let typo = Self.goodPipeline.replacingOccurrences(of: "network_delay_ms: 2", with: "network_dealy_ms: 2")
    let e = errors(pipeline: typo)
    #expect(e.count == 1 && e[0].line == 5)
    #expect(
      e[0].message.contains("unknown key 'network_dealy_ms'")
        && e[0].message.contains("did you mean 'network_delay_ms'"))
    let stageTypo = Self.goodPipeline.replacingOccurrences(
      of: "    model: m1\n  - name: b", with: "    modle: m1\n  - name: b")
    let s = errors(pipeline: stageTypo)
    #expect(s.contains { $0.message.contains("unknown key 'modle'") && $0.line == 8 })
    #expect(s.contains { $0.message.contains("has no 'model'") })
    let catalogTypo = Self.goodCatalog.replacingOccurrences(of: "provisioning_delay_s", with: "provisioning_delay")
    #expect(errors(catalog: catalogTypo).first?.message.contains("did you mean 'provisioning_delay_s'") == true)
  }

  @Test func everyProblemIsReportedAtOnce() {
    let bad = Self.goodPipeline
      .replacingOccurrences(of: "a -> b: 0.5", with: "a -> b: 2")
      .replacingOccurrences(of: "percentile: 99.9", with: "percentile: 100")
      .replacingOccurrences(of: "b -> d", with: "q -> d")
    let badCatalog = Self.goodCatalog.replacingOccurrences(of: "price_per_hour: 0.25", with: "price_per_hour: -1")
    let e = errors(pipeline: bad, catalog: badCatalog)
    #expect(e.count == 4)
    #expect(Set(e.map(\.file)).count == 2)
  }

  @Test func pricesMissingOrNegative() {
    let missing = Self.goodCatalog.replacingOccurrences(of: "    price_per_hour: 0.25\n", with: "")
    let e = errors(catalog: missing)
    #expect(e.count == 1 && e[0].message.contains("hardware 'CPU' has no price_per_hour") && e[0].line == 3)
    let negative = errors(
      catalog: Self.goodCatalog.replacingOccurrences(of: "price_per_hour: 2", with: "price_per_hour: -2"))
    #expect(negative.first?.message.contains("must not be negative") == true && negative.first?.line == 7)
    let duplicate = Self.goodCatalog + "  - type: CPU\n    price_per_hour: 1\n"
    #expect(errors(catalog: duplicate).first?.message.contains("listed twice") == true)
    let replicas = Self.goodCatalog.replacingOccurrences(of: "max_replicas: 4", with: "max_replicas: 0")
    #expect(errors(catalog: replicas).first?.message.contains("max_replicas") == true)
  }

  /// A pipeline names the balancer in front of each stage's replicas; anything else is an error naming the line
  /// and the choices.
  @Test func dispatchIsReadAndCheckedFromThePipelineFile() throws {
    let named = Self.goodPipeline.replacingOccurrences(
      of: "network_delay_ms: 2\n", with: "network_delay_ms: 2\ndispatch: power-of-3\n")
    #expect(try load(pipeline: named).get().pipeline.dispatch == .powerOfChoices(choices: 3, seed: 0))
    #expect(try load().get().pipeline.dispatch == .centralQueue)
    let wrong = errors(pipeline: named.replacingOccurrences(of: "power-of-3", with: "least-loaded"))
    #expect(wrong.count == 1 && wrong[0].line == 6, "\(wrong)")
    #expect(wrong.first?.message.contains("'dispatch' must be central, random, round-robin") == true)
    #expect(wrong.first?.message.contains("least-loaded") == true)
  }

  /// A catalog's serverless tiers: read with their defaults; a tier on hardware the catalog lacks, without a price,
  /// or with a value out of range is an error naming the line.
  @Test func serverlessTiersAreReadAndChecked() throws {
    let tier = """
      serverless:
        - type: Fn
          runs_as: CPU
          price_per_request: 0.0000002
          price_per_gb_second: 0.00001
          memory_gb: 2
          cold_start_s: 1.5

      """
    let inputs = try load(catalog: Self.goodCatalog + tier).get()
    let fn = try #require(inputs.catalog.serverlessTier(type: "Fn"))
    #expect(fn.runsAs == "CPU" && fn.memoryGB == 2 && fn.coldStartSeconds == 1.5)
    #expect(fn.concurrencyLimit == 1000 && fn.keepWarmSeconds == 600, "the defaults")
    #expect(abs(fn.cost(invocations: 1000, seconds: 100) - (0.0002 + 100 * 2 * 0.00001)) < 1e-12)
    #expect(inputs.catalog.hardware.map(\.type) == ["CPU", "GPU"], "never a planning candidate")
    let unknown = errors(
      catalog: Self.goodCatalog + tier.replacingOccurrences(of: "runs_as: CPU", with: "runs_as: TPU"))
    #expect(
      unknown.count == 1 && unknown[0].message.contains("runs_as 'TPU' is not a hardware type")
        && unknown[0].line == 12, "\(unknown)")
    let free = errors(
      catalog: Self.goodCatalog
        + tier.replacingOccurrences(of: "    price_per_request: 0.0000002\n", with: "").replacingOccurrences(
          of: "    price_per_gb_second: 0.00001\n", with: ""))
    #expect(free.first?.message.contains("has no price") == true)
    let noCold = errors(catalog: Self.goodCatalog + tier.replacingOccurrences(of: "    cold_start_s: 1.5\n", with: ""))
    #expect(noCold.first?.message.contains("cold_start_s") == true)
    let unpriced = errors(catalog: Self.goodCatalog + tier + "    provisioned_concurrency: 4\n")
    #expect(
      unpriced.first?.message.contains("needs price_per_provisioned_gb_second") == true && unpriced.first?.line == 17)
    let negative = errors(
      catalog: Self.goodCatalog + tier.replacingOccurrences(of: "memory_gb: 2", with: "memory_gb: -2"))
    #expect(
      negative.first?.message.contains("memory_gb must be from") == true && negative.first?.line == 15, "\(negative)")
  }

  @Test func aStageWithNoUsableHardware() {
    let noProfile = Self.goodPipeline.replacingOccurrences(
      of: "  - name: c\n    model: m2", with: "  - name: c\n    model: m9")
    let e = errors(pipeline: noProfile)
    #expect(e.count == 1 && e[0].line == 12 && e[0].message.contains("no hardware can run model 'm9'"))
    #expect(e[0].message.contains("has no profile for it"))
    let notAllowed = Self.goodPipeline.replacingOccurrences(of: "hardware: [GPU]", with: "hardware: [TPU]")
    let n = errors(pipeline: notAllowed)
    #expect(n.contains { $0.message.contains("allows hardware 'TPU'") })
    #expect(n.contains { $0.message.contains("profiled on GPU, CPU, none of them allowed") })
  }

  @Test func duplicateProfileRows() {
    let e = errors(profiles: Self.goodProfiles + "m1,GPU,2,3.5,p99\n")
    #expect(e.count == 1 && e[0].line == 11 && e[0].message.contains("already on line 6"))
  }

  @Test func nonPositiveAndUnreadableLatencies() {
    #expect(
      errors(profiles: Self.goodProfiles + "m3,GPU,1,0,p99\n").first?.message.contains("must be positive") == true)
    #expect(errors(profiles: Self.goodProfiles + "m3,GPU,1,-4,p99\n").first?.line == 11)
    #expect(
      errors(profiles: Self.goodProfiles + "m3,GPU,1,fast,p99\n").first?.message.contains("latency_ms must be a number")
        == true)
    #expect(errors(profiles: Self.goodProfiles + "m3,GPU,0,1,p99\n").first?.message.contains("batch_size") == true)
    #expect(errors(profiles: Self.goodProfiles + "m3,GPU,,1,p99\n").first?.message.contains("batch_size") == true)
    #expect(errors(profiles: Self.goodProfiles + "m3,GPU,1,1,p95\n").first?.message.contains("statistic") == true)
    #expect(errors(profiles: Self.goodProfiles + "m3,GPU,1,1\n").first?.message.contains("4 fields") == true)
    let header = errors(profiles: "model,hardware,latency_ms,statistic\nm1,CPU,1,p99\n")
    #expect(header.first?.message.contains("lacks batch_size") == true)
    #expect(errors(profiles: "").first?.message.contains("empty") == true)
    let mixed = errors(profiles: Self.goodProfiles + "m1,CPU,8,30,p50\n")
    #expect(mixed.first?.message.contains("mixes statistics") == true)
    let p99 = "model,hardware,batch_size,latency_ms,statistic,latency_p99_ms\nm1,CPU,1,10,p50,8\n"
    #expect(errors(profiles: p99).first?.message.contains("cannot be below the p50") == true)
  }

  /// A `size` column gives one table per size bucket; the profile's plain table is the largest bucket's. Each
  /// mistake is an error with its line: a profile mixing rows with and without a size, buckets profiled at
  /// different batch sizes, a repeated (batch, size), a size that is not a positive number. Latency that falls as
  /// the size grows is a warning (an error with strict).
  @Test func sizeBucketsAreReadAndChecked() throws {
    let header = "model,hardware,batch_size,latency_ms,statistic,size\n"
    let good = header + "m,GPU,1,4,p50,64\nm,GPU,4,6,p50,64\nm,GPU,1,9,p50,512\nm,GPU,4,20,p50,512\n"
    let path = folder.write("sized.csv", good)
    let (table, diagnostics) = ProfileTable.load(path: path)
    #expect(diagnostics.isEmpty, "\(diagnostics)")
    let profile = try #require(table?.profiles.first)
    let bounds = profile.sizeBuckets?.map(\.upTo)
    let small = profile.sizeBuckets?.first?.latencies
    #expect(bounds == [64, 512] && small == [4_000_000, 6_000_000])
    #expect(profile.latencies == [9_000_000, 20_000_000], "the plain table is the largest bucket's")
    func problems(_ text: String, strict: Bool = false) -> [Diagnostic] {
      ProfileTable.load(path: folder.write("bad.csv", text), strict: strict).1
    }
    let mixed = problems(good + "m,GPU,8,30,p50,\n")
    #expect(mixed.count == 1 && mixed[0].line == 6 && mixed[0].message.contains("gives a size on line 2 but none"))
    let uneven = problems(good + "m,GPU,1,12,p50,1024\n")
    #expect(uneven.count == 1 && uneven[0].message.contains("size 1024 is profiled at batch sizes 1"))
    let repeated = problems(good + "m,GPU,4,21,p50,512\n")
    #expect(
      repeated.count == 1 && repeated[0].line == 6 && repeated[0].message.contains("and size 512 is already on line 5"))
    let word = problems(good + "m,GPU,8,30,p50,big\n")
    #expect(word.count == 1 && word[0].line == 6 && word[0].message.contains("size must be a positive number"))
    let falling = header + "m,GPU,1,4,p50,64\nm,GPU,1,3,p50,512\n"
    let warned = problems(falling)
    #expect(warned.count == 1 && warned[0].severity == .warning && warned[0].line == 3)
    #expect(
      warned.first?.message.contains("latency falls from 4.0 ms at size 64 (line 2) to 3.0 ms at size 512") == true)
    #expect(problems(falling, strict: true).first?.severity == .error)
  }

  /// An edge may carry a network delay of its own (`a -> b: {probability: 0.5, delay_ms: 7}`): the model's edge
  /// delays and latency floor take it; a mapping without a probability, an unknown key or a negative delay is an
  /// error with its line.
  @Test func anEdgeMayHaveADelayOfItsOwn() throws {
    let delayed = Self.goodPipeline.replacingOccurrences(
      of: "a -> b: 0.5", with: "a -> b: {probability: 0.5, delay_ms: 7}")
    let inputs = try load(pipeline: delayed).get()
    #expect(inputs.pipeline.edges[0].delayMs == 7 && inputs.pipeline.edges[1].delayMs == nil)
    let model = PipelineModel(inputs)
    #expect(model.edgeDelays == [7_000_000, 2_000_000, 2_000_000, 2_000_000])
    let plain = PipelineModel(try load().get())
    // The floor's path a -> b -> d now pays 7 ms on its first hop instead of 2.
    #expect(model.latencyFloor.nanoseconds - plain.latencyFloor.nanoseconds == 5_000_000)
    let noProbability = errors(
      pipeline: Self.goodPipeline.replacingOccurrences(of: "a -> b: 0.5", with: "a -> b: {delay_ms: 7}"))
    #expect(noProbability.first?.message.contains("has no 'probability'") == true && noProbability.first?.line == 17)
    let unknown = errors(
      pipeline: Self.goodPipeline.replacingOccurrences(of: "a -> b: 0.5", with: "a -> b: {probability: 0.5, delay: 7}"))
    #expect(unknown.first?.message.contains("unknown key 'delay'") == true)
    let negative = errors(
      pipeline: Self.goodPipeline.replacingOccurrences(
        of: "a -> b: 0.5", with: "a -> b: {probability: 0.5, delay_ms: -1}"))
    #expect(negative.first?.message.contains("'delay_ms' must be 0 or more") == true)
  }

  @Test func fallingLatencyIsAWarningAndStrictMakesItAnError() throws {
    let falling = Self.goodProfiles + "m2,CPU,4,40,p99\n"
    let inputs = try load(profiles: falling).get()
    #expect(inputs.warnings.count == 1)
    #expect(inputs.warnings[0].severity == .warning && inputs.warnings[0].line == 11)
    #expect(
      inputs.warnings[0].message.contains("latency falls from 50.0 ms at batch 1 (line 10) to 40.0 ms at batch 4"))
    let strict = errors(profiles: falling, strict: true)
    #expect(strict.count == 1 && strict[0].line == 11)
  }

  @Test func yamlSyntaxErrorsCarryTheirLine() {
    let e = errors(pipeline: "name: x\nstages:\n  - name: a\n   model: [broken\n")
    #expect(e.count >= 1 && e[0].message.hasPrefix("YAML syntax") && e[0].line != nil)
    #expect(errors(pipeline: "").first?.message.contains("empty") == true)
    #expect(errors(pipeline: "- just\n- a list\n").first?.message.contains("must be a mapping") == true)
  }

  @Test func missingFilesAreNamed() {
    let (_, d) = PipelineSpec.load(path: folder.path("nope.yaml"))
    #expect(d.count == 1 && d[0].file.hasSuffix("nope.yaml") && d[0].message == "no such file")
  }

  // MARK: perf_analyzer

  /// The format perf_analyzer writes with -f (Triton client docs): latencies in microseconds, one row per
  /// concurrency, rows not sorted.
  static let perfAnalyzerCSV = """
    Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency
    3,84.2,237,1768,21673,209,11742,17,0,35398,43984,47085,51701
    1,69.2,225,2148,64,206,11781,19,0,13891,18795,19753,21018
    4,84.2,279,1604,33669,233,11731,18,1,47045,56545,59225,64886
    2,87.2,235,1973,9151,190,11346,17,0,21874,28557,29768,34754
    """

  @Test func perfAnalyzerImportTakesTheLowestConcurrency() throws {
    let point = try PerfAnalyzerImport.point(csv: Self.perfAnalyzerCSV, file: "perf.csv", batchSize: 4)
    #expect(point == PerfAnalyzerImport.Point(batchSize: 4, p50Ms: 13.891, p99Ms: 21.018, load: 1))
    let old =
      "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n1,160.8,68,1291,38,4801,7,6212,6289,6328,7407\n"
    #expect(try PerfAnalyzerImport.point(csv: old, file: "old.csv", batchSize: 1).p50Ms == 6.212)
    // The rows it writes load as a profile with p50 and p99.
    let rows = PerfAnalyzerImport.rows(model: "m", hardware: "T4", points: [point], source: "perf_analyzer")
    let path = folder.write("imported.csv", ([PerfAnalyzerImport.header] + rows).joined(separator: "\n"))
    let (table, diagnostics) = ProfileTable.load(path: path)
    #expect(diagnostics.isEmpty)
    #expect(table?.profiles.first?.latencies == [13_891_000] && table?.profiles.first?.p99Latencies == [21_018_000])
  }

  /// Points at two input sizes, written in a file's own column order, load as a profile with two size buckets.
  @Test func perfAnalyzerPointsAtSeveralSizesLoadAsBuckets() throws {
    let points = [(1, 128.0, 2.0), (4, 128, 3.0), (1, 512, 6.0), (4, 512, 11.0)].map { n, size, ms in
      PerfAnalyzerImport.Point(batchSize: n, p50Ms: ms, p99Ms: ms * 1.2, load: 1, size: size)
    }
    let columns = ["source", "model", "hardware", "batch_size", "statistic", "size", "latency_ms", "latency_p99_ms"]
    let rows = PerfAnalyzerImport.rows(
      model: "bert", hardware: "T4", points: points.reversed(), source: "pa", columns: columns)
    let path = folder.write("imported-sized.csv", ([columns.joined(separator: ",")] + rows).joined(separator: "\n"))
    let (table, diagnostics) = ProfileTable.load(path: path)
    #expect(diagnostics.isEmpty, "\(diagnostics)")
    let buckets = try #require(table?.profiles.first?.sizeBuckets)
    let bounds = buckets.map(\.upTo), small = buckets[0].latencies, large = buckets[1].latencies
    #expect(bounds == [128, 512] && small == [2_000_000, 3_000_000] && large == [6_000_000, 11_000_000])
    #expect(table?.profiles.first?.p99Latencies == [7_200_000, 13_200_000])
  }

  @Test func perfAnalyzerImportRejectsOtherFiles() {
    #expect(throws: InputError.self) { try PerfAnalyzerImport.point(csv: "a,b\n1,2\n", file: "x.csv", batchSize: 1) }
    #expect(throws: InputError.self) { try PerfAnalyzerImport.point(csv: "", file: "x.csv", batchSize: 1) }
    let broken = Self.perfAnalyzerCSV + "\n5,1,2"
    do {
      _ = try PerfAnalyzerImport.point(csv: broken, file: "p.csv", batchSize: 1)
      Issue.record("expected an error")
    } catch let e as InputError {
      #expect(e.line == 6)
    } catch { Issue.record("\(error)") }
  }

  /// The committed sample pipelines validate against both catalogs.
  @Test(arguments: ["image-processing", "video-monitoring", "social-media", "cascade"])
  func samplePipelinesValidate(name: String) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("SampleTraces")
    for era in ["2026", "2019"] {
      let inputs = try PlanningInputs.load(
        pipeline: root.appendingPathComponent("pipelines/\(name).yaml").path,
        hardware: root.appendingPathComponent("hardware/aws-\(era).yaml").path,
        profiles: root.appendingPathComponent("profiles/profiles-\(era).csv").path)
      #expect(inputs.warnings.allSatisfy { $0.severity == .warning })
      #expect(Double(PipelineModel(inputs).latencyFloor.nanoseconds) / 1e6 < inputs.pipeline.slo.latencyMs)
    }
  }
}
