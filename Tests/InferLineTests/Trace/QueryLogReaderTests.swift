import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

@Suite struct QueryLogReaderTests {
  let folder = TemporaryFolder()

  func read(_ name: String, _ text: String, _ configure: (inout LogReadOptions) -> Void = { _ in }) throws -> QueryLog {
    var options = LogReadOptions()
    configure(&options)
    return try QueryLogReader.read(path: folder.write(name, text), options: options)
  }

  func readError(_ name: String, _ text: String, _ configure: (inout LogReadOptions) -> Void = { _ in }) -> InputError?
  {
    do {
      _ = try read(name, text, configure)
      return nil
    } catch let error as InputError {
      return error
    } catch {
      return nil
    }
  }

  let ms: Int64 = 1_000_000

  @Test func csvWithExtraColumns() throws {
    let log = try read("a.csv", "id,timestamp,user\n1,1700000000000,x\n2,1700000000250,y\n")
    #expect(log.traces.count == 1)
    #expect(log.traces[0].arrivals == [1_700_000_000_000 * ms, 1_700_000_000_250 * ms])
    #expect(log.report.format == .csv)
    #expect(log.report.timeUnit == .milliseconds)
    #expect(log.report.timeUnitDetected)
    #expect(log.report.queries == 2)
    #expect(log.report.malformedLines == 0)
  }

  @Test func delimitersAreDetected() throws {
    let tsv = try read("a.tsv", "ts\tother\n1700000000\ta,b\n1700000001\tc\n")
    #expect(tsv.report.format == .tsv)
    #expect(tsv.traces[0].arrivals == [1_700_000_000_000_000_000, 1_700_000_001_000_000_000])
    let semicolon = try read("a.txt", "x;time\n1;5\n2;6.5\n")
    #expect(semicolon.report.delimiter == ";")
    #expect(semicolon.traces[0].arrivals == [5_000_000_000, 6_500_000_000])
    #expect(semicolon.traces[0].isRelative)
  }

  @Test func jsonLines() throws {
    let text = """
      {"id": 1, "meta": {"ts": 3, "list": [1, {"a": "}"}]}, "@timestamp": "2023-11-16T18:17:03.5Z", "note": "a \\"quoted\\" }"}
      {"@timestamp":"2023-11-16T18:17:04Z","id":2}

      {"id": 3}
      not json
      {"@timestamp": 1700158625.25}

      """
    let log = try read("a.jsonl", text)
    #expect(log.report.format == .jsonl)
    #expect(log.report.timeColumn == "@timestamp")
    #expect(
      log.traces[0].arrivals == [1_700_158_623_500_000_000, 1_700_158_624_000_000_000, 1_700_158_625_250_000_000])
    #expect(log.report.malformedLines == 2)
    #expect(log.report.skipped.map(\.line) == [4, 5])
    #expect(log.report.blankLines == 1)
  }

  @Test func quotedFieldsCRLFAndByteOrderMark() throws {
    let text =
      "\u{FEFF}\"name\",\"TIMESTAMP\"\r\n\"a, b\",\"2023-11-16 18:17:03.9799600\"\r\n\"say \"\"hi\"\"\",2023-11-16 18:17:04\r\n"
    let log = try read("azure.csv", text)
    #expect(log.report.timeColumn == "TIMESTAMP")
    #expect(log.traces[0].arrivals == [1_700_158_623_979_960_000, 1_700_158_624_000_000_000])
  }

  @Test func theAzureTraceLine() throws {
    let log = try read("azure.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n")
    #expect(log.traces[0].arrivals == [1_700_158_623_979_960_000])
    #expect(log.report.isoTimestamps)
  }

  @Test func namedColumnsAndUnits() throws {
    let log = try read("a.csv", "when,what\n1500,x\n2500,y\n") {
      $0.timeColumn = "when"
      $0.timeUnit = .milliseconds
    }
    #expect(log.traces[0].arrivals == [1500 * ms, 2500 * ms])
    #expect(!log.report.timeUnitDetected)
    #expect(!log.traces[0].isRelative)
  }

  @Test func severalPipelinesAreSeparatedInOrderOfAppearance() throws {
    let log = try read(
      "p.csv",
      "timestamp,pipeline,latency_ms\n10,video,5.5\n11,social,7\n12,video,oops\n13,\"social\",8.25\n14, video ,1\n")
    #expect(log.traces.map(\.pipeline) == ["video", "social"])
    #expect(log.traces[0].arrivals == [10_000_000_000, 12_000_000_000, 14_000_000_000])
    #expect(log.traces[1].arrivals == [11_000_000_000, 13_000_000_000])
    let latencies = try #require(log.traces[0].observedLatencyMs)
    #expect(latencies[0] == 5.5 && latencies[1].isNaN && latencies[2] == 1)
    #expect(log.traces[1].observedLatencyMs == [7, 8.25])
    #expect(log.report.unreadableLatencies == 1)
    #expect(log.report.pipelineColumn == "pipeline")
  }

  /// A size column (`tokens` and similar names, or `--size-column`) is read per query and moves with its query when
  /// the log is sorted and split by pipeline; a size that is missing, not a number or negative is counted and kept
  /// as NaN (the query stays an arrival). Without such a column the trace has no sizes.
  @Test func querySizesAreReadCountedAndSortedWithTheirQueries() throws {
    let log = try read(
      "s.csv", "timestamp,pipeline,tokens\n12,a,30\n10,a,10\n11,b,7.5\n13,a,-1\n14,a,\n15,b,lots\n")
    #expect(log.report.sizeColumn == "tokens" && log.report.unreadableSizes == 3)
    let a = try #require(log.traces[0].querySizes)
    #expect(log.traces[0].arrivals.map { $0 / 1_000_000_000 } == [10, 12, 13, 14])
    #expect(a[0] == 10 && a[1] == 30 && a[2].isNaN && a[3].isNaN)
    let b = try #require(log.traces[1].querySizes)
    #expect(b[0] == 7.5 && b[1].isNaN)
    let json = try read("s.jsonl", "{\"ts\": 1, \"n\": 3}\n{\"ts\": 2, \"n\": 4}\n") { $0.sizeColumn = "n" }
    #expect(json.traces[0].querySizes == [3, 4])
    #expect(try read("plain.csv", "timestamp\n1\n").traces[0].querySizes == nil)
    let missing = readError("m.csv", "timestamp\n1\n") { $0.sizeColumn = "tokens" }
    #expect(missing?.description.contains("no size column named 'tokens'") == true)
    #expect(log.report.columnsText == nil || log.report.columnsText!.contains("tokens (size)"))
  }

  /// `generate --sizes tokens=90:0.7:512` (the sample log): whole sizes from 1 to 512 with a median near 90, every
  /// one readable.
  @Test func generatedSizesFollowTheirLognormal() throws {
    let folder = TemporaryFolder()
    var writer = QueryLogWriter()
    writer.sizes = .init(column: "tokens", median: 90, sigma: 0.7, maximum: 512, seed: 4)
    let path = folder.path("generated.csv")
    try writer.write(arrivals: (0..<20_000).map { Int64($0) * 1_000_000 }, to: path)
    let log = try QueryLogReader.read(path: path, options: LogReadOptions())
    let sizes = try #require(log.traces[0].querySizes).sorted()
    #expect(log.report.sizeColumn == "tokens" && log.report.unreadableSizes == 0)
    #expect(sizes.first! >= 1 && sizes.last! == 512 && sizes.allSatisfy { $0 == $0.rounded() })
    #expect(abs(sizes[sizes.count / 2] - 90) <= 3, "median \(sizes[sizes.count / 2])")
    // exp(0.7 x 2.326) x 90 = 459 at the 99th percentile: under the cap.
    #expect(abs(sizes[sizes.count * 99 / 100] / 459 - 1) < 0.08, "P99 \(sizes[sizes.count * 99 / 100])")
  }

  @Test func malformedLinesAreCountedWithLineNumbers() throws {
    let text = "timestamp,x\n1700000000,a\nbad,b\n1700000001,c\n\n,d\n2023-02-30T00:00:00Z,e\n1700000002\n"
    let log = try read("m.csv", text)
    #expect(log.report.queries == 3)
    #expect(log.report.malformedLines == 3)
    #expect(log.report.blankLines == 1)
    #expect(log.report.skipped.map(\.line) == [3, 6, 7])
    #expect(log.report.skipped[0].reason.contains("'bad'"))
    #expect(log.report.skipped[1].reason.contains("empty"))
    #expect(log.report.skipped[2].reason.contains("no such date"))
    #expect(log.report.lines == 7)
  }

  @Test func strictModeStopsAtTheFirstMalformedLine() throws {
    let error = try #require(
      readError("s.csv", "timestamp\n1700000000\n1700000001\nnope\n1700000002\n") { $0.strict = true })
    #expect(error.line == 4)
    #expect(error.file!.hasSuffix("s.csv"))
    #expect(error.description.contains("s.csv:4: error: malformed line"))
    #expect(error.fix!.contains("--strict"))
  }

  @Test func outOfOrderLinesAreSortedAndCounted() throws {
    let log = try read("o.csv", "timestamp,latency_ms\n5,50\n3,30\n4,40\n6,60\n1,10\n")
    #expect(log.traces[0].arrivals == [1, 3, 4, 5, 6].map { $0 * 1_000_000_000 })
    #expect(log.traces[0].observedLatencyMs == [10, 30, 40, 50, 60])
    #expect(log.report.outOfOrder == 2)  // 5 -> 3 and 6 -> 1
  }

  @Test func duplicatesAreKept() throws {
    let log = try read("d.csv", "ts\n1700000000000\n1700000000000\n1700000000000\n")
    #expect(log.traces[0].count == 3)
  }

  @Test func routeColumnBecomesStageMasks() throws {
    let text = """
      timestamp,stages
      3,detect|vehicle
      1,detect
      2,"detect;person;vehicle"
      4,detect|plane
      5,
      """
    let log = try read("routes.csv", text + "\n") {
      $0.routeColumn = "stages"
      $0.routeStages = ["detect", "vehicle", "person"]
    }
    // Sorted by time, the masks moving with their queries: 1 -> detect, 2 -> all three, 3 -> detect + vehicle.
    #expect(log.traces[0].arrivals == [1, 2, 3].map { $0 * 1_000_000_000 })
    #expect(log.traces[0].visitedStages == [0b001, 0b111, 0b011])
    #expect(log.report.malformedLines == 2)
    #expect(log.report.skipped[0].reason.contains("unknown stage 'plane'"))
    #expect(log.report.skipped[1].reason.contains("empty route"))
    #expect(log.report.routeColumn == "stages")
    let json = try read("routes.jsonl", "{\"ts\": 1, \"route\": \"a+b\"}\n{\"ts\": 2, \"route\": \"b\"}\n") {
      $0.routeColumn = "route"
      $0.routeStages = ["a", "b"]
    }
    #expect(json.traces[0].visitedStages == [0b11, 0b10])
    let missing = readError("r.csv", "ts,x\n1,2\n") { $0.routeColumn = "stages" }
    #expect(missing?.fix?.contains("--route-column") == true)
  }

  // MARK: Bad input: each names the file and the fix.

  @Test func emptyAndHeaderOnlyLogs() throws {
    let empty = try #require(readError("empty.csv", ""))
    #expect(empty.message.contains("empty"))
    #expect(empty.file!.hasSuffix("empty.csv"))
    let blank = try #require(readError("blank.csv", "\n  \n\n"))
    #expect(blank.message.contains("only blank lines"))
    let header = try #require(readError("header.csv", "timestamp,x\n"))
    #expect(header.message.contains("no data lines"))
  }

  @Test func missingTimestampColumn() throws {
    let error = try #require(readError("cols.csv", "a,b,c\n1,2,3\n"))
    #expect(error.message.contains("no timestamp column"))
    #expect(error.message.contains("a, b, c"))
    #expect(error.fix!.contains("--time-column"))
    #expect(error.line == 1)
    let named = try #require(readError("cols.csv", "a,b\n1,2\n") { $0.timeColumn = "arrival" })
    #expect(named.message.contains("no timestamp column named 'arrival'"))
    let data = try #require(readError("noheader.csv", "1700000000,5\n1700000001,6\n"))
    #expect(data.message.contains("looks like data"))
    let pipeline = try #require(readError("p.csv", "ts\n1\n") { $0.pipelineColumn = "app" })
    #expect(pipeline.fix!.contains("--pipeline-column"))
  }

  @Test func everyLineBad() throws {
    let error = try #require(readError("bad.csv", "timestamp\nx\ny\nz\n"))
    #expect(error.message.contains("none of the 3 data lines"))
    #expect(error.message.contains("line 2"))
    #expect(error.fix!.contains("--time-unit"))
  }

  @Test func missingFileAndFolder() throws {
    do {
      _ = try QueryLogReader.read(path: folder.path("nope.csv"))
      Issue.record("expected an error")
    } catch let error as InputError {
      #expect(error.file!.hasSuffix("nope.csv"))
      #expect(error.message.contains("No such file"))
    }
    #expect(throws: InputError.self) { try QueryLogReader.read(path: folder.url.path) }
  }

  // MARK: gzip

  @Test func gzipIsDetectedByMagicBytesNotName() throws {
    let text = "timestamp,pipeline\n1700000000.25,a\n1700000001.5,b\n"
    let path = folder.write("log.csv", bytes: try gzipped(Array(text.utf8)))  // no .gz in the name
    let log = try QueryLogReader.read(path: path)
    #expect(log.report.gzip)
    #expect(log.traces.map(\.arrivals) == [[1_700_000_000_250_000_000], [1_700_000_001_500_000_000]])
    let plain = folder.write("plain.csv.gz", text)  // .gz name, plain content
    #expect(try QueryLogReader.read(path: plain).report.gzip == false)
  }

  @Test func concatenatedGzipMembers() throws {
    let a = try gzipped(Array("timestamp\n1\n2\n".utf8))
    let b = try gzipped(Array("3\n4\n".utf8))
    let log = try QueryLogReader.read(path: folder.write("two.gz", bytes: a + b))
    #expect(log.traces[0].arrivals == [1, 2, 3, 4].map { $0 * 1_000_000_000 })
  }

  @Test func corruptAndTruncatedGzip() throws {
    var rng = SeededGenerator(seed: 7)
    let text = (0..<20_000).map { _ in String(rng.next() % 1_000_000_000_000) }.joined(separator: "\n")
    let good = try gzipped(Array(("ts\n" + text).utf8))
    let truncated = Array(good.prefix(good.count / 2))
    var error = try #require(readErrorBytes("cut.csv.gz", truncated))
    #expect(error.message.contains("truncated gzip"))
    #expect(error.file!.hasSuffix("cut.csv.gz"))
    var corrupt = good
    for i in stride(from: 40, to: corrupt.count - 20, by: 97) { corrupt[i] ^= 0x5A }
    error = try #require(readErrorBytes("bad.csv.gz", corrupt))
    #expect(error.message.contains("gzip"))
    #expect(error.fix!.contains("gzip -t"))
    let garbage = good + Array("trailing junk".utf8)
    error = try #require(readErrorBytes("junk.csv.gz", garbage))
    #expect(error.message.contains("after the end"))
    let magicOnly: [UInt8] = [0x1F, 0x8B]
    error = try #require(readErrorBytes("magic.gz", magicOnly))
    #expect(error.message.contains("gzip"))
  }

  func readErrorBytes(_ name: String, _ bytes: [UInt8]) -> InputError? {
    do {
      _ = try QueryLogReader.read(path: folder.write(name, bytes: bytes))
      return nil
    } catch let error as InputError {
      return error
    } catch {
      return nil
    }
  }

  // MARK: Blocks and threads

  /// Block sizes and thread counts the splitting tests read each log with (64-byte blocks to the default's size).
  static let blocksAndThreads = [(64, 2), (4096, 1), (4096, 2), (5000, 3), (1 << 20, 2), (1 << 16, 4)]

  /// Options that split even small logs across threads, keeping every malformed line's number.
  static func splitting(_ blockSize: Int, _ threads: Int) -> LogReadOptions {
    var options = LogReadOptions()
    options.blockSize = blockSize
    options.threads = threads
    options.minimumPartBytes = 256
    options.malformedExamples = 10_000
    return options
  }

  /// A line-at-a-time reference reader built on Swift strings: a second implementation of the block splitting.
  func referenceArrivals(_ text: String, unit: TimeUnit) -> (times: [Int64], malformed: [Int]) {
    var parser = TimestampParser(unit: unit)
    var times: [Int64] = []
    var malformed: [Int] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().dropFirst() {
      let field = line.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init) ?? ""
      if line.allSatisfy({ $0 == " " }) { continue }
      if let t = parser.parse(field) { times.append(t) } else { malformed.append(index + 1) }
    }
    return (times.sorted(), malformed)
  }

  @Test(arguments: [1, 2, 3, 5, 8])
  func anyBlockSizeAndThreadCountGivesTheSameTrace(seed: UInt64) throws {
    var rng = SeededGenerator(seed: seed)
    var lines = ["timestamp,comment"]
    var t: Int64 = 1_700_000_000_000
    for _ in 0..<(3000 + Int(rng.next() % 3000)) {
      switch rng.next() % 20 {
      case 0: lines.append("garbage,\(rng.next() % 100)")
      case 1: lines.append("")
      case 2: lines.append("\(t - Int64(rng.next() % 5000)),late")
      default:
        t += Int64(rng.next() % 40)
        lines.append("\(t),\(String(repeating: "x", count: Int(rng.next() % 30)))")
      }
    }
    let text = lines.joined(separator: "\n") + (seed % 2 == 0 ? "\n" : "")
    let expected = referenceArrivals(text, unit: .milliseconds)
    let path = folder.write("r\(seed).csv", text)
    for (blockSize, threads) in Self.blocksAndThreads {
      let log = try QueryLogReader.read(path: path, options: Self.splitting(blockSize, threads))
      #expect(log.traces[0].arrivals == expected.times, "block \(blockSize), threads \(threads)")
      #expect(log.report.skipped.map(\.line) == expected.malformed, "block \(blockSize), threads \(threads)")
      #expect(log.report.lines == lines.count - 1 - (seed % 2 == 0 ? 0 : 0))
    }
    let gz = folder.write("r\(seed).csv.gz", bytes: try gzipped(Array(text.utf8)))
    var options = LogReadOptions()
    options.blockSize = 4096
    #expect(try QueryLogReader.read(path: gz, options: options).traces[0].arrivals == expected.times)
  }

  /// A character-at-a-time RFC 4180 reference (a second implementation of quote-aware record splitting): records
  /// of `timestamp,pipeline,prompt`, the prompt quoted and holding line breaks, commas and `""`.
  func referenceRecords(_ text: String) -> (times: [Int64], firstLines: [Int], lines: Int) {
    var parser = TimestampParser(unit: .milliseconds)
    var times: [Int64] = []
    var starts: [Int] = []
    var line = 1, recordLine = 2
    var field = "", fields: [String] = [], inQuotes = false, atFieldStart = true
    var chars = Array(text)
    if chars.last != "\n" { chars.append("\n") }
    var i = chars.firstIndex(of: "\n")! + 1  // after the header
    line = 2
    while i < chars.count {
      let c = chars[i]
      if inQuotes {
        if c == "\"" {
          if i + 1 < chars.count, chars[i + 1] == "\"" {
            field.append("\"")
            i += 1
          } else {
            inQuotes = false
          }
        } else {
          if c == "\n" { line += 1 }
          field.append(c)
        }
      } else if c == "\"" && atFieldStart {
        inQuotes = true
        atFieldStart = false
      } else if c == "," {
        fields.append(field)
        field = ""
        atFieldStart = true
      } else if c == "\n" {
        fields.append(field)
        if let t = parser.parse(fields[0]) { times.append(t) } else { starts.append(recordLine) }
        fields = []
        field = ""
        atFieldStart = true
        line += 1
        recordLine = line
      } else {
        field.append(c)
        atFieldStart = false
      }
      i += 1
    }
    return (times.sorted(), starts, line - 2)
  }

  /// Quoted fields holding line breaks (an LLM prompt column): one query per record, never a phantom query from
  /// a continuation line, whatever the block size and thread count; malformed records named by their first line.
  @Test(arguments: [1, 2, 3] as [UInt64])
  func quotedFieldsWithLineBreaksAreOneRecord(seed: UInt64) throws {
    var rng = SeededGenerator(seed: seed)
    var records = ["timestamp,pipeline,prompt"]
    var t: Int64 = 1_700_000_000_000
    for _ in 0..<(2000 + Int(rng.next() % 1000)) {
      t += Int64(rng.next() % 40)
      var prompt = ""
      for _ in 0..<Int(rng.next() % 4) {
        // Continuation lines that look like queries: a timestamp, a comma, a quote pair.
        prompt += ["\n\(t + 5),video,", "\nsee \"\"this\"\"", "\n", "plain words, commas"][Int(rng.next() % 4)]
      }
      switch rng.next() % 25 {
      case 0: records.append("nope,video,\"\(prompt)\"")
      case 1: records.append("\(t),video,unquoted text")
      default: records.append("\(t),video,\"\(prompt)\"")
      }
    }
    let text = records.joined(separator: "\n") + "\n"
    let expected = referenceRecords(text)
    #expect(expected.times.count > 1500 && !expected.firstLines.isEmpty)
    let path = folder.write("q\(seed).csv", text)
    for (blockSize, threads) in Self.blocksAndThreads {
      let log = try QueryLogReader.read(path: path, options: Self.splitting(blockSize, threads))
      #expect(log.traces[0].arrivals.count == expected.times.count, "block \(blockSize), threads \(threads)")
      #expect(log.traces[0].arrivals == expected.times, "block \(blockSize), threads \(threads)")
      #expect(log.report.skipped.map(\.line) == expected.firstLines, "block \(blockSize), threads \(threads)")
      #expect(log.report.lines == expected.lines, "block \(blockSize), threads \(threads)")
    }
  }

  /// A stray quote opens a field that never closes: that line is malformed, and the lines after it still count.
  @Test func aStrayQuoteDoesNotSwallowTheLog() throws {
    var lines = ["timestamp,prompt", "1700000000000,\"never closed"]
    for k in 1...(CSVRecords.maximumLineBreaksInField + 500) { lines.append("\(1_700_000_000_000 + k),fine") }
    var options = LogReadOptions()
    options.blockSize = 4096
    let log = try QueryLogReader.read(
      path: folder.write("stray.csv", lines.joined(separator: "\n") + "\n"), options: options)
    #expect(log.traces[0].arrivals.count == CSVRecords.maximumLineBreaksInField + 500)
    #expect(log.report.skipped.map(\.line) == [2])
    #expect(log.report.skipped.first?.reason.contains("quoted field") == true)
    // Unclosed at the end of the log: the opening line is malformed too, not a query.
    let tail = try read("tail.csv", "timestamp,prompt\n1700000000000,ok\n1700000000001,\"open\nmore\n")
    #expect(tail.traces[0].arrivals.count == 1)
    #expect(tail.report.skipped.map(\.line) == [3])
  }

  /// Adjusted timestamps and repeated columns are counted with their first line and turned into warnings.
  @Test func adjustmentsAndRepeatedColumnsAreReported() throws {
    let text =
      "timestamp,pipeline,timestamp\n2016-12-31T23:59:59Z,a,x\n2016-12-31T23:59:60Z,a,x\n2017-01-01,a,x\n"
      + "2017-01-01T00:00:01.0000000001Z,a,x\n2017-01-01T00:00:02Z,a,x\n2017-01-01T00:00:60Z,a,x\n"
    let log = try read("adj.csv", text)
    #expect(log.report.queries == 6)
    #expect(
      log.report.adjustedTimestamps.map { [$0.adjustment.rawValue, "\($0.count)", "\($0.firstLine)"] } == [
        ["leap-second", "2", "3"], ["sub-nanosecond-digits", "1", "5"], ["date-only", "1", "4"],
      ])
    #expect(log.report.duplicateColumns == ["timestamp"])
    #expect(log.report.warnings.count == 4)
    #expect(log.report.warnings[0].contains("2 timestamps adjusted") && log.report.warnings[0].contains("line 3"))
    #expect(log.report.warnings[3].contains("'timestamp' more than once"))
    // Across blocks and threads, the first line is still the first in the file.
    var options = LogReadOptions()
    options.blockSize = 4096
    options.threads = 3
    var lines = ["timestamp"]
    for k in 0..<3000 { lines.append("2017-01-01T00:\(String(format: "%02d", k / 60 % 60)):\(k % 7 == 6 ? 60 : 1)Z") }
    let many = try QueryLogReader.read(path: folder.write("many.csv", lines.joined(separator: "\n")), options: options)
    let leap = try #require(many.report.adjustedTimestamps.first)
    #expect(leap.count == lines.dropFirst().filter { $0.hasSuffix(":60Z") }.count)
    #expect(leap.firstLine == 8)
  }

  @Test func aLineLongerThanABlock() throws {
    let long = String(repeating: "y", count: 20_000)
    let text = "timestamp,blob\n1,\(long)\n2,\(long)\n3,z\n"
    var options = LogReadOptions()
    options.blockSize = 4096
    let log = try QueryLogReader.read(path: folder.write("long.csv", text), options: options)
    #expect(log.traces[0].arrivals == [1, 2, 3].map { $0 * 1_000_000_000 })
  }

  @Test func severalFilesMergeByPipeline() throws {
    let a = folder.write("a.csv", "timestamp,pipeline\n1700000000,x\n1700000002,y\n")
    let b = folder.write("b.csv", "timestamp,pipeline\n1700000001,x\n1700000003,x\n")
    let set = try QueryLogSet.read(paths: [b, a])
    #expect(set.reports.count == 2)
    #expect(set.traces.map(\.pipeline) == ["x", "y"])
    let expected: [Int64] = [0, 1, 3].map { (k: Int64) -> Int64 in 1_700_000_000_000_000_000 + k * 1_000_000_000 }
    #expect(set.traces[0].arrivals == expected)
    let relative = folder.write("r.csv", "t\n1\n")
    #expect(throws: InputError.self) { try QueryLogSet.read(paths: [a, relative]) }
  }
}
