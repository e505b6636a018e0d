/// Kubernetes HPA in closed loop: every sync period it reads each stage's utilisation, the busy share of its
/// replicas' time over the period, measured in the simulation (so it saturates at 100% when the stage is
/// overloaded, as CPU utilisation does), and applies `desired = ceil(current x utilisation / target)` with the
/// tolerance, the default scale-up limit and the scale-down stabilisation window.
struct HorizontalPodAutoscalerController: ReplicaController {
  let settings: HorizontalPodAutoscaler
  let interval: Int64
  /// Busy replica-nanoseconds at the last decision and at the last sample, and replica-seconds sampled since.
  var lastBusy: [Int64]
  var busy: [Int64]
  var replicaTime: [Double]
  var recommendations: [[Int]]

  init(_ settings: HorizontalPodAutoscaler, _ context: PolicyContext) {
    self.settings = settings
    interval = nanoseconds(settings.syncPeriod)
    lastBusy = Array(repeating: 0, count: context.models.count)
    busy = Array(repeating: 0, count: context.models.count)
    replicaTime = Array(repeating: 0, count: context.models.count)
    recommendations = Array(repeating: [], count: context.models.count)
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {
    for (s, o) in stages.enumerated() {
      replicaTime[s] += Double(o.replicas)  // replica-seconds since the last decision, one sample a second
      busy[s] = o.busyNanoseconds
    }
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    let window = max(1, Int((settings.scaleDownStabilisation / settings.syncPeriod).rounded()))
    var wanted = decided
    for s in decided.indices {
      let used = Double(busy[s] - lastBusy[s]) / 1e9
      let utilisation = min(1, used / max(replicaTime[s], 1e-9))
      lastBusy[s] = busy[s]
      replicaTime[s] = 0
      let k = Double(decided[s])
      let ratio = utilisation / settings.targetUtilisation
      var desired = abs(ratio - 1) <= settings.tolerance ? decided[s] : max(1, Int((k * ratio).rounded(.up)))
      desired = min(desired, max(decided[s] + 4, 2 * decided[s]))  // default scaleUp policy
      recommendations[s].append(desired)
      if recommendations[s].count > window { recommendations[s].removeFirst() }
      // Scale-down stabilisation: the highest recommendation of the window.
      wanted[s] = desired > decided[s] ? desired : recommendations[s].max()!
    }
    return wanted
  }
}
