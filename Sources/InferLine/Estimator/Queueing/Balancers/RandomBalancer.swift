/// Each query joins a replica drawn uniformly at random (`dispatch: random`).
struct RandomBalancer: ReplicaBalancer {
  @inline(__always)
  func choose(among replicas: [Int], loads: UnsafePointer<Int>, random: inout SeededGenerator) -> Int {
    random.pick(replicas)
  }
}
