import Synchronization

/// What complete simulations of one window did at each stage (`StageRecording`), so that the next configuration
/// the oracle checks simulates only the stages it changes and those downstream of them: a stage configured as in a
/// kept run, with every stage upstream of it, sees the same events, and is handed on from that run instead. Exact:
/// the same results as simulating every stage (tested against the event-driven simulator).
///
/// The oracle uses it only when asked (`FeasibilityOracle`'s `sharesStageOutputs`): most checks of a search stop
/// early, so their recordings are dropped, and on a day's report the time it saved did not pay for its memory.
///
/// Recordings are kept per stage, keyed by the configurations of the stage and every stage upstream of it, the
/// ones used last up to a memory budget. A search moves a stage or two at a time, so most checks share a root and
/// often more with a run before. Safe to use from several threads.
/// - Complexity: a lookup is O(stages x (upstream stages x batch size)) for hashing the keys; memory within
///   `budget` bytes.
final class StageOutputCache: Sendable {
  /// Per stage: itself and every stage upstream of it.
  let upstream: [[Int]]
  /// Parents of each stage, and a topological order.
  let parents: [[Int]]
  let order: [Int]
  /// Bytes of recordings kept at most.
  let budget: Int

  private struct Key: Hashable {
    var stage: Int
    var services: [StageService]
  }
  private struct Entry {
    var recording: StageRecording
    var lastUse: Int
  }
  private struct State {
    var entries: [Key: Entry] = [:]
    var bytes = 0
    var clock = 0
    var replayed = 0
    var simulated = 0
  }
  private let state = Mutex(State())

  /// - Parameter budget: bytes of recordings to keep; by default 24 per query and stage of the window (about two
  ///   run's worth, shared).
  init(model: PipelineModel, queries: Int, budget: Int? = nil) {
    var upstream = (0..<model.stages.count).map { [$0] }
    for s in model.topologicalOrder {
      for e in model.incoming[s] { upstream[s] = Array(Set(upstream[s] + upstream[e.parent])).sorted() }
    }
    self.upstream = upstream
    parents = model.incoming.map { $0.map(\.parent) }
    order = model.topologicalOrder
    self.budget = budget ?? max(1 << 24, 24 * queries * model.stages.count)
  }

  /// Stages replayed and stages simulated in the checks so far (one per stage per check).
  var stageCounts: (replayed: Int, simulated: Int) { state.withLock { ($0.replayed, $0.simulated) } }

  private func key(_ stage: Int, _ services: [StageService]) -> Key {
    Key(stage: stage, services: upstream[stage].map { services[$0] })
  }

  /// Per stage, the recording a run of `services` can hand on (nil: simulate it): kept recordings whose parents
  /// are handed on too.
  func replays(for services: [StageService]) -> [StageRecording?] {
    let keys = services.indices.map { key($0, services) }
    return state.withLock { s in
      var replays = [StageRecording?](repeating: nil, count: services.count)
      s.clock += 1
      for m in order where parents[m].allSatisfy({ replays[$0] != nil }) {
        guard let entry = s.entries[keys[m]] else { continue }
        replays[m] = entry.recording
        s.entries[keys[m]]!.lastUse = s.clock
      }
      let replayed = replays.filter { $0 != nil }.count
      s.replayed += replayed
      s.simulated += services.count - replayed
      return replays
    }
  }

  /// Keeps a complete run's recordings (those not kept already), dropping the ones used longest ago beyond the
  /// budget.
  func keep(_ services: [StageService], _ recordings: [StageRecording]) {
    let keys = services.indices.map { key($0, services) }
    state.withLock { s in
      s.clock += 1
      for m in services.indices where s.entries[keys[m]] == nil && recordings[m].bytes <= budget {
        s.entries[keys[m]] = Entry(recording: recordings[m], lastUse: s.clock)
        s.bytes += recordings[m].bytes
      }
      while s.bytes > budget, let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
        s.bytes -= oldest.value.recording.bytes
        s.entries[oldest.key] = nil
      }
    }
  }
}
