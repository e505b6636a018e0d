/// Each query joins the replica with the fewest queries queued or in service, the first of equals
/// (`dispatch: shortest-queue`). - Complexity: O(replicas) per arrival.
struct ShortestQueueBalancer: ReplicaBalancer {
  @inline(__always)
  func choose(among replicas: [Int], loads: UnsafePointer<Int>, random: inout SeededGenerator) -> Int {
    var best = replicas[0]
    var least = loads[best]
    for r in replicas.dropFirst() where loads[r] < least {
      best = r
      least = loads[r]
    }
    return best
  }
}
