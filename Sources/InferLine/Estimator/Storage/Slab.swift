/// A growable buffer of plain values that frees itself: the simulators' hot state lives in these so that no
/// access pays for a uniqueness check or reference counting. Non-copyable, so it has one owner and its memory
/// goes with it.
struct Slab<Element>: ~Copyable {
  private(set) var base: UnsafeMutablePointer<Element>
  private(set) var capacity: Int

  /// A copy of an array's elements (one zeroed slot when it is empty, so `base` is always valid).
  init(_ elements: [Element]) where Element: BitwiseCopyable {
    capacity = max(elements.count, 1)
    base = .allocate(capacity: capacity)
    UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Element>.stride)
    _ = UnsafeMutableBufferPointer(start: base, count: elements.count).initialize(from: elements)
  }

  // Specialised here for the types other files fill (a build compiling files separately would otherwise copy
  // each element through its type's witnesses: 9% of a debug `report` for the misses' flags alone).
  @_specialize(where Element == Bool)
  @_specialize(where Element == Int64)
  @_specialize(where Element == UInt64)
  @_specialize(where Element == Int)
  init(repeating value: Element, count: Int) {
    capacity = max(count, 1)
    base = .allocate(capacity: capacity)
    base.initialize(repeating: value, count: capacity)
  }

  /// An empty slab (one zeroed slot), for state a run does not use.
  static func empty() -> Slab where Element: BitwiseCopyable { Slab([]) }

  deinit {
    base.deinitialize(count: capacity)
    base.deallocate()
  }

  /// Element `i`. Hot loops in other files read `base[i]` instead: a build that compiles files separately (debug, so
  /// the tests) cannot specialise this accessor there and would copy each element through its type's witnesses.
  @inline(__always) subscript(i: Int) -> Element {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }

  /// Grows to at least `wanted` elements, filling new ones with `value`. - Complexity: O(new capacity) when it
  /// grows (doubling), O(1) otherwise.
  mutating func grow(to wanted: Int, filling value: Element) {
    guard wanted > capacity else { return }
    let size = max(wanted, capacity * 2)
    let bigger = UnsafeMutablePointer<Element>.allocate(capacity: size)
    bigger.moveInitialize(from: base, count: capacity)
    (bigger + capacity).initialize(repeating: value, count: size - capacity)
    base.deallocate()
    base = bigger
    capacity = size
  }
}

extension UnsafeMutablePointer {
  /// A buffer of twice `capacity` (which doubles) holding the first `count` elements moved from this one, which is
  /// freed. - Complexity: O(count).
  func movedToDoubled(count: Int, capacity: inout Int) -> UnsafeMutablePointer<Pointee> {
    let bigger = UnsafeMutablePointer<Pointee>.allocate(capacity: capacity * 2)
    bigger.moveInitialize(from: self, count: count)
    deallocate()
    capacity *= 2
    return bigger
  }
}
