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

  /// Queries per second one replica serves at the stage's batch size: `b / L(b)` (as
  /// `PipelineModel.HardwareOption.capacity` defines it).
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

/// What every policy knows of the pipeline when the replay starts.
struct PolicyContext {
  var models: [StageModel]
  /// The replicas the configuration starts with (the plan's).
  var initial: [Int]
  /// The whole trace's arrivals at the pipeline's front end (a policy reads only those before its tick).
  var arrivals: [Int64]
  /// The arrivals the configuration was planned on.
  var planning: [Int64]
  /// The pipeline's latency objective, nanoseconds.
  var slo: Int64
  /// The share of queries the SLO's percentile allows over it (0.01 for P99).
  var allowedMissRate: Double = 0.01
  /// Per stage, what k replicas carry as a multiple of the traffic of the planning trace's busiest stretch
  /// (`capacities[m][k - 1]`; `Replay.verifiedCapacities`), for InferLine's tuner; empty for the paper's rule.
  var capacities: [[Double]] = []
  /// Computes `capacities` (InferLine's tuner runs it on a thread of its own while the replay starts); nil: take
  /// `capacities` as they are.
  var verifyCapacities: (@Sendable () -> [[Double]])? = nil
}

/// One autoscaling policy in a closed-loop replay: it samples the stages every second and, every `interval`,
/// says how many replicas each stage should have. Each policy is a type of its own in `Policies/`, made by its
/// settings' `controller(_:)`; `ScalingPolicy.controller` is the table from name to type.
protocol ReplicaController {
  /// Nanoseconds between decisions.
  var interval: Int64 { get }
  /// Called once a second, after the simulation has handled every event before `time`.
  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation])
  /// Called once a second with the queries seen over the SLO so far (the pipeline's latency metric).
  mutating func observeMisses(at time: Int64, total: Int)
  /// The replicas wanted per stage. `decided` counts replicas serving or being provisioned; `serving` only the
  /// former.
  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int]
  /// Called once the replay has ended: waits for any work the policy started beside it.
  mutating func finish()
}

extension ReplicaController {
  mutating func observeMisses(at time: Int64, total: Int) {}
  mutating func finish() {}
}

/// Seconds (a policy knob) to nanoseconds, rounded once.
func nanoseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }

/// The static baseline: never changes anything.
struct StaticController: ReplicaController {
  var interval: Int64 { 3_600_000_000_000 }
  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {}
  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] { decided }
}

/// A sliding window of per-second samples of one number per stage, for policies that average over a look-back.
struct SampleWindow {
  let length: Int
  var values: [[Double]]
  init(stages: Int, seconds: Double) {
    length = max(1, Int(seconds.rounded()))
    values = Array(repeating: [], count: stages)
  }
  mutating func add(_ stage: Int, _ value: Double) {
    values[stage].append(value)
    if values[stage].count > length { values[stage].removeFirst(values[stage].count - length) }
  }
  func mean(_ stage: Int, last seconds: Int? = nil) -> Double {
    let v = values[stage].suffix(seconds ?? length)
    return v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count)
  }
}

/// The scaling rule InferLine's tuner and the predictive what-if share: up at once when the need exceeds the
/// replicas decided (to the need with the band's headroom), down only after the banded need has stayed lower for a
/// hold no shorter than the provisioning delay, and as long since the last scale-up, to the largest need over it.
struct HeldScaling {
  let interval: Int64
  /// Per stage, the hold in ticks.
  let holdTicks: [Int]
  var recent: [[Int]]
  var lastUp: [Int64]

  /// - Parameters: hold: seconds; interval: nanoseconds between decisions.
  init(models: [StageModel], hold: Double, interval: Int64) {
    self.interval = interval
    holdTicks = models.map { m in
      max(1, Int((Double(max(nanoseconds(hold), m.provisioningDelay)) / Double(interval)).rounded(.up)))
    }
    recent = Array(repeating: [], count: models.count)
    lastUp = Array(repeating: .min, count: models.count)
  }

  /// Stage s's replicas after a tick at `time` whose need is `up` (and `down` with the band's headroom).
  mutating func next(_ s: Int, up: Int, down: Int, decided: Int, at time: Int64) -> Int {
    recent[s].append(down)
    if recent[s].count > holdTicks[s] { recent[s].removeFirst() }
    if up > decided {
      lastUp[s] = time
      return max(up, down)  // scale up at once, with the band's headroom
    }
    if recent[s].count == holdTicks[s], recent[s].allSatisfy({ $0 < decided }),
      lastUp[s] == .min || time - lastUp[s] >= Int64(holdTicks[s]) * interval
    {
      return recent[s].max()!  // lower for the whole hold
    }
    return decided
  }
}
