import Foundation

/// A percentile as an exact fraction, so ranks are computed in integers: `99.9` is 999/1000, and the nearest
/// rank of N values is `ceil(999 N / 1000)`. (In floating point, 99.9 / 100 x 1000 rounds up to a rank one too
/// high.)
public struct Percentile: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
  public let numerator: Int64
  public let denominator: Int64

  /// From a percent such as 99, 99.9 or 99.99 (up to 6 decimals, read from its shortest decimal text).
  public init(percent: Double) {
    precondition(percent > 0 && percent <= 100, "a percentile is in (0, 100]")
    // The fewest decimals that print back as `percent`: 99.9 is read as 999 / 1000, not 99.9000000000000057.
    var digits = 0
    while digits < 6, Double(String(format: "%.\(digits)f", percent)) != percent { digits += 1 }
    let scale = 100 * Self.power(digits)
    let whole = Int64((percent * Double(Self.power(digits))).rounded())
    let divisor = Self.gcd(whole, scale)
    numerator = whole / divisor
    denominator = scale / divisor
  }

  /// P99, made once (reading a percent from its decimal text formats strings).
  public static let p99 = Percentile(percent: 99)

  static func power(_ n: Int) -> Int64 { (0..<n).reduce(1) { r, _ in r * 10 } }
  static func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }

  /// 1-based nearest rank among `count` values: `ceil(count x p)`, at least 1.
  public func rank(of count: Int) -> Int {
    let n = Int64(count)
    return Int(max(1, (numerator * n + denominator - 1) / denominator))
  }

  /// How many of `count` values may exceed the objective while the percentile still meets it: `count - rank`.
  public func allowedMisses(of count: Int) -> Int { count - rank(of: count) }

  public var percent: Double { Double(numerator) * 100 / Double(denominator) }
  public var description: String { "P\(String(format: "%g", percent))" }

  /// The nearest-rank percentile of `sorted` (ascending).
  public func value<T>(inSorted sorted: [T]) -> T? {
    sorted.isEmpty ? nil : sorted[rank(of: sorted.count) - 1]
  }
}

/// The largest values of a stream of at most `maximumCount`, as many as its nearest-rank percentile can reach
/// down to: the percentile comes out exactly at the end, from about (100 - p)% x 2 of the stream's memory. Values
/// at or below the smallest one kept after a trim can no longer matter and are not stored.
/// - Complexity: O(1) amortised per value; O(kept) for the percentile.
struct LargestValues {
  let percentile: Percentile
  /// How many of the largest values the percentile can reach: `count - rank + 1` grows with the count, so the
  /// largest count bounds it.
  let keep: Int
  private(set) var count = 0
  private var values: [Int64] = []
  private var threshold = Int64.min

  init(percentile: Percentile, maximumCount: Int) {
    self.percentile = percentile
    keep = max(1, maximumCount - percentile.rank(of: maximumCount) + 1)
  }

  @inline(__always)
  mutating func add(_ value: Int64) {
    count &+= 1
    guard value > threshold else { return }
    values.append(value)
    if _slowPath(values.count >= 2 * keep + 1024) { trim() }
  }

  /// Keeps exactly the `keep` largest.
  private mutating func trim() {
    let cut = values.count - keep
    threshold = Selection.select(&values, cut)
    values.removeFirst(cut)
  }

  /// The nearest-rank percentile of every value added (nil when none were).
  mutating func value() -> Int64? {
    guard count > 0 else { return nil }
    let fromTop = count - percentile.rank(of: count) + 1  // 1 = the largest
    precondition(fromTop <= keep && fromTop <= values.count, "more values added than the maximum count")
    return Selection.select(&values, values.count - fromTop)
  }
}
