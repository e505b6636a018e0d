/// Ray Serve's autoscaler in closed loop: each second it samples every stage's ongoing requests (queued at the
/// replicas plus in service, as Ray's replicas report them), averages them over the look-back period, and wants
/// `ceil(ongoing / target_ongoing_requests)` replicas (with the smoothing factors), applied only once the
/// decision has held for the upscale or downscale delay, within `max_replicas`.
struct RayServeController: ReplicaController {
  let settings: RayServeAutoscaler
  var interval: Int64 { 1_000_000_000 }
  var ongoing: SampleWindow
  var upSince: [Int64?]
  var downSince: [Int64?]
  /// Per stage, `max_replicas`.
  let maxReplicas: [Int]

  init(_ settings: RayServeAutoscaler, _ context: PolicyContext) {
    self.settings = settings
    ongoing = SampleWindow(stages: context.models.count, seconds: settings.lookBack)
    upSince = Array(repeating: nil, count: context.models.count)
    downSince = Array(repeating: nil, count: context.models.count)
    maxReplicas = context.initial.map { max(1, Int((Double($0) * settings.maxReplicasFactor).rounded(.up))) }
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {
    for (s, o) in stages.enumerated() { ongoing.add(s, Double(o.inFlight)) }
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    var wanted = decided
    for s in decided.indices {
      let k = Double(decided[s])
      let raw = ongoing.mean(s) / settings.targetOngoingRequests
      let factor = raw > k ? settings.upscalingFactor : settings.downscalingFactor
      let desired = min(maxReplicas[s], max(1, Int((k + factor * (raw - k)).rounded(.up))))
      if desired > decided[s] {
        downSince[s] = nil
        upSince[s] = upSince[s] ?? time
        if time - upSince[s]! >= nanoseconds(settings.upscaleDelay) {
          wanted[s] = desired
          upSince[s] = nil
        }
      } else if desired < decided[s] {
        upSince[s] = nil
        downSince[s] = downSince[s] ?? time
        if time - downSince[s]! >= nanoseconds(settings.downscaleDelay) {
          wanted[s] = desired
          downSince[s] = nil
        }
      } else {
        upSince[s] = nil
        downSince[s] = nil
      }
    }
    return wanted
  }
}
