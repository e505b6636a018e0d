import Foundation

/// InferLine's tuner (SoCC 2020, section 5): scale up as soon as the last minute's arrival envelope asks for
/// more replicas than the stage has at the plan's utilisation (above the plan's count, only for load that lasts);
/// scale down only after the need has stayed lower for a hold no shorter than the provisioning delay, and not in
/// a quiet gap bursts may still end. `InferLineTunerController` says how.
public struct InferLineTuner: Sendable, Equatable, Codable {
  /// Seconds between decisions.
  public var tick: Double = 1
  /// Seconds of arrivals the envelope looks back over.
  public var history: Double = 60
  /// Seconds the need must stay lower before scaling down (at least the hardware's provisioning delay).
  public var hold: Double = 60
  /// The longest quiet gap between bursts the tuner learns, seconds (0 turns the learning off: the paper's
  /// scale-down). A replica is released only once the need for it has stayed away longer than the longest gap it
  /// was seen to come back after, plus the provisioning delay (`BurstRecurrence`); longer lulls are the day's shape,
  /// which the tuner follows down.
  public var longestQuietGap: Double = 900
  /// How many times the longest quiet gap learned the need must stay away before its replica goes: a gap as long
  /// as the longest seen so far is no evidence the bursts have stopped (quiet gaps are close to memoryless).
  public var quietGapMargin: Double = 2
  /// And at least this quantile of an exponential gap with the learned gaps' mean (0.99: 4.6 mean gaps), so that a
  /// planning window that saw only a few short gaps does not release replicas in the first long one.
  public var quietGapQuantile: Double = 0.99
  /// The quantile is of an exponential gap whose mean is the learned mean's upper bound at this confidence (0.95),
  /// not the learned mean: three gaps seen in a 15-minute planning window bound the mean at 3.7 times theirs,
  /// thirty at 1.4 times (0: the learned mean).
  public var quietGapConfidence: Double = 0.95
  /// Whether replicas above the plan's count are kept through quiet gaps too (false: only the plan's own replicas
  /// are; those added for a burst beyond the planned envelope go after the hold, as the paper's tuner does).
  public var keepAboveThePlan: Bool = false
  /// Whether a burst shorter than the provisioning delay asks for replicas above the plan's count (true: the
  /// paper's rule at every window size). Default false: above the plan only the rates over windows at least the
  /// provisioning delay long (at most half the history) count, since a replica asked for a shorter burst
  /// serves after it has gone; the plan was verified to queue such bursts. Below the plan every size counts.
  public var shortBurstsAboveThePlan: Bool = false
  /// Whether the tuner reads the pipeline's misses (a production latency metric): when the last 60 s had more than
  /// the SLO's allowance over it (at least 2 queries), every stage below the plan's count gets one replica back and
  /// is not scaled below that count again; the next check waits until the replica has served a minute.
  public var restoreAfterBadMinute: Bool = true
  /// The shortest window over which load must last to ask for replicas above the plan's, seconds (the provisioning
  /// delay if that is longer).
  public var lastingWindow: Double = 300
  /// How far the lasting rate may rise by chance, in standard deviations of a mean over the lasting window above
  /// the planning trace's mean, before it asks for replicas above the plan (0: only the tolerance above the
  /// planning trace's highest mean). The deviation is measured on minute counts, the planning trace's or the last
  /// hour's, whichever is noisier. On on-off traffic that mean swings widely; on steady or diurnal traffic the
  /// tolerance is the larger. 5, not 3: burst sizes are skewed, and a day has hundreds of windows.
  public var lastingDeviations: Double = 5
  /// Smallest window of the envelope, seconds; nil for the larger of the stage's batch latency and the SLO.
  public var smallestWindowSeconds: Double? = nil
  /// How far above the planned envelope traffic may go before it asks for more replicas (0.1: 10%, as HPA's
  /// tolerance): a live minute's burst a few percent above the planning hour's worst is noise, not load.
  public var tolerance: Double = 0.1
  /// The most a stage's verified headroom may be (1 turns the verification off): before the replay, each stage's
  /// configuration is simulated on the planning trace sped up by a factor (the other stages given room) to find
  /// how much more than the planned traffic it carries within the SLO; the tuner adds replicas only beyond that.
  /// The paper scales at the plan's utilisation, which for a plan with room to spare (one replica at 40%) doubles a
  /// stage at the first minute above the planning hour.
  public var maximumHeadroom: Double = 2
  /// The headroom is verified against this fraction of the SLO, so that live traffic's minute-to-minute variation
  /// has the rest (at the full SLO, a stage run at its verified limit misses about the whole percentile budget).
  public var headroomSLOFraction: Double = 0.7
  /// The verified capacity never takes a stage's mean utilisation above this: a sped-up trace is shorter, and a
  /// queue that grows without bound near utilisation 1 can still fit its span.
  public var maximumUtilisation: Double = 0.85
  /// Pre-warming (Orion, OSDI'22), seconds of look-ahead; nil or 0 for none. The tuner then scales up for the
  /// traffic it projects this far ahead (the last minute's rate grown as much again as it grew over the previous
  /// look-ahead, at most doubled), and under a cold start each new replica warms up before it takes traffic.
  public var prewarmSeconds: Double? = nil
  public init() {}

  /// The smallest window size the tuner reads for a stage, nanoseconds (at least 1 ms, at most the history).
  func smallestWindow(serviceTime: Int64, slo: Int64) -> Int64 {
    let d = smallestWindowSeconds.map { nanoseconds($0) } ?? max(serviceTime, slo)
    return min(max(d, 1_000_000), nanoseconds(history))
  }

  /// The window sizes of the tuner's envelopes for a configuration, nanoseconds: from the smallest stage window,
  /// doubling, up to the history. The report's "planned" envelope is drawn at the same sizes.
  public func windowSizes(serviceTimes: [Int64], slo: Int64) -> [Int64] {
    let smallest = serviceTimes.map { smallestWindow(serviceTime: $0, slo: slo) }.min() ?? nanoseconds(history)
    return WindowSizes.doubling(from: smallest, to: nanoseconds(history))
  }
}

/// Kubernetes' Horizontal Pod Autoscaler on utilisation: `desired = ceil(current x utilisation / target)`,
/// no change within the tolerance, scale-down to the highest recommendation of the stabilisation window,
/// scale-up by at most max(4 pods, 100%) per sync (the default `scaleUp` policy).
public struct HorizontalPodAutoscaler: Sendable, Equatable, Codable {
  /// Target utilisation (Kubernetes has no default; set per deployment). 0.7 unless told.
  public var targetUtilisation: Double = 0.7
  /// `--horizontal-pod-autoscaler-tolerance`, default 0.1.
  public var tolerance: Double = 0.1
  /// `--horizontal-pod-autoscaler-sync-period`, default 15 s; also the window the utilisation averages over.
  public var syncPeriod: Double = 15
  /// `behavior.scaleDown.stabilizationWindowSeconds`, default 300 s.
  public var scaleDownStabilisation: Double = 300
  public init() {}
}

/// Ray Serve's autoscaler: `desired = ceil(ongoing requests / target_ongoing_requests)` (with smoothing factors),
/// applied only after the decision has held for the upscale or downscale delay.
public struct RayServeAutoscaler: Sendable, Equatable, Codable {
  /// `target_ongoing_requests`, default 2.
  public var targetOngoingRequests: Double = 2
  /// `upscale_delay_s`, default 30.
  public var upscaleDelay: Double = 30
  /// `downscale_delay_s`, default 600.
  public var downscaleDelay: Double = 600
  /// `look_back_period_s`, default 30.
  public var lookBack: Double = 30
  /// `upscaling_factor` / `downscaling_factor` (smoothing), default 1.
  public var upscalingFactor: Double = 1
  public var downscalingFactor: Double = 1
  /// `max_replicas`, which Ray Serve's autoscaling config requires, as a multiple of the replicas the replay
  /// starts with (the busiest hour's plan): 2, a user sizing for the peak with room. Without it, a queue that
  /// builds while replicas are provisioned asks for hundreds of replicas (ongoing requests / 2).
  public var maxReplicasFactor: Double = 2
  public init() {}
}

/// Knative's KPA: concurrency averaged over a 60 s stable window, and over a 6 s panic window; when the panic
/// window asks for at least twice the current replicas it panics for a stable window and never scales down.
public struct KnativeAutoscaler: Sendable, Equatable, Codable {
  /// Target concurrent requests per replica; nil uses the stage's batch size (Knative's default soft limit of
  /// 100 is for web handlers, not batching model servers).
  public var targetConcurrency: Double? = nil
  /// `container-concurrency-target-percentage`, default 70%.
  public var targetUtilisation: Double = 0.7
  /// `stable-window`, default 60 s.
  public var stableWindow: Double = 60
  /// `panic-window-percentage` 10% of the stable window: 6 s.
  public var panicWindow: Double = 6
  /// `panic-threshold-percentage`, default 200%.
  public var panicThreshold: Double = 2
  /// `max-scale-down-rate`, default 2 (at most halve per tick).
  public var maxScaleDownRate: Double = 2
  /// Decision interval (Knative's tick is 2 s).
  public var tick: Double = 2
  public init() {}
}

/// Predictive scaling (after MArk): forecast the rate one provisioning delay ahead with Holt's linear smoothing
/// and provision for it now. `PredictiveController` says how.
public struct PredictiveScaler: Sendable, Equatable, Codable {
  /// Seconds between decisions, and the width of the rate samples the forecast smooths.
  public var tick: Double = 10
  /// Holt's level smoothing (alpha): how fast the level follows the rate.
  public var levelSmoothing: Double = 0.5
  /// Holt's trend smoothing (beta): how fast the trend follows the level's changes.
  public var trendSmoothing: Double = 0.2
  /// How far above the planned rate the forecast may go before it asks for more replicas (10%, as the tuner).
  public var tolerance: Double = 0.1
  /// Seconds the need must stay lower before scaling down (at least the hardware's provisioning delay).
  public var hold: Double = 60
  public init() {}
}

/// Scheduled scaling: the replicas of each workload window's plan, applied on the clock (a CronJob or a cloud
/// scheduled action per change), on one configuration's hardware and batch sizes.
public struct ScheduledScaling: Sendable, Equatable {
  /// Window starts, nanoseconds in the trace's time base, increasing.
  public var starts: [Int64]
  /// `replicas[w][s]`: stage s's replicas from `starts[w]` (until the next start).
  public var replicas: [[Int]]

  public init(starts: [Int64], replicas: [[Int]]) {
    self.starts = starts
    self.replicas = replicas
  }

  /// The timetable of window plans on `configuration`'s hardware and batch sizes. A window planned on the same
  /// hardware and batch at a stage keeps its replica count; one planned on another gets the fewest replicas
  /// whose capacity (`b / L(b)` each) covers the capacity it was planned with; a window with an unattainable
  /// SLO gets `configuration`'s replicas, and one with too few queries to plan one replica per stage.
  /// - Complexity: O(windows x stages).
  public static func of(
    plans: [WindowPlan], configuration: PipelineConfiguration, model: PipelineModel
  ) -> ScheduledScaling {
    let replicas = plans.map { plan -> [Int] in
      guard let c = plan.recommended?.configuration else {
        return configuration.stages.map { plan.planned ? $0.replicas : 1 }
      }
      return configuration.stages.enumerated().map { m, base in
        let now = c.stages[m]
        if now.hardware == base.hardware && now.batchSize == base.batchSize { return now.replicas }
        guard let option = model.stages[m].option(hardware: base.hardware),
          let planned = model.stages[m].option(hardware: now.hardware)
        else { return base.replicas }
        let need = planned.capacity(batch: now.batchSize, replicas: now.replicas)
        let one = option.capacity(batch: base.batchSize, replicas: 1)
        guard one > 0, need.isFinite else { return base.replicas }
        return min(option.replicaLimit, max(1, Int((need / one - 1e-9).rounded(.up))))
      }
    }
    return ScheduledScaling(starts: plans.map(\.start), replicas: replicas)
  }

  /// Stage s's replicas at `time` (the first window's before it starts). - Complexity: O(log windows).
  func replicas(stage s: Int, at time: Int64) -> Int {
    var low = 0, high = starts.count
    while low < high {
      let mid = (low + high) / 2
      if starts[mid] <= time { low = mid + 1 } else { high = mid }
    }
    guard !replicas.isEmpty else { return 1 }
    return replicas[max(0, low - 1)][s]
  }
}

/// Which autoscaler a replay runs.
public enum ScalingPolicy: Sendable, Equatable {
  /// No scaling: the configuration stays as given all day.
  case fixed
  case inferline(InferLineTuner)
  case hpa(HorizontalPodAutoscaler)
  case ray(RayServeAutoscaler)
  case kpa(KnativeAutoscaler)
  /// A what-if, not among the report's standard policies: `replay --policy predictive`.
  case predictive(PredictiveScaler)
  /// The per-window plans as scheduled scaling.
  case scheduled(ScheduledScaling)

  /// The policy's controller for one replay: the table from a policy to its type.
  func controller(_ context: PolicyContext) -> any ReplicaController {
    switch self {
    case .fixed: StaticController()
    case .inferline(let p): InferLineTunerController(p, context)
    case .hpa(let p): HorizontalPodAutoscalerController(p, context)
    case .ray(let p): RayServeController(p, context)
    case .kpa(let p): KnativeController(p, context)
    case .predictive(let p): PredictiveController(p, context)
    case .scheduled(let p): ScheduledScalingController(p, context)
    }
  }

  public var name: String {
    switch self {
    case .fixed: "static"
    case .inferline: "inferline"
    case .hpa: "hpa"
    case .ray: "ray"
    case .kpa: "kpa"
    case .predictive: "predictive"
    case .scheduled: "schedule"
    }
  }
}
