/// How a stage's waiting queries reach its replicas in the event-driven simulator (`EventSimulation`): one FIFO
/// queue per stage (`CentralQueue`) or a queue per replica behind a balancer (`ReplicaQueues`). The discipline is
/// the simulation's generic parameter, chosen once per run from `SimulationInput.dispatch`, so the hot path
/// branches on no flag; it owns its queues and idle lists, and reads and writes the shared state (`SimulationState`)
/// it is handed. A new discipline is a file here and a case in `Estimator.simulate`'s choice.
protocol QueueingDiscipline: ~Copyable {
  init(_ input: SimulationInput)

  /// Queries waiting at stage s (not in service).
  func queued(stage s: Int) -> Int

  /// Replica `r` of stage s was just numbered (`SimulationState.addReplica`) and is idle.
  mutating func added(replica r: Int, stage s: Int, state: inout SimulationState)

  /// Query q reaches stage s at t: it waits, starts a batch on an idle replica, or goes to the stage's serverless
  /// tier (`SimulationState.overflows`).
  mutating func arrive(query q: Int, stage s: Int, at t: Int64, state: inout SimulationState)

  /// Replica r of stage s finished its batch at t (its queries have gone on): it serves again, idles or leaves.
  mutating func finished(replica r: Int, stage s: Int, at t: Int64, state: inout SimulationState)

  /// The tuner's decision: `count` replicas at stage s from t (`warm`: added ones skip the cold start).
  mutating func changeReplicas(stage s: Int, to count: Int, warm: Bool, at t: Int64, state: inout SimulationState)
}
