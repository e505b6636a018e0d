import Dispatch
import Foundation
import Synchronization

/// The machine's cores shared out among tasks that each may run work in parallel (windows planned at once, each
/// with its own checks in parallel): a task may use the cores the other tasks leave, and at least one.
public final class CoreShare: Sendable {
  /// The process's share: every task that plans in parallel with others runs in it.
  public static let process = CoreShare()

  private let active = Atomic<Int>(0)
  private let slots: DispatchSemaphore
  /// Cores to share.
  public let total: Int

  /// - Parameter total: by default the machine's active cores.
  public init(total: Int? = nil) {
    self.total = max(1, total ?? ProcessInfo.processInfo.activeProcessorCount)
    slots = DispatchSemaphore(value: self.total)
  }

  /// Runs `body` as one of the tasks sharing the cores.
  public func run<T>(_ body: () throws -> T) rethrows -> T {
    active.add(1, ordering: .relaxed)
    defer { active.subtract(1, ordering: .relaxed) }
    return try body()
  }

  /// The cores one task may use now: those the other running tasks leave, at least one.
  public func cores() -> Int { max(1, total - max(0, active.load(ordering: .relaxed) - 1)) }

  /// Runs `body` once fewer than `total` bodies run in `oneOfTotal` (waiting until then): for work whose memory
  /// grows with how many run at once, such as a whole day's replay, so that no more run than there are cores
  /// however the tasks around them nest. `body` must not call `oneOfTotal` itself.
  public func oneOfTotal<T>(_ body: () throws -> T) rethrows -> T {
    slots.wait()
    defer { slots.signal() }
    return try body()
  }
}
