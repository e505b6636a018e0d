import Foundation
import Synchronization

/// The discrete-event simulator that predicts every query's end-to-end latency.
///
/// Each stage has one FIFO queue and `k` replicas. Whenever a replica is idle and the queue is not empty, it takes
/// `n = min(queue length, b)` queries at once and is busy for `L(n)`; then each query goes on along its route
/// (joins wait for every parent on the route). Events are handled one at a time in the order (time, kind,
/// creation), with kinds ordered replica changes, then batch finishes, then arrivals; the trace's arrivals count
/// as created before any arrival the simulation makes. Stages dispatch after every single event. All arithmetic is
/// in integer nanoseconds, so with deterministic service times and given routes the result is a pure function of
/// the trace and the configuration.
/// - Complexity: O(events x log(events in flight)); memory about 20 bytes per query beyond the trace.
public enum Estimator {
  /// Options that trade detail for speed.
  public struct Options: Sendable {
    /// Stop as soon as more queries have missed the SLO than its percentile allows (for feasibility checks).
    public var stopWhenInfeasible = false
    /// Checked between slices of the stage-by-stage simulator: once cancelled, the run stops where it is and its
    /// result means nothing (for checks begun on speculation, `FeasibilityOracle.evaluateInOrder`).
    public var cancellation: Cancellation? = nil
    /// Keep per-stage queueing delays for their P99 (the largest 1%, about 0.16 bytes per stage visit).
    public var collectWaitPercentiles = true
    /// Use the event-driven simulator even where the stage-by-stage one applies (same results; for checks and
    /// benchmarks).
    public var eventByEvent = false
    /// Keep each query's finish time at each stage (`SimulationResult.stageFinishes`, 8 bytes per query and
    /// stage): the planner's prefix bounds read them. Only the stage-by-stage simulator keeps them.
    public var recordStageFinishes = false
    /// Summarise the latencies (`SimulationResult.summary`: percentiles, mean); a search that reads only the
    /// latencies leaves it out.
    public var summarisesLatencies = true

    public init(
      stopWhenInfeasible: Bool = false, collectWaitPercentiles: Bool = true, eventByEvent: Bool = false,
      recordStageFinishes: Bool = false, summarisesLatencies: Bool = true
    ) {
      self.stopWhenInfeasible = stopWhenInfeasible
      self.collectWaitPercentiles = collectWaitPercentiles
      self.eventByEvent = eventByEvent
      self.recordStageFinishes = recordStageFinishes
      self.summarisesLatencies = summarisesLatencies
    }

    /// A run read only for its latencies and counts: no queueing percentiles, no latency summary.
    public static let latenciesOnly = Options(collectWaitPercentiles: false, summarisesLatencies: false)
  }

  /// Simulates the whole trace: stage by stage where that applies (`StageByStageSimulation`: a central queue, or
  /// round robin or the shortest queue; deterministic service, no cold starts or serverless tier), event by event
  /// otherwise, or when a join meets a
  /// tie the stage-by-stage simulator cannot order (`StageByStageJoin`).
  public static func simulate(_ input: SimulationInput, options: Options = Options()) -> SimulationResult {
    let graph = PipelineGraph(input)  // built once, for the check and whichever simulator runs
    if !options.eventByEvent && StageByStageSimulation.applies(to: input, graph: graph),
      let result = StageByStageSimulation.simulate(input, options: options, graph: graph)
    {
      return result
    }
    if input.dispatch == .centralQueue {
      var simulation = EventSimulation<CentralQueue>(input: input, options: options, graph: graph)
      return simulation.run()
    }
    var simulation = EventSimulation<ReplicaQueues>(input: input, options: options, graph: graph)
    return simulation.run()
  }

  /// `simulate`, handing on the stages `replaying` names from another run's recordings instead of simulating them
  /// (see `StageByStageSimulation.share`'s conditions), and keeping what each stage did when `recording` (nil when
  /// the run stopped early). The same result as `simulate`, apart from a stopped run's partial statistics;
  /// event by event, with nothing replayed or recorded, where the stage-by-stage simulator does not apply or a
  /// join refuses a tie.
  static func simulate(
    _ input: SimulationInput, options: Options, replaying: [StageRecording?], recording: Bool
  ) -> (result: SimulationResult, recordings: [StageRecording]?) {
    let graph = PipelineGraph(input)
    if !options.eventByEvent && StageByStageSimulation.applies(to: input, graph: graph) {
      var simulation = StageByStageSimulation(input: input, options: options, graph: graph)
      simulation.share(replaying: replaying, recording: recording)
      if let result = simulation.run() { return (result, simulation.recordings()) }
    }
    return (simulate(input, options: options), nil)
  }

  /// The stage-by-stage simulator's answer alone: nil where it does not apply, or where a join met a tie it
  /// cannot order (for benchmarks and checks; `simulate` then runs the event-driven simulator).
  public static func simulateStageByStage(_ input: SimulationInput, options: Options = Options()) -> SimulationResult? {
    let graph = PipelineGraph(input)
    guard StageByStageSimulation.applies(to: input, graph: graph) else { return nil }
    return StageByStageSimulation.simulate(input, options: options, graph: graph)
  }

  /// A simulation run in steps (`ClosedLoopSimulation`): stage by stage where that applies (unless
  /// `stageByStage` is false), otherwise event by event with the queueing discipline the input asks for.
  static func stepped(_ input: SimulationInput, options: Options, stageByStage: Bool = true) -> SteppedSimulation {
    let graph = PipelineGraph(input)
    if stageByStage && !options.eventByEvent && StageByStageSimulation.applies(to: input, graph: graph) {
      return .stageByStage(
        SteppedStageByStage(
          StageByStageSimulation(input: input, options: options, graph: graph, stepped: true), input: input,
          options: options))
    }
    if input.dispatch == .centralQueue {
      return .centralQueue(
        SteppedEventSimulation(EventSimulation<CentralQueue>(input: input, options: options, graph: graph)))
    }
    return .replicaQueues(
      SteppedEventSimulation(EventSimulation<ReplicaQueues>(input: input, options: options, graph: graph)))
  }

  /// Whether `simulate` runs this input stage by stage (see `StageByStageSimulation`; a join may still hand it to
  /// the event-driven simulator).
  public static func runsStageByStage(_ input: SimulationInput) -> Bool { StageByStageSimulation.applies(to: input) }

  /// Whether the SLO percentile is met, stopping as soon as the answer is known.
  public static func feasible(_ input: SimulationInput) -> (feasible: Bool, stoppedEarly: Bool) {
    let result = simulate(input, options: Options(stopWhenInfeasible: true, collectWaitPercentiles: false))
    return (result.feasible, result.stoppedEarly)
  }
}

/// The event-driven simulator: the shared state (`SimulationState`) and the queueing discipline, a generic
/// parameter chosen once per run, so the loop below branches on no flag for it. Events are handled one at a time in
/// the order (time, kind, creation), with kinds ordered replica changes, then batch finishes, then arrivals; the
/// trace's arrivals count as created before any arrival the simulation makes. Stages dispatch after every single
/// event. Kept in this file with `Estimator.simulate`, where it is specialised for each discipline (a build that
/// compiles files separately, as debug builds do, specialises only within a file).
/// - Complexity: O(events x log(events in flight)).
struct EventSimulation<Queues: QueueingDiscipline & ~Copyable>: ~Copyable {
  var state: SimulationState
  var queues: Queues

  init(input: SimulationInput, options: Estimator.Options, graph: PipelineGraph) {
    state = SimulationState(input: input, options: options, graph: graph)
    queues = Queues(input)
    for (s, service) in input.stages.enumerated() {
      for _ in 0..<service.replicas {
        queues.added(replica: state.addReplica(stage: s, cold: false), stage: s, state: &state)
      }
      state.active.base[s] = service.replicas
    }
    for (s, tier) in input.overflow.enumerated() {
      for _ in 0..<(tier?.provisioned ?? 0) {
        state.overflow.provision(state.addReplica(stage: s, cold: false, serverless: true), stage: s)
      }
    }
    for change in input.replicaChanges.sorted(by: { ($0.time, $0.stage) < ($1.time, $1.stage) }) {
      state.push(time: change.time, kind: SimulationEvent.change, stage: change.stage, subject: Int32(change.replicas))
    }
  }

  mutating func run() -> SimulationResult {
    advance(until: .max)
    return state.result()
  }

  /// Handles every event stamped before `limit` (all of them for `.max`), in the simulator's order, then stops:
  /// what a policy tick at `limit` sees. Stops for good once too many queries have missed, in a feasibility check.
  mutating func advance(until limit: Int64) {
    guard !state.stopped else { return }
    let n = state.input.arrivals.count
    var nextArrival = state.nextArrival
    var now = state.now
    var stopped = false
    let stopWhenInfeasible = state.options.stopWhenInfeasible
    let input = state.input
    input.arrivals.withUnsafeBufferPointer { arrivals in
      while true {
        // The next event in (time, kind, creation) order. The heap holds replica changes and batch finishes, which
        // sort before arrivals at the same time; trace arrivals count as created before any arrival the
        // simulation makes, whose queue is already in creation order.
        let traceTime = nextArrival < n ? arrivals[nextArrival] : .max
        let createdTime = state.created.firstTime
        if let top = state.heap.min, top.time <= traceTime, top.time <= createdTime {
          guard top.time < limit else { break }
          let event = state.heap.removeMin()
          #if INFERLINE_INVARIANTS
            precondition(event.time >= now, "an event before the current time")
          #endif
          now = event.time
          state.events &+= 1
          if event.order >> 56 == SimulationEvent.finish {
            let r = Int(event.subject)
            let s = state.finishBatch(replica: r, at: now, arrivals: arrivals)
            if !state.overflow.release(r, stage: s, at: now) {
              queues.finished(replica: r, stage: s, at: now, state: &state)
            }
          } else {
            queues.changeReplicas(
              stage: Int(event.stage), to: Int(event.subject & ~SimulationEvent.warm),
              warm: event.subject & SimulationEvent.warm != 0, at: now, state: &state)
          }
        } else if nextArrival < n, traceTime <= createdTime {
          guard traceTime < limit else { break }
          #if INFERLINE_INVARIANTS
            precondition(traceTime >= now, "arrivals must be sorted")
          #endif
          now = traceTime
          state.events &+= 1
          state.route(query: nextArrival)
          for i in 0..<state.roots.count {
            queues.arrive(query: nextArrival, stage: state.rootSlab.base[i], at: now, state: &state)
          }
          nextArrival += 1
        } else if state.created.count > 0 {
          guard createdTime < limit else { break }
          let arrival = state.created.removeFirst()
          #if INFERLINE_INVARIANTS
            precondition(arrival.time >= now, "an event before the current time")
          #endif
          now = arrival.time
          state.events &+= 1
          queues.arrive(query: Int(arrival.query), stage: Int(arrival.stage), at: now, state: &state)
        } else {
          break
        }
        if stopWhenInfeasible && state.misses > state.allowedMisses {
          stopped = true
          break
        }
      }
    }
    state.nextArrival = nextArrival
    state.now = now
    state.stopped = stopped
  }
}

/// A simulation a closed loop steps through (`ClosedLoopSimulation`), with its queueing discipline: each case a
/// concrete type, so the steps run specialised code (an existential over a generic class would run the generic,
/// unspecialised one; measured 1.8x slower).
enum SteppedSimulation {
  case centralQueue(SteppedEventSimulation<CentralQueue>)
  case replicaQueues(SteppedEventSimulation<ReplicaQueues>)
  case stageByStage(SteppedStageByStage)

  var now: Int64 {
    switch self {
    case .centralQueue(let s): s.simulation.state.now
    case .replicaQueues(let s): s.simulation.state.now
    case .stageByStage(let s): s.simulation.now
    }
  }

  var misses: Int {
    switch self {
    case .centralQueue(let s): s.simulation.state.misses
    case .replicaQueues(let s): s.simulation.state.misses
    case .stageByStage(let s): s.simulation.misses
    }
  }

  /// Handles every event before `time`. A stage-by-stage run whose join meets a tie it cannot order is replaced
  /// by the event-driven one, given the changes made so far, brought to the same time.
  mutating func advance(until time: Int64) {
    switch self {
    case .centralQueue(let s): s.simulation.advance(until: time)
    case .replicaQueues(let s): s.simulation.advance(until: time)
    case .stageByStage(let s):
      s.simulation.advance(until: time)
      if s.simulation.cannotOrder { self = s.eventByEvent(until: time) }
    }
  }

  func observe(stage s: Int) -> ClosedLoopSimulation.StageObservation {
    switch self {
    case .centralQueue(let run): run.observe(stage: s)
    case .replicaQueues(let run): run.observe(stage: s)
    case .stageByStage(let run): run.simulation.observe(stage: s)
    }
  }

  /// Queues a replica change (`subject`: the count, with `SimulationEvent.warm` set for warmed-up replicas).
  func change(stage s: Int, subject: Int32, at time: Int64) {
    switch self {
    case .centralQueue(let run):
      run.simulation.state.push(time: time, kind: SimulationEvent.change, stage: s, subject: subject)
    case .replicaQueues(let run):
      run.simulation.state.push(time: time, kind: SimulationEvent.change, stage: s, subject: subject)
    case .stageByStage(let run):
      // No cold starts on this path, so whether the replicas are warm changes nothing.
      let change = ReplicaChange(time: time, stage: s, replicas: Int(subject & ~SimulationEvent.warm))
      run.made.append(change)
      run.simulation.schedule(change)
    }
  }

  /// The result, after `advance(until: .max)`.
  func result() -> SimulationResult {
    switch self {
    case .centralQueue(let s): s.simulation.state.result()
    case .replicaQueues(let s): s.simulation.state.result()
    case .stageByStage(let s): s.simulation.finish() ?? s.eventByEvent(until: .max).result()
    }
  }
}

/// A stepped stage-by-stage simulation, owned by reference, with the replica changes made so far: should a join
/// meet a tie it cannot order, the event-driven simulation replays them (`eventByEvent(until:)`).
final class SteppedStageByStage {
  var simulation: StageByStageSimulation
  let input: SimulationInput
  let options: Estimator.Options
  var made: [ReplicaChange] = []

  init(_ simulation: consuming StageByStageSimulation, input: SimulationInput, options: Estimator.Options) {
    self.simulation = simulation
    self.input = input
    self.options = options
  }

  /// The event-driven simulation of the same run: the input's changes, then those made (the event queue handles
  /// changes at one instant and stage in the order they were queued, and before anything else at that instant),
  /// advanced to `time`.
  func eventByEvent(until time: Int64) -> SteppedSimulation {
    var replay = input
    replay.replicaChanges += made
    var stepped = Estimator.stepped(replay, options: options, stageByStage: false)
    stepped.advance(until: time)
    return stepped
  }
}

/// One stepped simulation, owned by reference (its state is not copyable).
final class SteppedEventSimulation<Queues: QueueingDiscipline & ~Copyable> {
  var simulation: EventSimulation<Queues>

  init(_ simulation: consuming EventSimulation<Queues>) { self.simulation = simulation }

  func observe(stage s: Int) -> ClosedLoopSimulation.StageObservation {
    ClosedLoopSimulation.StageObservation(
      queued: simulation.queues.queued(stage: s), inService: simulation.state.inService.base[s],
      replicas: simulation.state.active.base[s], busyNanoseconds: simulation.state.busy.base[s])
  }
}

/// A flag that asks work begun on speculation to stop (`Estimator.Options.cancellation`).
public final class Cancellation: Sendable {
  private let flag = Atomic<Bool>(false)
  public init() {}
  public func cancel() { flag.store(true, ordering: .relaxed) }
  public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}
