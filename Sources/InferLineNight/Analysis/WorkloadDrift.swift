import Foundation
import InferLine

/// How tonight's workload differs from the previous report's (after Sandpiper's drift checks): the mean and peak
/// rates, burstiness (the envelope's peak-to-mean ratio at each window size both reports measured), the busiest
/// hour of the day and, for a fleet, the pipeline mix. Only changes beyond the thresholds are reported, so an
/// ordinary night says nothing.
public enum WorkloadDrift {
  /// Relative change of the mean rate or the one-second peak that is reported: 20%.
  public static let rateThreshold = 0.20
  /// Relative change of the peak-to-mean ratio at some window size that is reported: 25%.
  public static let burstinessThreshold = 0.25
  /// Change of a pipeline's share of the fleet's queries that is reported: 5 percentage points.
  public static let mixThreshold = 0.05
  /// Window sizes below this are micro-bursts, not load, and are not compared (seconds).
  static let smallestComparedWindow = 0.01

  /// The workload's changes from `old` to `new` beyond the thresholds, in words, each starting `workload:`.
  public static func changes(from old: CapacityReport, to new: CapacityReport) -> [String] {
    var lines: [String] = []
    func relative(_ before: Double, _ after: Double) -> Double? {
      before > 0 && before.isFinite && after.isFinite ? after / before - 1 : nil
    }
    func percent(_ r: Double) -> String { String(format: "%+.0f%%", r * 100) }
    let o = old.workload, n = new.workload
    if let r = relative(o.meanRate, n.meanRate), abs(r) > rateThreshold {
      lines.append(String(format: "workload: mean rate %.2f -> %.2f q/s (%@)", o.meanRate, n.meanRate, percent(r)))
    }
    if let r = relative(o.peakRate1s, n.peakRate1s), abs(r) > rateThreshold {
      lines.append(
        String(format: "workload: peak over one second %.0f -> %.0f q/s (%@)", o.peakRate1s, n.peakRate1s, percent(r)))
    }
    if let b = burstiest(old: o, new: n), abs(b.change) > burstinessThreshold {
      lines.append(
        String(
          format: "workload: %@ at %@ windows: the peak is %.1fx the mean rate, was %.1fx (%@)",
          b.change > 0 ? "burstier" : "smoother",
          b.seconds < 1 ? String(format: "%.3g ms", b.seconds * 1000) : String(format: "%.3g s", b.seconds),
          b.after, b.before, percent(b.change)))
    }
    if let before = busiestHour(old), let after = busiestHour(new), before != after,
      !old.workload.isRelative, !new.workload.isRelative
    {
      lines.append(String(format: "workload: the busiest hour moved from %02d:00 to %02d:00 UTC", before, after))
    }
    return lines
  }

  /// Pipelines whose share of the fleet's queries moved by more than `mixThreshold`, in words.
  public static func mixChanges(from old: FleetReport, to new: FleetReport) -> [String] {
    let oldTotal = Double(max(old.totals.queries, 1)), newTotal = Double(max(new.totals.queries, 1))
    let before = Dictionary(
      old.pipelines.map { ($0.pipelineName, Double($0.workload.queries) / oldTotal) }, uniquingKeysWith: +)
    return new.pipelines.compactMap { r in
      guard let was = before[r.pipelineName] else { return nil }
      let now = Double(r.workload.queries) / newTotal
      guard abs(now - was) > mixThreshold else { return nil }
      return String(
        format: "workload: %@'s share of the fleet's queries %.0f%% -> %.0f%%", r.pipelineName, was * 100, now * 100)
    }
  }

  /// The window size (seconds, at least 10 ms) both reports measured where the peak-to-mean ratio changed most.
  static func burstiest(
    old: CapacityReport.Workload, new: CapacityReport.Workload
  ) -> (seconds: Double, before: Double, after: Double, change: Double)? {
    guard old.meanRate > 0, new.meanRate > 0 else { return nil }
    var best: (seconds: Double, before: Double, after: Double, change: Double)? = nil
    for (j, size) in new.envelopeSizesSeconds.enumerated() where size >= smallestComparedWindow {
      guard let i = old.envelopeSizesSeconds.firstIndex(where: { abs($0 - size) <= 1e-9 * size }),
        i < old.envelopeRates.count, j < new.envelopeRates.count
      else { continue }
      let before = old.envelopeRates[i] / old.meanRate, after = new.envelopeRates[j] / new.meanRate
      guard before > 0 else { continue }
      let change = after / before - 1
      if best == nil || abs(change) > abs(best!.change) { best = (size, before, after, change) }
    }
    return best
  }

  /// The hour of the day (UTC) of the window with the most queries; nil for relative logs or no windows.
  static func busiestHour(_ r: CapacityReport) -> Int? {
    guard let w = r.windows.max(by: { $0.queries < $1.queries }) else { return nil }
    let seconds = Int64((Double(w.start) / 1e9).rounded(.down))
    return Int(((seconds % 86_400) + 86_400) % 86_400 / 3600)
  }
}
