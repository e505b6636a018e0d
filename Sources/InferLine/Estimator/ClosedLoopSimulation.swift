/// A simulation that runs in steps, so that an autoscaling policy can read what it would read in production at
/// each tick and change replica counts inside the same run (closed loop).
///
/// `advance(until:)` handles every event before a time; `observe(stage:)` reports the stage as it is then;
/// `setReplicas(stage:to:)` changes the count at the current time (a change event, ordered before the finishes
/// and arrivals stamped the same instant, exactly as a change given up front); `finish()` runs to the end. With no
/// changes the result equals `Estimator.simulate` to the nanosecond. Runs stage by stage between ticks where
/// `Estimator.simulate` would (`StageByStageSimulation`), event by event otherwise.
public final class ClosedLoopSimulation {
  /// What a policy can measure of one stage at a tick.
  public struct StageObservation: Sendable, Equatable {
    /// Queries waiting in the stage's queue.
    public var queued: Int
    /// Queries in batches being served.
    public var inService: Int
    /// Replicas serving (including ones finishing a last batch before they leave).
    public var replicas: Int
    /// Replica-nanoseconds of batch service started since the run began (a batch counts from its start).
    public var busyNanoseconds: Int64
    /// Queued plus in service: Knative's in-flight concurrency, Ray Serve's ongoing requests.
    public var inFlight: Int { queued + inService }
  }

  private var state: SteppedSimulation
  private var finished = false
  /// The last `advance` limit: a change before it would rewrite what the policy has already seen.
  private var limit = Int64.min

  public init(_ input: SimulationInput, options: Estimator.Options = .init(collectWaitPercentiles: false)) {
    state = Estimator.stepped(input, options: options)
  }

  /// Whether the run is (still) stage by stage: a join's tie it cannot order hands it to the event-driven
  /// simulator (for checks).
  var isStageByStage: Bool {
    if case .stageByStage = state { return true }
    return false
  }

  /// The time of the last event handled, nanoseconds.
  public var now: Int64 { state.now }

  /// Queries seen over the SLO so far (a query counts once a stage finishes it later than its arrival plus the
  /// SLO): what a production latency metric shows.
  public var misses: Int { state.misses }

  /// Handles every event stamped before `time`. - Complexity: O(events handled x log(events in flight)).
  public func advance(until time: Int64) {
    precondition(!finished, "the simulation has finished")
    limit = max(limit, time)
    state.advance(until: time)
  }

  public func observe(stage s: Int) -> StageObservation {
    state.observe(stage: s)
  }

  /// Sets stage `s` to `count` replicas at `time` (at or after the last `advance` limit): added replicas serve
  /// from then (`warm`: already warmed up, when the input has a `ColdStart`), removed busy ones finish their batch
  /// first.
  public func setReplicas(stage s: Int, to count: Int, at time: Int64, warm: Bool = false) {
    precondition(!finished, "the simulation has finished")
    precondition(count >= 0 && count < Int(SimulationEvent.warm), "a replica count from 0 to 2^30")
    precondition(time >= limit, "a replica change at or after the last advance limit")
    state.change(stage: s, subject: Int32(count) | (warm ? SimulationEvent.warm : 0), at: time)
  }

  /// Runs to the end and returns the result (the memory goes with the simulation).
  public func finish() -> SimulationResult {
    precondition(!finished, "the simulation has finished")
    state.advance(until: .max)
    let result = state.result()
    finished = true
    return result
  }
}
