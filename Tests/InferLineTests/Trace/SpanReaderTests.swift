import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

/// Tracing spans in: the formats tracing systems write, the mapping of spans to stages, and what cannot be used,
/// counted with its reason.
@Suite struct SpanReaderTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The video-monitoring pipeline with detect's work recorded as spans named `ssd320.predict` (or, with
  /// `byAttribute`, stages named by the `model.stage` attribute).
  static func pipeline(in folder: TemporaryFolder, byAttribute: Bool = false) throws -> PipelineSpec {
    let text = """
      name: video-monitoring
      slo: {latency_ms: 400}
      network_delay_ms: 1
      \(byAttribute ? "span_attribute: model.stage" : "")
      stages:
        - {name: detect, model: ssd320\(byAttribute ? "" : ", span: ssd320.predict")}
        - {name: vehicle, model: resnet50}
        - {name: person, model: efficientnet-b0}
      edges:
        detect -> vehicle: 0.6
        detect -> person: 0.3
      """
    let (spec, diagnostics) = PipelineSpec.load(path: folder.write("pipeline.yaml", text))
    return try #require(spec, "\(diagnostics)")
  }

  /// Runs the real OpenTelemetry Python SDK (Scripts/otel-spans.py) and returns its folder and its schedule:
  /// per query, per stage name, (start, end) in ns.
  static func sdkSpans(queries: Int) throws -> (TemporaryFolder, [[String: (Int64, Int64)]]) {
    let folder = TemporaryFolder()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", root.appendingPathComponent("Scripts/otel-spans.py").path, folder.path("sdk"), "\(queries)",
    ]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    try #require(
      process.terminationStatus == 0,
      "the OpenTelemetry SDK did not run (make test's set-up installs opentelemetry-sdk): \(message)")
    var schedule = [[String: (Int64, Int64)]](repeating: [:], count: queries)
    let csv = try String(contentsOfFile: folder.path("sdk/expected.csv"), encoding: .utf8)
    for line in csv.split(separator: "\n").dropFirst() {
      let f = line.split(separator: ",")
      schedule[Int(f[0])!][String(f[1])] = (Int64(f[2])!, Int64(f[3])!)
    }
    return (folder, schedule)
  }

  static func expectSchedule(_ trace: SpanTrace, _ schedule: [[String: (Int64, Int64)]]) {
    #expect(trace.count == schedule.count)
    #expect(trace.reading.skippedTraces == 0 && trace.reading.malformedRecords == 0)
    let n = trace.count
    var mismatches = 0
    for q in 0..<min(n, schedule.count) {
      for (s, name) in trace.stageNames.enumerated() {
        let got =
          trace.stageStarts[s * n + q] == .min ? nil : (trace.stageStarts[s * n + q], trace.stageEnds[s * n + q])
        let want = schedule[q][name]
        if got?.0 != want?.0 || got?.1 != want?.1 { mismatches += 1 }
      }
    }
    #expect(mismatches == 0, "\(mismatches) stage spans differ from the schedule")
  }

  /// The SDK's console exporter output and its OTLP encoding (plain and gzip) give the stages and times the
  /// schedule made, to the nanosecond; stages found by span name or by attribute alike.
  @Test func theOpenTelemetrySDKsSpansAreReadAsScheduled() throws {
    let (folder, schedule) = try Self.sdkSpans(queries: 200)
    let pipeline = try Self.pipeline(in: folder)
    let console = try SpanTrace.read(paths: [folder.path("sdk/console.json")], pipeline: pipeline)
    #expect(console.reading.formats == ["console exporter": 580])
    Self.expectSchedule(console, schedule)
    let otlp = try SpanTrace.read(paths: [folder.path("sdk/otlp.jsonl")], pipeline: pipeline)
    #expect(otlp.reading.formats["OTLP JSON"] == 580)
    Self.expectSchedule(otlp, schedule)
    // The root spans mark no stage: counted by name.
    #expect(otlp.reading.unmappedNames == ["request": 200])
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: folder.path("sdk/otlp.jsonl"))))
    let gz = folder.write("otlp.jsonl.gz", bytes: try gzipped(bytes))
    Self.expectSchedule(try SpanTrace.read(paths: [gz], pipeline: pipeline), schedule)
    let byAttribute = try SpanTrace.read(
      paths: [folder.path("sdk/otlp.jsonl")], pipeline: try Self.pipeline(in: folder, byAttribute: true))
    Self.expectSchedule(byAttribute, schedule)
    // Routes and hops measured from the spans: 60% and 30% by the schedule, 1 ms hops.
    let routes = otlp.measuredRoutes(pipeline).map(\.measuredProbability)
    #expect(routes == [0.6, 0.3])
    let hops = otlp.measuredHops(pipeline).map(\.medianMs)
    #expect(hops == [1, 1])
  }

  /// Jaeger's JSON export: microseconds, CHILD_OF references, the process's service name.
  @Test func aJaegerExportIsRead() throws {
    let folder = TemporaryFolder()
    let jaeger = """
      {"data": [
        {"traceID": "a1", "spans": [
          {"traceID": "a1", "spanID": "r", "operationName": "request", "references": [], "startTime": 1700000000000000,
           "duration": 40000, "processID": "p1", "tags": []},
          {"traceID": "a1", "spanID": "d", "operationName": "ssd320.predict",
           "references": [{"refType": "CHILD_OF", "traceID": "a1", "spanID": "r"}], "startTime": 1700000000000100,
           "duration": 30000, "processID": "p1", "tags": [{"key": "model.stage", "type": "string", "value": "detect"}]},
          {"traceID": "a1", "spanID": "v", "operationName": "vehicle",
           "references": [{"refType": "CHILD_OF", "traceID": "a1", "spanID": "r"}], "startTime": 1700000000031100,
           "duration": 3000, "processID": "p2", "tags": [{"key": "model.stage", "type": "string", "value": "vehicle"}]}
        ], "processes": {"p1": {"serviceName": "gateway"}, "p2": {"serviceName": "classifier"}}}
      ]}
      """
    let path = folder.write("jaeger.json", jaeger)
    let reading = try SpanReader.read(paths: [path])
    #expect(reading.spans.map(\.service) == ["gateway", "gateway", "classifier"])
    #expect(reading.spans[1].parentID == "r")
    let trace = try SpanTrace.read(paths: [path], pipeline: try Self.pipeline(in: folder))
    #expect(trace.arrivals == [1_700_000_000_000_000_000])
    #expect(trace.visitedStages == [0b011])
    #expect(trace.stageStarts[1] == 1_700_000_000_031_100_000 && trace.stageEnds[1] == 1_700_000_000_034_100_000)
    #expect(trace.endToEndMs == [40])
  }

  /// Every kind of span or trace that cannot be used is counted with its reason, and the rest is read.
  @Test func whatCannotBeUsedIsCountedWithItsReason() throws {
    let folder = TemporaryFolder()
    func span(_ trace: String, _ id: String, _ parent: String, _ name: String, _ start: Int, _ end: Int) -> String {
      "{\"traceId\":\"\(trace)\",\"spanId\":\"\(id)\",\"parentSpanId\":\"\(parent)\",\"name\":\"\(name)\",\"startTimeUnixNano\":\"\(start)\",\"endTimeUnixNano\":\"\(end)\"}"
    }
    func line(_ spans: [String]) -> String {
      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[\(spans.joined(separator: ","))]}]}]}"
    }
    let t = 1_700_000_000_000_000_000
    let lines = [
      line([span("good", "r", "", "request", t, t + 40), span("good", "d", "r", "ssd320.predict", t + 1, t + 30)]),
      "not json at all",
      "{\"somethingElse\": 1}",
      line([span("backwards", "d", "", "ssd320.predict", t + 10, t + 5)]),
      line([
        span("twice", "d1", "", "ssd320.predict", t, t + 5), span("twice", "d2", "", "ssd320.predict", t + 6, t + 9),
      ]),
      line([span("partial", "v", "", "vehicle", t, t + 5)]),
      line([span("skewed", "d", "", "ssd320.predict", t, t + 10), span("skewed", "v", "d", "vehicle", t + 5, t + 12)]),
      line([
        span("orphan", "d", "gone", "ssd320.predict", t, t + 10), span("orphan", "x", "d", "cache.lookup", t, t + 1),
      ]),
      line([span("nostage", "x", "", "health.check", t, t + 1)]),
    ]
    let path = folder.write("spans.jsonl", lines.joined(separator: "\n"))
    let trace = try SpanTrace.read(paths: [path], pipeline: try Self.pipeline(in: folder))
    let counts = trace.reading
    #expect(trace.count == 2, "good and orphan")
    #expect(counts.malformedRecords == 2 && counts.malformedSpans == 1)
    #expect(counts.firstMalformed == "\(path):2: not JSON")
    #expect(counts.tracesWithRepeatedStage == 1)
    #expect(counts.partialTraces == 1)
    #expect(counts.skewedTraces == 1)
    #expect(counts.orphanSpans == 1)
    #expect(counts.tracesWithoutStages == 1)
    #expect(counts.unmappedNames == ["request": 1, "cache.lookup": 1, "health.check": 1])
    #expect(counts.traces == 6, "the span that ends before it starts makes no trace")
  }

  /// With `size_attribute`, each query's size is the attribute of its earliest span that has it (an int or a
  /// double attribute alike); a trace without it, or with a value that is not a non-negative number, is counted and
  /// kept with size NaN; the query log's view carries the sizes.
  @Test func aSizeAttributeGivesEachQueryItsSize() throws {
    let folder = TemporaryFolder()
    func span(_ trace: String, _ id: String, _ name: String, _ start: Int, size: String?) -> String {
      let attributes = size.map { ",\"attributes\":[{\"key\":\"llm.tokens\",\"value\":\($0)}]" } ?? ""
      return
        "{\"traceId\":\"\(trace)\",\"spanId\":\"\(id)\",\"name\":\"\(name)\",\"startTimeUnixNano\":\"\(start)\",\"endTimeUnixNano\":\"\(start + 10)\"\(attributes)}"
    }
    let t = 1_700_000_000_000_000_000
    let spans = [
      span("a", "1", "ssd320.predict", t, size: "{\"intValue\":\"300\"}"),
      span("b", "1", "ssd320.predict", t + 100, size: "{\"doubleValue\":12.5}"),
      span("c", "1", "ssd320.predict", t + 200, size: nil),
      span("d", "1", "ssd320.predict", t + 300, size: "{\"stringValue\":\"many\"}"),
    ]
    let text = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[\(spans.joined(separator: ","))]}]}]}"
    let path = folder.write("sized.jsonl", text)
    var spec = try Self.pipeline(in: folder)
    spec.sizeAttribute = "llm.tokens"
    let trace = try SpanTrace.read(paths: [path], pipeline: spec)
    let sizes = try #require(trace.querySizes)
    #expect(sizes.count == 4 && sizes[0] == 300 && sizes[1] == 12.5 && sizes[2].isNaN && sizes[3].isNaN)
    #expect(trace.reading.unreadableSizes == 2)
    #expect(trace.arrivalTrace.querySizes?.count == 4)
    spec.sizeAttribute = nil
    #expect(try SpanTrace.read(paths: [path], pipeline: spec).querySizes == nil)
    // The key is read from the pipeline file.
    let file = folder.write(
      "sized.yaml", "name: p\nslo: {latency_ms: 100}\nsize_attribute: llm.tokens\nstages:\n  - {name: a, model: m}\n")
    #expect(PipelineSpec.load(path: file).0?.sizeAttribute == "llm.tokens")
  }

  /// Files without a span, corrupt gzip and spans that mark no stage are errors that name the file and the fix.
  @Test func unusableFilesAreErrorsThatNameTheFile() throws {
    let folder = TemporaryFolder()
    let pipeline = try Self.pipeline(in: folder)
    let empty = folder.write("empty.json", "")
    #expect(throws: InputError.self) { try SpanTrace.read(paths: [empty], pipeline: pipeline) }
    do {
      _ = try SpanTrace.read(paths: [empty], pipeline: pipeline)
    } catch let error as InputError {
      #expect(error.file == empty && error.message.contains("no tracing span"))
    }
    let corrupt = folder.write("corrupt.json.gz", bytes: [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])
    #expect(throws: InputError.self) { try SpanTrace.read(paths: [corrupt], pipeline: pipeline) }
    let other = folder.write(
      "other.jsonl",
      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"1\",\"spanId\":\"1\",\"name\":\"GET /\",\"startTimeUnixNano\":\"5\",\"endTimeUnixNano\":\"9\"}]}]}]}"
    )
    do {
      _ = try SpanTrace.read(paths: [other], pipeline: pipeline)
      Issue.record("spans of no stage were accepted")
    } catch let error as InputError {
      #expect(error.message.contains("'GET /'") && (error.fix ?? "").contains("span_attribute"))
    }
  }

  /// Two stages may not claim one span name.
  @Test func aSpanNameMarksOneStage() throws {
    let folder = TemporaryFolder()
    let (spec, diagnostics) = PipelineSpec.load(
      path: folder.write(
        "p.yaml",
        """
        name: p
        slo: {latency_ms: 100}
        stages:
          - {name: a, model: ssd320, span: infer}
          - {name: b, model: resnet50, span: infer}
        """))
    #expect(spec == nil)
    #expect(diagnostics.contains { $0.line == 5 && $0.message.contains("span 'infer' already marks stage 'a'") })
  }

  /// The span reader's JSON parser against Foundation's on seeded random documents (nested objects and arrays,
  /// strings with escapes and non-ASCII, numbers, literals), and on malformed ones.
  @Test func theJSONParserAgreesWithFoundations() throws {
    var rng = SeededGenerator(seed: 11)
    func random(_ depth: Int) -> Any {
      switch rng.next() % (depth > 3 ? 4 : 6) {
      case 0: return ["a", "quote \" and \\", "line\nbreak\ttab", "é \u{1F600} \u{2028}", ""][Int(rng.next() % 5)]
      case 1: return Int64(bitPattern: rng.next()) >> Int64(rng.next() % 60)
      case 2: return rng.next() % 2 == 0
      case 3: return NSNull()
      case 4: return (0..<Int(rng.next() % 4)).map { _ in random(depth + 1) }
      default:
        var object: [String: Any] = [:]
        for k in 0..<Int(rng.next() % 4) { object["k\(k)\u{e9}"] = random(depth + 1) }
        return object
      }
    }
    func same(_ v: JSONValue, _ f: Any) -> Bool {
      switch v {
      case .object(let members):
        guard let d = f as? [String: Any], d.count == members.count else { return false }
        return members.allSatisfy { m in d[m.key].map { same(m.value, $0) } ?? false }
      case .array(let items):
        guard let a = f as? [Any], a.count == items.count else { return false }
        return zip(items, a).allSatisfy { same($0, $1) }
      case .string(let s): return (f as? String) == s
      case .number(let n): return (f as? NSNumber).map { Int64(n) == $0.int64Value } ?? false
      case .bool(let b): return (f as? NSNumber).map { $0.boolValue == b && "\($0)" == (b ? "1" : "0") } ?? false
      case .null: return f is NSNull
      }
    }
    for _ in 0..<300 {
      let document = ["r": random(0)]
      let data = try JSONSerialization.data(withJSONObject: document)
      let parsed = try JSONValue.parse(ArraySlice(Array(data)))
      let foundation = try JSONSerialization.jsonObject(with: data)
      #expect(same(parsed, foundation), "\(String(decoding: data, as: UTF8.self))")
    }
    for bad in ["{", "{\"a\":}", "[1,]", "\"open", "{\"a\" 1}", "tru", "[1 2]", "{\"\\x\":1}", "01x"] {
      #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(ArraySlice(Array(bad.utf8))) }
    }
    #expect(try JSONValue.parse(ArraySlice(Array("\"\\ud83d\\ude00\"".utf8))) == .string("\u{1F600}"))
  }
}
