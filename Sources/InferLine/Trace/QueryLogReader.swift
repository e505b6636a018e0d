import Dispatch
import Foundation

/// How to read query logs. Every field has a default that suits logs as serving frontends write them.
public struct LogReadOptions: Sendable {
  /// Name of the timestamp column or key; found among `LogLayout.timeColumnNames` when nil.
  public var timeColumn: String?
  /// Unit of numeric timestamps; guessed from the first value's magnitude when nil.
  public var timeUnit: TimeUnit?
  /// Zone for ISO-8601 timestamps that carry no offset.
  public var timeZone: DefaultTimeZone = .utc
  /// Column naming the pipeline; `pipeline` is picked up when present.
  public var pipelineColumn: String?
  /// Column of observed latency in milliseconds; `latency_ms` and similar are picked up when present.
  public var latencyColumn: String?
  /// Column naming the stages each query visited (`detect|vehicle`), read only when given, with `routeStages`.
  public var routeColumn: String?
  /// The pipeline's stage names, in order: the route column's names become bits of a stage mask.
  public var routeStages: [String] = []
  /// Column of each query's size (tokens, pixels, items); `size`, `tokens` and similar are picked up when present.
  public var sizeColumn: String?
  /// When true the first malformed line is an error instead of being counted and skipped.
  public var strict = false
  /// Threads parsing in parallel (one more reads ahead).
  public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
  /// Bytes handed to the parsers at a time (at least 64; a line longer than a block grows it).
  public var blockSize = 8 << 20
  /// A block smaller than this is parsed as one part, not split across threads (tests and fuzzers lower it to
  /// split tiny logs).
  public var minimumPartBytes = 1 << 16
  /// How many malformed lines are kept with their line numbers (all are counted).
  public var malformedExamples = 10

  public init() {}
}

/// A line that was skipped, with the reason.
public struct SkippedLine: Codable, Sendable, Equatable {
  /// 1-based line number in the (decompressed) file.
  public var line: Int
  public var reason: String
}

/// What reading one log found: the numbers a user checks before trusting an analysis.
public struct IngestionReport: Codable, Sendable, Equatable {
  public var file: String
  public var fileBytes: Int
  public var contentBytes: Int
  public var gzip: Bool
  public var format: LogLayout.Format
  /// The delimiter of CSV-like logs, as text (`,` or `\t`).
  public var delimiter: String?
  public var timeColumn: String
  public var timeUnit: TimeUnit
  public var timeUnitDetected: Bool
  /// True when the timestamps are ISO-8601 date-times (then `timeUnit` does not apply).
  public var isoTimestamps: Bool
  public var timeZone: String
  public var pipelineColumn: String?
  public var latencyColumn: String?
  public var routeColumn: String?
  /// Column of each query's size, when the log has one.
  public var sizeColumn: String? = nil
  /// Lines after the header, blank ones included.
  public var lines: Int
  public var blankLines: Int
  /// Queries read (lines that gave an arrival).
  public var queries: Int
  /// Lines skipped as malformed; `skipped` holds the first few.
  public var malformedLines: Int
  public var skipped: [SkippedLine]
  /// Queries stamped earlier than the query on the line before; the trace was sorted when non-zero.
  public var outOfOrder: Int
  /// Queries whose latency field could not be read (kept as arrivals, latency NaN).
  public var unreadableLatencies: Int
  /// Queries whose size field is missing, not a number or negative (kept as arrivals, size NaN: a batch holding one
  /// takes its profile's largest size bucket); nil in reports written before sizes were read.
  public var unreadableSizes: Int? = nil
  /// Timestamps read under a convention that changed or settled their value (leap seconds, daylight-saving gaps
  /// and overlaps, sub-nanosecond digits, date-only values), per convention.
  public var adjustedTimestamps: [AdjustedTimestamps] = []
  /// Column names the header repeats (CSV/TSV); the first column of each name is the one read.
  public var duplicateColumns: [String] = []
  /// Columns (or JSON keys) of the header that nothing reads, in header order: the first `ignoredColumnsListed`
  /// names, each cut to 60 characters; nil in reports written before they were listed.
  public var ignoredColumns: [String]? = nil
  /// How many columns nothing reads (may be more than `ignoredColumns` lists).
  public var ignoredColumnCount: Int? = nil

  /// How many ignored column names a report keeps.
  public static let ignoredColumnsListed = 20

  /// The columns read and those left alone, in a line: `TIMESTAMP (arrival), pipeline read; not read: ContextTokens,
  /// GeneratedTokens`; nil when every column is read.
  public var columnsText: String? {
    guard let ignored = ignoredColumns, let count = ignoredColumnCount, count > 0 else { return nil }
    let read =
      ["\(timeColumn) (arrival)"]
      + [
        pipelineColumn, latencyColumn.map { "\($0) (observed latency)" }, routeColumn,
        sizeColumn.map { "\($0) (size)" },
      ]
      .compactMap { $0 }
    let more = count > ignored.count ? " and \(count - ignored.count) more" : ""
    return "read: \(read.joined(separator: ", ")); not read: \(ignored.joined(separator: ", "))\(more)"
  }

  /// What a user should know before trusting the trace: one line per adjustment and repeated column.
  public var warnings: [String] {
    adjustedTimestamps.map { a in
      "\(a.count) timestamp\(a.count == 1 ? "" : "s") adjusted: \(a.explanation) (first at line \(a.firstLine))"
    }
      + duplicateColumns.map { "the header names '\($0)' more than once; the first such column is read" }
  }
}

/// A read log: one trace per pipeline, and the report of the reading.
public struct QueryLog: Sendable {
  public var report: IngestionReport
  /// Traces by pipeline, in order of first appearance; one trace with `pipeline == nil` when there is no column.
  public var traces: [ArrivalTrace]
}

/// Reads query logs (CSV, TSV, JSON Lines; plain or gzip) into arrival traces.
///
/// The file is streamed in blocks; each block is split at line breaks and parsed on all cores while the next block
/// is read. Memory is the parsed arrivals (8 bytes each, plus 2 for a pipeline and 4 for a latency column) and two
/// blocks; no `String` is made per line.
/// - Complexity: O(file size), plus O(N log N) when the lines are out of order.
public enum QueryLogReader {
  public static func read(path: String, options: LogReadOptions = LogReadOptions()) throws -> QueryLog {
    let source = try ByteSource(path: path)
    return try read(source: source, options: options)
  }

  /// Reads a log held in memory (plain or gzip), as `read(path:)` reads a file; `name` stands for the path in
  /// messages. The fuzzers go through here: no file system in the loop.
  public static func read(bytes: [UInt8], name: String, options: LogReadOptions = LogReadOptions()) throws -> QueryLog {
    try read(source: ByteSource(bytes: bytes, name: name), options: options)
  }

  static func read(source: ByteSource, options: LogReadOptions) throws -> QueryLog {
    let path = source.path
    let blockSize = max(options.blockSize, 64)
    var current = Block(capacity: blockSize)
    var next = Block(capacity: blockSize)
    defer {
      current.deallocate()
      next.deallocate()
    }
    var contentBytes = 0
    /// Reads more input onto the end of `current`: the bytes read, 0 only at the end of the input.
    func readMore() throws -> Int {
      let n = try fill(&current, from: source, after: current.count)
      current.count += n
      contentBytes += n
      return n
    }
    // First block: find the header (first non-blank line).
    _ = try readMore()
    var moreInput = current.count == current.capacity  // a fill stops short only at the end of the input
    // A UTF-8 byte-order mark (Excel and some exporters write one) is not part of the first line.
    if current.count >= 3, current.base[0] == 0xEF, current.base[1] == 0xBB, current.base[2] == 0xBF {
      current.base.update(from: current.base + 3, count: current.count - 3)
      current.count -= 3
    }
    // The known-mistake checks read the first 64 KB: the first block holds that much (or the whole input), so that
    // what they conclude does not depend on the block size.
    while moreInput, current.count < 1 << 16 {
      current.ensureCapacity(max(current.capacity, 1 << 16))
      let wanted = current.capacity - current.count
      moreInput = try readMore() == wanted
    }
    try Self.refuseKnownMistakes(current, path: path)
    var headerEnd: Int? = nil
    var headerLine = 0
    var offset = 0
    var sawContent = current.count > 0
    var sawEnd = false
    while true {
      // Grow the first block until it holds a whole first non-blank line (at the end of the input, whatever it has:
      // a block that happens to end exactly where the input does holds a whole last line).
      if let (lineEnd, lineNumber) = firstNonBlankLine(current, from: offset, atEnd: sawEnd) {
        headerEnd = lineEnd
        headerLine = lineNumber
        break
      }
      if sawEnd { break }
      if current.count == current.capacity { current.grow() }
      if try readMore() == 0 {
        sawEnd = true
        continue
      }
      sawContent = true
      offset = 0
    }
    guard let headerEnd else {
      throw InputError(
        file: path, sawContent ? "the log holds only blank lines" : "the log is empty",
        fix: "check that the right file was named and that the export finished")
    }
    // The first block holds the first 1,000 lines after the header (or the whole log): the layout fallback and the
    // unit vote look at them, and what a log means must not depend on the block size.
    while current.newlineCount(in: min(headerEnd + 1, current.count)..<current.count) < 1_001 {
      if current.count == current.capacity { current.grow() }
      if try readMore() == 0 { break }
    }
    let header = current.bytes(lineStart(current, before: headerEnd)..<lineContentEnd(current, headerEnd))
    var layout: LogLayout
    do {
      layout = try LogLayout.detect(firstLine: header, file: path, lineNumber: headerLine, options: options)
    } catch let error as InputError where header.first == UInt8(ascii: "{") {
      // JSON Lines: the first object may lack the time key while the others have it. Take the layout from the
      // first of the next 1,000 lines that has one; the first line is then counted as malformed.
      var found: LogLayout? = nil
      var start = headerEnd + 1
      var number = headerLine + 1
      while found == nil, start < current.count, number <= headerLine + 1_000 {
        var end = start
        while end < current.count, current.base[end] != 0x0A { end += 1 }
        if end > start {
          found = try? LogLayout.detect(
            firstLine: current.bytes(start..<lineContentEnd(current, end)), file: path, lineNumber: number,
            options: options)
        }
        start = end + 1
        number += 1
      }
      guard let found else { throw error }
      layout = found
    }
    var dataStart = min(headerEnd + 1, current.count)
    if layout.format == .jsonl { dataStart = lineStart(current, before: headerEnd) }  // the first object is data too
    let firstDataLineNumber = layout.format == .jsonl ? headerLine : headerLine + 1

    // Unit: given, named by the column (`timestamp_ms`), or guessed from the first readable value.
    if let given = options.timeUnit, let named = layout.unitFromName, given != named {
      throw InputError(
        file: path, line: headerLine,
        "--time-unit \(given.rawValue) disagrees with the column '\(TerminalText.safe(layout.columns[layout.timeColumn]))', which says \(named.rawValue)",
        fix: "drop --time-unit, or rename the column")
    }
    var unit = options.timeUnit ?? layout.unitFromName
    var unitDetected = false
    let firstForm = detectUnit(current, from: dataStart, layout: layout)
    if unit == nil {
      unit = firstForm.unit
      unitDetected = true
    }
    var template = LineParser(
      layout: layout, timestamps: TimestampParser(unit: unit!, timeZone: options.timeZone),
      keepExamples: options.strict ? 1 : options.malformedExamples)
    template.routeStages = options.routeStages
    let parserTemplate = template

    let merger = Merger(
      accumulator: Accumulator(layout: layout), lineNumber: firstDataLineNumber, path: path, options: options)
    if source.isGzip == false, current.count > dataStart {
      // Reserve from the file size and the first block's bytes per line, so the arrays do not grow and copy.
      let sample = current.newlineCount(in: dataStart..<current.count)
      if sample > 100 {
        let perLine = Double(current.count - dataStart) / Double(sample)
        merger.accumulator.reserve(Int(Double(source.fileSize) / perLine * 1.02) + 1024)
      }
    }
    var regionStart = dataStart
    // Twice as many parts as threads, so that a thread that finishes early (or did the read-ahead) takes another.
    let parts = max(1, options.threads) * (options.threads > 1 ? 2 : 1)
    // Two sets of result slots: block k is parsed into one while block k - 1's results are merged from the other.
    var work = ParallelWork(parts: parts)
    var pending = ParallelWork(parts: parts)
    var pendingCount = 0
    var atEnd = false
    while true {
      // The part of `current` that ends in a complete line (everything, at the end of the input).
      var found: Int? = nil
      var recordPieces: [Range<Int>]? = nil
      if layout.format != .jsonl, current.contains(0x22, in: regionStart..<current.count) {
        // Quotes: a line break inside a quoted field does not end a record.
        if let records = current.csvRecords(
          regionStart..<current.count, into: parts, delimiter: layout.delimiter, final: atEnd,
          minimumPart: options.minimumPartBytes)
        {
          found = records.end
          recordPieces = records.pieces
        }
      } else if atEnd {
        found = current.count
      } else if let lastBreak = current.lastNewline(from: regionStart) {
        found = lastBreak + 1
      }
      guard let regionEnd = found else {
        if current.count - regionStart < current.capacity / 2 {
          // No complete line (record) yet, room left: read more before parsing.
          if try readMore() == 0 { atEnd = true }
        } else {
          current.grow()  // one line longer than a block: make room
        }
        continue
      }
      // Carry the unfinished line over to the next block, then read into it while this one is parsed.
      let carry = current.count - regionEnd
      next.ensureCapacity(max(blockSize, carry * 2))
      next.copy(from: current, range: regionEnd..<current.count)
      let bounds =
        recordPieces ?? current.split(regionStart..<regionEnd, into: parts, minimumPart: options.minimumPartBytes)
      work.readBytes = 0
      let currentBox = ParallelBuffer(UnsafeMutableBufferPointer(start: current.base, count: current.count))
      let nextBox = ParallelBuffer(UnsafeMutableBufferPointer(start: next.base + carry, count: next.capacity - carry))
      let sourceBox = SendableSource(source: source)
      let readAhead = !atEnd
      // Tasks: the parts to parse, then the read-ahead, then the merge of the previous block, in any order.
      let readTask = readAhead ? bounds.count : -1
      let mergeTask = bounds.count + (readAhead ? 1 : 0)
      let toMerge = pending
      let mergeCount = pendingCount
      let parsing = work
      DispatchQueue.concurrentPerform(iterations: mergeTask + 1) { task in
        if task == readTask {
          do {
            parsing.readBytes = try Self.fillRaw(nextBox.buffer.baseAddress!, nextBox.count, from: sourceBox.source)
          } catch { parsing.readError = error }
        } else if task == mergeTask {
          merger.merge(toMerge.results[0..<mergeCount])
        } else {
          var parser = parserTemplate
          let r = bounds[task]
          parser.parse(
            UnsafePointer(currentBox.buffer.baseAddress!), r.lowerBound, r.upperBound, into: &parsing.results[task],
            endsInput: !readAhead && task == bounds.count - 1)
        }
      }
      if let error = work.readError ?? merger.error { throw error }
      swap(&work, &pending)
      pendingCount = bounds.count
      if atEnd { break }
      swap(&current, &next)
      current.count = carry + pending.readBytes
      contentBytes += pending.readBytes
      regionStart = 0
      if pending.readBytes == 0 { atEnd = true }
      if atEnd && current.count == 0 { break }
    }
    merger.merge(pending.results[0..<pendingCount])
    if let error = merger.error { throw error }
    return try merger.accumulator.finish(
      file: path, source: source, layout: layout, unit: unit!, unitDetected: unitDetected, iso: firstForm.iso,
      options: options,
      contentBytes: contentBytes)
  }

  // MARK: - First lines

  private static func fill(_ block: inout Block, from source: ByteSource, after offset: Int) throws -> Int {
    try fillRaw(block.base + offset, block.capacity - offset, from: source)
  }

  /// Reads until `count` bytes are in or the input ends.
  static func fillRaw(_ pointer: UnsafeMutablePointer<UInt8>, _ count: Int, from source: ByteSource) throws -> Int {
    var total = 0
    while total < count {
      let n = try source.read(into: UnsafeMutableRawBufferPointer(start: pointer + total, count: count - total))
      if n == 0 { break }
      total += n
    }
    return total
  }

  /// The first line with something other than white space: (index of its terminating `\n` or the block end,
  /// 1-based line number). Nil when the block has no complete non-blank line yet.
  private static func firstNonBlankLine(_ block: Block, from start: Int, atEnd: Bool) -> (Int, Int)? {
    var lineNo = 1
    var s = start
    let b = block.base
    while s < block.count {
      var e = s
      while e < block.count, b[e] != 0x0A { e += 1 }
      // May continue past the block (a block is filled to capacity unless the input ended).
      if e == block.count && block.count == block.capacity && !atEnd { return nil }
      var blank = true
      for i in s..<e where b[i] != 0x20 && b[i] != 0x09 && b[i] != 0x0D {
        blank = false
        break
      }
      if !blank { return (e, lineNo) }
      lineNo += 1
      s = e + 1
    }
    return nil
  }

  private static func lineStart(_ block: Block, before end: Int) -> Int {
    var s = end
    while s > 0, block.base[s - 1] != 0x0A { s -= 1 }
    return s
  }

  private static func lineContentEnd(_ block: Block, _ end: Int) -> Int {
    var e = end
    if e > 0, e <= block.count, e - 1 >= 0, block.base[e - 1] == 0x0D { e -= 1 }
    return e
  }

  /// Shapes of file that are not a log of lines, each with its own reason and fix (they would otherwise be read as
  /// one long malformed line or a header of garbage).
  static func refuseKnownMistakes(_ block: Block, path: String) throws {
    let bytes = UnsafeBufferPointer(start: block.base, count: min(block.count, 1 << 16))
    guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else { return }
    if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
      throw InputError(
        file: path, "the file is gzip-compressed twice (after one decompression it is gzip again)",
        fix: "decompress it once: gunzip -c \(ByteSource.shellQuoted(path)) > once.gz")
    }
    if bytes[first] == UInt8(ascii: "[") {
      throw InputError(
        file: path, "the file is one JSON array; inferline reads JSON Lines (one object per line)",
        fix: "convert it: jq -c '.[]' \(ByteSource.shellQuoted(path)) > log.jsonl")
    }
    let lineEnd = bytes[first...].firstIndex(of: 0x0A) ?? bytes.count
    let carriageReturns = bytes[first..<lineEnd].dropLast().filter { $0 == 0x0D }.count
    if carriageReturns >= 2 {
      throw InputError(
        file: path, "the lines end with a carriage return alone (old Mac line endings), so the file reads as one line",
        fix: "convert them: tr '\\r' '\\n' < \(ByteSource.shellQuoted(path)) > fixed.csv")
    }
  }

  /// Guesses the unit of numeric timestamps from the magnitudes of the first 1,000 data lines' values: the most
  /// common one wins, so a stray epoch-seconds value or a placeholder `0` first does not set the unit for the whole
  /// log (zeros are skipped). ISO-8601 values decide at once.
  private static func detectUnit(_ block: Block, from start: Int, layout: LogLayout) -> (unit: TimeUnit, iso: Bool) {
    var probe = LineParser(layout: layout, timestamps: TimestampParser(unit: .nanoseconds), keepExamples: 0)
    var s = start
    let b = block.base
    var checked = 0
    var votes: [TimeUnit: Int] = [:]
    var order: [TimeUnit] = []
    var sawZero = false  // values below 1: relative seconds, unless larger values say otherwise
    while s < block.count && checked < 1000 {
      var e = s
      while e < block.count, b[e] != 0x0A { e += 1 }
      if let field = probe.timeField(UnsafePointer(b), s, e) {
        var lo = field.0, hi = field.1
        while lo < hi, b[lo] == 0x20 || b[lo] == 0x22 { lo += 1 }
        while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x22 || b[hi - 1] == 0x0D { hi -= 1 }
        if hi - lo >= 10, b[lo + 4] == 0x2D { return (.seconds, true) }  // ISO-8601: the unit does not matter
        var integer: Int64 = 0
        var digits = 0
        var i = lo
        while i < hi, TimestampParser.isDigit(b[i]), digits < 18 {  // 18 digits cannot overflow Int64
          integer = integer * 10 + Int64(b[i] - 0x30)
          digits += 1
          i += 1
        }
        if digits > 0 && integer == 0 { sawZero = true }
        if digits > 0 && integer > 0 {
          let unit = TimeUnit.detect(integerPart: integer)
          if votes[unit] == nil { order.append(unit) }
          votes[unit, default: 0] += 1
        }
      }
      checked += 1
      s = e + 1
    }
    // The most common magnitude (the first seen among equals); none readable: every line will be reported as
    // malformed anyway.
    let best = order.max {
      votes[$0]! < votes[$1]! || (votes[$0]! == votes[$1]! && order.firstIndex(of: $0)! > order.firstIndex(of: $1)!)
    }
    return (best ?? (sawZero ? .relativeSeconds : .seconds), false)
  }
}

/// A growable byte block for the reader. Manually managed so that parsers can read it from several threads.
struct Block {
  private(set) var base: UnsafeMutablePointer<UInt8>
  private(set) var capacity: Int
  var count = 0

  init(capacity: Int) {
    base = .allocate(capacity: capacity)
    self.capacity = capacity
  }

  func deallocate() { base.deallocate() }

  mutating func grow() { ensureCapacity(capacity * 2) }

  mutating func ensureCapacity(_ wanted: Int) {
    guard wanted > capacity else { return }
    let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: wanted)
    bigger.update(from: base, count: count)
    base.deallocate()
    base = bigger
    capacity = wanted
  }

  mutating func copy(from other: Block, range: Range<Int>) {
    ensureCapacity(range.count)
    base.update(from: other.base + range.lowerBound, count: range.count)
    count = range.count
  }

  func bytes(_ range: Range<Int>) -> [UInt8] {
    Array(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
  }

  func lastNewline(from start: Int) -> Int? {
    var i = count - 1
    while i >= start {
      if base[i] == 0x0A { return i }
      i -= 1
    }
    return nil
  }

  func newlineCount(in range: Range<Int>) -> Int {
    var n = 0
    for i in range where base[i] == 0x0A { n += 1 }
    return n
  }

  /// Whether `byte` occurs in `range`.
  func contains(_ byte: UInt8, in range: Range<Int>) -> Bool {
    !range.isEmpty && memchr(base + range.lowerBound, Int32(byte), range.count) != nil
  }

  /// CSV records in `range` whose quoted fields may hold line breaks: where the last complete record ends (just
  /// after its line feed; the range's end when `final`), and up to `parts` pieces up to there that each end at a
  /// record boundary. Nil when no record is complete yet.
  /// - Complexity: O(range), one pass.
  func csvRecords(
    _ range: Range<Int>, into parts: Int, delimiter: UInt8, final: Bool, minimumPart: Int
  ) -> (end: Int, pieces: [Range<Int>])? {
    var position = range.lowerBound
    var lastEnd: Int? = nil
    var cuts: [Int] = []
    var part = 1
    while position < range.upperBound {
      switch CSVRecords.end(UnsafePointer(base), from: position, to: range.upperBound, delimiter: delimiter) {
      case .lineFeed(let lf, _), .runaway(let lf):
        position = lf + 1
        lastEnd = position
        // A cut at the first record end past each of the even shares (only for ranges worth splitting).
        if parts > 1, range.count > minimumPart, part < parts, position >= range.lowerBound + range.count * part / parts
        {
          if position < range.upperBound { cuts.append(position) }
          while part < parts, position >= range.lowerBound + range.count * part / parts { part += 1 }
        }
      case .open:
        position = range.upperBound
      }
    }
    guard let end = final ? range.upperBound : lastEnd else { return nil }
    var pieces: [Range<Int>] = []
    var start = range.lowerBound
    for cut in cuts where cut > start && cut < end {
      pieces.append(start..<cut)
      start = cut
    }
    pieces.append(start..<end)
    return (end, pieces)
  }

  /// Splits `range` into up to `parts` pieces that each end just after a line break (or at the range's end).
  func split(_ range: Range<Int>, into parts: Int, minimumPart: Int) -> [Range<Int>] {
    guard parts > 1, range.count > minimumPart else { return [range] }
    var result: [Range<Int>] = []
    var start = range.lowerBound
    for p in 1..<parts {
      var cut = max(range.lowerBound + 1, range.lowerBound + range.count * p / parts)
      while cut < range.upperBound, base[cut - 1] != 0x0A { cut += 1 }
      if cut > start && cut < range.upperBound {
        result.append(start..<cut)
        start = cut
      }
    }
    result.append(start..<range.upperBound)
    return result
  }
}

/// Results of one block's parallel parse. Each task writes only its own slot.
/// Appends parsed parts to the accumulator in line order, on whichever thread runs the merge task (one at a
/// time, block after block). In strict mode the first malformed line becomes `error`.
final class Merger: @unchecked Sendable {
  var accumulator: Accumulator
  var lineNumber: Int
  var error: InputError?
  let path: String
  let options: LogReadOptions

  init(accumulator: Accumulator, lineNumber: Int, path: String, options: LogReadOptions) {
    self.accumulator = accumulator
    self.lineNumber = lineNumber
    self.path = path
    self.options = options
  }

  func merge(_ results: UnsafeMutableBufferPointer<ParsedLines>.SubSequence) {
    for result in results where error == nil {
      if options.strict, let first = result.skipped.first {
        error = InputError(
          file: path, line: lineNumber + first.line, "malformed line: \(first.reason)",
          fix: "fix or remove the line, or drop --strict to count and skip malformed lines")
        return
      }
      accumulator.append(result, firstLine: lineNumber, keep: options.malformedExamples)
      lineNumber += result.lines
    }
  }
}

/// The byte source, used by the one read-ahead task while the parsers work on the other block.
struct SendableSource: @unchecked Sendable {
  let source: ByteSource
}

/// Slots are raw memory, not a Swift array, so that concurrent writes to different slots are not overlapping
/// accesses of one value. They live for the whole read, so their arrays' memory is reused block after block.
final class ParallelWork: @unchecked Sendable {
  let results: UnsafeMutableBufferPointer<ParsedLines>
  var readBytes = 0
  var readError: (any Error)?
  init(parts: Int) {
    results = .allocate(capacity: parts)
    // One value per slot: each holds its own columns.
    for i in 0..<parts { (results.baseAddress! + i).initialize(to: ParsedLines()) }
  }
  deinit {
    _ = results.deinitialize()
    results.deallocate()
  }
}

/// Several logs read as one: traces of the same pipeline are merged, in time order.
public struct QueryLogSet: Sendable {
  /// The trace of a pipeline: the only one when the logs have no pipeline column, else the one its name names.
  /// - Throws: `InputError` listing the pipelines the logs hold.
  public func trace(for pipeline: PipelineSpec) throws -> ArrivalTrace {
    if traces.count == 1 {
      // A log that names a single, different pipeline is not this pipeline's log.
      if let named = traces[0].pipeline, named != pipeline.name {
        throw InputError(
          file: reports.map(\.file).joined(separator: ", "),
          "the log's pipeline column names only '\(TerminalText.safe(named))', not '\(TerminalText.safe(pipeline.name))'",
          fix:
            "give the log of pipeline '\(TerminalText.safe(pipeline.name))', or name the pipeline in its file as the log does"
        )
      }
      return traces[0]
    }
    if let match = traces.first(where: { $0.pipeline == pipeline.name }) { return match }
    throw InputError(
      file: reports.map(\.file).joined(separator: ", "),
      "the logs hold \(traces.count) pipelines (\(traces.map { $0.pipeline ?? "-" }.joined(separator: ", "))), none named '\(pipeline.name)'",
      fix: "name the pipeline in its file as the log does, or give a log of this pipeline alone")
  }

  /// One report per file, in the order given.
  public var reports: [IngestionReport]
  /// One trace per pipeline, in order of first appearance across the files.
  public var traces: [ArrivalTrace]

  /// Reads every file (each on all cores, one after another) and merges the traces by pipeline.
  /// - Throws: `InputError` from the first file that cannot be read; also when absolute and relative logs are mixed.
  public static func read(paths: [String], options: LogReadOptions = LogReadOptions()) throws -> QueryLogSet {
    guard !paths.isEmpty else { throw InputError("no log files given", fix: "name at least one log file") }
    var reports: [IngestionReport] = []
    var order: [String?] = []
    var parts: [String?: [ArrivalTrace]] = [:]
    var relative: Bool? = nil
    for path in paths {
      let log = try QueryLogReader.read(path: path, options: options)
      reports.append(log.report)
      for trace in log.traces {
        if let relative, relative != trace.isRelative {
          throw InputError(
            file: path,
            "this log's times are \(trace.isRelative ? "relative seconds" : "absolute") but an earlier log's are not",
            fix: "read relative and absolute logs in separate runs, or give --time-unit")
        }
        relative = trace.isRelative
        if parts[trace.pipeline] == nil { order.append(trace.pipeline) }
        parts[trace.pipeline, default: []].append(trace)
      }
    }
    let traces = order.map { name -> ArrivalTrace in
      var pieces = parts[name]!
      if pieces.count == 1 { return pieces[0] }
      pieces.sort { ($0.arrivals.first ?? 0) < ($1.arrivals.first ?? 0) }
      let hasLatency = pieces.allSatisfy { $0.observedLatencyMs != nil }
      let hasRoutes = pieces.allSatisfy { $0.visitedStages != nil }
      let hasSizes = pieces.allSatisfy { $0.querySizes != nil }
      var merged = ArrivalTrace(
        pipeline: name, arrivals: pieces.flatMap(\.arrivals),
        observedLatencyMs: hasLatency ? pieces.flatMap { $0.observedLatencyMs! } : nil, isRelative: relative ?? false)
      merged.visitedStages = hasRoutes ? pieces.flatMap { $0.visitedStages! } : nil
      merged.querySizes = hasSizes ? pieces.flatMap { $0.querySizes! } : nil
      merged.sizeColumn = hasSizes ? pieces[0].sizeColumn : nil
      _ = Accumulator.sortCountingOutOfOrder(&merged)  // overlapping files: sort; lines within each were counted
      return merged
    }
    return QueryLogSet(reports: reports, traces: traces)
  }
}
