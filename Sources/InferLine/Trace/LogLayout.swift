import Foundation

/// The shape of a query log: its format and which columns (or JSON keys) hold what.
///
/// Found once from the header line (CSV/TSV) or the first object (JSON Lines), then used for every line.
public struct LogLayout: Sendable, Equatable {
  public enum Format: String, Codable, Sendable {
    case csv, tsv, jsonl
  }

  public var format: Format
  /// Field separator for CSV-like formats (`,`, tab, `;` or `|`).
  public var delimiter: UInt8
  /// Column names (CSV/TSV) or keys (JSON Lines) of the first line.
  public var columns: [String]
  /// Index into `columns` of the timestamp.
  public var timeColumn: Int
  public var pipelineColumn: Int?
  public var latencyColumn: Int?
  /// Column naming the stages a query visited (only when asked for).
  public var routeColumn: Int?
  /// Column of each query's size (tokens, pixels, items), for profiles that give latency by size.
  public var sizeColumn: Int? = nil
  /// The unit the timestamp column's name gives (`timestamp_ms`, `ts_us`, `arrival_time_ns`, `time_s`).
  public var unitFromName: TimeUnit? = nil
  /// Names of the columns read (timestamp, pipeline, latency, route, size) that the header repeats; the first is
  /// read.
  public var duplicateColumns: [String] = []

  /// Indices of the columns nothing reads (neither timestamp, pipeline, latency, route nor size), in order.
  public var ignoredColumnIndices: [Int] {
    let read = Set([timeColumn, pipelineColumn, latencyColumn, routeColumn, sizeColumn].compactMap { $0 })
    return columns.indices.filter { !read.contains($0) }
  }

  /// Column names recognised as the arrival timestamp, compared without case.
  public static let timeColumnNames = [
    "timestamp", "ts", "time", "arrival_time", "arrived_at", "arrival", "@timestamp", "datetime", "date_time",
    "request_time", "event_time", "start_time", "received_at", "created_at", "time_stamp", "t",
  ]
  /// Column names recognised as the pipeline name.
  public static let pipelineColumnNames = ["pipeline", "pipeline_name", "pipeline_id"]
  /// Column names recognised as an observed end-to-end latency in milliseconds.
  public static let latencyColumnNames = ["latency_ms", "latency", "duration_ms", "response_time_ms", "e2e_latency_ms"]
  /// Column names recognised as a query's size (what a profile's `size` buckets are measured in).
  public static let sizeColumnNames = ["size", "input_size", "query_size", "input_tokens", "tokens", "num_tokens"]

  /// Byte strings of the JSON keys, in `columns` order (JSON Lines only).
  var keyBytes: [[UInt8]] { columns.map { Array($0.utf8) } }

  /// Finds the layout from the first non-blank line of a log.
  /// - Throws: `InputError` naming the file and what to pass when the timestamp column cannot be found.
  public static func detect(
    firstLine: [UInt8], file: String, lineNumber: Int, options: LogReadOptions
  ) throws -> LogLayout {
    let format: Format
    let delimiter: UInt8
    let columns: [String]
    if firstLine.first == UInt8(ascii: "{") {
      format = .jsonl
      delimiter = UInt8(ascii: ",")
      guard let keys = JSONLineScanner.topLevelKeys(firstLine) else {
        throw InputError(
          file: file, line: lineNumber, "the first line starts like JSON but is not a JSON object",
          fix: "JSON Lines logs need one complete object per line")
      }
      columns = keys
    } else {
      delimiter = detectDelimiter(firstLine)
      format = delimiter == UInt8(ascii: "\t") ? .tsv : .csv
      columns = splitHeader(firstLine, delimiter: delimiter)
    }
    let lowered = columns.map { $0.lowercased() }
    func find(_ wanted: String?, _ defaults: [String], what: String, flag: String) throws -> Int? {
      if let wanted {
        if let i = columns.firstIndex(of: wanted) ?? lowered.firstIndex(of: wanted.lowercased()) { return i }
        throw InputError(
          file: file, line: lineNumber,
          "no \(what) column named '\(wanted)' (the \(format == .jsonl ? "keys" : "columns") are: \(columns.joined(separator: ", ")))",
          fix: "pass one of those names with \(flag)")
      }
      for name in defaults { if let i = lowered.firstIndex(of: name) { return i } }
      return nil
    }
    var unitFromName: TimeUnit? = nil
    var timeIndex = try find(options.timeColumn, timeColumnNames, what: "timestamp", flag: "--time-column")
    if timeIndex == nil {
      // A known name with a unit suffix: the name settles the unit too.
      for (i, name) in lowered.enumerated() {
        guard let cut = name.lastIndex(of: "_") else { continue }
        let base = String(name[..<cut]), suffix = String(name[name.index(after: cut)...])
        guard timeColumnNames.contains(base), let unit = TimeUnit(rawValue: suffix), unit != .relativeSeconds else {
          continue
        }
        timeIndex = i
        unitFromName = unit
        break
      }
    } else if let i = timeIndex, options.timeColumn != nil {
      let name = lowered[i]
      if let cut = name.lastIndex(of: "_"), let unit = TimeUnit(rawValue: String(name[name.index(after: cut)...])),
        unit != .relativeSeconds
      {
        unitFromName = unit
      }
    }
    guard let time = timeIndex else {
      // Show a bounded, terminal-safe list: a header can be a 10 MB line of anything.
      let shown = columns.prefix(10).map { c in TerminalText.safe(c.count > 40 ? String(c.prefix(40)) + "..." : c) }
      let listed = shown.joined(separator: ", ") + (columns.count > 10 ? " and \(columns.count - 10) more" : "")
      var parser = TimestampParser(unit: .seconds)
      let looksLikeData = columns.contains { parser.parse($0) != nil }
      // Column names are words (`timestamp`, `latency_ms`, `@timestamp`, `Arrival Time`): a first line that is not
      // made of them is another kind of file (a password file, a binary), and its content is not repeated.
      let looksLikeHeader = columns.allSatisfy(TerminalText.looksLikeName)
      let what = format == .jsonl ? "keys" : "columns"
      let expected =
        "expected one of: \(timeColumnNames.prefix(8).joined(separator: ", ")), ..., or one of them with a unit suffix such as timestamp_ms"
      throw InputError(
        file: file, line: lineNumber,
        looksLikeData
          ? "the first line looks like data, not a header: the log needs a header line naming its columns"
          : looksLikeHeader
            ? "no timestamp column found (the \(what) are: \(listed); \(expected))"
            : "no timestamp column found: the first line is not a header of column names (\(columns.count) field\(columns.count == 1 ? "" : "s") holding other characters), so this may not be a query log; \(expected)",
        fix: looksLikeData
          ? "add a header line, for example `timestamp`, as the first line"
          : looksLikeHeader
            ? "name the timestamp column with --time-column NAME"
            : "check that the file is a query log (CSV, TSV or JSON Lines with a header)")
    }
    let pipeline = try find(options.pipelineColumn, pipelineColumnNames, what: "pipeline", flag: "--pipeline-column")
    let latency = try find(options.latencyColumn, latencyColumnNames, what: "latency", flag: "--latency-column")
    let route =
      options.routeColumn == nil ? nil : try find(options.routeColumn, [], what: "route", flag: "--route-column")
    let size = try find(options.sizeColumn, sizeColumnNames, what: "size", flag: "--size-column")
    let duplicates = [time, pipeline, latency, route, size].compactMap { $0 }.filter { i in
      lowered.filter { $0 == lowered[i] }.count > 1
    }
    return LogLayout(
      format: format, delimiter: delimiter, columns: columns, timeColumn: time, pipelineColumn: pipeline,
      latencyColumn: latency, routeColumn: route, sizeColumn: size, unitFromName: unitFromName,
      duplicateColumns: duplicates.map { columns[$0] })
  }

  /// The most frequent of `,`, tab, `;` and `|` outside quotes; `,` when none occurs (a one-column log).
  static func detectDelimiter(_ line: [UInt8]) -> UInt8 {
    let candidates: [UInt8] = [0x2C, 0x09, 0x3B, 0x7C]
    var counts = [Int](repeating: 0, count: candidates.count)
    var quoted = false
    for byte in line {
      if byte == 0x22 { quoted.toggle() }
      if quoted { continue }
      if let i = candidates.firstIndex(of: byte) { counts[i] += 1 }
    }
    let best = counts.indices.max { counts[$0] < counts[$1] }!
    return counts[best] == 0 ? 0x2C : candidates[best]
  }

  /// Splits a header line into trimmed, unquoted names.
  static func splitHeader(_ line: [UInt8], delimiter: UInt8) -> [String] {
    var names: [String] = []
    line.withUnsafeBufferPointer { buffer in
      var fields = CSVFieldScanner(delimiter: delimiter)
      fields.reset(buffer.baseAddress!, start: 0, end: buffer.count)
      while let (s, e) = fields.next() {
        names.append(CSVFieldScanner.unquoted(buffer.baseAddress!, s, e))
      }
    }
    if let first = names.first, first.hasPrefix("\u{FEFF}") { names[0] = String(first.dropFirst()) }  // byte-order mark
    return names
  }
}

/// Splits one CSV/TSV record into fields. A field that starts with `"` runs to its closing quote (`""` inside is a
/// quote); quoted fields may hold the delimiter and line breaks (`CSVRecords` finds where a record ends).
/// - Complexity: O(length of the line); no allocation.
struct CSVFieldScanner {
  let delimiter: UInt8
  private var base: UnsafePointer<UInt8>? = nil
  private var position = 0
  private var end = 0
  private var done = true
  /// Set when a quoted field is not closed, or is followed by something other than the delimiter.
  private(set) var badQuote = false

  init(delimiter: UInt8) { self.delimiter = delimiter }

  mutating func reset(_ base: UnsafePointer<UInt8>, start: Int, end: Int) {
    self.base = base
    position = start
    self.end = end
    done = false
    badQuote = false
  }

  /// The next field's byte range `[start, end)` (quotes included), or nil after the last field.
  @inline(__always)
  mutating func next() -> (Int, Int)? {
    guard !done, let b = base else { return nil }
    let start = position
    var i = position
    if i < end, b[i] == 0x22 {
      i += 1
      while true {
        while i < end, b[i] != 0x22 { i += 1 }
        if i >= end {
          badQuote = true
          done = true
          return (start, end)
        }
        if i + 1 < end, b[i + 1] == 0x22 {
          i += 2
          continue
        }
        i += 1
        break
      }
      if i < end, b[i] != delimiter {
        badQuote = true
        done = true
        return (start, end)
      }
    } else {
      while i < end, b[i] != delimiter { i += 1 }
    }
    if i >= end {
      done = true
    } else {
      position = i + 1
    }
    return (start, i)
  }

  /// The field's text, trimmed, without surrounding quotes and with `""` as `"`.
  static func unquoted(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> String {
    var lo = s, hi = e
    while lo < hi, b[lo] == 0x20 || b[lo] == 0x09 { lo += 1 }
    while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x09 || b[hi - 1] == 0x0D { hi -= 1 }
    if hi - lo >= 2, b[lo] == 0x22, b[hi - 1] == 0x22 {
      let inner = String(decoding: UnsafeBufferPointer(start: b + lo + 1, count: hi - lo - 2), as: UTF8.self)
      return inner.replacingOccurrences(of: "\"\"", with: "\"")
    }
    return String(decoding: UnsafeBufferPointer(start: b + lo, count: hi - lo), as: UTF8.self)
  }
}

/// Reads the top-level members of one JSON object on one line, without building the object.
///
/// Values are returned as byte ranges: strings without their quotes (escapes left in place), other scalars as
/// written; nested objects and arrays are skipped.
/// - Complexity: O(length of the line).
enum JSONLineScanner {
  /// Calls `body(keyStart, keyEnd, valueStart, valueEnd, valueIsString)` for each member; false if not an object.
  @inline(__always)
  static func members(
    _ b: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
    _ body: (Int, Int, Int, Int, Bool) -> Void
  ) -> Bool {
    var i = start
    @inline(__always) func skipSpace() { while i < end, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0D { i += 1 } }
    /// Moves `i` past a string whose opening quote is at `i`; returns the inner range.
    @inline(__always) func string() -> (Int, Int)? {
      i += 1
      let s = i
      while i < end {
        let c = b[i]
        if c == 0x5C {
          i += 2
          continue
        }
        if c == 0x22 {
          i += 1
          return (s, i - 1)
        }
        i += 1
      }
      return nil
    }
    skipSpace()
    guard i < end, b[i] == 0x7B else { return false }
    i += 1
    skipSpace()
    if i < end, b[i] == 0x7D { return true }
    while i < end {
      skipSpace()
      guard i < end, b[i] == 0x22, let (ks, ke) = string() else { return false }
      skipSpace()
      guard i < end, b[i] == 0x3A else { return false }
      i += 1
      skipSpace()
      guard i < end else { return false }
      var vs = i, ve = i
      var isString = false
      switch b[i] {
      case 0x22:
        guard let (s, e) = string() else { return false }
        vs = s
        ve = e
        isString = true
      case 0x7B, 0x5B:
        var depth = 0
        while i < end {
          let c = b[i]
          if c == 0x22 {
            guard string() != nil else { return false }
            continue
          }
          if c == 0x7B || c == 0x5B { depth += 1 }
          if c == 0x7D || c == 0x5D {
            depth -= 1
            if depth == 0 {
              i += 1
              break
            }
          }
          i += 1
        }
        guard depth == 0 else { return false }
        ve = i
      default:
        while i < end, b[i] != 0x2C, b[i] != 0x7D, b[i] != 0x20 { i += 1 }
        ve = i
        guard ve > vs else { return false }
      }
      body(ks, ke, vs, ve, isString)
      skipSpace()
      guard i < end else { return false }
      if b[i] == 0x2C {
        i += 1
        continue
      }
      if b[i] == 0x7D {
        i += 1
        skipSpace()
        return i == end
      }
      return false
    }
    return false
  }

  /// The keys of a one-line JSON object, in order; nil when the line is not an object.
  static func topLevelKeys(_ line: [UInt8]) -> [String]? {
    line.withUnsafeBufferPointer { buffer in
      var keys: [String] = []
      let ok = members(buffer.baseAddress!, 0, buffer.count) { ks, ke, _, _, _ in
        keys.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[ks..<ke]), as: UTF8.self))
      }
      return ok ? keys : nil
    }
  }
}

/// Where CSV records end when a quoted field may hold line breaks (RFC 4180: an LLM prompt column, say). A quote
/// opens a quoted field only at the start of a field (as `CSVFieldScanner` reads it), `""` inside one is a quote,
/// and a line feed inside one belongs to the field.
enum CSVRecords {
  /// The most line breaks a quoted field may hold before the line that opened it is taken as malformed on its
  /// own: a stray quote must not swallow the rest of the log.
  static let maximumLineBreaksInField = 1_000

  enum End: Equatable {
    /// The record's terminating line feed (its index), and how many line feeds its quoted fields hold.
    case lineFeed(Int, inner: Int)
    /// The range ends inside the record: more input decides. At the end of the input the record runs to it, and
    /// `insideQuotes` says a quoted field was left open.
    case open(insideQuotes: Bool)
    /// A quoted field still open after `maximumLineBreaksInField` line breaks: the record is taken as its first
    /// line alone (ending at this line feed), malformed.
    case runaway(Int)
  }

  /// Where the record starting at `s` ends, looking no further than `e`.
  /// - Complexity: O(record bytes); one `memchr` pair when the line holds no quote.
  static func end(_ b: UnsafePointer<UInt8>, from s: Int, to e: Int, delimiter: UInt8) -> End {
    guard s < e else { return .open(insideQuotes: false) }
    let lineFeed = memchr(b + s, 0x0A, e - s).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - b }
    if memchr(b + s, 0x22, (lineFeed ?? e) - s) == nil {
      return lineFeed.map { .lineFeed($0, inner: 0) } ?? .open(insideQuotes: false)
    }
    var i = s
    var fieldStart = true
    var inner = 0
    var firstInner = -1
    while i < e {
      let c = b[i]
      if c == 0x0A { return .lineFeed(i, inner: inner) }
      if c == delimiter {
        fieldStart = true
        i += 1
        continue
      }
      guard c == 0x22, fieldStart else {
        fieldStart = false
        i += 1
        continue
      }
      i += 1  // inside a quoted field until its closing quote
      while true {
        guard i < e else { return .open(insideQuotes: true) }
        let d = b[i]
        if d == 0x22 {
          // A closing quote or the first of `""`: the next byte decides (at the end of the input, it closes).
          guard i + 1 < e else { return .open(insideQuotes: false) }
          if b[i + 1] == 0x22 {
            i += 2
            continue
          }
          i += 1
          break
        }
        if d == 0x0A {
          if firstInner < 0 { firstInner = i }
          inner += 1
          if inner > maximumLineBreaksInField { return .runaway(firstInner) }
        }
        i += 1
      }
      fieldStart = false
    }
    return .open(insideQuotes: false)
  }
}
