import Foundation

/// Queries as a tracing system saw them: one trace per query, one span per stage it visited.
///
/// A span marks a stage when its name is the stage's `span` in the pipeline file (the stage's name when not
/// given), or, when the pipeline names a `span_attribute`, when that attribute's value is the stage's name. A stage's
/// span is taken to cover the query's time at the stage, queueing and batching included (what a server's request
/// span records). A query arrives when the trace's first span starts and is answered when its last span ends.
///
/// What cannot be used is counted, with the reason, never dropped silently: spans that mark no stage (by name),
/// orphans (a parent id not in the trace), traces that visit a stage twice, partial traces (a stage without a
/// span of any of its parents, or no root stage), and clock skew (a stage whose span starts before a parent
/// stage's span ends, or ends after the trace's root span). - Complexity: O(spans log spans).
public struct SpanTrace: Sendable {
  /// Per query, in arrival order: arrival (ns since the epoch), the stages visited (bit per stage), end-to-end
  /// latency (ms).
  public var arrivals: [Int64]
  public var visitedStages: [UInt64]
  public var endToEndMs: [Float]
  /// Stage-major (`stageStarts[s * count + q]`): when the query's span at stage `s` started and ended, ns;
  /// `Int64.min` where it did not visit the stage.
  public var stageStarts: [Int64]
  public var stageEnds: [Int64]
  public var stageNames: [String]
  /// Stage-major like `stageStarts`: when the stage's `service_span` child started and ended (the batch's service;
  /// before it the query queued), `Int64.min` where there is none; empty when no stage names a service span.
  public var serviceStarts: [Int64] = []
  public var serviceEnds: [Int64] = []
  /// Stage-major like `stageStarts`: the replica that served the query at the stage, an index into `instanceNames`
  /// (the span's `service.instance.id`), -1 where none is given or the stage was not visited.
  public var stageInstances: [Int32] = []
  public var instanceNames: [String] = []
  /// Per query, its size from the pipeline's `size_attribute` (the first span of the trace that has it, NaN when
  /// none does or it is not a non-negative number); nil without a `size_attribute`.
  public var querySizes: [Float]? = nil
  public var reading: Counts

  public var count: Int { arrivals.count }

  /// What the spans held and what of it could not be used.
  public struct Counts: Sendable, Equatable, Codable {
    public var files: [String] = []
    public var formats: [String: Int] = [:]
    public var spans = 0
    public var traces = 0
    /// Traces made into queries.
    public var queries = 0
    public var malformedRecords = 0
    public var malformedSpans = 0
    /// First problem line of each kind, as "file:line: reason".
    public var firstMalformed: String? = nil
    /// Spans that mark no stage, per span name (the 20 most frequent names).
    public var unmappedSpans = 0
    public var unmappedNames: [String: Int] = [:]
    public var orphanSpans = 0
    public var tracesWithoutStages = 0
    public var tracesWithRepeatedStage = 0
    public var partialTraces = 0
    public var skewedTraces = 0
    /// Spans per stage that made it into queries.
    public var stageSpans: [Int] = []
    /// Queries without a readable size attribute (with the pipeline's `size_attribute`; they take the largest
    /// size bucket).
    public var unreadableSizes = 0

    /// Traces left out, all reasons together.
    public var skippedTraces: Int { tracesWithoutStages + tracesWithRepeatedStage + partialTraces + skewedTraces }
  }

  /// Reads span files and makes the pipeline's queries of them.
  /// - Throws: `InputError` for unreadable files, files without spans, or spans none of which mark a stage.
  public static func read(paths: [String], pipeline: PipelineSpec) throws -> SpanTrace {
    let reading = try SpanReader.read(paths: paths)
    let trace = assemble(reading, pipeline: pipeline)
    if trace.count == 0 {
      let names = trace.reading.unmappedNames.sorted { $0.value > $1.value }.prefix(5).map { "'\($0.key)'" }
      throw InputError(
        file: paths.first,
        "no trace could be made into a query of pipeline '\(pipeline.name)': \(trace.reading.tracesWithoutStages) of \(trace.reading.traces) traces have no span that marks a stage\(names.isEmpty ? "" : " (span names seen: \(names.joined(separator: ", ")))"), \(trace.reading.skippedTraces - trace.reading.tracesWithoutStages) were partial, skewed or repeated a stage",
        fix:
          "name each stage's span in the pipeline file (`span: <span name>` on the stage) or the attribute that names the stage (`span_attribute: <key>`)"
      )
    }
    return trace
  }

  /// Groups `reading`'s spans by trace and makes each usable trace a query.
  public static func assemble(_ reading: SpanReader.Reading, pipeline: PipelineSpec) -> SpanTrace {
    let stageCount = pipeline.stages.count
    var counts = Counts()
    counts.files = reading.files
    counts.formats = reading.formats
    counts.spans = reading.spans.count
    counts.malformedRecords = reading.malformedRecords
    counts.malformedSpans = reading.malformedSpans
    counts.firstMalformed = [reading.firstMalformed, reading.firstMalformedSpan].compactMap { $0 }.first.map {
      "\($0.file):\($0.line): \($0.reason)"
    }
    counts.stageSpans = [Int](repeating: 0, count: stageCount)
    var byName: [String: Int] = [:]
    for (i, s) in pipeline.stages.enumerated() { byName[s.span ?? s.name] = i }
    var byStageName: [String: Int] = [:]
    for (i, s) in pipeline.stages.enumerated() { byStageName[s.name] = i }
    var serviceSpanNames: [String: Int] = [:]
    for (i, s) in pipeline.stages.enumerated() { if let name = s.serviceSpan { serviceSpanNames[name] = i } }
    let splitsService = !serviceSpanNames.isEmpty
    func stage(of span: Span) -> Int? {
      if let key = pipeline.spanAttribute { return span.attributes[key].flatMap { byStageName[$0] } }
      return byName[span.name]
    }
    let incoming = pipeline.incoming
    let roots = Set(pipeline.roots)

    // Spans in trace order, each trace's together.
    let order = reading.spans.indices.sorted {
      let a = reading.spans[$0], b = reading.spans[$1]
      return a.traceID != b.traceID ? a.traceID < b.traceID : a.start < b.start
    }
    var queries:
      [(
        arrival: Int64, mask: UInt64, latency: Int64, starts: [Int64], ends: [Int64], size: Float,
        instances: [Int32], serviceStarts: [Int64], serviceEnds: [Int64]
      )] = []
    var instanceIndex: [String: Int32] = [:]
    var instanceNames: [String] = []
    var unmapped: [String: Int] = [:]
    var k = 0
    while k < order.count {
      var j = k
      let id = reading.spans[order[k]].traceID
      while j < order.count && reading.spans[order[j]].traceID == id { j += 1 }
      let spans = order[k..<j].map { reading.spans[$0] }
      k = j
      counts.traces += 1
      let ids = Set(spans.map(\.spanID))
      counts.orphanSpans += spans.filter { $0.parentID.map { !ids.contains($0) } ?? false }.count
      var starts = [Int64](repeating: .min, count: stageCount)
      var ends = [Int64](repeating: .min, count: stageCount)
      var instances = [Int32](repeating: -1, count: stageCount)
      var serviceStarts = [Int64](repeating: .min, count: splitsService ? stageCount : 0)
      var serviceEnds = serviceStarts
      var stageSpanIDs = [String?](repeating: nil, count: splitsService ? stageCount : 0)
      var serviceSpans: [Span] = []
      var repeated = false
      for s in spans {
        if splitsService, serviceSpanNames[s.name] != nil, stage(of: s) == nil {
          serviceSpans.append(s)
          continue
        }
        guard let m = stage(of: s) else {
          counts.unmappedSpans += 1
          unmapped[s.name, default: 0] += 1
          continue
        }
        if starts[m] != .min { repeated = true }
        starts[m] = s.start
        ends[m] = s.end
        if splitsService { stageSpanIDs[m] = s.spanID }
        if let name = s.instance {
          if let known = instanceIndex[name] {
            instances[m] = known
          } else {
            instances[m] = Int32(instanceNames.count)
            instanceIndex[name] = instances[m]
            instanceNames.append(name)
          }
        }
      }
      let visited = (0..<stageCount).filter { starts[$0] != .min }
      if visited.isEmpty {
        counts.tracesWithoutStages += 1
        continue
      }
      if repeated {
        counts.tracesWithRepeatedStage += 1
        continue
      }
      // Every visited stage is a root or has a visited parent, and some root was visited.
      let partial =
        !visited.contains { roots.contains($0) }
        || visited.contains { !roots.contains($0) && !incoming[$0].contains { starts[$0.parent] != .min } }
      if partial {
        counts.partialTraces += 1
        continue
      }
      let arrival = spans.map(\.start).min()!
      let answered = spans.map(\.end).max()!
      // A stage that starts before a parent stage it visited ends, or a span outside its trace's root span.
      let rootSpans = spans.filter { $0.parentID == nil || !ids.contains($0.parentID!) }
      let skewed =
        visited.contains { c in incoming[c].contains { e in starts[e.parent] != .min && starts[c] < ends[e.parent] } }
        || (rootSpans.count == 1 && stage(of: rootSpans[0]) == nil
          && spans.contains { $0.start < rootSpans[0].start || $0.end > rootSpans[0].end })
      if skewed {
        counts.skewedTraces += 1
        continue
      }
      var mask: UInt64 = 0
      for s in visited { mask |= 1 << UInt64(s) }
      // A service span counts when it is a child of its stage's span; else it is a span that marks nothing.
      for span in serviceSpans {
        let m = serviceSpanNames[span.name]!
        if span.parentID != nil && span.parentID == stageSpanIDs[m] {
          serviceStarts[m] = span.start
          serviceEnds[m] = span.end
        } else {
          counts.unmappedSpans += 1
          unmapped[span.name, default: 0] += 1
        }
      }
      var size = Float.nan
      if let key = pipeline.sizeAttribute {
        let byStart = spans.sorted { $0.start < $1.start }
        if let text = byStart.lazy.compactMap({ $0.attributes[key] }).first, let value = Float(text), value >= 0,
          value.isFinite
        {
          size = value
        } else {
          counts.unreadableSizes += 1
        }
      }
      queries.append((arrival, mask, answered - arrival, starts, ends, size, instances, serviceStarts, serviceEnds))
    }
    counts.unmappedNames = Dictionary(
      uniqueKeysWithValues: unmapped.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(20)
        .map { ($0.key, $0.value) })
    queries.sort { $0.arrival < $1.arrival }
    counts.queries = queries.count
    let n = queries.count
    var stageStarts = [Int64](repeating: .min, count: n * stageCount)
    var stageEnds = [Int64](repeating: .min, count: n * stageCount)
    var stageInstances = [Int32](repeating: -1, count: instanceNames.isEmpty ? 0 : n * stageCount)
    var serviceStarts = [Int64](repeating: .min, count: splitsService ? n * stageCount : 0)
    var serviceEnds = serviceStarts
    for (q, query) in queries.enumerated() {
      for s in 0..<stageCount where query.starts[s] != .min {
        stageStarts[s * n + q] = query.starts[s]
        stageEnds[s * n + q] = query.ends[s]
        if !instanceNames.isEmpty { stageInstances[s * n + q] = query.instances[s] }
        if splitsService {
          serviceStarts[s * n + q] = query.serviceStarts[s]
          serviceEnds[s * n + q] = query.serviceEnds[s]
        }
        counts.stageSpans[s] += 1
      }
    }
    return SpanTrace(
      arrivals: queries.map(\.arrival), visitedStages: queries.map(\.mask),
      endToEndMs: queries.map { Float(Milliseconds.of($0.latency)) }, stageStarts: stageStarts,
      stageEnds: stageEnds, stageNames: pipeline.stages.map(\.name), serviceStarts: serviceStarts,
      serviceEnds: serviceEnds, stageInstances: stageInstances,
      instanceNames: instanceNames, querySizes: pipeline.sizeAttribute == nil ? nil : queries.map(\.size),
      reading: counts)
  }

  /// The query log's view of these queries: arrivals, observed end-to-end latencies and visited stages.
  public var arrivalTrace: ArrivalTrace {
    var trace = ArrivalTrace(arrivals: arrivals, observedLatencyMs: endToEndMs)
    trace.visitedStages = visitedStages
    trace.querySizes = querySizes
    trace.sizeColumn = querySizes == nil ? nil : "span attribute"
    return trace
  }
}

extension SpanTrace {
  /// Per window, the replicas stage `s` ran on as the spans say: the distinct `service.instance.id`s among its
  /// queries that arrived at it in the window (a replica idle for the whole window is not seen); nil when not every
  /// span of the stage names its replica; 0 for a window with no query at the stage.
  /// - Complexity: O(queries x log windows).
  public func replicasSeen(stage s: Int, windows: [WorkloadWindow]) -> [Int]? {
    let n = count
    guard !stageInstances.isEmpty else { return nil }
    var visits = 0
    for q in 0..<n where stageStarts[s * n + q] != .min {
      guard stageInstances[s * n + q] >= 0 else { return nil }
      visits += 1
    }
    guard visits > 0 else { return nil }
    var seen = windows.map { _ in Set<Int32>() }
    for q in 0..<n where stageStarts[s * n + q] != .min {
      // The last window starting at or before the query's arrival at the stage, by binary search.
      let t = stageStarts[s * n + q]
      var low = 0, high = windows.count
      while low < high {
        let middle = (low + high) / 2
        if windows[middle].start <= t { low = middle + 1 } else { high = middle }
      }
      guard low > 0 else { continue }
      seen[low - 1].insert(stageInstances[s * n + q])
    }
    return seen.map(\.count)
  }

  /// An edge's share of its parent's queries that went on along it, from the spans, beside the pipeline file's.
  public struct MeasuredRoute: Sendable, Equatable, Codable {
    public var parent: String
    public var child: String
    public var fileProbability: Double
    /// Queries that visited the parent and the child, over queries that visited the parent.
    public var measuredProbability: Double
    public var parentVisits: Int
  }

  /// A hop's measured delay: a child stage's span start minus its parent stage's span end, ms (the latest parent's
  /// end for a join), over the queries that took the edge.
  public struct MeasuredHop: Sendable, Equatable, Codable {
    public var parent: String
    public var child: String
    public var fileMs: Double
    public var medianMs: Double
    public var p99Ms: Double
    public var queries: Int
  }

  public func measuredRoutes(_ pipeline: PipelineSpec) -> [MeasuredRoute] {
    pipeline.edges.map { e in
      let parent = visitedStages.filter { $0 & (1 << UInt64(e.parent)) != 0 }
      let both = parent.filter { $0 & (1 << UInt64(e.child)) != 0 }.count
      return MeasuredRoute(
        parent: pipeline.stages[e.parent].name, child: pipeline.stages[e.child].name,
        fileProbability: e.probability,
        measuredProbability: parent.isEmpty ? .nan : Double(both) / Double(parent.count), parentVisits: parent.count)
    }
  }

  public func measuredHops(_ pipeline: PipelineSpec) -> [MeasuredHop] {
    let n = count
    let incoming = pipeline.incoming
    return pipeline.edges.map { e in
      var gaps: [Int64] = []
      for q in 0..<n where stageStarts[e.child * n + q] != .min && stageEnds[e.parent * n + q] != .min {
        // The child starts after the last of its visited parents: the hop is counted from that parent only.
        let latest = incoming[e.child].map { stageEnds[$0.parent * n + q] }.max()!
        guard latest == stageEnds[e.parent * n + q] else { continue }
        gaps.append(stageStarts[e.child * n + q] - latest)
      }
      gaps.sort()
      func at(_ p: Double) -> Double {
        gaps.isEmpty ? .nan : Milliseconds.of(gaps[Percentile(percent: p).rank(of: gaps.count) - 1])
      }
      return MeasuredHop(
        parent: pipeline.stages[e.parent].name, child: pipeline.stages[e.child].name, fileMs: pipeline.networkDelayMs,
        medianMs: at(50), p99Ms: at(99), queries: gaps.count)
    }
  }
}
