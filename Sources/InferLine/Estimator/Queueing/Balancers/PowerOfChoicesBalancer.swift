/// Each query samples `choices` replicas at random (with replacement) and joins the one with the fewest queries,
/// the first sampled of equals (`dispatch: power-of-K`, the power of d choices).
struct PowerOfChoicesBalancer: ReplicaBalancer {
  let choices: Int

  @inline(__always)
  func choose(among replicas: [Int], loads: UnsafePointer<Int>, random: inout SeededGenerator) -> Int {
    var best = random.pick(replicas)
    for _ in 1..<max(choices, 1) {
      let candidate = random.pick(replicas)
      if loads[candidate] < loads[best] { best = candidate }
    }
    return best
  }
}
