/// What a replay assumes beyond the plan: how long batches take, whether new replicas start cold, and a
/// serverless tier for the overflow. The defaults change nothing.
public struct ReplayConditions: Sendable {
  /// How long batches take (`.correlated` for service times that move together across stages).
  public var serviceTimes: ServiceTimeModel = .deterministic
  /// Replicas a policy adds start cold (their first batches slower), unless the policy pre-warms them.
  public var coldStart: ColdStart? = nil
  /// A serverless tier that takes each stage's queries its replicas cannot serve in time.
  public var overflow: HardwareCatalog.ServerlessTier? = nil
  /// Each arrival's size: batches at stages with sized profiles take their largest input's bucket.
  public var querySizes: [Float]? = nil

  public init(
    serviceTimes: ServiceTimeModel = .deterministic, coldStart: ColdStart? = nil,
    overflow: HardwareCatalog.ServerlessTier? = nil
  ) {
    self.serviceTimes = serviceTimes
    self.coldStart = coldStart
    self.overflow = overflow
  }
}

extension PipelineModel {
  /// Per stage, how `tier` takes its overflow under `configuration`: its latency is the stage model's profiled
  /// L(1) on the tier's `runs_as` hardware, and a query goes there when its estimated wait is over the stage's
  /// share of the slack, `(SLO - P) / D` with P the configuration's longest path at full batches (hops included)
  /// and D the stages on it. Nil for a stage whose model has no profile on that hardware.
  /// - Complexity: O(stages x catalog).
  public func serverlessOverflow(
    _ tier: HardwareCatalog.ServerlessTier, configuration: PipelineConfiguration
  ) -> [ServerlessOverflow?] {
    let full = configuration.stages.enumerated().map { m, c in
      stages[m].option(hardware: c.hardware)?.latency(batch: c.batchSize) ?? 0
    }
    let path = criticalPath(singleLatencies: full, certainEdgesOnly: false)
    let slack = max(0, slo - path.nanoseconds) / Int64(max(1, path.path.count))
    return stages.map { stage in
      guard let l1 = inputs.profiles.profile(model: stage.model, hardware: tier.runsAs)?.latency(batch: 1) else {
        return nil
      }
      return ServerlessOverflow(
        latency: l1, coldStart: nanoseconds(tier.coldStartSeconds), concurrencyLimit: tier.concurrencyLimit,
        keepWarm: nanoseconds(tier.keepWarmSeconds), maximumWait: slack,
        provisioned: min(tier.provisionedConcurrency, tier.concurrencyLimit))
    }
  }
}
