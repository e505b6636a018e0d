/// Scheduled scaling in closed loop: each stage's replica count follows a timetable (the per-window plans,
/// `ScheduledScaling`). New capacity is asked for one provisioning delay before its window starts, so it serves
/// from the window's first instant; capacity a window no longer needs goes when that window starts.
struct ScheduledScalingController: ReplicaController {
  let schedule: ScheduledScaling
  let delays: [Int64]
  var interval: Int64 { 1_000_000_000 }

  init(_ schedule: ScheduledScaling, _ context: PolicyContext) {
    self.schedule = schedule
    delays = context.models.map(\.provisioningDelay)
  }

  mutating func sample(at time: Int64, _ stages: [ClosedLoopSimulation.StageObservation]) {}

  mutating func decide(at time: Int64, decided: [Int], serving: [Int]) -> [Int] {
    decided.indices.map { s in
      max(schedule.replicas(stage: s, at: time), schedule.replicas(stage: s, at: time + delays[s]))
    }
  }
}
