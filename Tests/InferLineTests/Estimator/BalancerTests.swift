import Testing

@testable import InferLine
@testable import InferLineNight

/// The balancers, one per file, against what their names promise, on loads written out by hand.
@Suite struct BalancerTests {
  let replicas = [3, 5, 8]

  @Test func shortestQueueTakesTheFirstOfTheLeastLoaded() {
    var loads = [Int](repeating: 9, count: 10)
    (loads[3], loads[5], loads[8]) = (2, 1, 1)
    var random = SeededGenerator(seed: 1)
    let chosen = loads.withUnsafeBufferPointer {
      ShortestQueueBalancer().choose(among: replicas, loads: $0.baseAddress!, random: &random)
    }
    #expect(chosen == 5)
  }

  @Test func roundRobinTakesEachInTurnAndDrawsNothing() {
    var balancer = StageBalancer.roundRobin(RoundRobinBalancer())
    var random = SeededGenerator(seed: 1)
    let untouched = random
    let loads = [Int](repeating: 0, count: 10)
    let turns = (0..<7).map { _ in
      loads.withUnsafeBufferPointer { balancer.choose(among: replicas, loads: $0.baseAddress!, random: &random) }
    }
    #expect(turns == [3, 5, 8, 3, 5, 8, 3])
    var a = random, b = untouched
    #expect(a.next() == b.next(), "round robin draws no random numbers")
  }

  /// Power of d choices draws d replicas and keeps the least loaded, the first drawn of equals; with one choice it
  /// is the random balancer, draw for draw.
  @Test func powerOfChoicesKeepsTheLeastLoadedOfItsDraws() {
    var loads = [Int](repeating: 0, count: 10)
    (loads[3], loads[5], loads[8]) = (4, 0, 4)
    for seed in 1...50 as ClosedRange<UInt64> {
      var mine = SeededGenerator(seed: seed), reference = SeededGenerator(seed: seed)
      let chosen = loads.withUnsafeBufferPointer {
        PowerOfChoicesBalancer(choices: 2).choose(among: replicas, loads: $0.baseAddress!, random: &mine)
      }
      let first = replicas[Int(reference.next() % 3)], second = replicas[Int(reference.next() % 3)]
      #expect(chosen == (loads[second] < loads[first] ? second : first), "seed \(seed)")
      var one = SeededGenerator(seed: seed), plain = SeededGenerator(seed: seed)
      let single = loads.withUnsafeBufferPointer {
        PowerOfChoicesBalancer(choices: 1).choose(among: replicas, loads: $0.baseAddress!, random: &one)
      }
      let random = loads.withUnsafeBufferPointer {
        RandomBalancer().choose(among: replicas, loads: $0.baseAddress!, random: &plain)
      }
      #expect(single == random)
    }
  }

  @Test func eachPolicyHasItsBalancer() {
    #expect(DispatchPolicy.centralQueue.balancer() == nil)
    for name in ["random", "round-robin", "shortest-queue", "power-of-3"] {
      #expect(DispatchPolicy(name: name, seed: 1)?.balancer() != nil, "\(name)")
    }
  }
}
