/// The simulator's pending events: a binary min-heap in one contiguous buffer, ordered by (time, kind, creation).
///
/// The order is total (creation numbers are unique), so any correct priority queue pops the same sequence; this
/// one does less work per operation than a min-max heap (one comparison per level on the way down is enough
/// for a min-heap).
/// - Complexity: `insert` and `removeMin` O(log n), `min` O(1).
struct EventQueue {
  private var storage: ContiguousArray<SimulationEvent> = []

  var isEmpty: Bool { storage.isEmpty }
  var count: Int { storage.count }

  /// The earliest event, if any.
  @inline(__always) var min: SimulationEvent? { storage.first }

  @inline(__always)
  mutating func insert(_ event: SimulationEvent) {
    storage.append(event)
    storage.withUnsafeMutableBufferPointer { heap in
      var child = heap.count - 1
      let moving = heap[child]
      while child > 0 {
        let parent = (child - 1) >> 1
        guard moving < heap[parent] else { break }
        heap[child] = heap[parent]
        child = parent
      }
      heap[child] = moving
    }
  }

  /// Removes and returns the earliest event. The queue must not be empty.
  @inline(__always)
  mutating func removeMin() -> SimulationEvent {
    let last = storage.removeLast()
    guard !storage.isEmpty else { return last }
    return storage.withUnsafeMutableBufferPointer { heap in
      let top = heap[0]
      let n = heap.count
      var hole = 0
      while true {
        var child = 2 * hole + 1
        guard child < n else { break }
        if child + 1 < n && heap[child + 1] < heap[child] { child += 1 }
        guard heap[child] < last else { break }
        heap[hole] = heap[child]
        hole = child
      }
      heap[hole] = last
      return top
    }
  }
}
