/// How one stage is provisioned: hardware type, maximum batch size and replica count.
public struct StageConfiguration: Sendable, Equatable, Hashable, Codable {
  public var hardware: String
  /// Largest batch a replica forms (`b`).
  public var batchSize: Int
  /// Replicas (`k`).
  public var replicas: Int

  public init(hardware: String, batchSize: Int, replicas: Int) {
    self.hardware = hardware
    self.batchSize = batchSize
    self.replicas = replicas
  }
}

extension StageConfiguration: CustomStringConvertible {
  /// `T4 b8 x3`: hardware, batch size, replicas.
  public var description: String { "\(hardware) b\(batchSize) x\(replicas)" }
}

/// A configuration of a whole pipeline: one `StageConfiguration` per stage, in the pipeline's stage order.
public struct PipelineConfiguration: Sendable, Equatable, Hashable, Codable {
  public var stages: [StageConfiguration]

  public init(stages: [StageConfiguration]) { self.stages = stages }

  /// `detect T4 b8 x3, vehicle L4 b4 x1` with the given stage names.
  public func describe(stageNames: [String], separator: String = ", ") -> String {
    zip(stageNames, stages).map { "\($0) \($1)" }.joined(separator: separator)
  }
}
