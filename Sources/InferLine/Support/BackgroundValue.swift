import Foundation
import Synchronization

/// A value computed on a thread of its own from the moment it is made, at a lower priority
/// (`ThreadWork.lowerPriority`), so that the caller goes on with other work; reading `value` waits for it if need
/// be. Once it is ready a read is one atomic load.
final class BackgroundValue<Value: Sendable>: @unchecked Sendable {
  /// Written once by the computing thread before `ready`, then only read.
  private var result: Value?
  private let ready = Atomic<Bool>(false)
  private let condition = NSCondition()

  /// Starts `compute` on a new thread named `name`.
  init(name: String, _ compute: @escaping @Sendable () -> Value) {
    let thread = Thread { [self] in
      ThreadWork.lowerPriority()
      let value = compute()
      condition.lock()
      result = value
      ready.store(true, ordering: .releasing)
      condition.broadcast()
      condition.unlock()
    }
    thread.name = name
    thread.start()
  }

  /// Whether `value` is ready (a read will not wait).
  var isReady: Bool { ready.load(ordering: .acquiring) }

  /// The value, once computed (blocks until then).
  var value: Value {
    if _slowPath(!ready.load(ordering: .acquiring)) {
      condition.lock()
      while !ready.load(ordering: .acquiring) { condition.wait() }
      condition.unlock()
    }
    return result!
  }
}
