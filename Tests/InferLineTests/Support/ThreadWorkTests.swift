import Dispatch
import Foundation
import Synchronization
import Testing

@testable import InferLine

#if canImport(Glibc)
  import Glibc
#endif

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

  /// A background value is computed once, on a thread at a lower priority (nice 10 with glibc, or the caller's if
  /// that is lower still) whose threads inherit it; reading it waits until it is ready, then reads it at once.
  @Test func aBackgroundValueIsComputedOnceAtALowerPriorityAndWaitedFor() {
    let release = DispatchSemaphore(value: 0)
    let runs = Mutex(0)
    let value = BackgroundValue(name: "test") { () -> [Int32] in
      release.wait()
      runs.withLock { $0 += 1 }
      var nice: [Int32] = []
      #if canImport(Glibc)
        nice.append(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
        let inner = Mutex<Int32>(0)
        ThreadWork.run(count: 2, width: 2) { k in
          if k == 1 { inner.withLock { $0 = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) } }
        }
        nice.append(inner.withLock { $0 })
      #endif
      return nice
    }
    #expect(!value.isReady, "not before it is let go")
    release.signal()
    let nice = value.value
    #expect(value.isReady && value.value == nice && runs.withLock { $0 } == 1)
    #if canImport(Glibc)
      let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
      #expect(nice.count == 2 && nice.allSatisfy { $0 >= max(10, own) }, "\(nice), the test's own \(own)")
    #endif
  }
}
