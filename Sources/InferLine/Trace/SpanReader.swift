import Foundation

/// One tracing span, whatever format it was read from.
public struct Span: Sendable, Equatable {
  /// The trace (one query) and the span's own id, as the file spells them (hex or base64: only compared).
  public var traceID: String
  public var spanID: String
  /// Nil for a root span.
  public var parentID: String?
  public var name: String
  /// Nanoseconds since the epoch.
  public var start: Int64
  public var end: Int64
  /// Attributes with scalar values, as text.
  public var attributes: [String: String]
  /// The service that recorded the span (`service.name`), when given.
  public var service: String?
  /// The replica that recorded it (`service.instance.id`, a resource attribute, or a span attribute), when given.
  public var instance: String? = nil
  /// Line of the record the span came from, 1-based.
  public var line: Int
}

/// Reads tracing spans from the files tracing systems write:
///
/// - **OTLP JSON**, as the OpenTelemetry Collector's file exporter writes it: one `ExportTraceServiceRequest`
///   (`{"resourceSpans": [...]}`) per line;
/// - **Jaeger's JSON export** (`{"data": [{"traceID": ..., "spans": [...], "processes": {...}}]}`);
/// - the **OpenTelemetry SDKs' console exporter** (one JSON object per span, `{"name", "context": {"trace_id",
///   "span_id"}, "parent_id", "start_time", "end_time", ...}`, as Python's `ConsoleSpanExporter` prints them).
///
/// Any of them gzip-compressed. A file is a sequence of JSON values (one per line or pretty-printed); each value's
/// format is recognised by its keys. Values that are not JSON or not spans are counted with their first line
/// (`Reading`), never dropped silently. - Complexity: O(bytes); the whole file is held in memory.
public enum SpanReader {
  /// What was read from the files, and what could not be.
  public struct Reading: Sendable {
    public var spans: [Span] = []
    /// Per format name ("OTLP JSON", "Jaeger JSON", "console exporter"), records read.
    public var formats: [String: Int] = [:]
    /// JSON values that were not spans of a known format or not JSON at all, with where the first one was and why.
    public var malformedRecords = 0
    public var firstMalformed: (file: String, line: Int, reason: String)? = nil
    /// Spans without a usable id, name or times (an end before the start among them), with the first's place.
    public var malformedSpans = 0
    public var firstMalformedSpan: (file: String, line: Int, reason: String)? = nil
    public var files: [String] = []

    public init() {}

    mutating func malformed(_ file: String, _ line: Int, _ reason: String) {
      malformedRecords += 1
      if firstMalformed == nil { firstMalformed = (file, line, reason) }
    }
    mutating func badSpan(_ file: String, _ line: Int, _ reason: String) {
      malformedSpans += 1
      if firstMalformedSpan == nil { firstMalformedSpan = (file, line, reason) }
    }
  }

  /// Reads every file (a path, or `-` for standard input).
  /// - Throws: `InputError` for a file that cannot be read, is corrupt gzip, or holds no span at all.
  public static func read(paths: [String]) throws -> Reading {
    var reading = Reading()
    for path in paths {
      let before = reading.spans.count
      let source = try ByteSource(path: path)
      var bytes: [UInt8] = []
      var block = [UInt8](repeating: 0, count: 1 << 20)
      while true {
        let n = try block.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { break }
        bytes.append(contentsOf: block[0..<n])
      }
      read(bytes: bytes, file: path, into: &reading)
      reading.files.append(path)
      if reading.spans.count == before {
        var why = "holds no tracing span"
        if let m = reading.firstMalformed, m.file == path { why += " (line \(m.line): \(m.reason))" }
        throw InputError(
          file: path, why,
          fix:
            "give the OpenTelemetry Collector's file exporter output (OTLP JSON), a Jaeger JSON export or an SDK's console exporter output"
        )
      }
    }
    return reading
  }

  /// Reads spans from bytes already in memory, as from a file named `file`.
  public static func read(bytes: [UInt8], file: String, into reading: inout Reading) {
    for (range, line) in topLevelValues(bytes) {
      guard let value = try? JSONValue.parse(bytes[range]) else {
        reading.malformed(file, line, "not JSON")
        continue
      }
      // A JSON array of records (an export saved as one array) is read item by item.
      for record in value.array ?? [value] {
        guard record.isObject else {
          reading.malformed(file, line, "not a JSON object")
          continue
        }
        if let resourceSpans = record["resourceSpans"]?.array {
          reading.formats["OTLP JSON", default: 0] += 1
          otlp(resourceSpans, file: file, line: line, into: &reading)
        } else if let data = record["data"]?.array {
          reading.formats["Jaeger JSON", default: 0] += 1
          jaeger(data, file: file, line: line, into: &reading)
        } else if record["context"]?.isObject == true, record["name"] != nil {
          reading.formats["console exporter", default: 0] += 1
          console(record, file: file, line: line, into: &reading)
        } else {
          reading.malformed(
            file, line,
            "a JSON object with none of 'resourceSpans' (OTLP), 'data' (Jaeger) or 'context' (console exporter)")
        }
      }
    }
  }

  /// The byte ranges of the top-level JSON values in `bytes` and the line each starts on: a scan that follows
  /// strings and nesting, so one value per line and pretty-printed values alike are split where they end.
  static func topLevelValues(_ bytes: [UInt8]) -> [(Range<Int>, Int)] {
    var result: [(Range<Int>, Int)] = []
    var depth = 0, inString = false, escaped = false
    var start = -1, startLine = 1, line = 1
    var bare = false
    for (i, b) in bytes.enumerated() {
      if start < 0 { bare = false }
      if b == 0x0A { line += 1 }
      if inString {
        if escaped {
          escaped = false
        } else if b == 0x5C {
          escaped = true
        } else if b == 0x22 {
          inString = false
        }
        continue
      }
      switch b {
      case 0x22:
        inString = true
        if start < 0 { (start, startLine) = (i, line) }
      case 0x7B, 0x5B:  // { [
        if start < 0 { (start, startLine) = (i, line) }
        depth += 1
      case 0x7D, 0x5D:  // } ]
        depth -= 1
        if depth <= 0 {
          if start >= 0 { result.append((start..<(i + 1), startLine)) }
          start = -1
          depth = 0
        }
      case 0x20, 0x09, 0x0A, 0x0D, 0x2C:
        // Between values: whitespace, or a comma (a JSON array's items unwrapped). Text that is not JSON runs to
        // the end of its line, one record.
        if depth == 0 && start >= 0 && (b == 0x0A || !bare) {
          result.append((start..<i, startLine))
          start = -1
        }
      default:
        if start < 0 {
          (start, startLine) = (i, line)
          bare = true
        }
      }
    }
    if start >= 0 { result.append((start..<bytes.count, startLine)) }
    return result
  }

  /// A scalar attribute value as text: OTLP's `{"stringValue": ...}` and the like, or a JSON scalar.
  static func text(_ value: JSONValue?) -> String? {
    guard let value else { return nil }
    if value.isObject {
      for key in ["stringValue", "intValue", "doubleValue", "boolValue"] {
        if let v = value[key] { return v.text }
      }
      return nil
    }
    return value.text
  }

  /// OTLP's attribute list, `[{"key": ..., "value": {...}}]`, with scalar values.
  static func attributes(_ list: JSONValue?) -> [String: String] {
    var result: [String: String] = [:]
    for item in list?.array ?? [] {
      guard let key = item["key"]?.string, let v = text(item["value"]) else { continue }
      result[key] = v
    }
    return result
  }

  static func otlp(_ resourceSpans: [JSONValue], file: String, line: Int, into reading: inout Reading) {
    for resource in resourceSpans {
      let resourceAttributes = attributes(resource["resource"]?["attributes"])
      let service = resourceAttributes["service.name"]
      let instance = resourceAttributes["service.instance.id"]
      let scopes = (resource["scopeSpans"]?.array ?? []) + (resource["instrumentationLibrarySpans"]?.array ?? [])
      for scope in scopes {
        for s in scope["spans"]?.array ?? [] {
          let parent = s["parentSpanId"]?.string.flatMap { $0.isEmpty ? nil : $0 }
          add(
            trace: s["traceId"]?.string, span: s["spanId"]?.string, parent: parent, name: s["name"]?.string,
            start: s["startTimeUnixNano"]?.integer, end: s["endTimeUnixNano"]?.integer,
            attributes: attributes(s["attributes"]), service: service, instance: instance, file: file, line: line,
            into: &reading)
        }
      }
    }
  }

  static func jaeger(_ traces: [JSONValue], file: String, line: Int, into reading: inout Reading) {
    for trace in traces {
      let processes = trace["processes"]
      for s in trace["spans"]?.array ?? [] {
        let parent = (s["references"]?.array ?? []).first { $0["refType"]?.string == "CHILD_OF" }?["spanID"]?.string
        var tags: [String: String] = [:]
        for tag in s["tags"]?.array ?? [] {
          if let key = tag["key"]?.string, let v = tag["value"]?.text { tags[key] = v }
        }
        let process = s["processID"]?.string.flatMap { processes?[$0] }
        let service = process?["serviceName"]?.string
        let instance = (process?["tags"]?.array ?? []).first { $0["key"]?.string == "service.instance.id" }?["value"]?
          .text
        let start = s["startTime"]?.integer, duration = s["duration"]?.integer
        add(
          trace: s["traceID"]?.string ?? trace["traceID"]?.string, span: s["spanID"]?.string, parent: parent,
          name: s["operationName"]?.string, start: start.map { $0 &* 1000 },
          end: start.flatMap { s in duration.map { (s &+ $0) &* 1000 } }, attributes: tags, service: service,
          instance: instance, file: file, line: line, into: &reading)
      }
    }
  }

  static func console(_ s: JSONValue, file: String, line: Int, into reading: inout Reading) {
    var parser = TimestampParser(unit: .seconds)
    let start = s["start_time"]?.string.flatMap { parser.parse($0) }
    let end = s["end_time"]?.string.flatMap { parser.parse($0) }
    var attributes: [String: String] = [:]
    if case .object(let members)? = s["attributes"] {
      for (key, value) in members { attributes[key] = value.text }
    }
    add(
      trace: s["context"]?["trace_id"]?.string, span: s["context"]?["span_id"]?.string,
      parent: s["parent_id"]?.string, name: s["name"]?.string, start: start, end: end, attributes: attributes,
      service: s["resource"]?["attributes"]?["service.name"]?.string,
      instance: s["resource"]?["attributes"]?["service.instance.id"]?.text, file: file, line: line, into: &reading)
  }

  static func add(
    trace: String?, span: String?, parent: String?, name: String?, start: Int64?, end: Int64?,
    attributes: [String: String], service: String?, instance: String? = nil, file: String, line: Int,
    into reading: inout Reading
  ) {
    guard let trace, !trace.isEmpty, let span, !span.isEmpty else {
      reading.badSpan(file, line, "a span without a trace id or a span id")
      return
    }
    guard let name else {
      reading.badSpan(file, line, "a span without a name")
      return
    }
    guard let start, let end, start > 0 else {
      reading.badSpan(file, line, "span '\(name)' without readable start and end times")
      return
    }
    guard end >= start else {
      reading.badSpan(file, line, "span '\(name)' ends before it starts")
      return
    }
    reading.spans.append(
      Span(
        traceID: trace, spanID: span, parentID: parent, name: name, start: start, end: end, attributes: attributes,
        service: service, instance: instance ?? attributes["service.instance.id"], line: line))
  }
}
