import Foundation

/// Batch latencies of one model on one hardware type.
///
/// Latencies are kept in whole nanoseconds, rounded once from the file's milliseconds, so the estimator's integer
/// arithmetic starts from the same numbers every time.
public struct ModelProfile: Sendable, Equatable {
  /// Which statistic of the batch latency the numbers are.
  public enum Statistic: String, Sendable, Codable, CaseIterable {
    case p50, p99, mean
  }

  public var model: String
  public var hardware: String
  public var statistic: Statistic
  /// Profiled batch sizes, ascending.
  public var batchSizes: [Int]
  /// `L(n)` for each profiled size, nanoseconds.
  public var latencies: [Int64]
  /// p99 batch latency beside a p50, when the file gives it (for service-time variability).
  public var p99Latencies: [Int64]?
  /// Latency by input size, when the file's `size` column gives it; `latencies` and `p99Latencies` are then the
  /// largest bucket's (what a batch of unknown sizes takes).
  public var sizeBuckets: [SizeBucket]? = nil

  /// The latencies of batches whose largest input is at most `upTo` (tokens, pixels, items: the unit of the log's
  /// size column).
  public struct SizeBucket: Sendable, Equatable {
    public var upTo: Double
    /// `L(n)` for each of the profile's `batchSizes`, nanoseconds.
    public var latencies: [Int64]

    public init(upTo: Double, latencies: [Int64]) {
      self.upTo = upTo
      self.latencies = latencies
    }
  }

  /// Batch latency for a batch of `n`, nanoseconds: the latency of the smallest profiled size that holds `n`
  /// (pessimistic between profiled sizes); nil above the largest profiled size, which is never extrapolated.
  /// - Complexity: O(log sizes).
  public func latency(batch n: Int) -> Int64? {
    guard n >= 1, let index = batchSizes.firstIndex(where: { $0 >= n }) else { return nil }
    return latencies[index]
  }

  /// The same profile with every latency (p50, p99 and each size bucket's) replaced by `change(latency)`.
  public func mappingLatencies(_ change: (Int64) -> Int64) -> ModelProfile {
    var copy = self
    copy.latencies = latencies.map(change)
    copy.p99Latencies = p99Latencies?.map(change)
    copy.sizeBuckets = sizeBuckets?.map { SizeBucket(upTo: $0.upTo, latencies: $0.latencies.map(change)) }
    return copy
  }

  /// Queries per second one replica serves in batches of `batchSizes[index]`: `n / L(n)`.
  public func throughput(at index: Int) -> Double {
    Double(batchSizes[index]) / (Double(latencies[index]) * 1e-9)
  }

  /// Profiled sizes whose throughput is not higher than that of some smaller size: never worth choosing.
  public var dominatedBatchSizes: [Int] {
    var best = 0.0
    var result: [Int] = []
    for i in batchSizes.indices {
      let t = throughput(at: i)
      if t <= best { result.append(batchSizes[i]) } else { best = t }
    }
    return result
  }

  /// Profiled sizes worth choosing: the others, in ascending order.
  public var usefulBatchSizes: [Int] {
    let dominated = Set(dominatedBatchSizes)
    return batchSizes.filter { !dominated.contains($0) }
  }
}

/// Every profile from one profiles file, by (model, hardware).
public struct ProfileTable: Sendable, Equatable {
  public var profiles: [ModelProfile]
  public var file: String

  public func profile(model: String, hardware: String) -> ModelProfile? {
    profiles.first { $0.model == model && $0.hardware == hardware }
  }

  public func profiles(model: String) -> [ModelProfile] { profiles.filter { $0.model == model } }

  static let requiredColumns = ["model", "hardware", "batch_size", "latency_ms", "statistic"]
  static let optionalColumns = ["latency_p99_ms", "size", "source", "note"]

  /// Loads and checks a profiles CSV (lines starting with `#` are comments), collecting every problem.
  ///
  /// Errors: missing columns, unreadable numbers, batch sizes below 1, latencies not above 0, an unknown statistic,
  /// a p99 below its p50, two rows for one (model, hardware, batch size), two statistics in one profile.
  /// Warnings (errors with `strict`): latency that falls as the batch grows, unknown columns.
  public static func load(path: String, strict: Bool = false) -> (ProfileTable?, [Diagnostic]) {
    var sink = DiagnosticSink(file: path)
    guard let data = FileManager.default.contents(atPath: path) else {
      sink.error(nil, FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
      return (nil, sink.items)
    }
    let text = String(decoding: data, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    var header: [String]? = nil
    var headerLine = 0
    var rows: [Row] = []
    var seen: [String: Int] = [:]
    func column(_ name: String) -> Int? { header?.firstIndex(of: name) }
    for (index, raw) in lines.enumerated() {
      let lineNumber = index + 1
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      guard let columns = header else {
        header = fields.map { $0.lowercased() }
        headerLine = lineNumber
        let missing = requiredColumns.filter { !header!.contains($0) }
        if !missing.isEmpty {
          sink.error(
            lineNumber,
            "the header lacks \(missing.joined(separator: ", ")); a profiles file needs the columns \(requiredColumns.joined(separator: ", ")) (optional: \(optionalColumns.joined(separator: ", ")))"
          )
          return (nil, sink.items)
        }
        for name in header! where !requiredColumns.contains(name) && !optionalColumns.contains(name) {
          let message =
            "unknown column '\(name)'\(suggestion(for: name, among: requiredColumns + optionalColumns)) is ignored"
          if strict { sink.error(lineNumber, message) } else { sink.warning(lineNumber, message) }
        }
        continue
      }
      guard fields.count >= columns.count else {
        sink.error(lineNumber, "\(fields.count) fields, the header (line \(headerLine)) has \(columns.count)")
        continue
      }
      guard let row = parseRow(fields, column: column, line: lineNumber, sink: &sink) else { continue }
      let (model, hardware, batch, size) = (row.model, row.hardware, row.batch, row.size)
      let key = "\(model)\u{0}\(hardware)\u{0}\(batch)\u{0}\(size ?? -1)"
      if let first = seen[key] {
        let at = size.map { " and size \(Self.sizeText($0))" } ?? ""
        sink.error(
          lineNumber, "duplicate row: \(model) on \(hardware) at batch \(batch)\(at) is already on line \(first)")
        continue
      }
      seen[key] = lineNumber
      rows.append(row)
    }
    if header == nil {
      sink.error(nil, "the file is empty: it needs a header and one row per model, hardware and batch size")
    }
    var profiles: [ModelProfile] = []
    var order: [String] = []
    var groups: [String: [Row]] = [:]
    for row in rows {
      let key = "\(row.model)\u{0}\(row.hardware)"
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append(row)
    }
    for key in order {
      if let profile = profile(of: groups[key]!, strict: strict, sink: &sink) { profiles.append(profile) }
    }
    guard !sink.hasErrors else { return (nil, sink.items) }
    return (ProfileTable(profiles: profiles, file: path), sink.items)
  }

  /// A profiles row as read.
  struct Row {
    var model: String, hardware: String, batch: Int, latencyMs: Double, statistic: ModelProfile.Statistic
    var p99Ms: Double?, size: Double?, line: Int
  }

  /// One row's fields checked (`column` finds a named column), its errors in `sink`; nil when it has one.
  static func parseRow(
    _ fields: [String], column: (String) -> Int?, line lineNumber: Int, sink: inout DiagnosticSink
  ) -> Row? {
    let model = fields[column("model")!], hardware = fields[column("hardware")!]
    if model.isEmpty || hardware.isEmpty {
      sink.error(lineNumber, "model and hardware must not be empty")
      return nil
    }
    let batchText = fields[column("batch_size")!]
    guard let batch = Int(batchText), batch >= 1, batch <= ProfileTable.largestBatchSize else {
      sink.error(
        lineNumber,
        "batch_size must be a whole number from 1 to \(ProfileTable.largestBatchSize) (got '\(TerminalText.safe(String(batchText.prefix(40))))')"
      )
      return nil
    }
    let latencyText = fields[column("latency_ms")!]
    guard let latency = Double(latencyText), latency.isFinite else {
      sink.error(lineNumber, "latency_ms must be a number of milliseconds (got '\(latencyText)')")
      return nil
    }
    guard latency > 0 else {
      sink.error(
        lineNumber, "latency_ms must be positive (got \(latencyText) for \(model) on \(hardware), batch \(batch))")
      return nil
    }
    guard latency <= ProfileTable.longestMilliseconds else {
      sink.error(
        lineNumber,
        "latency_ms \(latencyText) is longer than a day (\(Int(ProfileTable.longestMilliseconds)) ms): check the unit of the column"
      )
      return nil
    }
    let statisticText = fields[column("statistic")!].lowercased()
    guard let statistic = ModelProfile.Statistic(rawValue: statisticText) else {
      sink.error(lineNumber, "statistic must be p50, p99 or mean (got '\(statisticText)')")
      return nil
    }
    var p99: Double? = nil
    if let c = column("latency_p99_ms"), !fields[c].isEmpty {
      guard let v = Double(fields[c]), v > 0, v <= ProfileTable.longestMilliseconds else {
        sink.error(
          lineNumber,
          "latency_p99_ms must be a positive number of milliseconds, at most a day (got '\(fields[c])')")
        return nil
      }
      if v < latency {
        sink.error(
          lineNumber, "latency_p99_ms (\(v)) is below latency_ms (\(latency)): a p99 cannot be below the p50")
        return nil
      }
      p99 = v
    }
    var size: Double? = nil
    if let c = column("size"), !fields[c].isEmpty {
      guard let v = Double(fields[c]), v > 0, v.isFinite else {
        sink.error(
          lineNumber,
          "size must be a positive number, the largest input the row's latency holds for, in the unit of the log's size column (got '\(TerminalText.safe(String(fields[c].prefix(40))))')"
        )
        return nil
      }
      size = v
    }
    return Row(
      model: model, hardware: hardware, batch: batch, latencyMs: latency, statistic: statistic, p99Ms: p99,
      size: size, line: lineNumber)
  }

  /// One (model, hardware)'s profile from its rows (in file order), checked: one statistic, every row sized or
  /// none, the same batch sizes in every size bucket, and latency that grows with the batch and the size (a
  /// warning, an error with `strict`); nil with the errors in `sink`.
  static func profile(of all: [Row], strict: Bool, sink: inout DiagnosticSink) -> ModelProfile? {
    let first = all[0]
    if let other = all.first(where: { $0.statistic != first.statistic }) {
      sink.error(
        other.line,
        "\(first.model) on \(first.hardware) mixes statistics (\(first.statistic.rawValue) on line \(first.line), \(other.statistic.rawValue) here); one profile needs one statistic"
      )
      return nil
    }
    if let unsized = all.first(where: { $0.size == nil }), let sized = all.first(where: { $0.size != nil }) {
      sink.error(
        max(unsized.line, sized.line),
        "\(first.model) on \(first.hardware) gives a size on line \(sized.line) but none on line \(unsized.line); a profile gives every row a size bucket or none: fill the size column of every row of this profile, or of none"
      )
      return nil
    }
    // One bucket per size (a profile without sizes is one bucket), each with the same batch sizes.
    let sizes = Array(Set(all.compactMap(\.size))).sorted()
    let buckets = sizes.isEmpty ? [all] : sizes.map { z in all.filter { $0.size == z } }
    let batchSizes = buckets[0].map(\.batch).sorted()
    if let uneven = buckets.first(where: { $0.map(\.batch).sorted() != batchSizes }) {
      sink.error(
        uneven.map(\.line).max()!,
        "\(first.model) on \(first.hardware): size \(Self.sizeText(uneven[0].size ?? 0)) is profiled at batch sizes \(uneven.map(\.batch).sorted().map(String.init).joined(separator: ", ")), size \(Self.sizeText(buckets[0][0].size ?? 0)) at \(batchSizes.map(String.init).joined(separator: ", ")): profile every size bucket at the same batch sizes"
      )
      return nil
    }
    var tables: [[Row]] = []
    for bucket in buckets {
      let group = bucket.sorted { $0.batch < $1.batch }
      for (a, b) in zip(group, group.dropFirst()) where b.latencyMs < a.latencyMs {
        let at = a.size.map { " at size \(Self.sizeText($0))" } ?? ""
        let message =
          "\(first.model) on \(first.hardware)\(at): latency falls from \(a.latencyMs) ms at batch \(a.batch) (line \(a.line)) to \(b.latencyMs) ms at batch \(b.batch); check the measurement"
        if strict { sink.error(b.line, message) } else { sink.warning(b.line, message) }
      }
      tables.append(group)
    }
    for (smaller, larger) in zip(tables, tables.dropFirst()) {
      for (a, b) in zip(smaller, larger) where b.latencyMs < a.latencyMs {
        let message =
          "\(first.model) on \(first.hardware) at batch \(a.batch): latency falls from \(a.latencyMs) ms at size \(Self.sizeText(a.size ?? 0)) (line \(a.line)) to \(b.latencyMs) ms at size \(Self.sizeText(b.size ?? 0)); check the measurement"
        if strict { sink.error(b.line, message) } else { sink.warning(b.line, message) }
      }
    }
    let group = tables.last!
    let hasP99 = group.allSatisfy { $0.p99Ms != nil }
    var profile = ModelProfile(
      model: first.model, hardware: first.hardware, statistic: first.statistic, batchSizes: group.map(\.batch),
      latencies: group.map { Self.nanoseconds($0.latencyMs) },
      p99Latencies: hasP99 ? group.map { Self.nanoseconds($0.p99Ms!) } : nil)
    if !sizes.isEmpty {
      profile.sizeBuckets = zip(sizes, tables).map { z, rows in
        ModelProfile.SizeBucket(upTo: z, latencies: rows.map { Self.nanoseconds($0.latencyMs) })
      }
    }
    return profile
  }

  /// The longest latency, SLO or delay the input files may give, milliseconds: a day. The loaders refuse longer
  /// values with the line; `nanoseconds` saturates there, so no path can overflow.
  public static let longestMilliseconds = 86_400_000.0
  /// The largest batch size a profile may give: the latency table holds one entry per size up to the largest.
  public static let largestBatchSize = 65_536

  /// A size as the profile writes it: `128`, `0.5`.
  public static func sizeText(_ size: Double) -> String { String(format: "%g", size) }

  /// Milliseconds to whole nanoseconds, rounded once; NaN and values beyond a day (or below 0) are clamped.
  public static func nanoseconds(_ milliseconds: Double) -> Int64 {
    guard milliseconds.isFinite else { return milliseconds > 0 ? Int64(longestMilliseconds * 1e6) : 0 }
    return Int64((min(max(milliseconds, 0), longestMilliseconds) * 1e6).rounded())
  }
}
