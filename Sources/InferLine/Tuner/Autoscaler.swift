import Foundation

/// A stage's replica count over time, as decided (billing starts at the decision).
public struct ReplicaTimeline: Sendable, Equatable, Codable {
  public struct Point: Sendable, Equatable, Codable {
    /// Nanoseconds in the trace's time base.
    public var time: Int64
    public var replicas: Int
  }
  public var stage: String
  public var hardware: String
  public var points: [Point]

  /// The count at time t.
  public func replicas(at t: Int64) -> Int {
    var count = points.first?.replicas ?? 0
    for p in points where p.time <= t { count = p.replicas }
    return count
  }

  /// Replica-seconds over `[from, to]`.
  public func replicaSeconds(from: Int64, to: Int64) -> Double {
    var total = 0.0
    for (i, p) in points.enumerated() {
      let start = max(p.time, from)
      let end = min(i + 1 < points.count ? points[i + 1].time : to, to)
      if end > start { total += Double(p.replicas) * Double(end - start) / 1e9 }
    }
    return total
  }
}

/// What each stage needs from the traffic, for the policies' rules.
struct StageModel {
  /// Nanoseconds one batch of `batchSize` takes, `L(b)`.
  var serviceTime: Int64
  var batchSize: Int
  /// Probability a query visits the stage.
  var scale: Double
  var provisioningDelay: Int64
  var maxReplicas: Int

  /// Queries per second one replica serves at the stage's batch size: `b / L(b)`.
  var throughput: Double { Double(batchSize) * 1e9 / Double(serviceTime) }
  /// `L(b)` in seconds, for rates x times.
  var serviceSeconds: Double { Double(serviceTime) / 1e9 }

  /// The stage as configured, from the compiled pipeline; the configuration must have passed `model.check`.
  init(model: PipelineModel, stage m: Int, configuration: StageConfiguration) {
    let option = model.stages[m].option(hardware: configuration.hardware)!
    self.init(
      serviceTime: option.latency(batch: configuration.batchSize)!, batchSize: configuration.batchSize,
      scale: model.scaleFactors[m], provisioningDelay: option.provisioningDelay, maxReplicas: option.replicaLimit)
  }

  init(serviceTime: Int64, batchSize: Int, scale: Double, provisioningDelay: Int64, maxReplicas: Int) {
    self.serviceTime = serviceTime
    self.batchSize = batchSize
    self.scale = scale
    self.provisioningDelay = provisioningDelay
    self.maxReplicas = maxReplicas
  }
}

/// Turns a policy and a day of arrivals into replica decisions per stage.
enum Autoscaler {
  /// Decided replica counts per stage at each decision, starting from the configuration's counts.
  /// - Parameters:
  ///   - planning: the arrivals the configuration was planned on (InferLine's tuner compares with their envelope).
  ///   - unit: scale the pipeline as one unit (every stage gets the largest count any stage asks for).
  static func decide(
    policy: ScalingPolicy, arrivals: [Int64], planning: [Int64], models: [StageModel], initial: [Int], unit: Bool
  ) -> [[ReplicaTimeline.Point]] {
    let start = arrivals.first ?? 0
    var current = initial
    var timelines = initial.map { [ReplicaTimeline.Point(time: start, replicas: $0)] }
    func apply(_ wanted: [Int], at t: Int64) {
      var next = wanted.enumerated().map { max(1, min($0.element, models[$0.offset].maxReplicas)) }
      if unit {
        let u = next.max() ?? 1
        next = next.indices.map { min(u, models[$0].maxReplicas) }
      }
      for s in next.indices where next[s] != current[s] {
        current[s] = next[s]
        timelines[s].append(ReplicaTimeline.Point(time: t, replicas: next[s]))
      }
    }
    let second: Int64 = 1_000_000_000
    func ns(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }
    switch policy {
    case .fixed:
      break
    case .inferline(let p):
      let ticks = RateSeries.ticks(arrivals, tick: ns(p.tick))
      let sizes = p.windowSizes(serviceTimes: models.map(\.serviceTime))
      let observed = RateSeries.envelopeRates(arrivals, ticks: ticks, sizes: sizes, history: ns(p.history))
      let plannedEnvelope = ArrivalEnvelope(arrivals: planning, windowSizes: sizes).rates
      // The utilisation the plan ran at, kept as headroom: rho = lambda_plan s / (k mu). lambda_plan is measured
      // the way the tuner measures traffic (the largest envelope rate of the last minute), as its median over the
      // planning trace, so traffic like the plan's asks for the plan's replicas and does not make them flap. It
      // may exceed the capacity: short windows are burstier than the mean.
      let planningTicks = RateSeries.ticks(planning, tick: ns(p.tick))
      let planningRates = RateSeries.envelopeRates(planning, ticks: planningTicks, sizes: sizes, history: ns(p.history))
      let typical = planningTicks.indices.map { i in sizes.indices.map { planningRates[$0][i] }.max() ?? 0 }
        .filter { $0 > 0 }.sorted()
      let plannedRate = typical.isEmpty ? (plannedEnvelope.max() ?? 1) : typical[typical.count / 2]
      let rho = models.indices.map { s in
        max(1e-6, plannedRate * models[s].scale / (Double(initial[s]) * models[s].throughput))
      }
      let holdTicks = max(1, Int((p.hold / p.tick).rounded()))
      var recent = [[Int]](repeating: [], count: models.count)
      for (i, t) in ticks.enumerated() {
        let rates = sizes.indices.map { observed[$0][i] }
        let lambda = rates.max() ?? 0
        let required = models.indices.map { s in
          max(1, Int((lambda * models[s].scale / (models[s].throughput * rho[s])).rounded(.up)))
        }
        for s in models.indices {
          recent[s].append(required[s])
          if recent[s].count > holdTicks { recent[s].removeFirst() }
        }
        let exceeds = zip(rates, plannedEnvelope).contains { $0 > $1 }
        var wanted = current
        for s in models.indices {
          if exceeds && required[s] > current[s] {
            wanted[s] = required[s]  // scale up at once
          } else if recent[s].count == holdTicks, recent[s].allSatisfy({ $0 < current[s] }) {
            wanted[s] = recent[s].max()!  // lower for the whole hold period
          }
        }
        apply(wanted, at: t)
      }
    case .hpa(let p):
      let period = ns(p.syncPeriod)
      let ticks = RateSeries.ticks(arrivals, tick: period)
      let rates = RateSeries.meanRate(arrivals, ticks: ticks, window: period)
      let window = max(1, Int((p.scaleDownStabilisation / p.syncPeriod).rounded()))
      var recommendations = [[Int]](repeating: [], count: models.count)
      for (i, t) in ticks.enumerated() {
        var wanted = current
        for s in models.indices {
          let k = Double(current[s])
          let utilisation = rates[i] * models[s].scale / models[s].throughput / k
          let ratio = utilisation / p.targetUtilisation
          var desired = abs(ratio - 1) <= p.tolerance ? current[s] : Int((k * ratio).rounded(.up))
          desired = min(desired, max(current[s] + 4, 2 * current[s]))  // default scaleUp policy
          recommendations[s].append(desired)
          if recommendations[s].count > window { recommendations[s].removeFirst() }
          // Scale-down stabilisation: the highest recommendation of the window.
          wanted[s] = desired > current[s] ? desired : recommendations[s].max()!
        }
        apply(wanted, at: t)
      }
    case .ray(let p):
      let ticks = RateSeries.ticks(arrivals, tick: second)
      let rates = RateSeries.meanRate(arrivals, ticks: ticks, window: ns(p.lookBack))
      var upSince = [Int64?](repeating: nil, count: models.count)
      var downSince = [Int64?](repeating: nil, count: models.count)
      for (i, t) in ticks.enumerated() {
        var wanted = current
        for s in models.indices {
          // Ongoing requests by Little's law: arrivals per second x seconds each spends in service.
          let ongoing = rates[i] * models[s].scale * models[s].serviceSeconds
          let k = Double(current[s])
          let raw = ongoing / p.targetOngoingRequests
          let factor = raw > k ? p.upscalingFactor : p.downscalingFactor
          let desired = max(1, Int((k + factor * (raw - k)).rounded(.up)))
          if desired > current[s] {
            downSince[s] = nil
            upSince[s] = upSince[s] ?? t
            if t - upSince[s]! >= ns(p.upscaleDelay) {
              wanted[s] = desired
              upSince[s] = nil
            }
          } else if desired < current[s] {
            upSince[s] = nil
            downSince[s] = downSince[s] ?? t
            if t - downSince[s]! >= ns(p.downscaleDelay) {
              wanted[s] = desired
              downSince[s] = nil
            }
          } else {
            upSince[s] = nil
            downSince[s] = nil
          }
        }
        apply(wanted, at: t)
      }
    case .kpa(let p):
      let ticks = RateSeries.ticks(arrivals, tick: ns(p.tick))
      let stable = RateSeries.meanRate(arrivals, ticks: ticks, window: ns(p.stableWindow))
      let panic = RateSeries.meanRate(arrivals, ticks: ticks, window: ns(p.panicWindow))
      var panicUntil: Int64 = .min
      for (i, t) in ticks.enumerated() {
        var wanted = current
        var panicking = t < panicUntil
        var desiredStable = current, desiredPanic = current
        for s in models.indices {
          let target = (p.targetConcurrency ?? Double(models[s].batchSize)) * p.targetUtilisation
          let perQuery = models[s].scale * models[s].serviceSeconds
          desiredStable[s] = max(1, Int((stable[i] * perQuery / target).rounded(.up)))
          desiredPanic[s] = max(1, Int((panic[i] * perQuery / target).rounded(.up)))
          if Double(desiredPanic[s]) >= p.panicThreshold * Double(current[s]) { panicking = true }
        }
        if panicking && t >= panicUntil { panicUntil = t + ns(p.stableWindow) }
        for s in models.indices {
          if panicking {
            wanted[s] = max(current[s], desiredPanic[s])  // never down while panicking
          } else {
            let floor = Int((Double(current[s]) / p.maxScaleDownRate).rounded(.up))
            wanted[s] = max(desiredStable[s], floor)
          }
        }
        apply(wanted, at: t)
      }
    }
    return timelines
  }

  /// The simulator's replica changes for decided timelines: a scale-up serves after the hardware's provisioning
  /// delay, a scale-down takes effect at once (cancelling replicas still being provisioned first).
  static func changes(_ timelines: [[ReplicaTimeline.Point]], models: [StageModel]) -> [ReplicaChange] {
    var result: [ReplicaChange] = []
    for (s, points) in timelines.enumerated() {
      guard var active = points.first?.replicas else { continue }
      var pending: [(time: Int64, count: Int)] = []  // activations in time order
      var events: [ReplicaChange] = []
      func activate(until t: Int64) {
        while let first = pending.first, first.time <= t {
          pending.removeFirst()
          active += first.count
          events.append(ReplicaChange(time: first.time, stage: s, replicas: active))
        }
      }
      var decided = active
      for p in points.dropFirst() {
        activate(until: p.time)
        if p.replicas > decided {
          pending.append((p.time + models[s].provisioningDelay, p.replicas - decided))
        } else {
          var remove = decided - p.replicas
          while remove > 0, !pending.isEmpty {
            let cut = min(remove, pending[pending.count - 1].count)
            pending[pending.count - 1].count -= cut
            if pending[pending.count - 1].count == 0 { pending.removeLast() }
            remove -= cut
          }
          if remove > 0 {
            active -= remove
            events.append(ReplicaChange(time: p.time, stage: s, replicas: active))
          }
        }
        decided = p.replicas
      }
      activate(until: .max)
      result += events
    }
    return result
  }
}
