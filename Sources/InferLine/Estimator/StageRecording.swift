/// What one stage did in a complete stage-by-stage run: its batches in the order it handled their finishes, and
/// its final counts. A run of another configuration in which the stage and every stage upstream of it are
/// configured the same sees the same events there, so it can hand these finishes on instead of simulating the
/// stage (`StageByStageSimulation`'s `replaying`). Immutable once made; shared between runs.
/// - Complexity: 10 bytes per batch and 4 per stage visit (4 per batch instead at a root; 8 more per batch at a
///   stage that feeds a join with batches timed by their inputs' sizes).
final class StageRecording: @unchecked Sendable {
  /// The batches and members, owned (freed with the recording).
  let buffers: StageRecorder
  /// The lane's counts at the end of the run.
  let final: StageByStageSimulation.LaneCounts

  /// Takes over a closed recorder's buffers (trimmed to size).
  init(_ recorder: StageRecorder, final: StageByStageSimulation.LaneCounts) {
    buffers = recorder.trimmed()
    self.final = final
  }

  deinit { buffers.free() }

  var batchCount: Int { buffers.batchCount }
  /// Stage visits recorded.
  var visits: Int { final.visits }
  /// Events the lane handled (its share of `SimulationResult.events`).
  var events: Int { buffers.events }
  var bytes: Int { buffers.bytes }
}

/// A stage's recording while its run goes on: growable buffers written in place (a plain value the simulation
/// keeps behind a pointer, so recording costs a few stores per batch). When a batch began is not kept where the
/// batch's size gives its duration (`began` nil); a batch's dispatch number is its place in the recording (batches
/// finishing at one instant are handled in dispatch order, and a join compares dispatch numbers only then).
struct StageRecorder {
  /// Per batch: finish time (nanoseconds), size, and at a root its first trace position.
  var times: UnsafeMutablePointer<Int64>
  var sizes: UnsafeMutablePointer<UInt16>
  var starts: UnsafeMutablePointer<Int32>?
  /// Per batch, when it began: only at a stage feeding a join whose batches take their inputs' sizes' time.
  var began: UnsafeMutablePointer<Int64>?
  var batchCount = 0
  var batchCapacity: Int
  /// Every batch's members, one batch after another (not at a root, whose members are trace positions).
  var queries: UnsafeMutablePointer<Int32>?
  var queryCount = 0
  var queryCapacity: Int
  var events = 0

  init(isRoot: Bool, keepsBegan: Bool) {
    batchCapacity = 1024
    queryCapacity = isRoot ? 0 : 4096
    times = .allocate(capacity: batchCapacity)
    sizes = .allocate(capacity: batchCapacity)
    starts = isRoot ? .allocate(capacity: batchCapacity) : nil
    began = keepsBegan ? .allocate(capacity: batchCapacity) : nil
    queries = isRoot ? nil : .allocate(capacity: queryCapacity)
  }

  var bytes: Int { batchCount * (10 + (starts == nil ? 0 : 4) + (began == nil ? 0 : 8)) + queryCount * 4 }

  /// A batch finished at `time`: members `members[start - base ..< start - base + size]`, or trace positions
  /// `start ..<` at a root (`members` nil).
  @inline(__always)
  mutating func record(
    time: Int64, size: Int, start: Int, began t: Int64, members: UnsafeMutablePointer<Int32>?, base: Int
  ) {
    if _slowPath(batchCount == batchCapacity) { growBatches() }
    times[batchCount] = time
    sizes[batchCount] = UInt16(truncatingIfNeeded: size)
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
    began?[batchCount] = t
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
    if let b = began {
      capacity = batchCapacity
      began = b.movedToDoubled(count: batchCount, capacity: &capacity)
    }
    batchCapacity = capacity
  }

  /// The same recording in buffers of exactly its size (this one's are freed).
  func trimmed() -> StageRecorder {
    func exact<T>(_ p: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeMutablePointer<T>? {
      guard let p else { return nil }
      let q = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
      q.moveInitialize(from: p, count: count)
      p.deallocate()
      return q
    }
    var r = self
    r.times = exact(times, batchCount)!
    r.sizes = exact(sizes, batchCount)!
    r.starts = exact(starts, batchCount)
    r.began = exact(began, batchCount)
    r.batchCapacity = batchCount
    r.queries = exact(queries, queryCount)
    r.queryCapacity = queryCount
    return r
  }

  func free() {
    times.deallocate()
    sizes.deallocate()
    starts?.deallocate()
    began?.deallocate()
    queries?.deallocate()
  }
}
