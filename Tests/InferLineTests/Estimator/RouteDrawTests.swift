import Testing

@testable import InferLine
@testable import InferLineNight

/// `RouteDraw`'s integer comparison against the draw it replaces, `nextUnitInterval() < p`.
@Suite struct RouteDrawTests {
  /// The unit-interval value of 53 bits, as `SeededGenerator.nextUnitInterval` computes it.
  static func unit(_ x: UInt64) -> Double { (Double(x) + 0.5) * 0x1.0p-53 }

  @Test func thresholdsSplitTheDrawsWhereTheFloatingPointComparisonDoes() {
    var rng = SeededGenerator(seed: 31)
    // Probabilities a pipeline has (0, 1, halves, small and near-one ones), random ones, and each value a draw can
    // take near 0.5, near 1 (where adding 0.5 rounds) and near 0, with its neighbours.
    var probabilities: [Double] = [0, 1, 0.5, 0.3, 0.6, 1e-9, 1 - 1e-12, 2, -1]
    for _ in 0..<200 { probabilities.append(rng.nextUnitInterval()) }
    for x: UInt64 in [0, 1, 2, 1 << 52 - 1, 1 << 52, 1 << 52 + 1, 1 << 52 + 2, 1 << 53 - 2, 1 << 53 - 1] {
      probabilities += [Self.unit(x), Self.unit(x).nextUp, Self.unit(x).nextDown]
    }
    for p in probabilities {
      let t = RouteDraw.threshold(p)
      // Every value below the threshold is drawn below p, and the threshold itself is not.
      if t > 0 { #expect(Self.unit(t - 1) < p, "p \(p)") }
      if t < 1 << 53 { #expect(!(Self.unit(t) < p), "p \(p)") }
      // The values around it, and random ones, agree with the floating-point comparison.
      for x in [t &- 2, t &- 1, t, t + 1, t + 2] + (0..<200).map({ _ in rng.next() >> 11 }) where x < 1 << 53 {
        #expect((Self.unit(x) < p) == (x < t), "p \(p), x \(x)")
      }
    }
  }

  @Test func masksAreTheDrawnMasks() {
    let probabilities = [1, 0.6, 0.5, 0.0, 0.999, 1e-3]
    var a = SeededGenerator(seed: 9)
    var b = a
    let draw = RouteDraw(probabilities: probabilities)
    var taken = [Int](repeating: 0, count: probabilities.count)
    var differing = 0
    draw.thresholds.withUnsafeBufferPointer { thresholds in
      for _ in 0..<200_000 {
        var expected: UInt64 = 0
        for k in probabilities.indices where a.nextUnitInterval() < probabilities[k] { expected |= 1 << UInt64(k) }
        let mask = RouteDraw.mask(thresholds, &b)
        if mask != expected { differing += 1 }
        for k in probabilities.indices where mask & (1 << UInt64(k)) != 0 { taken[k] += 1 }
      }
    }
    #expect(differing == 0)
    // And the shares are the probabilities.
    for k in probabilities.indices {
      #expect(abs(Double(taken[k]) / 200_000 - probabilities[k]) < 0.005, "edge \(k)")
    }
  }
}
