/// Queries join the stage's replicas in turn (`dispatch: round-robin`); the turn counts arrivals, so a replica
/// added or removed shifts who is next.
struct RoundRobinBalancer: ReplicaBalancer {
  /// Arrivals so far at the stage.
  var next = 0

  @inline(__always)
  mutating func choose(among replicas: [Int], loads: UnsafePointer<Int>, random: inout SeededGenerator) -> Int {
    defer { next += 1 }
    return replicas[next % replicas.count]
  }
}
