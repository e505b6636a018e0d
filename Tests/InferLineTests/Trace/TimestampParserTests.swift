import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

@Suite struct TimestampParserTests {
  func parse(_ text: String, _ unit: TimeUnit = .seconds, zone: DefaultTimeZone = .utc) -> Int64? {
    var parser = TimestampParser(unit: unit, timeZone: zone)
    return parser.parse(text)
  }

  @Test func numericUnitsAreScaledExactly() {
    #expect(parse("1700000000", .seconds) == 1_700_000_000_000_000_000)
    #expect(parse("1700000000.123456789", .seconds) == 1_700_000_000_123_456_789)
    #expect(parse("1700000000.5", .seconds) == 1_700_000_000_500_000_000)
    #expect(parse("1700000000123", .milliseconds) == 1_700_000_000_123_000_000)
    #expect(parse("1700000000123.456", .milliseconds) == 1_700_000_000_123_456_000)
    #expect(parse("1700000000123456", .microseconds) == 1_700_000_000_123_456_000)
    #expect(parse("1700000000123456789", .nanoseconds) == 1_700_000_000_123_456_789)
    #expect(parse("12.25", .relativeSeconds) == 12_250_000_000)
    #expect(parse("0", .relativeSeconds) == 0)
    #expect(parse(".5", .relativeSeconds) == 500_000_000)
    // Digits past a nanosecond are truncated, not rounded through a Double.
    #expect(parse("1.0000000019", .seconds) == 1_000_000_001)
    #expect(parse(" \"1700000000\" ", .seconds) == 1_700_000_000_000_000_000)
  }

  @Test func microsecondsSurviveWhereADoubleWouldNot() {
    // 1700000000.000001 as a Double is 1700000000.0000010013580322...; integer parsing keeps it exact.
    #expect(parse("1700000000.000001", .seconds) == 1_700_000_000_000_001_000)
    #expect(parse("1700000000.000003", .seconds)! - parse("1700000000.000002", .seconds)! == 1000)
  }

  @Test func unitIsDetectedFromMagnitude() {
    #expect(TimeUnit.detect(integerPart: 0) == .relativeSeconds)
    #expect(TimeUnit.detect(integerPart: 86_400) == .relativeSeconds)
    #expect(TimeUnit.detect(integerPart: 1_700_000_000) == .seconds)
    #expect(TimeUnit.detect(integerPart: 1_700_000_000_123) == .milliseconds)
    #expect(TimeUnit.detect(integerPart: 1_700_000_000_123_456) == .microseconds)
    #expect(TimeUnit.detect(integerPart: 1_700_000_000_123_456_789) == .nanoseconds)
  }

  @Test func isoFormsAgreeOnOneInstant() {
    let expected: Int64 = 1_700_158_623_979_960_000  // 2023-11-16T18:17:03.97996Z
    let forms = [
      "2023-11-16T18:17:03.97996Z", "2023-11-16 18:17:03.9799600", "2023-11-16T18:17:03.979960000Z",
      "2023-11-16t18:17:03.97996z", "2023-11-16T19:17:03.97996+01:00", "2023-11-16T13:47:03.97996-0430",
      "2023-11-16T20:17:03.97996+02", "2023-11-16T18:17:03,97996Z",
    ]
    for form in forms { #expect(parse(form) == expected, "\(form)") }
  }

  @Test func fractionDigitsFromNoneToNineAndBeyond() {
    let base: Int64 = 1_700_158_623_000_000_000
    #expect(parse("2023-11-16T18:17:03Z") == base)
    var digits = ""
    for n in 1...9 {
      digits += String(n)
      let scale = Int64(pow(10, Double(9 - n)))
      #expect(parse("2023-11-16T18:17:03.\(digits)Z") == base + Int64(digits)! * scale, "\(n) digits")
    }
    #expect(parse("2023-11-16T18:17:03.1234567891234Z") == base + 123_456_789)
    #expect(parse("2023-11-16T18:17Z") == base - 3_000_000_000)
    #expect(parse("2023-11-16") == 1_700_092_800_000_000_000)
  }

  @Test func offsetFreeTimesUseTheGivenZone() throws {
    let utc = parse("2024-07-01 12:00:00")!
    #expect(parse("2024-07-01 12:00:00", zone: .fixed(seconds: 19_800)) == utc - 19_800 * 1_000_000_000)
    let newYork = try #require(DefaultTimeZone(parsing: "America/New_York"))
    // Summer: UTC-4; winter: UTC-5.
    #expect(parse("2024-07-01 12:00:00", zone: newYork) == utc + 4 * 3_600_000_000_000)
    let winterUTC = parse("2024-01-15 12:00:00")!
    #expect(parse("2024-01-15 12:00:00", zone: newYork) == winterUTC + 5 * 3_600_000_000_000)
    // An explicit offset wins over the zone.
    #expect(parse("2024-07-01T12:00:00Z", zone: newYork) == utc)
  }

  /// The conventions the README documents, each with its adjustment noted; an independent check through
  /// Foundation's calendar for the daylight-saving cases.
  @Test func conventionsAreAppliedAndNoted() throws {
    let newYork = try #require(DefaultTimeZone(parsing: "America/New_York"))
    var parser = TimestampParser(unit: .seconds, timeZone: newYork)
    let hour: Int64 = 3_600_000_000_000
    // Spring forward, 2024-03-10: 02:00-02:59 do not exist; 02:30 reads with EST (the offset before): 07:30 UTC.
    #expect(parser.parse("2024-03-10 02:30:00") == parse("2024-03-10T07:30:00Z"))
    #expect(parser.adjustment == .nonexistentLocalTime)
    #expect(parser.parse("2024-03-10 03:30:00") == parse("2024-03-10T07:30:00Z"))
    #expect(parser.adjustment == nil)
    #expect(parser.parse("2024-03-10 01:59:59") == parse("2024-03-10T06:59:59Z"))
    #expect(parser.adjustment == nil)
    // Fall back, 2024-11-03: 01:00-01:59 happen twice; the first (EDT) is read: 01:30 EDT = 05:30 UTC.
    #expect(parser.parse("2024-11-03 01:30:00") == parse("2024-11-03T05:30:00Z"))
    #expect(parser.adjustment == .ambiguousLocalTime)
    #expect(parser.parse("2024-11-03 02:30:00") == parse("2024-11-03T07:30:00Z"))
    #expect(parser.adjustment == nil)
    // Foundation agrees on unambiguous times around both changes.
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "America/New_York")!
    for (y, m, d, h) in [(2024, 3, 10, 1), (2024, 3, 10, 3), (2024, 11, 3, 0), (2024, 11, 3, 2), (2024, 7, 4, 12)] {
      let date = calendar.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: 15))!
      let text = String(format: "%04d-%02d-%02d %02d:15:00", y, m, d, h)
      #expect(parser.parse(text) == Int64(date.timeIntervalSince1970) * 1_000_000_000, "\(text)")
    }
    // A leap second is the next minute's :00.
    var utc = TimestampParser(unit: .seconds)
    #expect(utc.parse("2016-12-31T23:59:60Z") == parse("2017-01-01T00:00:00Z"))
    #expect(utc.adjustment == .leapSecond)
    // Digits below a nanosecond are dropped (noted only when they were not zeros).
    #expect(utc.parse("2023-11-16T18:17:03.1234567891Z") == parse("2023-11-16T18:17:03.123456789Z"))
    #expect(utc.adjustment == .fractionTruncated)
    #expect(utc.parse("2023-11-16T18:17:03.1234567890Z") != nil)
    #expect(utc.adjustment == nil)
    var ms = TimestampParser(unit: .milliseconds)
    #expect(ms.parse("1700000000000.0000015") == 1_700_000_000_000_000_001)
    #expect(ms.adjustment == .fractionTruncated)
    // A date alone is midnight in the default zone.
    #expect(parser.parse("2024-07-01") == parse("2024-07-01T04:00:00Z"))
    #expect(parser.adjustment == .dateOnly)
    #expect(utc.parse("2024-07-01T00:00:00Z")! - parser.parse("2024-07-01 00:00:00")! == -4 * hour)
  }

  @Test func zoneTextIsParsed() {
    #expect(DefaultTimeZone(parsing: "UTC") == .utc)
    #expect(DefaultTimeZone(parsing: "+05:30") == .fixed(seconds: 19_800))
    #expect(DefaultTimeZone(parsing: "-0800") == .fixed(seconds: -28_800))
    #expect(DefaultTimeZone(parsing: "Mars/Olympus_Mons") == nil)
    #expect(DefaultTimeZone(parsing: "+25:00") == nil)
  }

  @Test func badValuesSayWhy() {
    var parser = TimestampParser(unit: .seconds)
    let cases: [(String, TimestampProblem)] = [
      ("", .empty), ("   ", .empty), ("abc", .notATimestamp), ("12:30", .notATimestamp), ("1.2.3", .notATimestamp),
      ("-5", .negative), ("2023-02-30T00:00:00Z", .invalidDate), ("2023-13-01T00:00:00Z", .invalidDate),
      ("2023-01-01T25:00:00Z", .invalidDate), ("99999999999999999999", .outOfRange),
      ("9999999999999", .outOfRange), ("2023-11-16T18:17:03.Z", .notATimestamp),
      ("2023-11-16T18:17:03Zjunk", .notATimestamp),
    ]
    for (text, problem) in cases {
      #expect(parser.parse(text) == nil, "\(text)")
      #expect(parser.problem == problem, "\(text)")
    }
    #expect(parse("2024-02-29T00:00:00Z") != nil)
    #expect(parse("2023-02-29T00:00:00Z") == nil)
  }

  /// Second implementation: Foundation's calendar, over many seeded random instants and offsets.
  @Test func agreesWithFoundationCalendar() throws {
    var rng = SeededGenerator(seed: 42)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    for _ in 0..<2000 {
      let seconds = Int64(rng.next() % 4_000_000_000) - 100_000_000  // 1966 to 2096
      let date = Date(timeIntervalSince1970: Double(seconds))
      let offsetMinutes = Int(rng.next() % 1_681) - 840  // -14:00 to +14:00
      // Write the same instant with the offset: shift the wall clock by the offset using Foundation.
      let shifted = calendar.date(byAdding: .second, value: offsetMinutes * 60, to: date)!
      let s = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: shifted)
      let sign = offsetMinutes < 0 ? "-" : "+"
      let text = String(
        format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d", s.year!, s.month!, s.day!, s.hour!, s.minute!,
        s.second!, sign, abs(offsetMinutes) / 60, abs(offsetMinutes) % 60)
      #expect(parse(text) == seconds * 1_000_000_000, "\(text)")
    }
  }
}
