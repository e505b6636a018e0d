import Foundation

/// One result slot per parallel task: each task writes only its own index, so the results come out in task order
/// whatever order the tasks ran in. Freed with the value.
public final class ResultSlots<Value>: @unchecked Sendable {
  private let values: UnsafeMutableBufferPointer<Value?>

  public init(count: Int) {
    values = .allocate(capacity: max(count, 1))
    values.initialize(repeating: nil)
  }

  deinit {
    _ = values.deinitialize()
    values.deallocate()
  }

  public subscript(i: Int) -> Value? {
    get { values[i] }
    set { values[i] = newValue }
  }
}

/// A counter shared by parallel tasks (for "k of n done" progress).
public final class SharedCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  public init() {}
  /// Adds one and returns the new count.
  public func increment() -> Int { lock.withLock { value += 1; return value } }
}
