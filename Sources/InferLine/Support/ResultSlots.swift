import Synchronization

/// One result slot per parallel task: each task writes only its own index, so the results come out in task order
/// whatever order the tasks ran in.
public final class ResultSlots<Value: Sendable>: Sendable {
  private let slots: Mutex<[Value?]>

  public init(count: Int) { slots = Mutex([Value?](repeating: nil, count: count)) }

  public subscript(i: Int) -> Value? {
    get { slots.withLock { $0[i] } }
    set { slots.withLock { $0[i] = newValue } }
  }

  /// Every slot, in task order.
  public var values: [Value?] { slots.withLock { $0 } }
}

/// A counter shared by parallel tasks (for "k of n done" progress).
public final class SharedCounter: Sendable {
  private let value = Mutex(0)
  public init() {}
  /// Adds one and returns the new count.
  public func increment() -> Int {
    value.withLock {
      $0 += 1
      return $0
    }
  }
}
