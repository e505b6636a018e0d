import Dispatch
import Foundation
import Synchronization
import Testing

@testable import InferLine

struct CoreShareTests {
  /// A task may use the cores the other running tasks leave, and at least one.
  @Test func aTaskGetsTheCoresTheOthersLeave() {
    let share = CoreShare(total: 4)
    #expect(share.cores() == 4)
    share.run {
      #expect(share.cores() == 4)
      share.run {
        #expect(share.cores() == 3)
        share.run { share.run { share.run { #expect(share.cores() == 1) } } }
        #expect(share.cores() == 3)
      }
    }
    #expect(share.cores() == 4)
  }

  /// No more bodies run at once in `oneOfTotal` than the share's cores, with more threads asking than that; all
  /// of them run.
  @Test func noMoreRunAtOnceThanTheCores() {
    let share = CoreShare(total: 2)
    let running = Mutex((now: 0, most: 0, done: 0))
    let group = DispatchGroup()
    for _ in 0..<8 {
      group.enter()
      Thread.detachNewThread {
        share.oneOfTotal {
          running.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
          }
          usleep(5000)
          running.withLock {
            $0.now -= 1
            $0.done += 1
          }
        }
        group.leave()
      }
    }
    group.wait()
    let seen = running.withLock { $0 }
    #expect(seen.most <= 2)
    #expect(seen.done == 8)
  }
}
