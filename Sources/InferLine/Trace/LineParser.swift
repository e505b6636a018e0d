import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A growable column of plain values for one parser task, reused block after block.
///
/// Appending skips what `Array.append` must check (uniqueness), which shows on ten million lines.
final class ScratchColumn<Element: BitwiseCopyable>: @unchecked Sendable {
  private(set) var base: UnsafeMutablePointer<Element>
  private(set) var count = 0
  private var capacity: Int

  init() {
    capacity = 1024
    base = .allocate(capacity: capacity)
  }

  deinit { base.deallocate() }

  @inline(__always)
  func append(_ value: Element) {
    if _slowPath(count == capacity) { grow(to: capacity * 2) }
    base[count] = value
    count &+= 1
  }

  func reserve(_ wanted: Int) { if wanted > capacity { grow(to: wanted) } }

  private func grow(to wanted: Int) {
    let bigger = UnsafeMutablePointer<Element>.allocate(capacity: wanted)
    bigger.update(from: base, count: count)
    base.deallocate()
    base = bigger
    capacity = wanted
  }

  func removeAll() { count = 0 }

  var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }
}

/// What one parser task found in its share of a block.
struct ParsedLines: Sendable {
  var times = ScratchColumn<Int64>()
  /// Local pipeline index per arrival (only with a pipeline column); names in `pipelineNames`.
  var pipelineIDs = ScratchColumn<UInt16>()
  var pipelineNames: [[UInt8]] = []
  var latencies = ScratchColumn<Float>()
  /// Stages visited, one bit per stage (only with a route column).
  var routes = ScratchColumn<UInt64>()
  /// Each query's size (only with a size column); NaN where unreadable.
  var sizes = ScratchColumn<Float>()
  /// Lines seen (blank and malformed included).
  var lines = 0
  var blank = 0
  var malformed = 0
  /// The first malformed lines, numbered from 0 within this share.
  var skipped: [SkippedLine] = []
  var unreadableLatencies = 0
  var unreadableSizes = 0
  /// Timestamps read under a convention that changed or settled their value (`TimestampAdjustment`).
  var adjusted = AdjustedTimestampCounts()

  /// Empties the result, keeping the arrays' capacity.
  mutating func reset() {
    times.removeAll()
    pipelineIDs.removeAll()
    pipelineNames.removeAll()
    latencies.removeAll()
    routes.removeAll()
    sizes.removeAll()
    lines = 0
    blank = 0
    malformed = 0
    skipped.removeAll()
    unreadableLatencies = 0
    unreadableSizes = 0
    adjusted = AdjustedTimestampCounts()
  }
}

/// Parses the lines of a byte range into arrivals, using a fixed `LogLayout`.
/// - Complexity: O(bytes); allocation only for the result arrays.
struct LineParser: Sendable {
  let layout: LogLayout
  var timestamps: TimestampParser
  let keepExamples: Int
  private let keys: [[UInt8]]
  private let lastNeeded: Int

  /// Stage names for the route column.
  var routeStages: [String] = []

  init(layout: LogLayout, timestamps: TimestampParser, keepExamples: Int) {
    self.layout = layout
    self.timestamps = timestamps
    self.keepExamples = keepExamples
    keys = layout.keyBytes
    lastNeeded = max(
      layout.timeColumn, layout.pipelineColumn ?? 0, layout.latencyColumn ?? 0, layout.routeColumn ?? 0,
      layout.sizeColumn ?? 0)
  }

  /// Byte ranges of the fields a line needs; nil entries for fields it lacks.
  struct Fields {
    var time: (Int, Int)?
    var pipeline: (Int, Int)?
    var pipelineIsJSONString = false
    var latency: (Int, Int)?
    var route: (Int, Int)?
    var size: (Int, Int)?
    var fieldCount = 0
    var badSyntax = false
  }

  @inline(__always)
  mutating func fields(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Fields {
    var f = Fields()
    if layout.format == .jsonl {
      let timeKey = layout.timeColumn, pipeKey = layout.pipelineColumn ?? -1, latKey = layout.latencyColumn ?? -1
      let routeKey = layout.routeColumn ?? -1, sizeKey = layout.sizeColumn ?? -1
      let ok = keys.withUnsafeBufferPointer { keys in
        JSONLineScanner.members(b, s, e) { ks, ke, vs, ve, isString in
          f.fieldCount += 1
          func matches(_ k: Int) -> Bool {
            guard k >= 0 else { return false }
            let key = keys[k]
            guard key.count == ke - ks else { return false }
            return key.withUnsafeBufferPointer { memcmp($0.baseAddress!, b + ks, key.count) == 0 }
          }
          if f.time == nil, matches(timeKey) {
            f.time = (vs, ve)
          } else if f.pipeline == nil, matches(pipeKey) {
            f.pipeline = (vs, ve)
            f.pipelineIsJSONString = isString
          } else if f.latency == nil, matches(latKey) {
            f.latency = (vs, ve)
          } else if f.route == nil, matches(routeKey) {
            f.route = (vs, ve)
          } else if f.size == nil, matches(sizeKey) {
            f.size = (vs, ve)
          }
        }
      }
      f.badSyntax = !ok
      return f
    }
    var scanner = CSVFieldScanner(delimiter: layout.delimiter)
    scanner.reset(b, start: s, end: e)
    var index = 0
    while index <= lastNeeded, let range = scanner.next() {
      if index == layout.timeColumn { f.time = range }
      if index == layout.pipelineColumn { f.pipeline = range }
      if index == layout.latencyColumn { f.latency = range }
      if index == layout.routeColumn { f.route = range }
      if index == layout.sizeColumn { f.size = range }
      index += 1
    }
    f.fieldCount = index
    f.badSyntax = scanner.badQuote
    return f
  }

  /// The timestamp field's byte range of one line, if it has one.
  mutating func timeField(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> (Int, Int)? {
    var end = e
    if end > s, b[end - 1] == 0x0D { end -= 1 }
    return fields(b, s, end).time
  }

  /// Line feeds inside the current record's quoted fields (CSV): its first line is `result.lines - 1 - this`.
  private var innerLines = 0

  private func skip(_ result: inout ParsedLines, _ reason: @autoclosure () -> String) {
    result.malformed += 1
    if result.skipped.count < keepExamples {
      result.skipped.append(SkippedLine(line: result.lines - 1 - innerLines, reason: reason()))
    }
  }

  /// Parses the lines in `[start, end)` of `b`.
  mutating func parse(
    _ b: UnsafePointer<UInt8>, _ start: Int, _ end: Int, endsInput: Bool = true
  ) -> ParsedLines {
    var result = ParsedLines()
    parse(b, start, end, into: &result, endsInput: endsInput)
    return result
  }

  /// Parses the lines in `[start, end)` of `b` into `result`, reusing its arrays' memory.
  /// - Parameter endsInput: `end` is the end of the input. Otherwise `end` is a record boundary the reader's walk
  ///   found (`ByteBlock.csvRecords`), so a quoted field still open there was a runaway in that walk (it saw past
  ///   `end`): its record is its first line alone, malformed, as it is when the whole input is parsed at once.
  mutating func parse(
    _ b: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into result: inout ParsedLines, endsInput: Bool = true
  ) {
    result.reset()
    let estimate = (end - start) / 16 + 16
    result.times.reserve(estimate)
    let hasPipeline = layout.pipelineColumn != nil
    let hasLatency = layout.latencyColumn != nil
    if hasPipeline { result.pipelineIDs.reserve(estimate) }
    if hasLatency { result.latencies.reserve(estimate) }
    var lastPipeline: (Int, Int, UInt16)? = nil
    var position = start
    // CSV whose quoted fields may hold line breaks: records, not lines (only where a quote appears at all).
    let records = layout.format != .jsonl && memchr(b + start, 0x22, end - start) != nil
    while position < end {
      let lineEnd: Int
      var runaway = false
      var unclosed = false
      innerLines = 0
      if records {
        switch CSVRecords.end(b, from: position, to: end, delimiter: layout.delimiter) {
        case .lineFeed(let lf, let inner):
          lineEnd = lf
          innerLines = inner
        case .open(let insideQuotes):
          if insideQuotes, !endsInput, let lf = memchr(b + position, 0x0A, end - position) {
            lineEnd = UnsafePointer(lf.assumingMemoryBound(to: UInt8.self)) - b
            runaway = true
          } else {
            lineEnd = end
            innerLines = Self.lineFeeds(b, position, end)
            unclosed = insideQuotes
          }
        case .runaway(let lf):
          lineEnd = lf
          runaway = true
        }
      } else {
        let found = memchr(b + position, 0x0A, end - position)
        lineEnd = found.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - b } ?? end
      }
      var contentEnd = lineEnd
      if contentEnd > position, b[contentEnd - 1] == 0x0D { contentEnd -= 1 }
      let s = position
      position = lineEnd + 1
      result.lines += 1 + innerLines
      if _slowPath(runaway) {
        skip(
          &result,
          "a quoted field opened on this line is not closed (a stray '\"'? a field may span at most \(CSVRecords.maximumLineBreaksInField) lines)"
        )
        continue
      }
      if _slowPath(unclosed) {
        skip(
          &result,
          "a quoted field opened on this line is not closed (a stray '\"'? a field may span at most \(CSVRecords.maximumLineBreaksInField) lines)"
        )
        continue
      }
      var blank = true
      var i = s
      while i < contentEnd {  // usually ends at the first byte
        if b[i] != 0x20 && b[i] != 0x09 {
          blank = false
          break
        }
        i += 1
      }
      if _slowPath(blank) {
        result.blank += 1
        continue
      }
      let f = fields(b, s, contentEnd)
      if f.badSyntax {
        skip(&result, layout.format == .jsonl ? "not a JSON object on one line" : "unbalanced quotes")
        continue
      }
      guard let time = f.time else {
        let name = layout.columns[layout.timeColumn]
        skip(
          &result,
          layout.format == .jsonl
            ? "no '\(name)' key" : "\(f.fieldCount) field\(f.fieldCount == 1 ? "" : "s"), no '\(name)' column")
        continue
      }
      guard let t = timestamps.parse(b + time.0, count: time.1 - time.0) else {
        let text = String(
          decoding: UnsafeBufferPointer(start: b + time.0, count: min(time.1 - time.0, 40)), as: UTF8.self)
        skip(&result, "\(timestamps.problem.rawValue): '\(text)'")
        continue
      }
      let adjustment = timestamps.adjustment
      var pipelineID: UInt16 = 0
      if hasPipeline {
        guard var p = f.pipeline else {
          skip(&result, "no '\(layout.columns[layout.pipelineColumn!])' field")
          continue
        }
        while p.0 < p.1, b[p.0] == 0x20 { p.0 += 1 }
        while p.1 > p.0, b[p.1 - 1] == 0x20 { p.1 -= 1 }
        if !f.pipelineIsJSONString, p.1 - p.0 >= 2, b[p.0] == 0x22, b[p.1 - 1] == 0x22 {
          p.0 += 1
          p.1 -= 1
        }
        guard p.1 > p.0 else {
          skip(&result, "empty pipeline name")
          continue
        }
        if let last = lastPipeline, Self.equalBytes(b, last.0, last.1, p.0, p.1) {
          pipelineID = last.2
        } else {
          let name = Self.decodedName(b, p.0, p.1, jsonString: f.pipelineIsJSONString)
          if let known = result.pipelineNames.firstIndex(of: name) {
            pipelineID = UInt16(known)
          } else {
            guard result.pipelineNames.count < Int(UInt16.max) else {
              skip(&result, "more than 65535 distinct pipeline names")
              continue
            }
            pipelineID = UInt16(result.pipelineNames.count)
            result.pipelineNames.append(name)
          }
          lastPipeline = (p.0, p.1, pipelineID)
        }
      }
      var visited: UInt64 = 0
      if layout.routeColumn != nil {
        guard let r = f.route else {
          skip(&result, "no '\(layout.columns[layout.routeColumn!])' field")
          continue
        }
        switch Self.stageMask(b, r.0, r.1, stages: routeStages) {
        case .success(let mask): visited = mask
        case .failure(let problem):
          skip(&result, problem.description)
          continue
        }
      }
      if _slowPath(adjustment != nil) { result.adjusted.note(adjustment!, line: result.lines - 1 - innerLines) }
      result.times.append(t)
      if layout.routeColumn != nil { result.routes.append(visited) }
      if hasPipeline { result.pipelineIDs.append(pipelineID) }
      if hasLatency {
        var value = Float.nan
        if let l = f.latency { value = Self.parseDecimal(b, l.0, l.1) }
        if value.isNaN { result.unreadableLatencies += 1 }
        result.latencies.append(value)
      }
      if layout.sizeColumn != nil {
        var value = Float.nan
        if let z = f.size { value = Self.parseDecimal(b, z.0, z.1) }
        if !(value >= 0) || value.isInfinite {
          value = .nan
          result.unreadableSizes += 1
        }
        result.sizes.append(value)
      }
    }
  }

  /// Line feeds in `[s, e)`.
  static func lineFeeds(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Int {
    var n = 0
    for i in s..<e where b[i] == 0x0A { n += 1 }
    return n
  }

  /// A pipeline name's bytes with CSV (`""`) or JSON (`\"`, `\\`, `\n`, `\u00e9`, ...) escapes resolved.
  static func decodedName(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int, jsonString: Bool) -> [UInt8] {
    let raw = Array(UnsafeBufferPointer(start: b + s, count: e - s))
    if jsonString {
      guard raw.contains(0x5C) else { return raw }
      let quoted = "\"" + String(decoding: raw, as: UTF8.self) + "\""
      if let data = quoted.data(using: .utf8),
        let text = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? String
      {
        return Array(text.utf8)
      }
      return raw
    }
    guard raw.contains(0x22) else { return raw }
    return Array(String(decoding: raw, as: UTF8.self).replacingOccurrences(of: "\"\"", with: "\"").utf8)
  }

  struct RouteProblem: Error, CustomStringConvertible {
    var description: String
  }

  /// The stages a route field names (`detect|vehicle`, `detect;vehicle`, `detect vehicle`, `detect+vehicle`), as a
  /// bit mask over `stages`.
  static func stageMask(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int, stages: [String]) -> Result<UInt64, RouteProblem>
  {
    var text = String(decoding: UnsafeBufferPointer(start: b + s, count: e - s), as: UTF8.self)
    text = text.trimmingCharacters(in: CharacterSet(charactersIn: "\" []"))
    let names = text.split { "|;+ ,".contains($0) }.map(String.init)
    guard !names.isEmpty else { return .failure(RouteProblem(description: "empty route")) }
    var mask: UInt64 = 0
    for name in names {
      guard let index = stages.firstIndex(of: name) else {
        return .failure(
          RouteProblem(description: "route names unknown stage '\(name)' (stages: \(stages.joined(separator: ", ")))"))
      }
      mask |= 1 << UInt64(index)
    }
    return .success(mask)
  }

  /// Whether `b[s1..<e1]` and `b[s2..<e2]` hold the same bytes (short names: a loop beats a call to memcmp).
  @inline(__always)
  static func equalBytes(_ b: UnsafePointer<UInt8>, _ s1: Int, _ e1: Int, _ s2: Int, _ e2: Int) -> Bool {
    let n = e1 - s1
    guard n == e2 - s2 else { return false }
    if n > 32 { return memcmp(b + s1, b + s2, n) == 0 }
    var i = 0
    while i < n {
      if b[s1 + i] != b[s2 + i] { return false }
      i += 1
    }
    return true
  }

  private static let powersOfTen: [Double] = [
    1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
  ]

  /// A non-negative decimal (`12`, `3.25`, `"4.5"`, `1e3`) as Float; NaN when it is not one.
  ///
  /// Plain `digits[.digits]` with up to 15 significant digits is read directly (exact to Float precision);
  /// anything else goes through `Double(String)`.
  static func parseDecimal(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Float {
    var lo = s, hi = e
    while lo < hi, b[lo] == 0x20 || b[lo] == 0x22 { lo += 1 }
    while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x22 { hi -= 1 }
    guard hi > lo else { return .nan }
    var mantissa: Int64 = 0
    var digits = 0
    var fraction = -1
    var i = lo
    while i < hi {
      let c = b[i]
      if c &- 0x30 < 10 {
        mantissa = mantissa &* 10 &+ Int64(c &- 0x30)
        digits += 1
        if fraction >= 0 { fraction += 1 }
      } else if c == 0x2E && fraction < 0 {
        fraction = 0
      } else {
        break
      }
      i += 1
    }
    if i == hi, digits > 0, digits <= 15 {
      return Float(Double(mantissa) / powersOfTen[max(fraction, 0)])
    }
    let text = String(decoding: UnsafeBufferPointer(start: b + lo, count: hi - lo), as: UTF8.self)
    guard let value = Double(text), value >= 0, value.isFinite else { return .nan }
    return Float(value)
  }
}
