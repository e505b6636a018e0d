/// How the simulators draw a query's route: edge k is taken when the route generator's next draw on the unit
/// interval is below the edge's probability, edges in order, one draw each. The draw is compared as an integer:
/// its 53 bits against a threshold found once per edge, the same outcome as `nextUnitInterval() < p` for every
/// value (that function grows with the bits), without turning each draw into a `Double`.
/// - Complexity: O(edges x 53) to build; O(edges) per route.
struct RouteDraw: Sendable {
  /// Per edge: how many 53-bit values fall below its probability.
  let thresholds: [UInt64]

  init(probabilities: [Double]) { thresholds = probabilities.map(Self.threshold) }

  /// The least 53-bit value x whose unit-interval value, `(x + 0.5) / 2^53` as `nextUnitInterval` computes it, is
  /// not below p (2^53 when none is): values below it are exactly those drawn below p.
  static func threshold(_ p: Double) -> UInt64 {
    var low: UInt64 = 0
    var high: UInt64 = 1 << 53
    while low < high {
      let middle = low + (high - low) / 2
      if (Double(middle) + 0.5) * 0x1.0p-53 < p { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// The next route's mask (bit k set when edge k is taken).
  @inline(__always)
  static func mask(_ thresholds: UnsafeBufferPointer<UInt64>, _ generator: inout SeededGenerator) -> UInt64 {
    var mask: UInt64 = 0
    for k in 0..<thresholds.count where generator.next() >> 11 < thresholds[k] { mask |= 1 << UInt64(k) }
    return mask
  }
}
