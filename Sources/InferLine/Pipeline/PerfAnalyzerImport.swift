import Foundation

/// Reads the CSV that Triton's `perf_analyzer -f FILE` writes, into profile rows.
///
/// perf_analyzer writes one row per concurrency (or request rate) with latencies in microseconds:
/// `Concurrency,Inferences/Second,Client Send,...,p50 latency,p90 latency,p95 latency,p99 latency`. A profile
/// wants the latency of one batch without queueing, so the row with the lowest concurrency is taken (1 when the
/// sweep starts there); its p50 becomes `latency_ms` and its p99 `latency_p99_ms`.
public enum PerfAnalyzerImport {
  public struct Point: Sendable, Equatable {
    public var batchSize: Int
    public var p50Ms: Double
    public var p99Ms: Double
    /// The concurrency (or request rate) of the row taken.
    public var load: Double
    /// The input size perf_analyzer ran at (its `--shape`), in the unit of the log's size column; nil for a
    /// profile without size buckets.
    public var size: Double? = nil
  }

  /// - Throws: `InputError` naming the file and line when the columns or values are not perf_analyzer's.
  public static func point(csv text: String, file: String, batchSize: Int) throws -> Point {
    guard batchSize >= 1 else { throw InputError(file: file, "batch size must be at least 1 (got \(batchSize))") }
    let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
      !$0.trimmingCharacters(in: .whitespaces).isEmpty
    }
    guard let headerText = lines.first else {
      throw InputError(file: file, "the file is empty", fix: "run perf_analyzer with -f FILE and import that file")
    }
    let header = headerText.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    guard let loadColumn = header.firstIndex(of: "concurrency") ?? header.firstIndex(of: "request rate"),
      let p50 = header.firstIndex(of: "p50 latency"), let p99 = header.firstIndex(of: "p99 latency")
    else {
      throw InputError(
        file: file, line: 1,
        "not a perf_analyzer CSV: the header needs 'Concurrency' (or 'Request Rate'), 'p50 latency' and 'p99 latency'",
        fix: "pass the file perf_analyzer wrote with -f (its latencies are in microseconds)")
    }
    var best: Point? = nil
    for (index, line) in lines.enumerated().dropFirst() {
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      guard fields.count == header.count, let load = Double(fields[loadColumn]),
        let p50us = Double(fields[p50]), let p99us = Double(fields[p99]), p50us > 0, p99us >= p50us
      else {
        throw InputError(
          file: file, line: index + 1,
          "a row needs \(header.count) fields with a load, and positive p50 and p99 latencies (p99 at least p50)",
          fix: "check that the file is unedited perf_analyzer output")
      }
      if best == nil || load < best!.load {
        best = Point(batchSize: batchSize, p50Ms: p50us / 1000, p99Ms: p99us / 1000, load: load)
      }
    }
    guard let best else {
      throw InputError(file: file, "the file has a header but no measurements", fix: "re-run perf_analyzer")
    }
    return best
  }

  /// Profile CSV rows (no header) for the points, by size then batch, with the fields in the order of `columns`
  /// (a profiles file's header, lowercased; the default is `header`, or `sizedHeader` when a point has a size);
  /// columns the import does not fill are left empty.
  public static func rows(
    model: String, hardware: String, points: [Point], source: String, columns: [String]? = nil
  ) -> [String] {
    let sized = points.contains { $0.size != nil }
    let order = columns ?? (sized ? sizedHeader : header).split(separator: ",").map(String.init)
    return points.sorted { ($0.size ?? 0, $0.batchSize) < ($1.size ?? 0, $1.batchSize) }.map { p in
      order.map { column -> String in
        switch column {
        case "model": model
        case "hardware": hardware
        case "batch_size": String(p.batchSize)
        case "latency_ms": String(format: "%.3f", p.p50Ms)
        case "statistic": "p50"
        case "latency_p99_ms": String(format: "%.3f", p.p99Ms)
        case "size": p.size.map(ProfileTable.sizeText) ?? ""
        case "source": source
        default: ""
        }
      }.joined(separator: ",")
    }
  }

  public static let header = "model,hardware,batch_size,latency_ms,statistic,latency_p99_ms,source"
  /// The header of rows with sizes.
  public static let sizedHeader = "model,hardware,batch_size,latency_ms,statistic,latency_p99_ms,size,source"
}
