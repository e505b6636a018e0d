/// How a stage whose replicas each have their own queue picks the replica an arriving query joins (a pipeline
/// file's `dispatch`). The event-driven simulator keeps one per stage (`DispatchPolicy.balancer()`) and the load of
/// every replica (queries queued or in service) as it changes, so a balancer reads loads without calling back;
/// random choices come from the run's dispatch generator, in arrival order, so a seed gives one run. A new
/// balancer is a file here, a case of `DispatchPolicy` and one of `StageBalancer`.
protocol ReplicaBalancer: Sendable {
  /// The replica, one of `replicas` (never empty), that the next query joins; `loads[r]` is replica r's queries
  /// queued or in service.
  mutating func choose(among replicas: [Int], loads: UnsafePointer<Int>, random: inout SeededGenerator) -> Int
}

/// One stage's balancer as the simulator keeps it: each kind by value, chosen with a switch (no existential or
/// allocation per arrival).
enum StageBalancer: Sendable {
  case random(RandomBalancer)
  case roundRobin(RoundRobinBalancer)
  case shortestQueue(ShortestQueueBalancer)
  case powerOfChoices(PowerOfChoicesBalancer)

  @inline(__always)
  mutating func choose(among replicas: [Int], loads: UnsafePointer<Int>, random: inout SeededGenerator) -> Int {
    switch self {
    case .random(let b): return b.choose(among: replicas, loads: loads, random: &random)
    case .roundRobin(var b):
      let chosen = b.choose(among: replicas, loads: loads, random: &random)
      self = .roundRobin(b)
      return chosen
    case .shortestQueue(let b): return b.choose(among: replicas, loads: loads, random: &random)
    case .powerOfChoices(let b): return b.choose(among: replicas, loads: loads, random: &random)
    }
  }
}

extension DispatchPolicy {
  /// A balancer for one stage; nil for the central queue, which needs none (any idle replica takes the next batch).
  func balancer() -> StageBalancer? {
    switch self {
    case .centralQueue: nil
    case .random: .random(RandomBalancer())
    case .roundRobin: .roundRobin(RoundRobinBalancer())
    case .shortestQueue: .shortestQueue(ShortestQueueBalancer())
    case .powerOfChoices(let choices, _): .powerOfChoices(PowerOfChoicesBalancer(choices: choices))
    }
  }
}

extension SeededGenerator {
  /// One of `replicas`, uniformly: what the random balancers draw.
  @inline(__always)
  mutating func pick(_ replicas: [Int]) -> Int { replicas[Int(next() % UInt64(replicas.count))] }
}
