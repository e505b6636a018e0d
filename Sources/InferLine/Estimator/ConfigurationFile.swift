import Foundation
internal import Yams

extension PipelineConfiguration {
  static let stageKeys = ["hardware", "batch_size", "replicas"]

  /// Reads a configuration file: for every stage of `pipeline`, its hardware, batch size and replicas.
  ///
  /// ```yaml
  /// stages:
  ///   detect: {hardware: T4, batch_size: 4, replicas: 3}
  ///   vehicle: {hardware: L4, batch_size: 8, replicas: 1}
  /// ```
  /// - Throws: `DiagnosticsError` listing every problem (unknown or missing stages, bad values, unknown keys).
  public static func load(path: String, pipeline: PipelineSpec) throws -> PipelineConfiguration {
    var sink = DiagnosticSink(file: path)
    guard let document = YAMLDocument.load(path: path, sink: &sink),
      let top = YAMLMapping(document.root, what: "a configuration file", sink: &sink)
    else { throw DiagnosticsError(diagnostics: sink.items) }
    top.checkKeys(["stages", "name", "description"], in: "the configuration", sink: &sink)
    var found: [String: StageConfiguration] = [:]
    if let node = top["stages"], let stages = YAMLMapping(node, what: "'stages'", sink: &sink) {
      for pair in stages.pairs {
        guard pipeline.stageIndex(named: pair.key) != nil else {
          sink.error(
            pair.keyLine,
            "pipeline '\(pipeline.name)' has no stage '\(pair.key)'\(suggestion(for: pair.key, among: pipeline.stages.map(\.name)))"
          )
          continue
        }
        guard let map = YAMLMapping(pair.value, what: "stage '\(pair.key)'", sink: &sink) else { continue }
        map.checkKeys(stageKeys, in: "stage '\(pair.key)'", sink: &sink)
        let what = "stage '\(pair.key)'"
        let hardware = map.string("hardware", required: true, in: what, sink: &sink)
        let batch = map.number("batch_size", required: true, in: what, sink: &sink)
        let replicas = map.number("replicas", required: true, in: what, sink: &sink)
        if let (b, line) = batch, b < 1 || b != b.rounded() {
          sink.error(line, "\(what): batch_size must be a whole number of at least 1 (got \(b))")
          continue
        }
        if let (r, line) = replicas, r < 0 || r != r.rounded() {
          sink.error(line, "\(what): replicas must be a whole number, 0 or more (got \(r))")
          continue
        }
        guard let hardware, let batch, let replicas else { continue }
        found[pair.key] = StageConfiguration(hardware: hardware, batchSize: Int(batch.0), replicas: Int(replicas.0))
      }
    } else if top["stages"] == nil {
      sink.error(top.line, "the configuration has no 'stages'")
    }
    for stage in pipeline.stages where found[stage.name] == nil && !sink.hasErrors {
      sink.error(top["stages"]?.line, "stage '\(stage.name)' has no configuration (hardware, batch_size, replicas)")
    }
    guard !sink.hasErrors else { throw DiagnosticsError(diagnostics: sink.items) }
    return PipelineConfiguration(stages: pipeline.stages.map { found[$0.name]! })
  }
}

/// Routes given instead of drawn: one line per query, in arrival order, a `0` or `1` per edge in the pipeline's
/// edge order (`0110`, or separated: `0,1,1,0`, `0 1 1 0`).
public enum RoutesFile {
  /// - Returns: one edge mask per query (bit k for edge k).
  /// - Throws: `InputError` naming the line for a wrong count of edges or characters other than 0 and 1, and the
  ///   file when the number of lines is not the number of queries.
  public static func load(path: String, edgeCount: Int, queryCount: Int) throws -> [UInt64] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError(file: path, "cannot read the routes file", fix: "check the path")
    }
    var masks: [UInt64] = []
    masks.reserveCapacity(queryCount)
    var lineNumber = 0
    for raw in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let digits = raw.filter { $0 != "," && $0 != " " && $0 != "\t" && $0 != "\r" }
      if digits.isEmpty { continue }
      guard digits.count == edgeCount, digits.allSatisfy({ $0 == "0" || $0 == "1" }) else {
        throw InputError(
          file: path, line: lineNumber, "a route needs \(edgeCount) digits, 0 or 1, one per edge (got '\(raw)')",
          fix: "write one line per query with a 0 or 1 for each edge, in the pipeline's edge order")
      }
      var mask: UInt64 = 0
      for (k, c) in digits.enumerated() where c == "1" { mask |= 1 << UInt64(k) }
      masks.append(mask)
    }
    guard masks.count == queryCount else {
      throw InputError(
        file: path, "the file gives \(masks.count) routes for \(queryCount) queries",
        fix: "give one route per query of the trace, in arrival order")
    }
    return masks
  }
}
