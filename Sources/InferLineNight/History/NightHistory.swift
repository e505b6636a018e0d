import Foundation
public import InferLine

/// One night of a pipeline's history: its UTC day, its traffic and, from an earlier report, what it cost.
public struct HistoryNight: Sendable, Equatable, Codable {
  /// The UTC day, `YYYY-MM-DD`.
  public var date: String
  /// Where it came from: a report.json's path, a log's path and its day, or `tonight`.
  public var source: String
  /// Queries over the day (a night shorter than 24 h scaled to 24 h, and said so in `hours`).
  public var dailyQueries: Double
  /// Hours of traffic the night covered (its first to last query).
  public var hours: Double
  /// The busiest window's rate, queries per second (the window length of the report).
  public var peakRate: Double
  /// The recommended provisioning's cost per day, from a report (nil for a log).
  public var costPerDay: Double? = nil
  /// The log the night's queries are in, for a night from a log (the backtest reads it again).
  public var logFile: String? = nil

  public init(
    date: String, source: String, dailyQueries: Double, hours: Double, peakRate: Double, costPerDay: Double? = nil
  ) {
    self.date = date
    self.source = source
    self.dailyQueries = dailyQueries
    self.hours = hours
    self.peakRate = peakRate
    self.costPerDay = costPerDay
  }

  /// The night of `arrivals` (sorted, absolute nanoseconds, one pipeline's): its day is the one holding the middle
  /// of its span, its daily queries scaled from its span when shorter than a day (from 1 h; shorter spans give
  /// nil), its peak the busiest clock-aligned window of `windowLength`.
  public init?(arrivals: ArraySlice<Int64>, windowLength: Int64, source: String, costPerDay: Double? = nil) {
    guard let first = arrivals.first, let last = arrivals.last else { return nil }
    let span = Double(last - first) / 3.6e12
    guard span >= 1 else { return nil }
    let windows = ArrivalTrace.windows(of: Array(arrivals), length: windowLength)
    self.init(
      date: Self.day(first / 2 + last / 2), source: source, dailyQueries: Self.daily(arrivals.count, hours: span),
      hours: span, peakRate: Double(windows.map(\.count).max() ?? 0) / (Double(windowLength) / 1e9),
      costPerDay: costPerDay)
  }

  /// The night an earlier report describes; nil for a report of relative times (no date) or under an hour.
  public init?(report r: CapacityReport, source: String) {
    let span = Double(r.workload.end - r.workload.start) / 3.6e12
    guard !r.workload.isRelative, span >= 1 else { return nil }
    self.init(
      date: Self.day(r.workload.start / 2 + r.workload.end / 2), source: source,
      dailyQueries: Self.daily(r.workload.queries, hours: span), hours: span,
      peakRate: Double(r.windows.map(\.queries).max() ?? 0) / r.windowLengthSeconds, costPerDay: r.costPerDay)
  }

  /// Queries over `hours` as queries a day: a span of 23.5 h or more is a whole day; a shorter one is scaled to 24 h
  /// (as the report scales its cost per day).
  static func daily(_ queries: Int, hours: Double) -> Double {
    hours >= 23.5 ? Double(queries) : Double(queries) * 24 / hours
  }

  /// The UTC day holding `t` (nanoseconds since the epoch), `YYYY-MM-DD`.
  public static func day(_ t: Int64) -> String {
    let days = Int((t - (t < 0 ? 86_399_999_999_999 : 0)) / 86_400_000_000_000)
    return dayText(days)
  }

  /// Days since 1970-01-01 as `YYYY-MM-DD` (the proleptic Gregorian calendar).
  public static func dayText(_ days: Int) -> String {
    let (y, m, d) = QueryLogWriter.civilFromDays(Int64(days))
    return String(format: "%04ld-%02ld-%02ld", y, m, d)
  }

  /// `YYYY-MM-DD` as days since 1970-01-01; nil when it is not a date.
  public static func dayNumber(_ text: String) -> Int? {
    let parts = text.split(separator: "-").map { Int($0) }
    guard parts.count == 3, let y0 = parts[0], let m = parts[1], let d = parts[2], (1...12).contains(m),
      (1...31).contains(d)
    else { return nil }
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }
}

/// A night the history did not use, and why (another pipeline version, another catalog, a duplicate, too short).
public struct LeftOutNight: Sendable, Equatable, Codable {
  public var source: String
  public var date: String?
  public var reason: String

  public init(source: String, date: String?, reason: String) {
    self.source = source
    self.date = date
    self.reason = reason
  }
}

/// One pipeline's earlier nights as read from `report --history`: those that match tonight's pipeline, catalog,
/// SLO and window, and those left out with their reasons.
public struct NightHistory: Sendable, Equatable, Codable {
  public var nights: [HistoryNight] = []
  public var leftOut: [LeftOutNight] = []
  /// Files in the folder that are neither reports nor logs (an earlier report's pages and charts), not read.
  public var otherFiles = 0
  /// Malformed lines the history's logs skipped, by file.
  public var skippedLines: [String: Int] = [:]
  public init(nights: [HistoryNight] = [], leftOut: [LeftOutNight] = []) {
    self.nights = nights
    self.leftOut = leftOut
  }

  /// What a night must share with tonight to be history of the same thing: the pipeline's stages, models and
  /// edges, the catalog's prices, the SLO and the window length.
  public struct Identity: Sendable, Equatable {
    public var pipeline: String
    public var stages: [String]
    public var edges: [String]
    public var catalog: String
    public var prices: [String: Double]
    public var slo: String
    public var windowSeconds: Double

    public init(
      pipeline: String, stages: [String], edges: [String], catalog: String, prices: [String: Double], slo: String,
      windowSeconds: Double
    ) {
      self.pipeline = pipeline
      self.stages = stages
      self.edges = edges
      self.catalog = catalog
      self.prices = prices
      self.slo = slo
      self.windowSeconds = windowSeconds
    }

    public init(model: PipelineModel, windowLength: Int64) {
      let spec = model.inputs.pipeline
      pipeline = spec.name
      stages = spec.stages.map { "\($0.name) (\($0.model))" }
      edges = spec.edges.map {
        "\(spec.stages[$0.parent].name) -> \(spec.stages[$0.child].name) \(String(format: "%g", $0.probability))"
      }
      catalog = model.inputs.catalog.name
      prices = Dictionary(
        model.inputs.catalog.hardware.map { ($0.type, $0.pricePerHour) }, uniquingKeysWith: { a, _ in a })
      slo = "P\(String(format: "%g", spec.slo.percentile)) <= \(String(format: "%g", spec.slo.latencyMs)) ms"
      windowSeconds = Double(windowLength) / 1e9
    }

    public init(report r: CapacityReport) {
      pipeline = r.pipelineName
      stages = r.stages.map { "\($0.name) (\($0.model))" }
      edges = r.edges.map { "\($0.parent) -> \($0.child) \(String(format: "%g", $0.probability))" }
      catalog = r.catalogName
      prices = r.hardwarePrices
      slo = "P\(String(format: "%g", r.percentile)) <= \(String(format: "%g", r.sloMs)) ms"
      windowSeconds = r.windowLengthSeconds
    }

    /// Why a night of `other` is not history of this one, in words; nil when it is.
    public func mismatch(_ other: Identity) -> String? {
      if other.stages != stages {
        return
          "another pipeline version (stages \(other.stages.joined(separator: ", ")); tonight \(stages.joined(separator: ", ")))"
      }
      if other.edges != edges { return "another pipeline version (edges \(other.edges.joined(separator: ", ")))" }
      if other.catalog != catalog || other.prices != prices {
        let changed = Set(other.prices.keys).union(prices.keys).sorted().filter { other.prices[$0] != prices[$0] }
        return
          "another hardware catalog ('\(other.catalog)'\(changed.isEmpty ? "" : "; prices differ for \(changed.joined(separator: ", "))"))"
      }
      if other.slo != slo { return "another SLO (\(other.slo); tonight \(slo))" }
      if other.windowSeconds != windowSeconds {
        return
          "another window (\(DurationText.describe(nanoseconds: Int64(other.windowSeconds * 1e9))); tonight \(DurationText.describe(nanoseconds: Int64(windowSeconds * 1e9))))"
      }
      return nil
    }
  }

  /// The nights of one pipeline's multi-day log: one per UTC day with at least `minimumHours` of traffic (days
  /// with less, the log's partial first and last days among them, are left out and named).
  /// - Complexity: O(arrivals).
  public static func nights(
    ofLog arrivals: [Int64], windowLength: Int64, source: String, minimumHours: Double = 23
  ) -> (nights: [HistoryNight], leftOut: [LeftOutNight]) {
    var nights: [HistoryNight] = [], leftOut: [LeftOutNight] = []
    var start = 0
    while start < arrivals.count {
      let day = HistoryNight.day(arrivals[start])
      let dayEnd = (Int64(HistoryNight.dayNumber(day)!) + 1) * 86_400_000_000_000
      var end = start
      while end < arrivals.count && arrivals[end] < dayEnd { end += 1 }
      let slice = arrivals[start..<end]
      let hours = Double(slice.last! - slice.first!) / 3.6e12
      if hours >= minimumHours,
        var night = HistoryNight(arrivals: slice, windowLength: windowLength, source: "\(source) (\(day))")
      {
        night.date = day
        night.logFile = source
        nights.append(night)
      } else {
        leftOut.append(
          .init(
            source: "\(source) (\(day))", date: day,
            reason: String(format: "%.1f h of traffic, less than the %g h a night needs", hours, minimumHours)))
      }
      start = end
    }
    return (nights, leftOut)
  }

  /// The daily series from the first night to `tonight`: one value per day, a missing day filled by linear
  /// interpolation between its neighbours (its date returned in `filled`). Nights after tonight are not used.
  public static func series(
    _ nights: [HistoryNight], tonight: HistoryNight, value: (HistoryNight) -> Double
  ) -> (values: [Double], filled: [String]) {
    guard let last = HistoryNight.dayNumber(tonight.date) else { return ([value(tonight)], []) }
    var byDay: [Int: Double] = [last: value(tonight)]
    for n in nights { if let d = HistoryNight.dayNumber(n.date), d < last, byDay[d] == nil { byDay[d] = value(n) } }
    let first = byDay.keys.min()!
    var values: [Double] = [], filled: [String] = []
    var previous = (day: first, value: byDay[first]!)
    for d in first...last {
      if let v = byDay[d] {
        values.append(v)
        previous = (d, v)
      } else {
        let next = (d + 1...last).first { byDay[$0] != nil }!
        let w = Double(d - previous.day) / Double(next - previous.day)
        values.append(previous.value + w * (byDay[next]! - previous.value))
        filled.append(HistoryNight.dayText(d))
      }
    }
    return (values, filled)
  }
}

extension NightHistory {
  /// Nanoseconds in a day.
  static let day: Int64 = 86_400_000_000_000

  /// Reads each log that `nights` came from once (in path order) and hands `body` that log's nights, each with its
  /// UTC day's arrivals of `pipeline` (sorted, nanoseconds): what the backtest and `--robust` replay. Nights not
  /// from a log are skipped. - Throws: `InputError` when a log can no longer be read; what `body` throws.
  /// - Complexity: reading the logs, and O(nights x log arrivals) to find the days.
  static func dayArrivals(
    of nights: [HistoryNight], pipeline: String, log: LogReadOptions,
    _ body: ([(night: HistoryNight, arrivals: ArraySlice<Int64>)]) throws -> Void
  ) throws {
    for file in Set(nights.compactMap(\.logFile)).sorted() {
      let set = try QueryLogSet.read(paths: [file], options: log)
      guard let trace = set.traces.first(where: { $0.pipeline == pipeline || set.traces.count == 1 }) else { continue }
      try body(
        nights.filter { $0.logFile == file }.map { night in
          let start = Int64(HistoryNight.dayNumber(night.date)!) * day
          let low = trace.arrivals.partitioningIndex { $0 >= start }
          let high = trace.arrivals.partitioningIndex { $0 >= start + day }
          return (night, trace.arrivals[low..<high])
        })
    }
  }
}
