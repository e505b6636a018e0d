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
  /// Per stage (each is a revision with its own autoscaler): the end of its panic.
  var panicUntil: [Int64]

  init(_ settings: KnativeAutoscaler, _ context: PolicyContext) {
    self.settings = settings
    models = context.models
    interval = nanoseconds(settings.tick)
    concurrency = SampleWindow(stages: context.models.count, seconds: settings.stableWindow)
    panicUntil = Array(repeating: .min, count: context.models.count)
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {
    for (s, o) in stages.enumerated() { concurrency.add(s, Double(o.inFlight)) }
  }

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    let panicSeconds = max(1, Int(settings.panicWindow.rounded()))
    return decided.indices.map { s in
      let target = (settings.targetConcurrency ?? Double(models[s].batchSize)) * settings.targetUtilisation
      let stable = max(1, Int((concurrency.mean(s) / target).rounded(.up)))
      let panic = max(1, Int((concurrency.mean(s, last: panicSeconds) / target).rounded(.up)))
      if Double(panic) >= settings.panicThreshold * Double(serving[s]), time >= panicUntil[s] {
        panicUntil[s] = time + nanoseconds(settings.stableWindow)
      }
      if time < panicUntil[s] { return max(decided[s], panic) }  // never down while panicking
      let floor = Int((Double(decided[s]) / settings.maxScaleDownRate).rounded(.up))
      return max(stable, floor)
    }
  }
}
