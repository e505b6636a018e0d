import Foundation
internal import Yams

/// A prediction pipeline: model stages joined by probabilistic edges, and the latency objective.
///
/// A query enters every root stage; when a stage finishes, the query goes on along each outgoing edge with that
/// edge's probability (drawn independently, once, at arrival). A stage with several parents on the query's route
/// starts when all of them have finished.
public struct PipelineSpec: Sendable, Equatable {
  public struct Stage: Sendable, Equatable {
    public var name: String
    public var model: String
    /// Hardware types this stage may run on; nil for any in the catalog.
    public var allowedHardware: [String]?
    /// Line of the stage in the pipeline file (for diagnostics).
    public var line: Int?
    /// The name of the tracing span that records this stage's work on a query (the file's `span`); nil for a span
    /// named as the stage is. See `SpanTrace`.
    public var span: String? = nil
    /// The name of a child of the stage's span that covers the batch's service alone (the file's
    /// `service_span`): the time before it is the query's queueing. Nil when spans do not split them.
    public var serviceSpan: String? = nil
  }

  public struct Edge: Sendable, Equatable {
    /// Indices into `stages`.
    public var parent: Int
    public var child: Int
    /// Chance the query goes on along this edge once the parent has finished, in [0, 1].
    public var probability: Double
    public var line: Int?
    /// This edge's own network delay, ms, in place of the pipeline's `network_delay_ms` (as measured from tracing
    /// spans by the per-stage calibration); nil: the pipeline's.
    public var delayMs: Double? = nil
  }

  /// The latency objective: the `percentile` of end-to-end latency must be at most `latencyMs`.
  public struct SLO: Sendable, Equatable, Codable {
    public var latencyMs: Double
    /// In (0, 100); default 99.
    public var percentile: Double
    public init(latencyMs: Double, percentile: Double = 99) {
      self.latencyMs = latencyMs
      self.percentile = percentile
    }

    /// The one check of an SLO latency, for the pipeline file and `--slo` alike: positive, finite and at most a
    /// day (milliseconds).
    public static func isValidLatency(_ ms: Double) -> Bool { ms > 0 && ms <= ProfileTable.longestMilliseconds }

    /// The share of queries a percentile allows over the SLO: `1 - p / 100` (0.01 at P99).
    public static func allowance(_ percentile: Double) -> Double { 1 - percentile / 100 }
  }

  /// The most edges a pipeline may have: a query's route is one 64-bit mask.
  public static let maximumEdges = 64
  /// The most stages a pipeline may have. Connected by at most 64 edges, a pipeline has at most 65 stages; the rest
  /// can only be roots every query visits side by side, and planning grows faster than the cube of their number
  /// (300 such stages: 88 s and 2.6 GB per hour of log, 65: 1 s), so more are refused before any work.
  public static let maximumStages = 128

  public var name: String
  public var stages: [Stage]
  /// Edges in file order: the order a routes file's columns follow.
  public var edges: [Edge]
  public var slo: SLO
  /// Constant network delay per hop between stages, milliseconds.
  public var networkDelayMs: Double
  public var file: String
  /// How every stage hands queries to its replicas (the file's `dispatch`, default `central`: the ideal balancer).
  /// Simulations draw its random choices from their route seed.
  public var dispatch: DispatchPolicy = .centralQueue
  /// The span attribute whose value names a span's stage (the file's `span_attribute`); nil to go by span names.
  public var spanAttribute: String? = nil
  /// The span attribute that holds each query's size (the file's `size_attribute`: tokens, pixels, items), for
  /// profiles with size buckets; nil when spans give no size.
  public var sizeAttribute: String? = nil

  public func stageIndex(named name: String) -> Int? { stages.firstIndex { $0.name == name } }

  /// Parent edges of each stage.
  public var incoming: [[Edge]] {
    var result = [[Edge]](repeating: [], count: stages.count)
    for e in edges { result[e.child].append(e) }
    return result
  }

  /// Child edges of each stage.
  public var outgoing: [[Edge]] {
    var result = [[Edge]](repeating: [], count: stages.count)
    for e in edges { result[e.parent].append(e) }
    return result
  }

  /// Stages without parents: every query enters them.
  public var roots: [Int] { stages.indices.filter { i in !edges.contains { $0.child == i } } }

  /// Stage indices with every parent before its children. Valid because loading rejects cycles.
  public var topologicalOrder: [Int] {
    Self.topologicalOrder(count: stages.count, edges: edges.map { ($0.parent, $0.child) })!
  }

  /// Kahn's algorithm; nil when the graph has a cycle.
  static func topologicalOrder(count: Int, edges: [(Int, Int)]) -> [Int]? {
    var indegree = [Int](repeating: 0, count: count)
    for (_, c) in edges { indegree[c] += 1 }
    var ready = (0..<count).filter { indegree[$0] == 0 }
    var order: [Int] = []
    while !ready.isEmpty {
      let n = ready.removeFirst()
      order.append(n)
      for (p, c) in edges where p == n {
        indegree[c] -= 1
        if indegree[c] == 0 { ready.append(c) }
      }
    }
    return order.count == count ? order : nil
  }

  /// Keys a pipeline file may hold.
  static let keys = [
    "name", "description", "slo", "network_delay_ms", "dispatch", "stages", "edges", "assumptions",
    "span_attribute", "size_attribute",
  ]
  static let stageKeys = ["name", "model", "hardware", "description", "span", "service_span"]
  static let sloKeys = ["latency_ms", "percentile"]
  static let edgeKeys = ["probability", "delay_ms"]

  /// Loads and checks a pipeline file, collecting every problem.
  /// - Returns: the pipeline (nil when it has errors) and every diagnostic.
  public static func load(path: String) -> (PipelineSpec?, [Diagnostic]) {
    var sink = DiagnosticSink(file: path)
    guard let document = YAMLDocument.load(path: path, sink: &sink),
      let top = YAMLMapping(document.root, what: "a pipeline file", sink: &sink)
    else { return (nil, sink.items) }
    top.checkKeys(keys, in: "the pipeline", sink: &sink)
    let name = top.string("name", required: true, in: "the pipeline", sink: &sink) ?? ""

    let slo = loadSLO(top, sink: &sink)
    var networkDelay = 0.0
    if let (d, line) = top.number("network_delay_ms", required: false, in: "the pipeline", sink: &sink) {
      if d >= 0 && d <= ProfileTable.longestMilliseconds {
        networkDelay = d
      } else {
        sink.error(line, "'network_delay_ms' must be 0 or more and at most a day, 86400000 ms (got \(d))")
      }
    }

    var dispatch = DispatchPolicy.centralQueue
    if let node = top["dispatch"] {
      if let name = node.string, let policy = DispatchPolicy(name: name, seed: 0) {
        dispatch = policy
      } else {
        sink.error(
          node.line,
          "'dispatch' must be \(DispatchPolicy.names), the balancer in front of each stage's replicas (got '\(node.string ?? "a non-scalar")')"
        )
      }
    }

    let stages = loadStages(top, sink: &sink)
    let edges = loadEdges(top, stages: stages, sink: &sink)
    checkShape(stages: stages, edges: edges, sink: &sink)
    let spanAttribute = top.string("span_attribute", required: false, in: "the pipeline", sink: &sink)
    let sizeAttribute = top.string("size_attribute", required: false, in: "the pipeline", sink: &sink)
    guard !sink.hasErrors else { return (nil, sink.items) }
    var spec = PipelineSpec(
      name: name, stages: stages, edges: edges, slo: slo, networkDelayMs: networkDelay, file: path,
      dispatch: dispatch, spanAttribute: spanAttribute)
    spec.sizeAttribute = sizeAttribute
    return (spec, sink.items)
  }

  /// The file's `slo`, its errors in `sink`.
  static func loadSLO(_ top: YAMLMapping, sink: inout DiagnosticSink) -> SLO {
    var slo = SLO(latencyMs: 0)
    if let node = top["slo"], let map = YAMLMapping(node, what: "'slo'", sink: &sink) {
      map.checkKeys(sloKeys, in: "'slo'", sink: &sink)
      if let (ms, line) = map.number("latency_ms", required: true, in: "'slo'", sink: &sink) {
        if SLO.isValidLatency(ms) {
          slo.latencyMs = ms
        } else {
          sink.error(line, "the SLO latency must be positive and at most a day, 86400000 ms (got \(ms) ms)")
        }
      }
      if let (p, line) = map.number("percentile", required: false, in: "'slo'", sink: &sink) {
        if p > 0 && p < 100 {
          slo.percentile = p
        } else {
          sink.error(line, "the SLO percentile must be between 0 and 100, such as 99 or 99.9 (got \(p))")
        }
      }
    } else if top["slo"] == nil {
      sink.error(top.line, "the pipeline has no 'slo' (for example: slo: {latency_ms: 200, percentile: 99})")
    }

    return slo
  }

  /// The file's `stages`, each named once with a model and its hardware, its errors in `sink`.
  static func loadStages(_ top: YAMLMapping, sink: inout DiagnosticSink) -> [Stage] {
    var stages: [Stage] = []
    if let node = top["stages"] {
      if case .sequence(let sequence) = node, !sequence.isEmpty {
        for item in sequence {
          guard let map = YAMLMapping(item, what: "a stage", sink: &sink) else { continue }
          map.checkKeys(stageKeys, in: "a stage", sink: &sink)
          let stageName = map.string("name", required: true, in: "a stage", sink: &sink)
          let model = map.string("model", required: true, in: "stage '\(stageName ?? "?")'", sink: &sink)
          var allowed: [String]? = nil
          if let hw = map["hardware"] {
            switch hw {
            case .sequence(let list):
              allowed = list.compactMap(\.string)
              if allowed!.isEmpty {
                sink.error(hw.line, "'hardware' of stage '\(stageName ?? "?")' lists no hardware type")
              }
            case .scalar(let scalar):
              allowed = [scalar.string]
            default:
              sink.error(hw.line, "'hardware' of a stage must be a list of hardware types")
            }
          }
          guard let stageName, let model else { continue }
          if let earlier = stages.first(where: { $0.name == stageName }) {
            sink.error(map.line, "stage '\(stageName)' is defined twice (first on line \(earlier.line ?? 0))")
            continue
          }
          let span = map.string("span", required: false, in: "stage '\(stageName)'", sink: &sink)
          if let span, let other = stages.first(where: { ($0.span ?? $0.name) == span }) {
            sink.error(
              map["span"]?.line,
              "stage '\(stageName)': span '\(span)' already marks stage '\(other.name)'; each stage needs a span name of its own"
            )
          }
          var stage = Stage(name: stageName, model: model, allowedHardware: allowed, line: map.line, span: span)
          stage.serviceSpan = map.string("service_span", required: false, in: "stage '\(stageName)'", sink: &sink)
          stages.append(stage)
        }
      } else {
        sink.error(node.line, "'stages' must be a non-empty list of stages, each with a name and a model")
      }
    } else {
      sink.error(top.line, "the pipeline has no 'stages'")
    }

    return stages
  }

  /// The file's `edges` between known stages, each once, with its probability and delay, its errors in `sink`: a
  /// mapping of "parent -> child: probability", or a list of one-entry mappings.
  static func loadEdges(_ top: YAMLMapping, stages: [Stage], sink: inout DiagnosticSink) -> [Edge] {
    var edges: [Edge] = []
    var edgeEntries: [(key: String, line: Int?, value: Node)] = []
    if let node = top["edges"] {
      switch node {
      case .mapping(let mapping):
        edgeEntries = mapping.map { ($0.key.string ?? "", $0.key.line, $0.value) }
      case .sequence(let sequence):
        for item in sequence {
          if case .mapping(let m) = item, m.count == 1, let pair = m.first {
            edgeEntries.append((pair.key.string ?? "", pair.key.line, pair.value))
          } else {
            sink.error(item.line, "each edge must read 'parent -> child: probability'")
          }
        }
      default:
        sink.error(node.line, "'edges' must map 'parent -> child' to a probability")
      }
    }
    for entry in edgeEntries {
      let parts = entry.key.components(separatedBy: "->").map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        sink.error(entry.line, "edge '\(entry.key)' must read 'parent -> child'")
        continue
      }
      let parent = stages.firstIndex { $0.name == parts[0] }
      let child = stages.firstIndex { $0.name == parts[1] }
      let names = stages.map(\.name)
      if parent == nil {
        sink.error(
          entry.line,
          "edge '\(entry.key)': unknown parent stage '\(parts[0])'\(suggestion(for: parts[0], among: names))")
      }
      if child == nil {
        sink.error(
          entry.line, "edge '\(entry.key)': unknown child stage '\(parts[1])'\(suggestion(for: parts[1], among: names))"
        )
      }
      // `parent -> child: 0.6`, or `parent -> child: {probability: 0.6, delay_ms: 6}` for an edge with a network
      // delay of its own.
      var probabilityNode = entry.value
      var delayMs: Double? = nil
      if case .mapping = entry.value, let map = YAMLMapping(entry.value, what: "edge '\(entry.key)'", sink: &sink) {
        map.checkKeys(Self.edgeKeys, in: "edge '\(entry.key)'", sink: &sink)
        guard let node = map["probability"] else {
          sink.error(map.line ?? entry.line, "edge '\(entry.key)' has no 'probability'")
          continue
        }
        probabilityNode = node
        if let (d, line) = map.number("delay_ms", required: false, in: "edge '\(entry.key)'", sink: &sink) {
          guard d >= 0 && d <= ProfileTable.longestMilliseconds else {
            sink.error(line, "edge '\(entry.key)': 'delay_ms' must be 0 or more and at most a day (got \(d))")
            continue
          }
          delayMs = d
        }
      }
      guard case .scalar(let scalar) = probabilityNode, let p = Double(scalar.string), p.isFinite else {
        sink.error(
          probabilityNode.line ?? entry.line,
          "edge '\(entry.key)' needs a probability between 0 and 1 (`\(entry.key): 0.6`, or `{probability: 0.6, delay_ms: 5}` for a delay of its own)"
        )
        continue
      }
      if p < 0 || p > 1 {
        sink.error(probabilityNode.line ?? entry.line, "edge '\(entry.key)': probability \(p) is outside [0, 1]")
        continue
      }
      guard let parent, let child else { continue }
      if parent == child {
        sink.error(entry.line, "edge '\(entry.key)' goes from a stage to itself (a cycle)")
        continue
      }
      if edges.contains(where: { $0.parent == parent && $0.child == child }) {
        sink.error(entry.line, "edge '\(entry.key)' is given twice")
        continue
      }
      var edge = Edge(parent: parent, child: child, probability: p, line: entry.line)
      edge.delayMs = delayMs
      edges.append(edge)
    }
    return edges
  }

  /// The limits inferline plans within (stages, edges) and the acyclic graph, errors in `sink`.
  static func checkShape(stages: [Stage], edges: [Edge], sink: inout DiagnosticSink) {
    if stages.count > Self.maximumStages {
      sink.error(
        stages[Self.maximumStages].line,
        "the pipeline has \(stages.count) stages, more than the \(Self.maximumStages) inferline plans (planning time grows faster than the cube of the stages: 300 parallel stages take minutes and gigabytes per hour of log); split it into pipelines of at most \(Self.maximumStages) stages (one report plans them as a fleet)"
      )
    }
    if edges.count > Self.maximumEdges {
      sink.error(
        edges[Self.maximumEdges].line,
        "the pipeline has \(edges.count) edges, more than the \(Self.maximumEdges) inferline simulates (each query's route is kept as a \(Self.maximumEdges)-bit mask); merge stages or split the pipeline"
      )
    }
    if !stages.isEmpty, topologicalOrder(count: stages.count, edges: edges.map { ($0.parent, $0.child) }) == nil {
      let cycle = findCycle(count: stages.count, edges: edges)
      // Point at the edge that closes the loop.
      let line = edges.first { $0.parent == cycle.last && $0.child == cycle.first }?.line
      sink.error(
        line,
        "the edges form a cycle: \((cycle + [cycle[0]]).map { stages[$0].name }.joined(separator: " -> ")); a pipeline must be acyclic"
      )
    }
  }

  /// One cycle of the graph, as stage indices (depth-first search).
  static func findCycle(count: Int, edges: [Edge]) -> [Int] {
    var state = [Int](repeating: 0, count: count)  // 0 new, 1 on the stack, 2 done
    var stack: [Int] = []
    func visit(_ n: Int) -> [Int]? {
      state[n] = 1
      stack.append(n)
      for e in edges where e.parent == n {
        if state[e.child] == 1 { return Array(stack[stack.firstIndex(of: e.child)!...]) }
        if state[e.child] == 0, let found = visit(e.child) { return found }
      }
      stack.removeLast()
      state[n] = 2
      return nil
    }
    for n in 0..<count where state[n] == 0 {
      if let cycle = visit(n) { return cycle }
    }
    return []
  }

  /// Probability that a query visits each stage (its scale factor `s_m`).
  ///
  /// Exact: every combination of edge outcomes is enumerated (2^edges; used up to 20 edges). Larger pipelines
  /// are estimated from `samples` seeded draws.
  public func scaleFactors(samples: Int = 1_000_000, seed: UInt64 = 1) -> [Double] {
    let order = topologicalOrder
    let roots = Set(self.roots)
    func visits(_ taken: (Int) -> Bool) -> [Bool] {
      var visited = [Bool](repeating: false, count: stages.count)
      for n in order {
        if roots.contains(n) { visited[n] = true }
        guard visited[n] else { continue }
        for (k, e) in edges.enumerated() where e.parent == n && taken(k) { visited[e.child] = true }
      }
      return visited
    }
    var totals = [Double](repeating: 0, count: stages.count)
    if edges.count <= 20 {
      for mask in 0..<(1 << edges.count) {
        var weight = 1.0
        for (k, e) in edges.enumerated() { weight *= (mask >> k) & 1 == 1 ? e.probability : 1 - e.probability }
        if weight == 0 { continue }
        for (m, v) in visits({ (mask >> $0) & 1 == 1 }).enumerated() where v { totals[m] += weight }
      }
      return totals
    }
    // Sampling: walk the stages in order; an edge is drawn only when its parent was visited.
    var rng = SeededGenerator(seed: seed)
    let out = outgoing
    var visited = [Bool](repeating: false, count: stages.count)
    var counts = [Int](repeating: 0, count: stages.count)
    for _ in 0..<samples {
      for m in visited.indices { visited[m] = roots.contains(m) }
      for n in order where visited[n] {
        counts[n] += 1
        for e in out[n] where rng.nextUnitInterval() < e.probability { visited[e.child] = true }
      }
    }
    totals = counts.map(Double.init)
    return totals.map { $0 / Double(samples) }
  }
}
