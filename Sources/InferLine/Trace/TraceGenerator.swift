import Foundation

/// Synthetic arrival processes for sample logs, tests and benchmarks. All are seeded.
public enum ArrivalProcess: Sendable, Equatable {
  /// Exponential inter-arrivals at `rate` queries per second.
  case poisson(rate: Double)
  /// Gamma inter-arrivals with mean `1 / rate` and coefficient of variation `cv` (cv = 1 is Poisson; > 1 burstier).
  case gamma(rate: Double, cv: Double)
  /// A day-shaped process: the rate follows a cosine around `meanRate`, lowest at 04:00 and highest at 16:00 UTC,
  /// with peak / trough = `peakToTrough`; with `spikes`, bursts laid over it. Poisson when `cv` is 1; otherwise
  /// gamma gaps of that coefficient of variation in operational time (each gap divided by the rate where it
  /// starts), so the traffic is as bursty as a gamma process around the day's curve.
  case diurnal(meanRate: Double, peakToTrough: Double, spikes: SpikeOverlay? = nil, cv: Double = 1)
  /// Poisson at `rate`, plus `count` spikes placed at random, each `duration` seconds at `multiplier` x `rate`.
  case spikes(rate: Double, multiplier: Double, count: Int, duration: Double)
  /// On-off traffic, as LLM and code-assistant logs show (quiet minutes, then tens of queries a second for seconds
  /// to a minute): a Markov-modulated Poisson process whose on and off periods last exponential times.
  case onOff(OnOff)

  /// The parameters of `ArrivalProcess.onOff`.
  public struct OnOff: Sendable, Equatable {
    /// Queries per second while on (at the day's mean level when `peakToTrough` > 1).
    public var onRate: Double
    /// Queries per second while off (0: silent).
    public var offRate: Double = 0
    /// Mean length of an on period (a burst), seconds.
    public var meanOn: Double
    /// Mean length of an off period (a quiet gap), seconds.
    public var meanOff: Double
    /// With a value above 1, both rates follow the diurnal curve of `diurnal` (lowest at 04:00, highest at 16:00
    /// UTC, peak / trough this ratio, mean 1).
    public var peakToTrough: Double = 1

    public init(onRate: Double, offRate: Double = 0, meanOn: Double, meanOff: Double, peakToTrough: Double = 1) {
      self.onRate = onRate
      self.offRate = offRate
      self.meanOn = meanOn
      self.meanOff = meanOff
      self.peakToTrough = peakToTrough
    }

    /// Long-run queries per second (without the diurnal curve, whose mean is 1).
    public var meanRate: Double { (onRate * meanOn + offRate * meanOff) / (meanOn + meanOff) }

    /// The coefficient of variation of inter-arrival gaps of the stationary process with `offRate` 0 (an
    /// interrupted Poisson process, whose gaps are hyperexponential; Fischer and Meier-Hellstern, "The
    /// Markov-modulated Poisson process (MMPP) cookbook", 1993, section 4). nil when `offRate` > 0.
    public var gapCV: Double? {
      guard offRate == 0 else { return nil }
      let l = onRate, a = 1 / meanOn, b = 1 / meanOff
      let sum = l + a + b
      let root = (sum * sum - 4 * l * b).squareRoot()
      let r1 = (sum + root) / 2, r2 = (sum - root) / 2
      let p = (l - r2) / (r1 - r2)
      let m1 = p / r1 + (1 - p) / r2
      let m2 = 2 * (p / (r1 * r1) + (1 - p) / (r2 * r2))
      return (m2 - m1 * m1).squareRoot() / m1
    }
  }

  /// Bursts over a process: `count` placed at random, each `duration` seconds at `multiplier` x the rate there.
  public struct SpikeOverlay: Sendable, Equatable {
    public var count: Int
    public var multiplier: Double
    /// Seconds.
    public var duration: Double
    public init(count: Int, multiplier: Double, duration: Double) {
      self.count = count
      self.multiplier = multiplier
      self.duration = duration
    }
  }

  /// Checks the parameters, naming the flag to fix.
  public func validate() throws {
    func positive(_ x: Double, _ name: String) throws {
      guard x > 0, x.isFinite else { throw InputError("\(name) must be a positive number (got \(x))") }
    }
    switch self {
    case .poisson(let rate): try positive(rate, "--rate")
    case .gamma(let rate, let cv):
      try positive(rate, "--rate")
      try positive(cv, "--cv")
    case .diurnal(let mean, let ratio, let spikes, let cv):
      try positive(mean, "--rate")
      try positive(cv, "--cv")
      guard ratio >= 1 else { throw InputError("--peak-to-trough must be at least 1 (got \(ratio))") }
      if let spikes {
        try positive(spikes.multiplier, "--spike-multiplier")
        try positive(spikes.duration, "--spike-duration")
        guard spikes.count >= 0 else { throw InputError("--spikes must be 0 or more (got \(spikes.count))") }
      }
    case .spikes(let rate, let multiplier, let count, let duration):
      try positive(rate, "--rate")
      try positive(multiplier, "--spike-multiplier")
      try positive(duration, "--spike-duration")
      guard count >= 0 else { throw InputError("--spikes must be 0 or more (got \(count))") }
    case .onOff(let p):
      try positive(p.onRate, "--rate")
      try positive(p.meanOn, "--on-mean")
      try positive(p.meanOff, "--off-mean")
      guard p.offRate >= 0, p.offRate.isFinite else {
        throw InputError("--off-rate must be 0 or a positive number (got \(p.offRate))")
      }
      guard p.peakToTrough >= 1, p.peakToTrough.isFinite else {
        throw InputError("--peak-to-trough must be at least 1 (got \(p.peakToTrough))")
      }
    }
  }
}

/// Draws arrival times from an `ArrivalProcess`.
public enum TraceGenerator {
  /// Arrival times in nanoseconds in `[start, start + duration)`, sorted.
  /// - Parameters:
  ///   - duration: seconds of traffic.
  ///   - start: the first instant, nanoseconds (since the epoch for absolute logs).
  /// - Complexity: O(number of arrivals).
  public static func arrivals(
    _ process: ArrivalProcess, duration: Double, start: Int64, seed: UInt64
  ) -> [Int64] {
    var rng = SeededGenerator(seed: seed)
    let end = duration
    var times: [Int64] = []
    func emit(_ t: Double) { times.append(start + Int64((t * 1e9).rounded(.down))) }
    switch process {
    case .poisson(let rate):
      times.reserveCapacity(Int(rate * duration * 1.01) + 16)
      var t = rng.nextExponential(mean: 1 / rate)
      while t < end {
        emit(t)
        t += rng.nextExponential(mean: 1 / rate)
      }
    case .gamma(let rate, let cv):
      let shape = 1 / (cv * cv)
      let scale = 1 / (rate * shape)
      times.reserveCapacity(Int(rate * duration * 1.01) + 16)
      var t = rng.nextGamma(shape: shape, scale: scale)
      while t < end {
        emit(t)
        t += rng.nextGamma(shape: shape, scale: scale)
      }
    case .diurnal(let mean, let ratio, let spikes, let cv):
      // rate(t) = mean (1 - a cos(2 pi (h - 4) / 24)), a = (r - 1) / (r + 1), times the spike multiplier inside a
      // spike; thinning from the peak rate. Without spikes no spike draw is made (the same seed, the same file).
      let a = (ratio - 1) / (ratio + 1)
      var spikeStarts: [Double] = []
      var multiplier = 1.0, spikeDuration = 0.0
      if let spikes, spikes.count > 0 {
        spikeDuration = spikes.duration
        multiplier = spikes.multiplier
        spikeStarts = (0..<spikes.count).map { _ in rng.nextUnitInterval() * max(duration - spikeDuration, 0) }
        spikeStarts.sort()
      }
      let peak = mean * (1 + a) * max(multiplier, 1)
      let startSeconds = Double(start) / 1e9
      times.reserveCapacity(Int(mean * duration * 1.01) + 16)
      var next = 0
      func rate(at t: Double) -> Double {
        let hour = (startSeconds + t).truncatingRemainder(dividingBy: 86_400) / 3600
        var r = mean * (1 - a * cos(2 * .pi * (hour - 4) / 24))
        while next < spikeStarts.count, spikeStarts[next] + spikeDuration <= t { next += 1 }
        if next < spikeStarts.count && spikeStarts[next] <= t { r *= multiplier }
        return r
      }
      if cv == 1 {
        var t = rng.nextExponential(mean: 1 / peak)
        while t < end {
          if rng.nextUnitInterval() * peak < rate(at: t) { emit(t) }
          t += rng.nextExponential(mean: 1 / peak)
        }
      } else {
        // Gamma gaps of mean 1 in operational time, each scaled by the rate where it starts (the rate changes
        // over hours, the gaps last milliseconds to seconds).
        let shape = 1 / (cv * cv)
        var t = rng.nextGamma(shape: shape, scale: 1 / shape) / rate(at: 0)
        while t < end {
          emit(t)
          t += rng.nextGamma(shape: shape, scale: 1 / shape) / rate(at: t)
        }
      }
    case .spikes(let rate, let multiplier, let count, let spikeDuration):
      var spikeStarts = (0..<count).map { _ in rng.nextUnitInterval() * max(duration - spikeDuration, 0) }
      spikeStarts.sort()
      let peak = rate * max(multiplier, 1)
      times.reserveCapacity(Int(rate * duration * 1.05) + 16)
      var t = rng.nextExponential(mean: 1 / peak)
      var next = 0
      while t < end {
        while next < spikeStarts.count, spikeStarts[next] + spikeDuration <= t { next += 1 }
        let inSpike = next < spikeStarts.count && spikeStarts[next] <= t
        let current = inSpike ? rate * multiplier : rate
        if rng.nextUnitInterval() * peak < current { emit(t) }
        t += rng.nextExponential(mean: 1 / peak)
      }
    case .onOff(let p):
      // The state starts as the stationary chain would (on with probability on / (on + off)); within a state,
      // Poisson arrivals thinned from the state's rate at the diurnal peak.
      let a = (p.peakToTrough - 1) / (p.peakToTrough + 1)
      let startSeconds = Double(start) / 1e9
      func level(at t: Double) -> Double {
        guard a > 0 else { return 1 }
        let hour = (startSeconds + t).truncatingRemainder(dividingBy: 86_400) / 3600
        return 1 - a * cos(2 * .pi * (hour - 4) / 24)
      }
      times.reserveCapacity(Int(p.meanRate * duration * 1.05) + 16)
      var on = rng.nextUnitInterval() < p.meanOn / (p.meanOn + p.meanOff)
      var t = 0.0
      while t < end {
        let periodEnd = min(end, t + rng.nextExponential(mean: on ? p.meanOn : p.meanOff))
        let rate = on ? p.onRate : p.offRate
        if rate > 0 {
          let peak = rate * (1 + a)
          var u = t + rng.nextExponential(mean: 1 / peak)
          while u < periodEnd {
            if a == 0 || rng.nextUnitInterval() * peak < rate * level(at: u) { emit(u) }
            u += rng.nextExponential(mean: 1 / peak)
          }
        }
        t = periodEnd
        on.toggle()
      }
    }
    return times
  }
}

extension TraceGenerator {
  /// Each query's pipeline (an index into `shares`), drawn in proportion to the shares from a generator of its own
  /// (`RandomStream.pipelineOfQuery`), so the arrival times stay the same whatever the mix. - Complexity: O(count x
  /// shares).
  public static func pipelineOfEachQuery(count: Int, shares: [Double], seed: UInt64) -> [Int] {
    let total = shares.reduce(0, +)
    var cumulative: [Double] = []
    for share in shares { cumulative.append((cumulative.last ?? 0) + share / total) }
    var rng = SeededGenerator(seed: RandomStream.pipelineOfQuery.seed(seed))
    return (0..<count).map { _ in
      let u = rng.nextUnitInterval()
      return cumulative.firstIndex { u < $0 } ?? shares.count - 1
    }
  }
}
