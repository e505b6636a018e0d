/// What one stage did in a complete stage-by-stage run: its batches in the order it handled their finishes, and
/// its final counts. A run of another configuration in which the stage and every stage upstream of it are
/// configured the same sees the same events there, so it can hand these finishes on instead of simulating the
/// stage (`StageByStageSimulation`'s `replaying`). Immutable once made; shared between runs.
/// - Complexity: 12 bytes per batch and 4 per stage visit (4 per batch instead at a root; 16 more per batch at a
///   stage that feeds a join).
final class StageRecording: @unchecked Sendable {
  /// The batches and members, owned (freed with the recording).
  let buffers: StageRecorder
  let isRoot: Bool
  let feedsJoin: Bool
  /// The lane's counts at the end of the run.
  let final: StageByStageSimulation.LaneCounts

  init(_ buffers: StageRecorder, isRoot: Bool, feedsJoin: Bool, final: StageByStageSimulation.LaneCounts) {
    self.buffers = buffers
    self.isRoot = isRoot
    self.feedsJoin = feedsJoin
    self.final = final
  }

  deinit { buffers.free() }

  var batchCount: Int { buffers.batchCount }
  /// Stage visits recorded.
  var visits: Int { final.visits }
  /// Events the lane handled (its share of `SimulationResult.events`).
  var events: Int { buffers.events }
  var bytes: Int { buffers.batchCapacity * (buffers.began == nil ? 16 : 32) + buffers.queryCapacity * 4 }
}

/// A stage's recording while its run goes on: growable buffers written in place (a plain value the simulation
/// keeps behind a pointer, so recording costs a few stores per batch).
struct StageRecorder {
  /// Per batch: finish time (nanoseconds), size, and at a root its first trace position.
  var times: UnsafeMutablePointer<Int64>
  var sizes: UnsafeMutablePointer<Int32>
  var starts: UnsafeMutablePointer<Int32>?
  /// Per batch at a stage feeding a join: when it began and its dispatch number.
  var began: UnsafeMutablePointer<Int64>?
  var sequences: UnsafeMutablePointer<UInt64>?
  var batchCount = 0
  var batchCapacity: Int
  /// Every batch's members, one batch after another (not at a root, whose members are trace positions).
  var queries: UnsafeMutablePointer<Int32>?
  var queryCount = 0
  var queryCapacity: Int
  var events = 0

  init(isRoot: Bool, feedsJoin: Bool) {
    batchCapacity = 1024
    queryCapacity = isRoot ? 0 : 4096
    times = .allocate(capacity: batchCapacity)
    sizes = .allocate(capacity: batchCapacity)
    starts = isRoot ? .allocate(capacity: batchCapacity) : nil
    began = feedsJoin ? .allocate(capacity: batchCapacity) : nil
    sequences = feedsJoin ? .allocate(capacity: batchCapacity) : nil
    queries = isRoot ? nil : .allocate(capacity: queryCapacity)
  }

  /// A batch finished at `time`: members `members[start - base ..< start - base + size]`, or trace positions
  /// `start ..<` at a root (`members` nil).
  @inline(__always)
  mutating func record(
    time: Int64, size: Int, start: Int, began t: Int64, sequence: UInt64, members: UnsafeMutablePointer<Int32>?,
    base: Int
  ) {
    if _slowPath(batchCount == batchCapacity) { growBatches() }
    times[batchCount] = time
    sizes[batchCount] = Int32(truncatingIfNeeded: size)
    if let members {
      while _slowPath(queryCount + size > queryCapacity) {
        var capacity = queryCapacity
        queries = queries!.movedToDoubled(count: queryCount, capacity: &capacity)
        queryCapacity = capacity
      }
      (queries! + queryCount).update(from: members + (start - base), count: size)
      queryCount += size
    } else {
      starts?[batchCount] = Int32(truncatingIfNeeded: start)
    }
    if let began {
      began[batchCount] = t
      sequences![batchCount] = sequence
    }
    batchCount += 1
  }

  mutating func growBatches() {
    var capacity = batchCapacity
    times = times.movedToDoubled(count: batchCount, capacity: &capacity)
    capacity = batchCapacity
    sizes = sizes.movedToDoubled(count: batchCount, capacity: &capacity)
    if let s = starts {
      capacity = batchCapacity
      starts = s.movedToDoubled(count: batchCount, capacity: &capacity)
    }
    if let b = began, let q = sequences {
      capacity = batchCapacity
      began = b.movedToDoubled(count: batchCount, capacity: &capacity)
      capacity = batchCapacity
      sequences = q.movedToDoubled(count: batchCount, capacity: &capacity)
    }
    batchCapacity = capacity
  }

  func free() {
    times.deallocate()
    sizes.deallocate()
    starts?.deallocate()
    began?.deallocate()
    sequences?.deallocate()
    queries?.deallocate()
  }
}
