import Dispatch
import Foundation
public import InferLine

/// What-if for a cascade (after Willump): the busiest window re-planned with one edge's probability set to each
/// of a list of values, so a team sees what a stricter threshold or a more confident first model would save. The
/// routes are drawn with the same seed, so a query escalated at one probability is escalated at every higher one.
public struct EscalationSweep: Sendable, Equatable, Codable {
  public struct Point: Sendable, Equatable, Codable {
    public var probability: Double
    /// Nil when no plan meets the SLO at this probability (`note` says why).
    public var costPerHour: Double?
    public var configuration: PipelineConfiguration?
    /// The SLO percentile of end-to-end latency of the plan on the busiest window, milliseconds.
    public var percentileLatencyMs: Double?
    public var provenOptimal: Bool?
    public var note: String?
  }

  public var parent: String
  public var child: String
  /// The probability the pipeline file gives the edge.
  public var current: Double
  public var points: [Point]

  /// An edge and the probabilities to try, as `--escalation` names them.
  public struct Request: Sendable, Equatable {
    public var parent: String
    public var child: String
    public var probabilities: [Double]

    public init(parent: String, child: String, probabilities: [Double]) {
      self.parent = parent
      self.child = child
      self.probabilities = probabilities
    }

    /// Parses `parent -> child = p1,p2,...`. - Throws: `InputError` naming the expected form.
    public static func parse(_ text: String) throws -> Request {
      let form = "the form is 'parent -> child = 0.1,0.25,0.5' (an edge of the pipeline, probabilities from 0 to 1)"
      let halves = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      let ends = halves.first?.components(separatedBy: "->").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
      guard halves.count == 2, ends.count == 2, !ends[0].isEmpty, !ends[1].isEmpty else {
        throw InputError("--escalation '\(TerminalText.safe(text))' is not an edge and probabilities", fix: form)
      }
      let values = halves[1].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
      guard !values.isEmpty, values.count <= 20, values.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 1 }) else {
        throw InputError(
          "--escalation '\(TerminalText.safe(text))': the probabilities must be 1 to 20 numbers from 0 to 1", fix: form)
      }
      return Request(parent: ends[0], child: ends[1], probabilities: values.map { $0! })
    }
  }

  /// Whether `model`'s pipeline has the requested edge.
  public static func applies(_ request: Request, to model: PipelineModel) -> Bool {
    edgeIndex(request, in: model.inputs.pipeline) != nil
  }

  static func edgeIndex(_ request: Request, in spec: PipelineSpec) -> Int? {
    spec.edges.firstIndex {
      spec.stages[$0.parent].name == request.parent && spec.stages[$0.child].name == request.child
    }
  }

  /// Plans `arrivals` (the busiest window's, nanoseconds from its start) at each probability, in parallel.
  /// - Throws: `InputError` when the pipeline has no such edge, naming the edges it has.
  /// - Complexity: one window's plan per probability.
  public static func run(
    _ request: Request, model: PipelineModel, arrivals: [Int64], seed: UInt64, budget: SearchBudget
  ) throws -> EscalationSweep {
    let spec = model.inputs.pipeline
    guard let edge = edgeIndex(request, in: spec) else {
      let edges = spec.edges.map { "\(spec.stages[$0.parent].name) -> \(spec.stages[$0.child].name)" }
      throw InputError(
        file: spec.file,
        "pipeline '\(TerminalText.safe(spec.name))' has no edge '\(TerminalText.safe(request.parent)) -> \(TerminalText.safe(request.child))'",
        fix: edges.isEmpty
          ? "a pipeline without edges has nothing to sweep" : "name one of its edges: \(edges.joined(separator: ", "))")
    }
    let slots = ResultSlots<Point>(count: request.probabilities.count)
    DispatchQueue.concurrentPerform(iterations: request.probabilities.count) { k in
      let p = request.probabilities[k]
      var inputs = model.inputs
      inputs.pipeline.edges[edge].probability = p
      let swept = PipelineModel(inputs)
      let oracle = FeasibilityOracle(model: swept, arrivals: arrivals, seed: seed)
      switch Planner(oracle: oracle).bestPlan(budget: budget) {
      case .success(let plan):
        let latency = (try? oracle.simulateFully(plan.configuration))?.percentileLatency
        slots[k] = Point(
          probability: p, costPerHour: plan.costPerHour, configuration: plan.configuration,
          percentileLatencyMs: latency.map { Milliseconds.of($0) },
          provenOptimal: plan.provenOptimal, note: nil)
      case .failure(let why):
        slots[k] = Point(
          probability: p, costPerHour: nil, configuration: nil, percentileLatencyMs: nil, provenOptimal: nil,
          note: why.description)
      }
    }
    return EscalationSweep(
      parent: request.parent, child: request.child, current: spec.edges[edge].probability,
      points: slots.values.map { $0! })
  }
}
