/// A join stage in the stage-by-stage simulator: the queries still waiting for some of their parents, and the
/// arrivals that are complete but not yet handed to the join's lane.
///
/// The event-driven simulator creates a query's arrival at a join when the last of the parents it visited
/// finishes it, at the latest of (parent finish + edge delay); arrivals at one instant are handled in creation
/// order. That order is known here for two arrivals whose creating finishes differ in time, in the start of their
/// batch (an earlier start pushed its finish earlier), or come from one stage (dispatch order, then place in the
/// batch). Two finishes of different stages at the same time whose batches began at the same time are ordered by
/// what happened before them, which this simulator does not keep: when arrivals at one instant hang on such a
/// pair, `admit` refuses and the run is left to the event-driven simulator (`StageByStageSimulation.simulate`
/// returns nil). Plain copyable storage, freed by its owner (`free`).
/// - Complexity: O(1) per parent visit (a table indexed by query, doubled when two queries in flight share a
///   slot); O(m) per slice to order its m arrivals: merged by parent (`orderBySegments`), or by buckets when their
///   times are spread (`orderByBuckets`), O(m log m) at worst. Memory: 56 bytes per slot, at most twice the span
///   of query numbers waiting at the join; 49 bytes per complete arrival not yet handed on.
struct StageByStageJoin {
  /// The finish that creates a query's arrival, ordered as the event queue handles finishes: by time, then by the
  /// start of the batch, then (at one stage) by dispatch order and the query's place in the batch.
  struct Creation {
    var finish: Int64
    var began: Int64
    var sequence: UInt64
    var stage: Int32
    var member: Int32

    /// Whether `self` is handled after `other`, and whether the two cannot be told apart here (two stages'
    /// finishes at one time whose batches began at one time); never both.
    @inline(__always)
    func order(against other: Creation) -> (later: Bool, tie: Bool) {
      let sameFinish = finish == other.finish
      return (finish > other.finish || (sameFinish && began > other.began), sameFinish && began == other.began)
    }
  }

  /// A complete arrival at the join: when, the finish that created it, the query, and whether that finish is one
  /// of two this simulator cannot order.
  struct Arrival {
    var time: Int64
    var creation: Creation
    var query: Int32
    var ambiguous: Bool

    /// The event queue's order, with ties between stages broken by stage (such ties are refused in `admit`).
    @inline(__always)
    static func precedes(_ a: Arrival, _ b: Arrival) -> Bool {
      if a.time != b.time { return a.time < b.time }
      let x = a.creation, y = b.creation
      if x.finish != y.finish { return x.finish < y.finish }
      if x.began != y.began { return x.began < y.began }
      if x.stage != y.stage { return x.stage < y.stage }
      if x.sequence != y.sequence { return x.sequence < y.sequence }
      return x.member < y.member
    }

    /// Whether the event queue's order between the two (adjacent, sorted) is unknown here.
    @inline(__always)
    static func cannotOrder(_ a: Arrival, _ b: Arrival) -> Bool {
      a.time == b.time && a.creation.finish == b.creation.finish && a.creation.began == b.creation.began
        && (a.creation.stage != b.creation.stage || a.ambiguous || b.ambiguous)
    }
  }

  /// A query some of whose parents have finished it: how many are still to, and the arrival so far.
  struct Partial {
    /// -1 in an empty slot.
    var query: Int32
    var remaining: Int32
    var arrival: Arrival

    /// What an empty slot holds.
    static let empty = Partial(
      query: -1, remaining: 0,
      arrival: Arrival(
        time: 0, creation: Creation(finish: 0, began: 0, sequence: 0, stage: 0, member: 0), query: -1,
        ambiguous: false))
  }

  /// The partial queries, query q in slot `q & slotMask` (the capacity a power of two).
  var slots: UnsafeMutablePointer<Partial>
  var slotMask: Int
  var partialCount = 0
  /// Where `arrive` writes a creation that must not land.
  var discard: UnsafeMutablePointer<Arrival>
  /// Complete arrivals not yet in the lane, in the order they were completed.
  var pending: UnsafeMutablePointer<Arrival>
  /// Their times, packed (`order` reads them, not the arrivals).
  var pendingTimes: UnsafeMutablePointer<Int64>
  /// Per pending arrival, whether it is out of its segment's order (`complete`).
  var pendingForeign: UnsafeMutablePointer<Bool>
  var pendingCount = 0
  var pendingCapacity: Int
  /// Room to sort them (`admit`).
  struct SortKey {
    var time: Int64
    var position: Int

    /// The event queue's order of the arrivals at the two positions: by time, then in full (`Arrival.precedes`).
    @inline(__always)
    static func precedes(_ a: SortKey, _ b: SortKey, in arrivals: UnsafeMutablePointer<Arrival>) -> Bool {
      a.time != b.time ? a.time < b.time : Arrival.precedes(arrivals[a.position], arrivals[b.position])
    }
  }
  var keys: UnsafeMutablePointer<SortKey>
  /// Room to merge into (`orderBySegments`), as many as `keys`.
  var mergedKeys: UnsafeMutablePointer<SortKey>
  var keyCapacity: Int
  /// Where each segment of `pending` after the first begins: the first is what the last `admit` kept (in order),
  /// each other what one lane run of a parent completed (its arrivals that are not foreign in order, `complete`).
  /// More than `maximumSegments` of them (a replayed parent hands on a batch at a time): `order` sorts by buckets.
  var segmentStarts: UnsafeMutablePointer<Int>
  var segmentCount = 0
  static let maximumSegments = 8
  /// Room for the ends of the runs `orderBySegments` merges (a segment's arrivals in order, then the others).
  var runEnds: UnsafeMutablePointer<Int>
  /// Room for the bucket counts of `order` (one more than the buckets).
  var bucketStarts: UnsafeMutablePointer<Int32>
  var bucketCapacity: Int

  init() {
    let capacity = 1 << 10
    slots = .allocate(capacity: capacity)
    slots.initialize(repeating: Partial.empty, count: capacity)
    slotMask = capacity - 1
    discard = .allocate(capacity: 1)
    discard.initialize(to: Partial.empty.arrival)
    pendingCapacity = 1 << 10
    pending = .allocate(capacity: pendingCapacity)
    pendingTimes = .allocate(capacity: pendingCapacity)
    pendingForeign = .allocate(capacity: pendingCapacity)
    keyCapacity = 1 << 10
    keys = .allocate(capacity: keyCapacity)
    mergedKeys = .allocate(capacity: keyCapacity)
    segmentStarts = .allocate(capacity: Self.maximumSegments)
    runEnds = .allocate(capacity: Self.maximumSegments + 2)
    bucketCapacity = (1 << 10) + 1
    bucketStarts = .allocate(capacity: bucketCapacity)
  }

  func free() {
    slots.deallocate()
    discard.deallocate()
    pending.deallocate()
    pendingTimes.deallocate()
    pendingForeign.deallocate()
    keys.deallocate()
    mergedKeys.deallocate()
    segmentStarts.deallocate()
    runEnds.deallocate()
    bucketStarts.deallocate()
  }

  /// A parent's lane run begins: what it completes from here on is a segment of `pending` of its own.
  @inline(__always)
  mutating func beginSegment() {
    let last = segmentCount == 0 ? 0 : segmentStarts[min(segmentCount, Self.maximumSegments) - 1]
    guard pendingCount > last else { return }
    if segmentCount < Self.maximumSegments { segmentStarts[segmentCount] = pendingCount }
    segmentCount += 1
  }

  /// A parent finished `query`, which reaches the join at `time` from that parent; `expected` is how many parents
  /// the query visits on its way to the join.
  @inline(__always)
  mutating func arrive(query: Int32, expected: Int, time: Int64, creation: Creation) {
    let arrival = Arrival(time: time, creation: creation, query: query, ambiguous: false)
    if expected == 1 { return complete(arrival, foreign: false) }
    var i = Int(query) & slotMask
    if slots[i].query != query {
      if _slowPath(slots[i].query != -1) {
        grow(toHold: query)
        i = Int(query) & slotMask
      }
      slots[i] = Partial(query: query, remaining: Int32(expected - 1), arrival: arrival)
      partialCount += 1
      return
    }
    // The earlier parents' arrival so far, merged without a branch on which finish was later (the parents finish
    // in either order at random): this finish's creation written where it is kept only when it is later, else
    // to `discard`.
    let slot = slots + i
    let old = slot.pointee.arrival
    let (later, tie) = creation.order(against: old.creation)
    let latest = max(old.time, time)
    let ambiguous = tie || (!later && old.ambiguous)
    slot.pointee.remaining -= 1
    guard slot.pointee.remaining == 0 else {
      (later ? slot.pointer(to: \.arrival)! : discard).pointee.creation = creation
      slot.pointee.arrival.time = latest
      slot.pointee.arrival.ambiguous = ambiguous
      return
    }
    // The last parent: the arrival is complete, written straight to `pending` (read back from the slot it was
    // just written to, it stalled on store forwarding).
    if _slowPath(pendingCount == pendingCapacity) { growPending() }
    let out = pending + pendingCount
    out.pointee = old
    (later ? out : discard).pointee.creation = creation
    out.pointee.time = latest
    out.pointee.ambiguous = ambiguous
    pendingTimes[pendingCount] = latest
    // Whether this finish gives the arrival both its time and its creation (see `complete`).
    pendingForeign[pendingCount] = !(old.time <= time && later)
    pendingCount += 1
    slot.pointee.query = -1
    partialCount -= 1
  }

  /// An arrival is complete. Unless `foreign`, the finish completing it created it and set its time (that
  /// finish plus its edge's delay): such arrivals of one parent's lane run come in the event queue's order, since
  /// the lane hands on its finishes in that order (`orderBySegments`). A foreign one took its time or its
  /// creation from a parent simulated earlier.
  @inline(__always)
  mutating func complete(_ arrival: Arrival, foreign: Bool) {
    if _slowPath(pendingCount == pendingCapacity) { growPending() }
    pending[pendingCount] = arrival
    pendingTimes[pendingCount] = arrival.time
    pendingForeign[pendingCount] = foreign
    pendingCount += 1
  }

  /// Doubles the room for complete arrivals.
  mutating func growPending() {
    var capacity = pendingCapacity
    pendingTimes = pendingTimes.movedToDoubled(count: pendingCount, capacity: &capacity)
    capacity = pendingCapacity
    pendingForeign = pendingForeign.movedToDoubled(count: pendingCount, capacity: &capacity)
    pending = pending.movedToDoubled(count: pendingCount, capacity: &pendingCapacity)
  }

  /// Doubles the table until `query` and every partial query have slots of their own (queries sharing a slot
  /// differ by a multiple of its size, so the size ends above the span of queries in flight).
  mutating func grow(toHold query: Int32) {
    var capacity = (slotMask + 1) * 2
    while true {
      let mask = capacity - 1
      let bigger = UnsafeMutablePointer<Partial>.allocate(capacity: capacity)
      bigger.initialize(repeating: .empty, count: capacity)
      var fits = true
      for k in 0...slotMask where slots[k].query != -1 {
        let i = Int(slots[k].query) & mask
        if bigger[i].query != -1 {
          fits = false
          break
        }
        bigger[i] = slots[k]
      }
      if fits && bigger[Int(query) & mask].query == -1 {
        slots.deallocate()
        slots = bigger
        slotMask = mask
        return
      }
      bigger.deallocate()
      capacity *= 2
    }
  }

  /// `keys[0 ..< count]`: the arrivals' (time, position) pairs in the event queue's order: by segments
  /// (`orderBySegments`) when they are known and nearly sorted, else by buckets (`orderByBuckets`).
  mutating func order(_ arrivals: UnsafeMutablePointer<Arrival>, times: UnsafeMutablePointer<Int64>, count: Int) {
    if keyCapacity < count {
      keys.deallocate()
      mergedKeys.deallocate()
      keyCapacity = max(count, keyCapacity * 2)
      keys = .allocate(capacity: keyCapacity)
      mergedKeys = .allocate(capacity: keyCapacity)
    }
    if segmentCount <= Self.maximumSegments && orderBySegments(arrivals, times: times, count: count) { return }
    orderByBuckets(arrivals, times: times, count: count)
  }

  /// `order` by the segments of `pending` (`segmentStarts`). The first segment (what the last `admit` kept) is in
  /// order, and so are the arrivals of each parent's lane run that are not foreign (`complete`): their times are
  /// the lane's finishes plus one edge's delay, and equal ones come in the order of their creations. So each
  /// segment's arrivals in order are one run, the foreign ones (a few percent) are sorted apart, and the runs are
  /// merged in turn. False, leaving `keys` to be ordered again, when a run is out of time order (the segments are
  /// not what was assumed) or the foreign arrivals need more than eight moves each to sort by insertion.
  /// - Complexity: O(count x runs + foreign moves).
  mutating func orderBySegments(
    _ arrivals: UnsafeMutablePointer<Arrival>, times: UnsafeMutablePointer<Int64>, count: Int
  ) -> Bool {
    let keys = keys, merged = mergedKeys, foreign = pendingForeign
    let segments = segmentCount
    let starts = segmentStarts
    let ends = runEnds
    // Each segment's own arrivals to `keys`, in place; the foreign ones to `merged`, then after them.
    var kept = 0
    var others = 0
    var ordered = true
    for k in 0...segments {
      let first = k == 0 ? 0 : starts[k - 1]
      let last = k == segments ? count : starts[k]
      let runStart = kept
      for i in first..<last {
        // Stored on both sides, kept on one (no branch on a route drawn at random).
        let key = SortKey(time: times[i], position: i)
        keys[kept] = key
        merged[others] = key
        let away = foreign[i] ? 1 : 0
        kept += 1 - away
        others += away
      }
      if kept - runStart > 1 {
        for i in (runStart + 1)..<kept where keys[i].time < keys[i - 1].time { ordered = false }
      }
      ends[k] = kept
    }
    guard ordered else { return false }
    var runs = segments + 1
    if others > 0 {
      var budget = 8 * others + 64
      for i in 1..<others {
        let key = merged[i]
        var j = i
        while j > 0 && SortKey.precedes(key, merged[j - 1], in: arrivals) {
          merged[j] = merged[j - 1]
          j -= 1
        }
        budget -= i - j
        if budget < 0 { return false }
        merged[j] = key
      }
      (keys + kept).update(from: merged, count: others)
      ends[runs] = count
      runs += 1
    }
    // The runs merged in turn, back and forth between the two buffers: `source[0 ..< middle]` is in order, run r
    // is copied beside it (when `source` is not where the runs are), and the two are merged into the other buffer,
    // rather than each merge copied back.
    var source = keys, target = merged
    for r in 1..<runs {
      let middle = ends[r - 1], last = ends[r]
      guard middle > 0 && last > middle else { continue }
      if source != keys { (source + middle).update(from: keys + middle, count: last - middle) }
      Self.merge(source, middle: middle, last: last, into: target, arrivals: arrivals)
      swap(&source, &target)
    }
    if source != keys { swap(&self.keys, &mergedKeys) }
    return true
  }

  /// Merges `keys[0 ..< middle]` and `keys[middle ..< last]`, each in the event queue's order and neither empty,
  /// into `merged[0 ..< last]`: the first half from the front and the second from the back in one loop, two chains
  /// of dependent loads instead of one, and no branch on which side is taken (the parents' arrivals interleave at
  /// random). Equal times compare in full; distinct arrivals are never equal, so the halves meet exactly.
  /// - Complexity: O(last).
  @inline(__always)
  static func merge(
    _ keys: UnsafeMutablePointer<SortKey>, middle: Int, last: Int, into merged: UnsafeMutablePointer<SortKey>,
    arrivals: UnsafeMutablePointer<Arrival>
  ) {
    @inline(__always) func before(_ y: SortKey, _ x: SortKey) -> Int {
      var first = y.time < x.time
      if _slowPath(y.time == x.time) { first = Arrival.precedes(arrivals[y.position], arrivals[x.position]) }
      return first ? 1 : 0
    }
    // Front heads of the two runs, and back tails.
    var a = 0, b = middle
    var p = middle - 1, q = last - 1
    @inline(__always) func frontStep(_ o: Int) {
      let x = keys[min(a, middle - 1)], y = keys[min(b, last - 1)]
      let takeY = (b < last ? 1 : 0) & ((a >= middle ? 1 : 0) | before(y, x))
      merged[o] = SortKey(time: takeY == 1 ? y.time : x.time, position: takeY == 1 ? y.position : x.position)
      a += 1 - takeY
      b += takeY
    }
    let half = last / 2
    for o in 0..<half {
      frontStep(o)
      let x = keys[max(p, 0)], y = keys[max(q, middle)]
      // The later of the two tails goes last.
      let takeX = (p >= 0 ? 1 : 0) & ((q < middle ? 1 : 0) | before(y, x))
      merged[last - 1 - o] = SortKey(
        time: takeX == 1 ? x.time : y.time, position: takeX == 1 ? x.position : y.position)
      p -= takeX
      q -= 1 - takeX
    }
    if last % 2 == 1 { frontStep(half) }
  }

  /// `keys[0 ..< count]`: the arrivals' (time, position) pairs in the event queue's order. A bucket sort on time
  /// (as many buckets as arrivals, over their span), then each bucket in order: by insertion when small, by the
  /// standard sort otherwise (many arrivals at one instant). A comparison sort of the slice took a seventh of a
  /// day's report (its arrivals come as many short runs: a query's arrival is its last parent's finish).
  /// - Complexity: O(count) for spread times; O(count log count) at worst.
  mutating func orderByBuckets(
    _ arrivals: UnsafeMutablePointer<Arrival>, times: UnsafeMutablePointer<Int64>, count: Int
  ) {
    // One closure for every bucket's sort (a local function passed to each made a context each time).
    let precedes: (SortKey, SortKey) -> Bool = { SortKey.precedes($0, $1, in: arrivals) }
    var low = Int64.max, high = Int64.min
    for i in 0..<count {
      low = min(low, times[i])
      high = max(high, times[i])
    }
    let span = UInt64(bitPattern: high &- low)
    var shift: UInt64 = 0
    while span >> shift >= UInt64(count) { shift += 1 }
    let buckets = Int(span >> shift) + 1
    if bucketCapacity < buckets + 1 {
      bucketStarts.deallocate()
      bucketCapacity = max(buckets + 1, bucketCapacity * 2)
      bucketStarts = .allocate(capacity: bucketCapacity)
    }
    let starts = bucketStarts
    starts.initialize(repeating: 0, count: buckets + 1)
    @inline(__always) func bucket(_ time: Int64) -> Int { Int(UInt64(bitPattern: time &- low) >> shift) }
    for i in 0..<count { starts[bucket(times[i]) + 1] += 1 }
    for b in 0..<buckets { starts[b + 1] += starts[b] }
    // Scattered in arrival order; `starts[b]` ends at bucket b's end, the next one's start.
    for i in 0..<count {
      let b = bucket(times[i])
      keys[Int(starts[b])] = SortKey(time: times[i], position: i)
      starts[b] += 1
    }
    var first = 0
    for b in 0..<buckets {
      let end = Int(starts[b])
      if end - first > 32 {
        var many = UnsafeMutableBufferPointer(start: keys + first, count: end - first)
        many.sort(by: precedes)
      } else if end - first > 1 {
        for i in (first + 1)..<end {
          let key = keys[i]
          var j = i
          while j > first && SortKey.precedes(key, keys[j - 1], in: arrivals) {
            keys[j] = keys[j - 1]
            j -= 1
          }
          keys[j] = key
        }
      }
      first = end
    }
  }

  /// Puts the complete arrivals at or before `through` into `lane`, in the event queue's order, and keeps the
  /// rest (a later slice may complete arrivals before them). False when two of them at one instant cannot be
  /// ordered here. Arrivals completed in later slices come after `through` (a parent's later finish is), so the
  /// lane stays in time order.
  mutating func admit(through: Int64, into lane: inout StageByStageSimulation.Lane) -> Bool {
    guard pendingCount > 0 else {
      segmentCount = 0
      return true
    }
    // Sorted as (time, position) pairs, a third of an arrival's bytes to move; equal times compare in full.
    let arrivals = pending
    order(arrivals, times: pendingTimes, count: pendingCount)
    var admitted = 0
    while admitted < pendingCount && keys[admitted].time <= through { admitted += 1 }
    if admitted > 1 {
      for i in 1..<admitted where keys[i - 1].time == keys[i].time {
        if Arrival.cannotOrder(arrivals[keys[i - 1].position], arrivals[keys[i].position]) { return false }
      }
    }
    // Written in place after the room is made (the keys hold the times; each arrival is read for its query only).
    lane.reserve(admitted)
    let times = lane.times + (lane.end - lane.base), queries = lane.queries.unsafelyUnwrapped + (lane.end - lane.base)
    for i in 0..<admitted {
      let key = keys[i]
      times[i] = key.time
      queries[i] = arrivals[key.position].query
    }
    lane.end += admitted
    // The rest (after `through`) stay, in order.
    let rest = (admitted..<pendingCount).map { arrivals[keys[$0].position] }
    for (i, arrival) in rest.enumerated() {
      pending[i] = arrival
      pendingTimes[i] = arrival.time
      pendingForeign[i] = false
    }
    pendingCount = rest.count
    segmentCount = 0
    return true
  }
}
