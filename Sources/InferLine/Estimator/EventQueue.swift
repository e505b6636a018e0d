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

/// Arrivals the simulation creates (a query reaching a child stage a hop after its parent's batch finished), in
/// creation order. Batches finish in time order and, with one hop delay for every edge, these arrivals are created
/// in time order too: a first-in first-out ring, O(1) per arrival, pops them in the (time, kind, creation) order a
/// priority queue would. With delays that differ by edge (`ordered: false`) it is that priority queue: a binary
/// heap on (time, creation), O(log n) per arrival.
struct ArrivalQueue: ~Copyable {
  struct Entry {
    var time: Int64
    var stage: Int32
    var query: Int32
    /// Creation order (the heap's tie-break; unused by the ring).
    var sequence: UInt64 = 0
  }
  private var base: UnsafeMutablePointer<Entry>
  private var capacity: Int
  private var head = 0
  private(set) var count = 0
  /// False: a heap on (time, sequence) instead of the ring.
  let ordered: Bool
  private var created: UInt64 = 0

  init(ordered: Bool = true) {
    self.ordered = ordered
    capacity = 1024
    base = .allocate(capacity: capacity)
  }

  deinit { base.deallocate() }

  /// The earliest arrival's time; `Int64.max` when empty.
  @inline(__always) var firstTime: Int64 { count > 0 ? base[head].time : .max }

  @inline(__always)
  mutating func append(time: Int64, stage: Int, query: Int32) {
    if _slowPath(!ordered) { return push(Entry(time: time, stage: Int32(stage), query: query)) }
    #if INFERLINE_INVARIANTS
      precondition(count == 0 || time >= base[(head + count - 1) & (capacity - 1)].time, "arrivals in time order")
    #endif
    if count == capacity { grow() }
    base[(head + count) & (capacity - 1)] = Entry(time: time, stage: Int32(stage), query: query)
    count += 1
  }

  /// Removes and returns the earliest arrival. The queue must not be empty.
  @inline(__always)
  mutating func removeFirst() -> Entry {
    if _slowPath(!ordered) { return pop() }
    let entry = base[head]
    head = (head + 1) & (capacity - 1)
    count -= 1
    return entry
  }

  @inline(__always)
  private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
    a.time != b.time ? a.time < b.time : a.sequence < b.sequence
  }

  private mutating func push(_ entry: Entry) {
    if count == capacity { grow() }
    var e = entry
    e.sequence = created
    created &+= 1
    var i = count
    count += 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard Self.precedes(e, base[parent]) else { break }
      base[i] = base[parent]
      i = parent
    }
    base[i] = e
  }

  private mutating func pop() -> Entry {
    let top = base[0]
    count -= 1
    let last = base[count]
    var i = 0
    while true {
      let left = 2 * i + 1
      guard left < count else { break }
      let child = left + 1 < count && Self.precedes(base[left + 1], base[left]) ? left + 1 : left
      guard Self.precedes(base[child], last) else { break }
      base[i] = base[child]
      i = child
    }
    if count > 0 { base[i] = last }
    return top
  }

  private mutating func grow() {
    let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
    for i in 0..<count { bigger[i] = base[(head + i) & (capacity - 1)] }
    base.deallocate()
    base = bigger
    capacity *= 2
    head = 0
  }
}
