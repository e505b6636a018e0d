import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

@Suite struct GeneratorAndWindowTests {
  let folder = TemporaryFolder()
  let second: Int64 = 1_000_000_000

  @Test func windowsAreClockAlignedAndContiguous() {
    let hour = 3600 * second
    let base = 1_700_000_000 * second  // 2023-11-14T22:13:20Z
    let trace = ArrivalTrace(arrivals: [base, base + 10 * second, base + 2 * hour + 5 * second])
    let windows = trace.windows(length: hour)
    #expect(windows.count == 3)
    #expect(windows[0].start == base / hour * hour)
    #expect(windows.map(\.count) == [2, 0, 1])
    #expect(windows[1].start - windows[0].start == hour)
    #expect(windows[0].relativeArrivals(in: trace) == [base - windows[0].start, base - windows[0].start + 10 * second])
    #expect(windows[2].relativeArrivals(in: trace) == [base + 2 * hour + 5 * second - windows[2].start])
    // A window boundary belongs to the later window.
    let edge = ArrivalTrace(arrivals: [0, hour - 1, hour], isRelative: true)
    #expect(edge.windows(length: hour).map(\.count) == [2, 1])
    #expect(ArrivalTrace(arrivals: []).windows(length: hour).isEmpty)
  }

  @Test func durationsParse() {
    #expect(DurationText.nanoseconds("15m") == 900 * second)
    #expect(DurationText.nanoseconds("1h") == 3600 * second)
    #expect(DurationText.nanoseconds("1d") == 86_400 * second)
    #expect(DurationText.nanoseconds("2.5s") == 2_500_000_000)
    #expect(DurationText.nanoseconds("250ms") == 250_000_000)
    #expect(DurationText.nanoseconds("90") == 90 * second)
    #expect(DurationText.nanoseconds("0m") == nil)
    #expect(DurationText.nanoseconds("-1h") == nil)
    #expect(DurationText.nanoseconds("1 week") == nil)
    #expect(DurationText.describe(nanoseconds: 3600 * second) == "1h")
    #expect(DurationText.describe(nanoseconds: 900 * second) == "15m")
  }

  @Test func sameSeedSameTraceOtherSeedOtherTrace() {
    let a = TraceGenerator.arrivals(.poisson(rate: 100), duration: 60, start: 0, seed: 9)
    let b = TraceGenerator.arrivals(.poisson(rate: 100), duration: 60, start: 0, seed: 9)
    let c = TraceGenerator.arrivals(.poisson(rate: 100), duration: 60, start: 0, seed: 10)
    #expect(a == b)
    #expect(a != c)
  }

  /// Poisson: count within 4 standard deviations of rate x duration, inter-arrival CV near 1.
  @Test(arguments: [1, 2, 3] as [UInt64])
  func poissonHasItsRateAndUnitCV(seed: UInt64) {
    let rate = 200.0, duration = 600.0
    let t = TraceGenerator.arrivals(.poisson(rate: rate), duration: duration, start: 0, seed: seed)
    let expected = rate * duration
    #expect(abs(Double(t.count) - expected) < 4 * expected.squareRoot())
    let summary = TraceSummary(trace: ArrivalTrace(arrivals: t, isRelative: true), windowLength: 60 * second)
    #expect(abs(summary.interArrivalCV! - 1) < 0.02)
    #expect(t == t.sorted())
    #expect(t.allSatisfy { $0 >= 0 && $0 < Int64(duration) * second })
  }

  @Test func gammaHasItsCV() {
    let t = TraceGenerator.arrivals(.gamma(rate: 100, cv: 3), duration: 2000, start: 0, seed: 4)
    let summary = TraceSummary(trace: ArrivalTrace(arrivals: t, isRelative: true), windowLength: 60 * second)
    #expect(abs(summary.interArrivalCV! - 3) < 0.15)
    let rate: Double = Double(t.count) / 2000
    #expect(abs(rate - 100) < 5)
  }

  @Test func diurnalPeaksInTheAfternoon() {
    let day: Int64 = 1_795_824_000 * second  // 2026-11-28T00:00:00Z
    let t = TraceGenerator.arrivals(.diurnal(meanRate: 20, peakToTrough: 4), duration: 86_400, start: day, seed: 5)
    let hours = ArrivalTrace(arrivals: t).windows(length: 3600 * second).map(\.count)
    #expect(hours.count == 24)
    #expect(hours.firstIndex(of: hours.max()!)! >= 14 && hours.firstIndex(of: hours.max()!)! <= 18)
    #expect(hours.firstIndex(of: hours.min()!)! >= 2 && hours.firstIndex(of: hours.min()!)! <= 6)
    let ratio = Double(hours.max()!) / Double(hours.min()!)
    #expect(ratio > 3.3 && ratio < 4.3)  // hourly averages flatten the 4x instantaneous ratio a little
    let meanRate: Double = Double(t.count) / 86_400
    #expect(abs(meanRate - 20) < 0.5)
  }

  @Test func spikesRaiseThePeak() {
    let calm = TraceGenerator.arrivals(.poisson(rate: 50), duration: 600, start: 0, seed: 6)
    let spiky = TraceGenerator.arrivals(
      .spikes(rate: 50, multiplier: 6, count: 2, duration: 20), duration: 600, start: 0, seed: 6)
    let calmPeak = ArrivalEnvelope.maxArrivals(calm, within: 10 * second)
    let spikyPeak = ArrivalEnvelope.maxArrivals(spiky, within: 10 * second)
    #expect(spikyPeak > 4 * calmPeak)
    #expect(spiky.count > calm.count + 2 * 20 * 50 * 4)  // two 20 s spikes add about 2 x 20 x 250 queries
  }

  /// Spikes over a diurnal day: without them the day is the plain diurnal process, draw for draw; with two 10-minute
  /// spikes at 4x, the busiest 10 minutes hold about 4 times the curve's rate there, and the day about 2 x 600 x 3
  /// x the rate more queries.
  @Test func spikesOverADiurnalDay() {
    let day: Int64 = 1_795_824_000 * second
    let plain = TraceGenerator.arrivals(.diurnal(meanRate: 20, peakToTrough: 4), duration: 86_400, start: day, seed: 5)
    let none = TraceGenerator.arrivals(
      .diurnal(meanRate: 20, peakToTrough: 4, spikes: .init(count: 0, multiplier: 4, duration: 600)),
      duration: 86_400, start: day, seed: 5)
    #expect(none == plain)
    let spiky = TraceGenerator.arrivals(
      .diurnal(meanRate: 20, peakToTrough: 4, spikes: .init(count: 2, multiplier: 4, duration: 600)),
      duration: 86_400, start: day, seed: 5)
    let tens = ArrivalTrace(arrivals: spiky).windows(length: 600 * second).map(\.count)
    let base = ArrivalTrace(arrivals: plain).windows(length: 600 * second).map(\.count)
    // The windows a spike covers wholly or partly hold more than twice the plain day's there; the others match it
    // within noise (the spikes thin differently, so not draw for draw).
    let raised = zip(tens, base).filter { Double($0) > 2 * Double($1) }.count
    #expect(raised >= 2 && raised <= 4, "\(raised) raised windows")
    let extra = Double(spiky.count - plain.count)
    // Two spikes of 600 s add 3 x the curve's rate (between 8 and 32 q/s) x 1,200 s.
    #expect(extra > 3 * 8 * 1200 * 0.9 && extra < 3 * 32 * 1200 * 1.1, "\(extra)")
    #expect(throws: InputError.self) {
      try ArrivalProcess.diurnal(meanRate: 5, peakToTrough: 2, spikes: .init(count: 1, multiplier: 0, duration: 1))
        .validate()
    }
  }

  /// A bursty day: gamma gaps (CV 3) around the diurnal curve keep the day's shape and mean, and within an hour
  /// the gaps have about that CV (the rate moves little within an hour).
  @Test func aBurstyDiurnalDayKeepsItsShapeAndItsCV() {
    let day: Int64 = 1_795_824_000 * second
    let t = TraceGenerator.arrivals(
      .diurnal(meanRate: 20, peakToTrough: 4, cv: 3), duration: 86_400, start: day, seed: 7)
    let trace = ArrivalTrace(arrivals: t)
    let hours = trace.windows(length: 3600 * second)
    let counts = hours.map(\.count)
    let busiest = counts.firstIndex(of: counts.max()!)!
    #expect(busiest >= 12 && busiest <= 20, "busiest hour \(busiest)")
    let meanRate: Double = Double(t.count) / 86_400
    #expect(abs(meanRate - 20) < 1.5, "\(meanRate) q/s")
    let hour = hours[busiest].relativeArrivals(in: trace)
    let gaps = zip(hour.dropFirst(), hour).map { Double($0 - $1) }
    let mean = gaps.reduce(0, +) / Double(gaps.count)
    let sd = (gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count)).squareRoot()
    #expect(abs(sd / mean - 3) < 0.4, "CV \(sd / mean)")
    #expect(throws: InputError.self) { try ArrivalProcess.diurnal(meanRate: 5, peakToTrough: 2, cv: 0).validate() }
  }

  @Test func invalidProcessParametersAreRejected() {
    #expect(throws: InputError.self) { try ArrivalProcess.poisson(rate: 0).validate() }
    #expect(throws: InputError.self) { try ArrivalProcess.diurnal(meanRate: 5, peakToTrough: 0.5).validate() }
    #expect(throws: Never.self) { try ArrivalProcess.gamma(rate: 5, cv: 0.5).validate() }
  }

  /// Writing then reading gives the arrivals back, at the precision of each time format, in every file format.
  @Test func writeThenReadRoundTrips() throws {
    let start: Int64 = 1_795_824_000 * second
    let arrivals = TraceGenerator.arrivals(.gamma(rate: 300, cv: 2), duration: 30, start: start, seed: 11)
    for format in QueryLogWriter.Format.allCases {
      for timeFormat in QueryLogWriter.TimeFormat.allCases {
        for gzip in [false, true] {
          var writer = QueryLogWriter()
          writer.format = format
          writer.timeFormat = timeFormat
          writer.gzip = gzip
          writer.pipeline = "video, \"hd\""
          writer.latencySeed = 3
          let path = folder.path("rt-\(format)-\(timeFormat)-\(gzip)")
          try writer.write(arrivals: arrivals, to: path)
          var options = LogReadOptions()
          if timeFormat == .relative { options.timeUnit = .relativeSeconds }
          let log = try QueryLogReader.read(path: path, options: options)
          let label = "\(format) \(timeFormat) gzip=\(gzip)"
          #expect(log.report.gzip == gzip, "\(label)")
          #expect(log.report.malformedLines == 0, "\(label)")
          #expect(log.traces.count == 1 && log.traces[0].pipeline == "video, \"hd\"", "\(label)")
          let precision: Int64 =
            timeFormat == .epochMilliseconds ? 1_000_000 : timeFormat == .epochNanoseconds ? 1 : 1_000
          let expected =
            timeFormat == .relative
            ? arrivals.map { ($0 - arrivals[0]) / precision * precision }
            : arrivals.map { $0 / precision * precision }
          let same = log.traces[0].arrivals == expected
          #expect(same, "\(label)")
          #expect(log.traces[0].observedLatencyMs?.allSatisfy { $0 > 0 } == true, "\(label)")
        }
      }
    }
  }

  @Test func writingIntoAMissingFolderFailsCleanly() {
    var writer = QueryLogWriter()
    writer.format = .csv
    #expect(throws: InputError.self) { try writer.write(arrivals: [1], to: folder.path("no/such/dir/x.csv")) }
  }

  /// Second implementation of alpha(D): brute force over every start index.
  @Test func maxArrivalsMatchesBruteForce() {
    var rng = SeededGenerator(seed: 12)
    for _ in 0..<500 {
      let n = Int(rng.next() % 60)
      var t: [Int64] = []
      var now: Int64 = 0
      for _ in 0..<n {
        now += Int64(rng.next() % 4)  // many ties
        t.append(now)
      }
      for window in [1, 2, 3, 5, 17] as [Int64] {
        var best = 0
        for i in t.indices { best = max(best, t.filter { $0 >= t[i] && $0 < t[i] + window }.count) }
        #expect(ArrivalEnvelope.maxArrivals(t, within: window) == best)
      }
    }
  }
}
