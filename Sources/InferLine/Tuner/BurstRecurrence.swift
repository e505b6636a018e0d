/// How long a stage's bursts stay away, learned from its need over time: per stage and per replica count j, the
/// last tick whose need reached j and the longest gap between two such ticks (a quiet gap the bursts came back
/// after). InferLine's tuner releases the j-th replica only once the need has stayed below j for that gap plus a
/// provisioning delay: on on-off traffic (quiet minutes, then a burst) a replica released in a gap shorter than
/// that would not be serving again when the next burst comes.
///
/// Gaps longer than `longestGap` are not counted: they are the day's shape (a busy afternoon, a quiet night), not
/// bursts that recur, and learning them would keep the afternoon's replicas all night.
struct BurstRecurrence {
  /// Nanoseconds; gaps up to this long are learned.
  let longestGap: Int64
  /// Nanoseconds between ticks: a need that holds from one tick to the next has no gap.
  let interval: Int64
  /// `lastSeen[s][j - 1]`: the last tick whose need at stage s was at least j (nil: never).
  var lastSeen: [[Int64?]]
  /// `gap[s][j - 1]`: the longest gap learned between two ticks with need at least j, nanoseconds.
  var gap: [[Int64]]

  init(stages: Int, longestGap: Int64, interval: Int64) {
    self.longestGap = longestGap
    self.interval = interval
    lastSeen = Array(repeating: [], count: stages)
    gap = Array(repeating: [], count: stages)
  }

  /// Records stage s's need at the tick `time` (ticks in increasing order). - Complexity: O(need).
  mutating func observe(_ s: Int, need: Int, at time: Int64) {
    guard need > 0 else { return }
    if lastSeen[s].count < need {
      lastSeen[s] += Array(repeating: nil, count: need - lastSeen[s].count)
      gap[s] += Array(repeating: 0, count: need - gap[s].count)
    }
    for j in 0..<need {
      if let last = lastSeen[s][j] {
        let g = time - last
        if g > interval, g <= longestGap, g > gap[s][j] { gap[s][j] = g }
      }
      lastSeen[s][j] = time
    }
  }

  /// Forgets when needs were last seen (keeps the gaps learned): between the planning trace and the replay.
  mutating func forgetTimes() {
    for s in lastSeen.indices { lastSeen[s] = lastSeen[s].map { _ in nil } }
  }

  /// The most replicas stage s must keep at `time`: the highest j whose need was seen within its longest gap plus
  /// `delay` (0 when none). - Complexity: O(replicas seen).
  func kept(_ s: Int, at time: Int64, delay: Int64) -> Int {
    var j = lastSeen[s].count
    while j > 0 {
      if let last = lastSeen[s][j - 1], time - last < gap[s][j - 1] + delay { return j }
      j -= 1
    }
    return 0
  }
}
