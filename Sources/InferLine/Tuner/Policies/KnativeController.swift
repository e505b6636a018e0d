/// Knative's KPA in closed loop: each second it samples every stage's in-flight concurrency (queued plus in
/// service, as the queue-proxy counts it), averages it over the stable (60 s) and panic (6 s) windows, and wants
/// `ceil(concurrency / (target x utilisation))` replicas; when the panic window asks for at least twice the
/// current replicas it panics for a stable window and never scales down; otherwise it scales down at most by
/// the max scale-down rate per decision.
struct KnativeController: ReplicaController {
  let settings: KnativeAutoscaler
  let models: [StageModel]
  let interval: Int64
  var concurrency: SampleWindow
  var panicUntil: Int64 = .min

  init(_ settings: KnativeAutoscaler, _ context: PolicyContext) {
    self.settings = settings
    models = context.models
    interval = nanoseconds(settings.tick)
    concurrency = SampleWindow(stages: context.models.count, seconds: settings.stableWindow)
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {
    for (s, o) in stages.enumerated() { concurrency.add(s, Double(o.inFlight)) }
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    var panicking = time < panicUntil
    var stable = decided, panic = decided
    let panicSeconds = max(1, Int(settings.panicWindow.rounded()))
    for s in decided.indices {
      let target = (settings.targetConcurrency ?? Double(models[s].batchSize)) * settings.targetUtilisation
      stable[s] = max(1, Int((concurrency.mean(s) / target).rounded(.up)))
      panic[s] = max(1, Int((concurrency.mean(s, last: panicSeconds) / target).rounded(.up)))
      if Double(panic[s]) >= settings.panicThreshold * Double(serving[s]) { panicking = true }
    }
    if panicking && time >= panicUntil { panicUntil = time + nanoseconds(settings.stableWindow) }
    return decided.indices.map { s in
      if panicking { return max(decided[s], panic[s]) }  // never down while panicking
      let floor = Int((Double(decided[s]) / settings.maxScaleDownRate).rounded(.up))
      return max(stable[s], floor)
    }
  }
}
