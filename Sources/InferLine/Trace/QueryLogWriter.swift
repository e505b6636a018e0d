import Foundation

/// Writes arrival times as a query log (CSV or JSON Lines, optionally gzip), as a serving frontend would.
///
/// The file is written under a temporary name and renamed into place, so a failed run leaves no half file.
public struct QueryLogWriter: Sendable {
  public enum Format: String, CaseIterable, Sendable {
    case csv, tsv, jsonl
  }

  /// How timestamps are written.
  public enum TimeFormat: String, CaseIterable, Sendable {
    /// Integer milliseconds since the epoch.
    case epochMilliseconds = "epoch-ms"
    /// Decimal seconds since the epoch, 6 fraction digits.
    case epochSeconds = "epoch-s"
    /// Integer microseconds since the epoch.
    case epochMicroseconds = "epoch-us"
    /// Integer nanoseconds since the epoch.
    case epochNanoseconds = "epoch-ns"
    /// RFC 3339 in UTC with 6 fraction digits: `2026-11-28T16:00:00.123456Z`.
    case iso8601 = "iso8601"
    /// Decimal seconds since the first arrival.
    case relative = "relative"
  }

  public var format: Format = .csv
  public var timeFormat: TimeFormat = .epochMilliseconds
  public var gzip = false
  /// Adds a `pipeline` column with this name.
  public var pipeline: String?
  /// Adds a `pipeline` column naming one of these per query (`write(arrivals:pipelineOfArrival:to:)`).
  public var pipelines: [String] = []
  /// Adds a `latency_ms` column drawn from a lognormal (median 20 ms) with this seed.
  public var latencySeed: UInt64?
  /// Adds a `latency_ms` column with these values (milliseconds, one per arrival, written to the microsecond).
  public var latenciesMs: [Double]?
  /// Adds a size column (`sizes.column`): per query a whole size drawn from a lognormal with this median and
  /// log-spread, at least 1 and at most `maximum`, from this seed.
  public var sizes: GeneratedSizes? = nil

  /// A size column drawn per query (`sizes`).
  public struct GeneratedSizes: Sendable {
    public var column: String
    public var median: Double
    public var sigma: Double
    public var maximum: Double
    public var seed: UInt64
    public init(column: String, median: Double, sigma: Double, maximum: Double, seed: UInt64) {
      self.column = column
      self.median = median
      self.sigma = sigma
      self.maximum = maximum
      self.seed = seed
    }
  }

  public init() {}

  /// Writes `arrivals` (nanoseconds) to `path`; `pipelineOfArrival[i]` indexes `pipelines` for arrival i.
  public func write(arrivals: [Int64], pipelineOfArrival: [Int] = [], to path: String) throws {
    let named = !pipelineOfArrival.isEmpty
    precondition(!named || pipelineOfArrival.count == arrivals.count, "one pipeline per arrival")
    let url = URL(fileURLWithPath: path)
    // A regular file (or a new one) is written beside it and renamed into place; anything else that exists (a
    // device such as /dev/stdout, a pipe) is written into as it is, never replaced by a file; `-` is standard
    // output.
    let standardOutput = path == "-"
    var status = stat()
    let existing = standardOutput ? S_IFIFO : stat(path, &status) == 0 ? status.st_mode & S_IFMT : nil
    if existing == S_IFDIR {
      throw InputError(file: path, "is a folder", fix: "name a file for --out, e.g. \(path)/log.csv")
    }
    let direct = existing != nil && existing != S_IFREG
    let temporary =
      direct
      ? url
      : url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    guard direct || FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
      throw InputError(
        file: path, "cannot create the file: \(String(cString: strerror(errno)))",
        fix: "check that the folder exists and is writable")
    }
    do {
      guard let handle = standardOutput ? FileHandle.standardOutput : FileHandle(forWritingAtPath: temporary.path)
      else {
        throw InputError(
          file: path, "cannot open the file for writing: \(String(cString: strerror(errno)))",
          fix: "check that the folder exists and is writable")
      }
      defer { if !standardOutput { try? handle.close() } }
      let deflater = gzip ? try Zlib.Deflater(level: 6) : nil
      var buffer: [UInt8] = []
      buffer.reserveCapacity(1 << 20)
      func flush(final: Bool) throws {
        if let deflater {
          try buffer.withUnsafeBytes { raw in
            try deflater.deflate(raw, finish: final) { try handle.write(contentsOf: Data($0)) }
          }
        } else if !buffer.isEmpty {
          try handle.write(contentsOf: buffer)
        }
        buffer.removeAll(keepingCapacity: true)
      }
      let delimiter: UInt8 = format == .tsv ? 0x09 : 0x2C
      var columns = ["timestamp"]
      if pipeline != nil || named { columns.append("pipeline") }
      precondition(latenciesMs == nil || latenciesMs!.count == arrivals.count, "one latency per arrival")
      if latencySeed != nil || latenciesMs != nil { columns.append("latency_ms") }
      if let sizes { columns.append(sizes.column) }
      var sizeRNG = SeededGenerator(seed: sizes?.seed ?? 0)
      let sizeKey = sizes.map { Array(",\(Self.jsonString($0.column)):".utf8) } ?? []
      if format != .jsonl {
        buffer.append(contentsOf: columns.joined(separator: String(UnicodeScalar(delimiter))).utf8)
        buffer.append(0x0A)
      }
      var rng = SeededGenerator(seed: latencySeed ?? 0)
      let origin = arrivals.first ?? 0
      func field(_ name: String) -> [UInt8] {
        format == .jsonl ? Array(Self.jsonString(name).utf8) : Array(Self.csvField(name, delimiter: delimiter).utf8)
      }
      let pipelineField: [UInt8] = pipeline.map(field) ?? []
      let pipelineFields = pipelines.map(field)
      for (i, t) in arrivals.enumerated() {
        if format == .jsonl { buffer.append(contentsOf: Array("{\"timestamp\":".utf8)) }
        let quoted = format == .jsonl && timeFormat == .iso8601
        if quoted { buffer.append(0x22) }
        Self.appendTime(t, origin: origin, format: timeFormat, to: &buffer)
        if quoted { buffer.append(0x22) }
        if pipeline != nil || named {
          if format == .jsonl {
            buffer.append(contentsOf: Array(",\"pipeline\":".utf8))
          } else {
            buffer.append(delimiter)
          }
          buffer.append(contentsOf: named ? pipelineFields[pipelineOfArrival[i]] : pipelineField)
        }
        if latencySeed != nil {
          if format == .jsonl {
            buffer.append(contentsOf: Array(",\"latency_ms\":".utf8))
          } else {
            buffer.append(delimiter)
          }
          let latency = 20 * exp(0.5 * rng.nextStandardNormal())
          Self.appendDecimal(Int64((latency * 10).rounded()), fractionDigits: 1, to: &buffer)
        } else if let latenciesMs {
          if format == .jsonl {
            buffer.append(contentsOf: Array(",\"latency_ms\":".utf8))
          } else {
            buffer.append(delimiter)
          }
          Self.appendDecimal(Int64((latenciesMs[i] * 1000).rounded()), fractionDigits: 3, to: &buffer)
        }
        if let sizes {
          if format == .jsonl { buffer.append(contentsOf: sizeKey) } else { buffer.append(delimiter) }
          let drawn = sizes.median * exp(sizes.sigma * sizeRNG.nextStandardNormal())
          Self.appendDecimal(Int64(min(sizes.maximum, max(1, drawn.rounded()))), fractionDigits: 0, to: &buffer)
        }
        if format == .jsonl { buffer.append(0x7D) }
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush(final: false) }
      }
      try flush(final: true)
      if !direct { try handle.synchronize() }
    } catch {
      if !direct { try? FileManager.default.removeItem(at: temporary) }
      if error is InputError { throw error }
      throw InputError(
        file: path, "cannot write the log: \(Self.describe(error))",
        fix: "free space on the disk or write somewhere else; nothing was left behind")
    }
    guard !direct else { return }
    if rename(temporary.path, path) != 0 {
      try? FileManager.default.removeItem(at: temporary)
      throw InputError(file: path, "cannot move the finished file into place: \(String(cString: strerror(errno)))")
    }
  }

  /// A file error in words (`No space left on device`): the system's message where the error carries an errno.
  public static func describe(_ error: any Error) -> String {
    var current: NSError? = error as NSError
    while let e = current {
      if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
      current = e.userInfo[NSUnderlyingErrorKey] as? NSError
    }
    return (error as NSError).localizedDescription
  }

  static func csvField(_ s: String, delimiter: UInt8) -> String {
    let special = s.utf8.contains { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
    return special ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }

  static func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  @inline(__always)
  static func appendInteger(_ value: Int64, minimumDigits: Int = 1, to buffer: inout [UInt8]) {
    var v = value
    if v < 0 {
      buffer.append(0x2D)
      v = -v
    }
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0
    withUnsafeMutableBytes(of: &digits) { d in
      repeat {
        d[n] = UInt8(v % 10) + 0x30
        v /= 10
        n += 1
      } while v > 0 || n < minimumDigits
      for i in stride(from: n - 1, through: 0, by: -1) { buffer.append(d[i]) }
    }
  }

  /// Appends `value / 10^fractionDigits` as a decimal.
  static func appendDecimal(_ value: Int64, fractionDigits: Int, to buffer: inout [UInt8]) {
    var scale: Int64 = 1
    for _ in 0..<fractionDigits { scale *= 10 }
    appendInteger(value / scale, to: &buffer)
    if fractionDigits > 0 {
      buffer.append(0x2E)
      appendInteger(value % scale, minimumDigits: fractionDigits, to: &buffer)
    }
  }

  static func appendTime(_ t: Int64, origin: Int64, format: TimeFormat, to buffer: inout [UInt8]) {
    switch format {
    case .epochMilliseconds: appendInteger(t / 1_000_000, to: &buffer)
    case .epochMicroseconds: appendInteger(t / 1_000, to: &buffer)
    case .epochNanoseconds: appendInteger(t, to: &buffer)
    case .epochSeconds: appendDecimal(t / 1_000, fractionDigits: 6, to: &buffer)
    case .relative: appendDecimal((t - origin) / 1_000, fractionDigits: 6, to: &buffer)
    case .iso8601:
      let seconds = t >= 0 ? t / 1_000_000_000 : (t - 999_999_999) / 1_000_000_000
      let nanos = t - seconds * 1_000_000_000
      let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
      let secondOfDay = seconds - days * 86_400
      let (y, m, d) = civilFromDays(days)
      appendInteger(y, minimumDigits: 4, to: &buffer)
      buffer.append(0x2D)
      appendInteger(m, minimumDigits: 2, to: &buffer)
      buffer.append(0x2D)
      appendInteger(d, minimumDigits: 2, to: &buffer)
      buffer.append(0x54)
      appendInteger(secondOfDay / 3600, minimumDigits: 2, to: &buffer)
      buffer.append(0x3A)
      appendInteger(secondOfDay % 3600 / 60, minimumDigits: 2, to: &buffer)
      buffer.append(0x3A)
      appendInteger(secondOfDay % 60, minimumDigits: 2, to: &buffer)
      buffer.append(0x2E)
      appendInteger(nanos / 1_000, minimumDigits: 6, to: &buffer)
      buffer.append(0x5A)
    }
  }

  /// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
  package static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }
}
