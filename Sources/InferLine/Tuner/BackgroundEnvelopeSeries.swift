import Foundation
import Synchronization

/// Per tick, the rates a tuner reads at each window size (`RateSeries.envelopeRates`).
protocol TickRates {
  /// Ticks covered.
  var tickCount: Int { get }
  /// The rate at size k over the history before tick i, queries per second.
  func rate(size k: Int, tick i: Int) -> Double
}

/// `[size][tick]`, as `RateSeries.envelopeRates` returns it.
extension Array: TickRates where Element == [Double] {
  var tickCount: Int { first?.count ?? 0 }
  func rate(size k: Int, tick i: Int) -> Double { self[k][i] }
}

/// The live traffic's envelope series over a whole replay (`RateSeries.envelopeRates`), computed an hour of ticks
/// at a time on a thread of its own while the closed loop, one core's work, runs beside it: a tick's rates are read
/// once its hour is done, after waiting for it if need be. Each tick's rates are computed from the trace alone, so
/// they are the same values as the whole series computed at once. A series of an hour or less is computed at once.
/// - Complexity: O((N + ticks) x sizes) on the producing thread; a read is O(1) once its hour is done. Memory: one
///   `Double` per tick and size.
final class BackgroundEnvelopeSeries: TickRates, @unchecked Sendable {
  let tickCount: Int
  let sizeCount: Int
  /// `[size][tick]`, written by the producing thread up to `ready` ticks, then only read.
  private let values: UnsafeMutablePointer<Double>
  /// Ticks whose rates are written, at every size.
  private let ready = Atomic<Int>(0)
  private let condition = NSCondition()

  /// - Parameters:
  ///   - arrivals: the trace, nanoseconds, sorted.
  ///   - ticks: increasing.
  ///   - chunk: ticks computed at a time (an hour of one-second ticks).
  init(arrivals: [Int64], ticks: [Int64], sizes: [Int64], history: Int64, chunk: Int = 3_600) {
    tickCount = ticks.count
    sizeCount = sizes.count
    values = .allocate(capacity: max(1, ticks.count * sizes.count))
    let spacing = ticks.withUnsafeBufferPointer { RateSeries.evenSpacing($0) }
    // Ticks not evenly spaced take the deque, which starts from the trace's first arrival: all at once.
    let chunk = spacing == nil ? max(1, ticks.count) : max(1, chunk)
    guard ticks.count > chunk else {
      compute(arrivals, ticks, from: 0, to: ticks.count, spacing: spacing, sizes: sizes, history: history)
      return
    }
    let thread = Thread { [self] in
      // The closed loop waits for an hour only when it gets there first.
      ThreadWork.lowerPriority()
      var from = 0
      while from < ticks.count {
        let to = min(ticks.count, from + chunk)
        compute(arrivals, ticks, from: from, to: to, spacing: spacing, sizes: sizes, history: history)
        from = to
      }
    }
    thread.name = "inferline tuner envelopes"
    thread.start()
  }

  deinit { values.deallocate() }

  /// Computes ticks `from..<to` at every size, then marks them ready and wakes any reader.
  private func compute(
    _ arrivals: [Int64], _ ticks: [Int64], from: Int, to: Int, spacing: Int64?, sizes: [Int64], history: Int64
  ) {
    arrivals.withUnsafeBufferPointer { a in
      ticks.withUnsafeBufferPointer { t in
        let part = UnsafeBufferPointer(rebasing: t[from..<to])
        for k in sizes.indices {
          let row = UnsafeMutableBufferPointer(start: values + k * tickCount + from, count: to - from)
          RateSeries.envelopeRow(a, ticks: part, spacing: spacing, size: sizes[k], history: history, into: row)
        }
      }
    }
    condition.lock()
    ready.store(to, ordering: .releasing)
    condition.broadcast()
    condition.unlock()
  }

  func rate(size k: Int, tick i: Int) -> Double {
    precondition(k >= 0 && k < sizeCount && i >= 0 && i < tickCount, "a size and a tick of the series")
    if _slowPath(ready.load(ordering: .acquiring) <= i) { wait(for: i) }
    return values[k * tickCount + i]
  }

  /// Blocks until tick i's hour is done.
  private func wait(for i: Int) {
    condition.lock()
    while ready.load(ordering: .acquiring) <= i { condition.wait() }
    condition.unlock()
  }
}
