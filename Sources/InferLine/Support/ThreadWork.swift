import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Tasks spread over threads of their own rather than libdispatch's pool.
public enum ThreadWork {
  /// Runs `body(k)` for every k in `0..<count` on the calling thread and up to `width - 1` threads started for
  /// the call, each taking the next k until none is left; returns when every one is done. Tasks start in index
  /// order. `DispatchQueue.concurrentPerform` nested in another gets a share of the outer call's width for its
  /// whole run, so its tasks stay on one thread after the outer call's other tasks finish; these threads take the
  /// cores those leave. Work that must not run more copies at once than cores bounds itself (as `Replay.run` does
  /// with `CoreShare.oneOfTotal`).
  /// - Complexity: `count` calls of `body`, and `min(width, count) - 1` threads started.
  public static func run(count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let threads = min(width, count) - 1
    guard threads > 0 else {
      for k in 0..<count { body(k) }
      return
    }
    let taken = SharedCounter()
    let work: @Sendable () -> Void = {
      while true {
        let k = taken.increment() - 1
        guard k < count else { return }
        body(k)
      }
    }
    // Escaping only in name: the call waits for every thread it started (a thread may still hold the closure a
    // moment after it signals, which `withoutActuallyEscaping` would take for an escape).
    let done = DispatchSemaphore(value: 0)
    for _ in 0..<threads {
      Thread {
        work()
        done.signal()
      }.start()
    }
    work()
    for _ in 0..<threads { done.wait() }
  }

  /// Lowers the calling thread's scheduling priority (nice 10) for work done beside a thread that waits for it only
  /// when it must, so that the waiting thread keeps its core meanwhile; threads it starts inherit the priority. With
  /// glibc on Linux, where the nice value is a thread's own; no effect elsewhere.
  static func lowerPriority() {
    #if canImport(Glibc)
      _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
    #endif
  }
}
