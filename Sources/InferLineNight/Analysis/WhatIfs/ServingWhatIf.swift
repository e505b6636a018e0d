import InferLine

/// A serving what-if: one question about serving that a related system asked (MArk, Orion, RackSched), answered on
/// the same night with the same simulator, as a section of the report; none changes the plan. Each is a value in a
/// file of its own in this folder; `ServingWhatIfs.Request` lists the ones asked for, in the report's order, and
/// `ReportRequest.WhatIfSettings` makes them from the settings. A new what-if is a new file here, a setting there.
public protocol ServingWhatIf: Sendable {
  /// Replays of the whole log it runs, about: its expected cost, which a sharded night's bundles add up.
  var wholeLogReplays: Double { get }

  /// The section, from the night's plans and replays.
  func run(_ context: ServingWhatIfs.Context) throws -> WhatIf
}
