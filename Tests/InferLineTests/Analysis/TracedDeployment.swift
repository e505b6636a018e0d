import Foundation

@testable import InferLine
@testable import InferLineNight

/// A hidden truth for the per-stage calibration, simulated independently of the estimator: a pipeline without
/// joins served stage after stage, each stage a central FIFO queue in front of `replicas` replicas: an idle replica
/// serves an arriving query at once, and a replica that frees up takes up to `batchSize` waiting queries; a batch of n taking `slowdown x L(n) + overhead` (L from the
/// profiles, the smallest profiled size that holds n). Its output is what a tracing system would record: a root
/// span per query from its arrival to its last stage's end, and a span per stage visited from the query's arrival
/// at the stage to the end of its batch, written as OTLP JSON (one `ExportTraceServiceRequest` per line, as the
/// OpenTelemetry Collector's file exporter writes).
struct TracedDeployment {
  struct StageTruth {
    var slowdown = 1.0
    var overheadMs = 0.0
    /// A different configuration from the one the calibration is told was deployed.
    var configuration: StageConfiguration? = nil
    /// Replicas added during the run: from `time` (ns) the stage has `replicas` (more than before; replica r
    /// serves from the first time the stage has more than r).
    var replicasFrom: [(time: Int64, replicas: Int)] = []
  }

  var inputs: PlanningInputs
  var configuration: PipelineConfiguration
  var stages: [StageTruth]
  /// Per edge (file order), the chance a query takes it (nil: the file's), and the hop delay (nil: the file's).
  var edgeProbabilities: [Double?]
  var hopDelayMs: [Double?]
  /// A stage the pipeline file does not have, after every query's last stage: a single server taking this long
  /// per query (FIFO), recorded as spans named "postprocess".
  var missingStageMs: Double? = nil
  var seed: UInt64 = 7

  init(inputs: PlanningInputs, configuration: PipelineConfiguration) {
    self.inputs = inputs
    self.configuration = configuration
    stages = inputs.pipeline.stages.map { _ in StageTruth() }
    edgeProbabilities = inputs.pipeline.edges.map { _ in nil }
    hopDelayMs = inputs.pipeline.edges.map { _ in nil }
  }

  /// Per query: start and end at each stage (nil where not visited) and the replica that served it, and the end of
  /// the trace, ns.
  func run(
    arrivals: [Int64]
  ) -> (stages: [[(Int64, Int64)?]], ends: [Int64], extra: [(Int64, Int64)?], replicas: [[Int]], batchStarts: [[Int64]])
  {
    let pipeline = inputs.pipeline
    let n = arrivals.count
    var rng = SeededGenerator(seed: seed)
    // Routes: each edge drawn once per query.
    let taken: [[Bool]] = (0..<n).map { _ in
      pipeline.edges.indices.map { k in
        Double(rng.next() >> 11) / Double(1 << 53) < (edgeProbabilities[k] ?? pipeline.edges[k].probability)
      }
    }
    var times = [[(Int64, Int64)?]](
      repeating: [(Int64, Int64)?](repeating: nil, count: pipeline.stages.count), count: n)
    var served = [[Int]](repeating: [Int](repeating: -1, count: pipeline.stages.count), count: n)
    var batchStarts = [[Int64]](repeating: [Int64](repeating: 0, count: pipeline.stages.count), count: n)
    for s in pipeline.topologicalOrder {
      // Arrivals at the stage.
      var arriving: [(time: Int64, query: Int)] = []
      for q in 0..<n {
        if pipeline.roots.contains(s) {
          arriving.append((arrivals[q], q))
          continue
        }
        for (k, e) in pipeline.edges.enumerated() where e.child == s && taken[q][k] {
          guard let parent = times[q][e.parent] else { continue }
          let hop = Int64(((hopDelayMs[k] ?? pipeline.networkDelayMs) * 1e6).rounded())
          arriving.append((parent.1 + hop, q))
        }
      }
      arriving.sort { $0.time != $1.time ? $0.time < $1.time : $0.query < $1.query }
      let deployed = stages[s].configuration ?? configuration.stages[s]
      let profile = inputs.profiles.profile(model: pipeline.stages[s].model, hardware: deployed.hardware)!
      // Replica r serves from the first time the stage has more than r replicas.
      let most = ([deployed.replicas] + stages[s].replicasFrom.map(\.replicas)).max()!
      var free = (0..<most).map { r -> Int64 in
        r < deployed.replicas ? .min : stages[s].replicasFrom.first { $0.replicas > r }!.time
      }
      var next = 0
      while next < arriving.count {
        let r = free.indices.min { free[$0] < free[$1] }!
        var batch: [Int] = []
        let start: Int64
        if free[r] < arriving[next].time {
          // An idle replica serves an arriving query at once, alone (queries arriving at the same instant after it
          // wait for a replica of their own or for the next batch).
          start = arriving[next].time
          batch = [next]
          next += 1
        } else {
          // A replica that frees up takes what has arrived by then, up to its batch size.
          start = free[r]
          while next < arriving.count && arriving[next].time <= start && batch.count < deployed.batchSize {
            batch.append(next)
            next += 1
          }
        }
        let l = Double(profile.latency(batch: batch.count)!)
        let service = Int64((l * stages[s].slowdown + stages[s].overheadMs * 1e6).rounded())
        free[r] = start + service
        for i in batch {
          times[arriving[i].query][s] = (arriving[i].time, start + service)
          served[arriving[i].query][s] = r
          batchStarts[arriving[i].query][s] = start
        }
      }
    }
    var ends = (0..<n).map { q in times[q].compactMap { $0?.1 }.max()! }
    var extra = [(Int64, Int64)?](repeating: nil, count: n)
    if let ms = missingStageMs {
      let order = (0..<n).sorted { ends[$0] < ends[$1] }
      var free = Int64.min
      for q in order {
        let start = max(free, ends[q])
        free = start + Int64(ms * 1e6)
        extra[q] = (ends[q], free)
        ends[q] = free
      }
    }
    return (times, ends, extra, served, batchStarts)
  }

  /// The spans as OTLP JSON lines, `perLine` traces to a line; with `instanceIDs`, each stage's span in a resource
  /// naming its replica (`service.instance.id` = `stage-r`), as each replica's SDK would; with `serviceSpans`, a
  /// child `<stage>.compute` span per stage span from its batch's start to its end.
  func otlpJSON(
    arrivals: [Int64], perLine: Int = 500, spanNames: [String]? = nil, instanceIDs: Bool = false,
    serviceSpans: Bool = false
  ) -> String {
    let (times, ends, extra, served, batchStarts) = run(arrivals: arrivals)
    let names = spanNames ?? inputs.pipeline.stages.map(\.name)
    func span(_ trace: String, _ id: String, _ parent: String?, _ name: String, _ start: Int64, _ end: Int64) -> String
    {
      "{\"traceId\":\"\(trace)\",\"spanId\":\"\(id)\",\"parentSpanId\":\"\(parent ?? "")\",\"name\":\"\(name)\",\"kind\":2,\"startTimeUnixNano\":\"\(start)\",\"endTimeUnixNano\":\"\(end)\",\"attributes\":[{\"key\":\"stage.index\",\"value\":{\"intValue\":\"1\"}}],\"status\":{}}"
    }
    func resource(_ instance: String?, _ spans: [String]) -> String {
      let id = instance.map { ",{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"\($0)\"}}" } ?? ""
      return
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"serving\"}}\(id)]},\"scopeSpans\":[{\"scope\":{\"name\":\"truth\"},\"spans\":[\(spans.joined(separator: ","))]}]}"
    }
    var lines: [String] = []
    var chunk: [String] = []
    var byInstance: [String: [String]] = [:]
    for q in arrivals.indices {
      let trace = String(format: "%032x", q + 1)
      let root = String(format: "%016x", (q + 1) << 8)
      chunk.append(span(trace, root, nil, "request", arrivals[q], ends[q]))
      for (s, t) in times[q].enumerated() {
        guard let t else { continue }
        let id = String(format: "%016x", ((q + 1) << 8) + s + 1)
        var text = span(trace, id, root, names[s], t.0, t.1)
        if serviceSpans {
          text +=
            ","
            + span(
              trace, String(format: "%016x", ((q + 1) << 8) + s + 100), id, "\(names[s]).compute", batchStarts[q][s],
              t.1)
        }
        if instanceIDs {
          byInstance["\(inputs.pipeline.stages[s].name)-\(served[q][s])", default: []].append(text)
        } else {
          chunk.append(text)
        }
      }
      if let e = extra[q] {
        chunk.append(span(trace, String(format: "%016x", ((q + 1) << 8) + 200), root, "postprocess", e.0, e.1))
      }
      if (q + 1) % perLine == 0 || q == arrivals.count - 1 {
        let resources =
          [resource(nil, chunk)] + byInstance.sorted { $0.key < $1.key }.map { resource($0.key, $0.value) }
        lines.append("{\"resourceSpans\":[\(resources.joined(separator: ","))]}")
        chunk = []
        byInstance = [:]
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
