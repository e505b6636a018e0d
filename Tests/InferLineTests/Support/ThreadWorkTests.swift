import Dispatch
import Foundation
import Synchronization
import Testing

@testable import InferLine

@Suite struct ThreadWorkTests {
  /// Every task runs once, whatever the count and width (more threads than tasks, one thread, none to run).
  @Test(arguments: [(0, 2), (1, 4), (5, 1), (7, 2), (40, 3), (3, 16)])
  func everyTaskRunsOnce(count: Int, width: Int) {
    let runs = Mutex([Int](repeating: 0, count: count))
    ThreadWork.run(count: count, width: width) { k in runs.withLock { $0[k] += 1 } }
    #expect(runs.withLock { $0 } == [Int](repeating: 1, count: count))
  }

  /// Two tasks run at once even inside a `concurrentPerform` whose other iteration keeps a core busy (a nested
  /// apply there gets a width of one): task 0 finishes only once task 1 has started, and gives up after 10 s.
  @Test func tasksRunSideBySideInsideABusyApply() {
    let met = Mutex(false)
    DispatchQueue.concurrentPerform(iterations: 2) { outer in
      if outer == 0 {
        Thread.sleep(forTimeInterval: 0.3)  // the other iteration's work
        return
      }
      let started = DispatchSemaphore(value: 0)
      ThreadWork.run(count: 2, width: 2) { k in
        if k == 1 {
          started.signal()
        } else {
          let seen = started.wait(timeout: .now() + 10) == .success
          met.withLock { $0 = seen }
        }
      }
    }
    #expect(met.withLock { $0 })
  }
}
