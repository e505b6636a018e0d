public import Foundation

/// The unit of a numeric timestamp column.
public enum TimeUnit: String, CaseIterable, Codable, Sendable {
  /// Seconds since the Unix epoch.
  case seconds = "s"
  /// Milliseconds since the Unix epoch.
  case milliseconds = "ms"
  /// Microseconds since the Unix epoch.
  case microseconds = "us"
  /// Nanoseconds since the Unix epoch.
  case nanoseconds = "ns"
  /// Seconds since an arbitrary origin (a log that starts at 0); not tied to the calendar.
  case relativeSeconds = "relative"

  /// Nanoseconds in one unit.
  public var nanoseconds: Int64 {
    switch self {
    case .seconds, .relativeSeconds: 1_000_000_000
    case .milliseconds: 1_000_000
    case .microseconds: 1_000
    case .nanoseconds: 1
    }
  }

  /// Fraction digits that still name whole nanoseconds in this unit.
  var fractionDigits: Int {
    switch self {
    case .seconds, .relativeSeconds: 9
    case .milliseconds: 6
    case .microseconds: 3
    case .nanoseconds: 0
    }
  }

  /// Guesses the unit from the integer part of a value, assuming an epoch timestamp after 1973.
  ///
  /// Below 10^8 the values are taken as relative seconds (a log that starts near 0); then seconds up to 10^11,
  /// milliseconds up to 10^14, microseconds up to 10^17, nanoseconds beyond.
  public static func detect(integerPart: Int64) -> TimeUnit {
    switch integerPart {
    case ..<100_000_000: .relativeSeconds
    case ..<100_000_000_000: .seconds
    case ..<100_000_000_000_000: .milliseconds
    case ..<100_000_000_000_000_000: .microseconds
    default: .nanoseconds
    }
  }
}

/// How to read ISO-8601 timestamps that carry no offset.
public enum DefaultTimeZone: Sendable, Equatable, CustomStringConvertible {
  case utc
  /// A fixed offset east of UTC, in seconds.
  case fixed(seconds: Int)
  /// A named zone (IANA, such as `America/New_York`), daylight saving time included.
  case named(TimeZone)

  /// Parses `UTC`, `Z`, `+05:30`, `-0800` or an IANA zone name.
  public init?(parsing text: String) {
    let t = text.trimmingCharacters(in: .whitespaces)
    if t.isEmpty || ["utc", "z", "gmt"].contains(t.lowercased()) {
      self = .utc
      return
    }
    if let first = t.first, first == "+" || first == "-" {
      let digits = t.dropFirst().filter { $0 != ":" }
      guard digits.count == 2 || digits.count == 4, digits.allSatisfy(\.isASCII), let value = Int(digits) else {
        return nil
      }
      let hours = digits.count == 2 ? value : value / 100
      let minutes = digits.count == 2 ? 0 : value % 100
      guard hours <= 18, minutes < 60 else { return nil }
      let seconds = (hours * 3600 + minutes * 60) * (first == "-" ? -1 : 1)
      self = .fixed(seconds: seconds)
      return
    }
    guard let zone = TimeZone(identifier: t) else { return nil }
    self = .named(zone)
  }

  public var description: String {
    switch self {
    case .utc: return "UTC"
    case .fixed(let seconds):
      let sign = seconds < 0 ? "-" : "+"
      let a = abs(seconds)
      return String(format: "%@%02d:%02d", sign, a / 3600, a % 3600 / 60)
    case .named(let zone): return zone.identifier
    }
  }
}

/// Why a timestamp field could not be read.
public enum TimestampProblem: String, Sendable, Codable {
  case empty = "empty timestamp"
  case notATimestamp = "not a number or an ISO-8601 date-time"
  case negative = "negative timestamp"
  case outOfRange =
    "timestamp out of range (inferline reads instants from 1900 to 2149, so that any two fit a 64-bit span in nanoseconds)"
  case invalidDate = "no such date or time of day"
}

/// A timestamp read under one of the conventions the README documents ("Timestamp conventions") that changes or
/// settles its value: counted per log and reported, so that nothing is adjusted without a word.
public enum TimestampAdjustment: String, CaseIterable, Codable, Sendable {
  /// `23:59:60`: read as the next minute's `:00` (one second after `:59`).
  case leapSecond = "leap-second"
  /// A wall-clock time that does not exist in the zone (skipped when daylight saving time began): read with the
  /// offset in effect before the change, so it lands after the gap (02:30 becomes 03:30 daylight time).
  case nonexistentLocalTime = "daylight-saving-gap"
  /// A wall-clock time that happens twice (when daylight saving time ended): read as the first, earlier one.
  case ambiguousLocalTime = "daylight-saving-overlap"
  /// Digits below a nanosecond (more than 9 fraction digits of a second): dropped.
  case fractionTruncated = "sub-nanosecond-digits"
  /// A date with no time of day: read as midnight (in the default zone).
  case dateOnly = "date-only"

  /// How such values were read, for a warning.
  public var explanation: String {
    switch self {
    case .leapSecond: "leap seconds (23:59:60) read as the next minute's :00"
    case .nonexistentLocalTime:
      "wall-clock times that do not exist (skipped when daylight saving time began) read with the offset before the change, landing after the gap"
    case .ambiguousLocalTime:
      "wall-clock times that happen twice (when daylight saving time ended) read as the first, earlier one"
    case .fractionTruncated: "digits below a nanosecond dropped"
    case .dateOnly: "dates without a time of day read as midnight"
    }
  }
}

/// Reads one timestamp field, from raw bytes, into integer nanoseconds since the Unix epoch.
///
/// Numeric values (integer or decimal) are scaled by `unit`, exactly, in integers: no `Double` is involved, so
/// microseconds and nanoseconds survive. ISO-8601 / RFC 3339 values take `T` or a space between date and time,
/// 0 to 9 fraction digits (more are truncated to nanoseconds), and `Z`, an offset (`+05:30`, `+0530`, `+05`) or
/// nothing (then `timeZone`).
/// - Complexity: O(length of the field); no allocation.
public struct TimestampParser: Sendable {
  public var unit: TimeUnit
  public var timeZone: DefaultTimeZone
  /// Why the last call returned `nil`.
  public private(set) var problem: TimestampProblem = .empty
  /// The convention the last successful call applied, if it changed or settled the value.
  public private(set) var adjustment: TimestampAdjustment? = nil

  /// Cache for named zones: the local minute last converted, its offset and what reading it took.
  private var cachedLocalMinute: Int64 = .min
  private var cachedOffset: Int64 = 0
  private var cachedAdjustment: TimestampAdjustment? = nil

  public init(unit: TimeUnit, timeZone: DefaultTimeZone = .utc) {
    self.unit = unit
    self.timeZone = timeZone
  }

  /// Parses a Swift string (tests and one-off callers; the ingestion path passes bytes).
  public mutating func parse(_ text: String) -> Int64? {
    var copy = text
    return copy.withUTF8 { parse($0.baseAddress, count: $0.count) }
  }

  @inline(__always)
  static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

  /// Parses `count` bytes at `start`; `nil` with `problem` set when they are not a timestamp.
  public mutating func parse(_ start: UnsafePointer<UInt8>?, count: Int) -> Int64? {
    adjustment = nil
    guard let start, count > 0 else {
      problem = .empty
      return nil
    }
    var lo = 0, hi = count
    while lo < hi, start[lo] == 0x20 || start[lo] == 0x09 { lo += 1 }
    while hi > lo, start[hi - 1] == 0x20 || start[hi - 1] == 0x09 || start[hi - 1] == 0x0D { hi -= 1 }
    if hi - lo >= 2, start[lo] == 0x22, start[hi - 1] == 0x22 {  // "quoted"
      lo += 1
      hi -= 1
    }
    guard hi > lo else {
      problem = .empty
      return nil
    }
    let p = start + lo
    let n = hi - lo
    if n >= 10, p[4] == 0x2D, Self.isDigit(p[0]) { return parseISO(p, n) }
    return parseNumber(p, n)
  }

  private mutating func parseNumber(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
    var i = 0
    if p[0] == 0x2D {
      problem = .negative
      return nil
    }
    if p[0] == 0x2B { i = 1 }
    var integer: Int64 = 0
    let intStart = i
    // Up to 18 digits cannot overflow: wrapping arithmetic, no checks.
    while i < n, Self.isDigit(p[i]) {
      integer = integer &* 10 &+ Int64(p[i] &- 0x30)
      i += 1
    }
    if i - intStart > 18 {
      integer = 0
      for k in intStart..<i {
        let (m, o1) = integer.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(p[k] &- 0x30))
        if o1 || o2 {
          problem = .outOfRange
          return nil
        }
        integer = a
      }
    }
    var sawDigits = i > intStart
    var fraction: Int64 = 0
    var kept = 0
    let keep = unit.fractionDigits
    if i < n, p[i] == 0x2E {
      i += 1
      let fracStart = i
      while i < n, Self.isDigit(p[i]) {
        if kept < keep {
          fraction = fraction * 10 + Int64(p[i] &- 0x30)
          kept += 1
        } else if p[i] != 0x30 {
          adjustment = .fractionTruncated
        }
        i += 1
      }
      sawDigits = sawDigits || i > fracStart
    }
    guard sawDigits, i == n else {
      problem = .notATimestamp
      return nil
    }
    while kept < keep {
      fraction *= 10
      kept += 1
    }
    let (whole, overflow) = integer.multipliedReportingOverflow(by: unit.nanoseconds)
    guard !overflow, whole <= Int64.max - fraction, Self.acceptedRange.contains(whole + fraction) else {
      problem = .outOfRange
      return nil
    }
    return whole + fraction
  }

  /// Instants inferline accepts, nanoseconds since the epoch: 1900-01-01 to 2150-01-01 (exclusive). Any two are
  /// less than 292 years apart, so every span and every `t - D` fits in an Int64; a value outside is a malformed
  /// line (an outlier in 1677 or 2300 is almost certainly a bad value, not traffic).
  public static let acceptedRange: Range<Int64> = -2_208_988_800_000_000_000..<5_679_590_400_000_000_000

  @inline(__always)
  private static func twoDigits(_ p: UnsafePointer<UInt8>, _ i: Int) -> Int? {
    guard isDigit(p[i]), isDigit(p[i + 1]) else { return nil }
    return Int(p[i] &- 0x30) * 10 + Int(p[i + 1] &- 0x30)
  }

  private mutating func parseISO(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
    problem = .notATimestamp
    guard Self.isDigit(p[1]), Self.isDigit(p[2]), Self.isDigit(p[3]), p[7] == 0x2D,
      let yy = Self.twoDigits(p, 0), let y2 = Self.twoDigits(p, 2),
      let month = Self.twoDigits(p, 5), let day = Self.twoDigits(p, 8)
    else { return nil }
    let year = yy * 100 + y2
    var hour = 0, minute = 0, second = 0
    var fraction: Int64 = 0
    var i = 10
    if n == 10 { adjustment = .dateOnly }
    if i < n, p[i] == 0x54 || p[i] == 0x74 || p[i] == 0x20 {  // T, t or space
      i += 1
      guard i + 5 <= n, let h = Self.twoDigits(p, i), p[i + 2] == 0x3A, let m = Self.twoDigits(p, i + 3) else {
        return nil
      }
      hour = h
      minute = m
      i += 5
      if i < n, p[i] == 0x3A {
        guard i + 3 <= n, let s = Self.twoDigits(p, i + 1) else { return nil }
        second = s
        i += 3
        if i < n, p[i] == 0x2E || p[i] == 0x2C {  // . or ,
          i += 1
          var digits = 0
          let start = i
          while i < n, Self.isDigit(p[i]) {
            if digits < 9 {
              fraction = fraction * 10 + Int64(p[i] &- 0x30)
              digits += 1
            } else if p[i] != 0x30 {
              adjustment = .fractionTruncated
            }
            i += 1
          }
          guard i > start else { return nil }
          while digits < 9 {
            fraction *= 10
            digits += 1
          }
        }
      }
    }
    // Offset: Z, +hh:mm, +hhmm, +hh, or nothing.
    var offsetSeconds: Int64? = nil
    if i < n {
      let c = p[i]
      if c == 0x5A || c == 0x7A {  // Z z
        offsetSeconds = 0
        i += 1
      } else if c == 0x2B || c == 0x2D {
        let sign: Int64 = c == 0x2D ? -1 : 1
        i += 1
        guard i + 2 <= n, let oh = Self.twoDigits(p, i) else { return nil }
        i += 2
        var om = 0
        if i < n, p[i] == 0x3A { i += 1 }
        if i + 2 <= n, let m = Self.twoDigits(p, i) {
          om = m
          i += 2
        }
        guard oh <= 18, om < 60 else {
          problem = .invalidDate
          return nil
        }
        offsetSeconds = sign * Int64(oh * 3600 + om * 60)
      }
    }
    guard i == n else { return nil }
    guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
      hour < 24, minute < 60, second <= 60
    else {
      problem = .invalidDate
      return nil
    }
    if second == 60 { adjustment = .leapSecond }
    let days = Self.daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
    let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    let offset = offsetSeconds ?? defaultOffset(localSeconds: local)
    let utc = local - offset
    guard utc > -9_223_372_036, utc < 9_223_372_036, Self.acceptedRange.contains(utc * 1_000_000_000 + fraction) else {
      problem = .outOfRange
      return nil
    }
    return utc * 1_000_000_000 + fraction
  }

  /// Seconds east of UTC for a local wall-clock time in the default zone. In a named zone, a time that does not
  /// exist or happens twice takes the offset in effect before the change (Python's `fold=0`, PEP 495), and
  /// `adjustment` says so.
  private mutating func defaultOffset(localSeconds: Int64) -> Int64 {
    switch timeZone {
    case .utc: return 0
    case .fixed(let seconds): return Int64(seconds)
    case .named(let zone):
      let minuteKey = localSeconds >= 0 ? localSeconds / 60 : (localSeconds - 59) / 60
      if minuteKey != cachedLocalMinute {
        (cachedOffset, cachedAdjustment) = Self.offset(localSeconds: minuteKey * 60, zone: zone)
        cachedLocalMinute = minuteKey
      }
      if let cachedAdjustment { adjustment = cachedAdjustment }
      return cachedOffset
    }
  }

  /// The offset (seconds east of UTC) for a local wall-clock time in `zone`: the instant it names lies within 14
  /// hours either side, so the offsets there are the candidates; one that maps the time to itself is the answer.
  static func offset(localSeconds local: Int64, zone: TimeZone) -> (Int64, TimestampAdjustment?) {
    func offset(at instant: Int64) -> Int64 {
      Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))))
    }
    let before = offset(at: local - 15 * 3600), after = offset(at: local + 15 * 3600)
    if before == after, offset(at: local - before) == before { return (before, nil) }
    let valid = [before, after].filter { offset(at: local - $0) == $0 }
    switch valid.count {
    case 2: return (before, .ambiguousLocalTime)
    case 1: return (valid[0], nil)
    default:
      // Two changes within a day, or a gap: the offset just before the change.
      let exact = offset(at: local - offset(at: local))
      return offset(at: local - exact) == exact ? (exact, nil) : (before, .nonexistentLocalTime)
    }
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
  static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }
}

/// How many timestamps each convention settled, with the first line of each (1-based once merged).
public struct AdjustedTimestampCounts: Sendable, Equatable {
  private var counts = [Int](repeating: 0, count: TimestampAdjustment.allCases.count)
  private var firstLines = [Int](repeating: -1, count: TimestampAdjustment.allCases.count)

  public init() {}

  mutating func note(_ kind: TimestampAdjustment, line: Int) {
    let k = TimestampAdjustment.allCases.firstIndex(of: kind)!
    counts[k] += 1
    if firstLines[k] < 0 { firstLines[k] = line }
  }

  /// Adds a later part's counts, its line numbers shifted by `firstLine`.
  mutating func add(_ part: AdjustedTimestampCounts, firstLine: Int) {
    for k in counts.indices where part.counts[k] > 0 {
      if firstLines[k] < 0 { firstLines[k] = firstLine + part.firstLines[k] }
      counts[k] += part.counts[k]
    }
  }

  /// One entry per convention that applied, in `TimestampAdjustment.allCases` order.
  var entries: [AdjustedTimestamps] {
    TimestampAdjustment.allCases.indices.compactMap { k in
      counts[k] > 0
        ? AdjustedTimestamps(
          adjustment: TimestampAdjustment.allCases[k], count: counts[k], firstLine: firstLines[k],
          explanation: TimestampAdjustment.allCases[k].explanation) : nil
    }
  }
}

/// Timestamps one convention settled in a log: how many, the first line, and how they were read.
public struct AdjustedTimestamps: Codable, Sendable, Equatable {
  public var adjustment: TimestampAdjustment
  public var count: Int
  /// 1-based line number in the (decompressed) file.
  public var firstLine: Int
  public var explanation: String
}
