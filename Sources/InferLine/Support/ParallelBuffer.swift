/// Memory that parallel tasks share for the length of one call, each task touching only its own elements (a
/// slot per task, a row per window size), so no two tasks ever access the same memory. With `ParallelView` and the
/// log reader's block types, the only places the engine vouches for sendability by hand; everything else that is
/// shared and mutable sits behind a `Synchronization.Mutex` (`FeasibilityOracle`, `ResultSlots`).
struct ParallelBuffer<Element>: @unchecked Sendable {
  let buffer: UnsafeMutableBufferPointer<Element>

  init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }

  /// - Complexity: O(1).
  @inline(__always) subscript(i: Int) -> Element {
    get { buffer[i] }
    nonmutating set { buffer[i] = newValue }
  }

  var count: Int { buffer.count }
}

/// A read-only view handed to worker threads for the length of one call.
struct ParallelView<Element>: @unchecked Sendable {
  let buffer: UnsafeBufferPointer<Element>
  init(_ buffer: UnsafeBufferPointer<Element>) { self.buffer = buffer }
}

/// Runs `body` with `count` elements set to `value` and frees them when it returns: the memory cannot outlive the
/// call. - Complexity: O(count) to set up.
func withParallelBuffer<Element, Result>(
  count: Int, repeating value: Element, _ body: (ParallelBuffer<Element>) throws -> Result
) rethrows -> Result {
  let memory = UnsafeMutableBufferPointer<Element>.allocate(capacity: Swift.max(count, 1))
  memory.initialize(repeating: value)
  defer {
    _ = memory.deinitialize()
    memory.deallocate()
  }
  return try body(ParallelBuffer(UnsafeMutableBufferPointer(rebasing: memory[0..<count])))
}
