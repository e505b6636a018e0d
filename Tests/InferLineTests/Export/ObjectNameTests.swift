import Foundation
import Testing

@testable import InferLine
@testable import InferLineNight

/// Kubernetes object names are unique by construction: within a pipeline (a stage and another stage's variant) and
/// across a fleet exported into one namespace.
@Suite struct ObjectNameTests {
  /// Random fleets whose stage and pipeline names are made of parts that label the same way (`a`, `b`, `-`, `.`,
  /// `a10g`, `b8`, upper case): every Deployment and InferenceService name differs, and each is an RFC 1123 label.
  @Test func objectNamesNeverCollide() throws {
    let parts = ["a", "b", "-", ".", "a10g", "b8", "A", "_"]
    var rng = SeededGenerator(seed: 27)
    func name() -> String {
      (0..<(1 + Int(rng.next() % 4))).map { _ in parts[Int(rng.next() % UInt64(parts.count))] }.joined()
    }
    let hardware = ["T4", "A10G", "CPU"]
    var fleetsChecked = 0
    for _ in 0..<400 {
      var deployments: [String] = [], services: [String] = []
      var pipelines: Set<String> = []
      for _ in 0..<3 {
        let pipeline = name()
        guard pipelines.insert(pipeline).inserted else { continue }
        var stageNames: [String] = []
        for _ in 0..<(1 + Int(rng.next() % 4)) {
          let n = name()
          if !stageNames.contains(n) { stageNames.append(n) }
        }
        func configuration() -> PipelineConfiguration {
          PipelineConfiguration(
            stages: stageNames.map { _ in
              .init(
                hardware: hardware[Int(rng.next() % 3)], batchSize: [1, 8][Int(rng.next() % 2)],
                replicas: 1 + Int(rng.next() % 3))
            })
        }
        let plan = DeploymentPlan(
          pipelineName: pipeline, stages: stageNames.map { .init(name: $0, model: "m") },
          configuration: configuration(),
          schedule: (0..<3).map {
            .init(start: Int64($0) * 3_600_000_000_000, seconds: 3600, configuration: configuration())
          },
          instances: [:], source: "test")
        guard let names = try? DeploymentExport.ObjectNames(plan) else { continue }  // Triton names may collide
        deployments += DeploymentExport.Kubernetes.variants(plan, names: names).map(\.name)
        services += names.object
      }
      fleetsChecked += 1
      #expect(Set(deployments).count == deployments.count, "\(deployments)")
      #expect(Set(services).count == services.count, "\(services)")
      for n in deployments + services {
        #expect(n.count <= 63 && n.wholeMatch(of: /[a-z0-9]([-a-z0-9]*[a-z0-9])?/) != nil, "\(n)")
      }
    }
    #expect(fleetsChecked > 300)
  }

  /// The two collisions reported: stage `a` moved to A10G b8 beside a stage `a-a10g-b8`, and pipeline `a` with
  /// stage `b-c` beside pipeline `a-b` with stage `c`.
  @Test func theReportedCollisionsAreApart() throws {
    let moved = DeploymentPlan(
      pipelineName: "p", stages: [.init(name: "a", model: "m"), .init(name: "a-a10g-b8", model: "m")],
      configuration: PipelineConfiguration(stages: [
        .init(hardware: "T4", batchSize: 1, replicas: 1), .init(hardware: "A10G", batchSize: 8, replicas: 1),
      ]),
      schedule: [
        .init(
          start: 0, seconds: 3600,
          configuration: PipelineConfiguration(stages: [
            .init(hardware: "A10G", batchSize: 8, replicas: 2), .init(hardware: "A10G", batchSize: 8, replicas: 1),
          ]))
      ], instances: [:], source: "test")
    let names = try DeploymentExport.ObjectNames(moved)
    let variants = DeploymentExport.Kubernetes.variants(moved, names: names).map(\.name)
    #expect(variants.count == 3 && Set(variants).count == 3, "\(variants)")
    func service(_ pipeline: String, _ stage: String) throws -> String {
      try DeploymentExport.ObjectNames(
        DeploymentPlan(
          pipelineName: pipeline, stages: [.init(name: stage, model: "m")],
          configuration: PipelineConfiguration(stages: [.init(hardware: "T4", batchSize: 1, replicas: 1)]),
          schedule: [], instances: [:], source: "test")
      ).object[0]
    }
    #expect(try service("a", "b-c") != service("a-b", "c"))
    #expect(try service("a", "b-c").hasPrefix("a-b-c-"))
  }
}
