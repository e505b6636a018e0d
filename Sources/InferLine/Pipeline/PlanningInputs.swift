/// A pipeline with the hardware catalog and the profiles it is planned against, checked against each other.
public struct PlanningInputs: Sendable {
  public var pipeline: PipelineSpec
  public var catalog: HardwareCatalog
  public var profiles: ProfileTable
  /// Every warning found while loading (errors make loading throw).
  public var warnings: [Diagnostic]

  /// Loads the three files and checks them together; every problem in every file is reported at once.
  /// - Throws: `DiagnosticsError` when any file has an error.
  public static func load(
    pipeline: String, hardware: String, profiles: String, strict: Bool = false
  ) throws
    -> PlanningInputs
  {
    let (spec, d1) = PipelineSpec.load(path: pipeline)
    let (catalog, d2) = HardwareCatalog.load(path: hardware)
    let (table, d3) = ProfileTable.load(path: profiles, strict: strict)
    return try combine(spec, catalog, table, diagnostics: d1 + d2 + d3, strict: strict)
  }

  /// Checks files already loaded against each other (the fuzzers reuse one catalog and one profiles table).
  /// - Throws: `DiagnosticsError` when any of them has an error, `diagnostics` included.
  public static func combine(
    _ spec: PipelineSpec?, _ catalog: HardwareCatalog?, _ table: ProfileTable?, diagnostics loaded: [Diagnostic] = [],
    strict: Bool = false
  ) throws -> PlanningInputs {
    var diagnostics = loaded
    if let spec, let catalog, let table {
      diagnostics += crossCheck(spec, catalog, table)
    }
    if strict {
      diagnostics = diagnostics.map {
        var d = $0
        d.severity = .error
        return d
      }
    }
    guard let spec, let catalog, let table, !diagnostics.contains(where: { $0.severity == .error }) else {
      throw DiagnosticsError(diagnostics: diagnostics)
    }
    return PlanningInputs(pipeline: spec, catalog: catalog, profiles: table, warnings: diagnostics)
  }

  /// Problems that only show with all three files: hardware a stage names but the catalog lacks, and stages
  /// with no hardware that has a profile for their model.
  static func crossCheck(_ spec: PipelineSpec, _ catalog: HardwareCatalog, _ table: ProfileTable) -> [Diagnostic] {
    var sink = DiagnosticSink(file: spec.file)
    let known = catalog.hardware.map(\.type)
    for stage in spec.stages {
      for type in stage.allowedHardware ?? [] where catalog.hardware(type: type) == nil {
        sink.error(
          stage.line,
          "stage '\(stage.name)' allows hardware '\(type)', which \(catalog.file) does not list\(suggestion(for: type, among: known))"
        )
      }
      let count = candidates(for: stage, catalog: catalog, profiles: table).count
      if count > maximumHardwarePerStage {
        // The search, the baselines and the budget grow with every type a stage may take: said before any work.
        sink.error(
          stage.line,
          "stage '\(stage.name)' may run on \(count) hardware types (allowed, in the catalog and profiled for '\(stage.model)'), more than the \(maximumHardwarePerStage) inferline searches: a catalog of that size takes minutes and gigabytes per night"
            + "; list the types worth trying in the stage's `hardware:` (e.g. hardware: [T4, L4, A10G]), or trim the catalog or profiles"
        )
      }
      if count == 0 {
        let profiled = table.profiles(model: stage.model).map(\.hardware)
        sink.error(
          stage.line,
          "stage '\(stage.name)': no hardware can run model '\(stage.model)': "
            + (profiled.isEmpty
              ? "\(table.file) has no profile for it"
              : "it is profiled on \(profiled.joined(separator: ", ")), none of them allowed and in the catalog"))
      }
    }
    return sink.items
  }

  /// Most hardware types one stage may choose among (its candidates): the planner's work grows with each.
  public static let maximumHardwarePerStage = 64

  /// The (hardware, profile) pairs a stage can use: allowed, in the catalog, and profiled for its model.
  public static func candidates(
    for stage: PipelineSpec.Stage, catalog: HardwareCatalog, profiles: ProfileTable
  )
    -> [(hardware: HardwareCatalog.Hardware, profile: ModelProfile)]
  {
    catalog.hardware.compactMap { hw in
      if let allowed = stage.allowedHardware, !allowed.contains(hw.type) { return nil }
      guard let profile = profiles.profile(model: stage.model, hardware: hw.type) else { return nil }
      return (hw, profile)
    }
  }
}
