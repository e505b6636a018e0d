/// What one stage did in a complete stage-by-stage run: its batches in the order it handled their finishes, and
/// its final counts. A run of another configuration in which the stage and every stage upstream of it are
/// configured the same sees the same events there, so it can hand these finishes on instead of simulating the
/// stage (`StageByStageSimulation`'s `replaying`). Immutable once made; shared between runs.
/// - Complexity: 12 bytes per batch and 4 per stage visit (16 more per batch at a stage that feeds a join).
final class StageRecording: @unchecked Sendable {
  /// Per batch, in the order handled: finish time (nanoseconds) and size.
  private(set) var times: [Int64] = []
  private(set) var sizes: [Int32] = []
  /// At a root: each batch's first position in the trace (its members follow); elsewhere the members of every
  /// batch, one after another.
  private(set) var starts: [Int32] = []
  private(set) var queries: [Int32] = []
  /// At a stage feeding a join: when each batch began and its dispatch number (the join orders arrivals by them).
  private(set) var began: [Int64] = []
  private(set) var sequences: [UInt64] = []
  let isRoot: Bool
  let feedsJoin: Bool
  /// The lane's counts at the end of the run, and the events it handled (`SimulationResult.events`' share).
  private(set) var final: StageByStageSimulation.LaneCounts? = nil
  private(set) var events = 0

  init(isRoot: Bool, feedsJoin: Bool) {
    self.isRoot = isRoot
    self.feedsJoin = feedsJoin
  }

  var batchCount: Int { times.count }
  /// Stage visits recorded.
  var visits: Int { final?.visits ?? 0 }
  var bytes: Int { times.count * 12 + starts.count * 4 + queries.count * 4 + began.count * 16 }

  /// A batch finished at `time`: members `queries[start - base ..< start - base + size]`, or trace positions
  /// `start ..<` at a root.
  @inline(__always)
  func record(
    time: Int64, size: Int, start: Int, began t: Int64, sequence: UInt64, queries: UnsafeMutablePointer<Int32>?,
    base: Int
  ) {
    times.append(time)
    sizes.append(Int32(truncatingIfNeeded: size))
    if let queries {
      self.queries.append(contentsOf: UnsafeBufferPointer(start: queries + (start - base), count: size))
    } else {
      starts.append(Int32(truncatingIfNeeded: start))
    }
    if feedsJoin {
      began.append(t)
      sequences.append(sequence)
    }
  }

  /// Notes `count` events handled by the lane.
  func noteEvents(_ count: Int) { events += count }

  /// Ends the recording with the lane's counts.
  func close(_ counts: StageByStageSimulation.LaneCounts) {
    final = counts
    times.shrinkToFit()
    sizes.shrinkToFit()
    starts.shrinkToFit()
    queries.shrinkToFit()
    began.shrinkToFit()
    sequences.shrinkToFit()
  }
}

extension Array {
  /// Drops spare capacity (a recording is kept for many runs).
  fileprivate mutating func shrinkToFit() {
    guard capacity > count + 1024 else { return }
    self = withUnsafeBufferPointer { Array($0) }
  }
}
