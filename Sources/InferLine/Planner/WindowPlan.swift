/// What the planners found for one workload window: the recommended plan (the search's proven optimum, or its
/// best plan with a lower bound and gap), InferLine's greedy plan as the paper's baseline, and the coarse-grained
/// baselines. `plan`, `replay` and `report` all plan windows with `WindowPlanning.plan`.
public struct WindowPlan: Sendable, Equatable, Codable {
  public var start: Int64
  public var queries: Int
  /// False when the window has too few queries for the SLO percentile to mean anything.
  public var planned: Bool
  public var note: String?
  public var recommended: Plan?
  public var greedy: Plan?
  /// Why InferLine's greedy planner found no plan, when it did not.
  public var greedyFailure: String? = nil
  public var baselines: [BaselineResult]
  /// Why no plan was found, when none was.
  public var unattainable: Unattainable?
  /// Seconds the window took to plan.
  public var seconds: Double

  package init(
    start: Int64, queries: Int, planned: Bool, note: String?, recommended: Plan?, greedy: Plan?,
    greedyFailure: String? = nil, baselines: [BaselineResult], unattainable: Unattainable?, seconds: Double
  ) {
    self.start = start
    self.queries = queries
    self.planned = planned
    self.note = note
    self.recommended = recommended
    self.greedy = greedy
    self.greedyFailure = greedyFailure
    self.baselines = baselines
    self.unattainable = unattainable
    self.seconds = seconds
  }
}
