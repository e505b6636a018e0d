import InferLine

/// A serving system `export` writes configuration for: the settings it cannot do without, what it refuses in a
/// plan, and its files. One file per target under `Targets/`, listed by `DeploymentExport.Target`; a new target is
/// a new file there and a case in that list. Every name from an input is escaped for the format it lands in
/// (`DeploymentExport.yaml`, `protobufString`, `shellWord`) and object names come from `ObjectNames`.
protocol DeploymentTarget {
  /// The settings the target cannot do without, as (flag, setting).
  static var required: [(flag: String, keyPath: KeyPath<DeploymentExport.Settings, String?>)] { get }

  /// - Throws: `InputError` for a plan the target cannot express.
  static func check(_ plan: DeploymentPlan) throws

  /// The target's files for one pipeline (the schedule's CSV is added for every target).
  static func files(
    _ plan: DeploymentPlan, names: DeploymentExport.ObjectNames, settings: DeploymentExport.Settings
  ) -> [DeploymentExport.File]
}

extension DeploymentTarget {
  static func check(_ plan: DeploymentPlan) throws {}
}
