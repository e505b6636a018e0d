import Foundation

extension DeploymentExport {
  /// NVIDIA Triton: a model configuration (`config.pbtxt`) per stage.
  enum Triton: DeploymentTarget {
    static var required: [(flag: String, keyPath: KeyPath<Settings, String?>)] {
      [("--triton-backend", \.tritonBackend)]
    }

    /// One `config.pbtxt` per stage (in a folder named after the model): its largest batch, dynamic batching that
    /// sends whatever is queued at once (the simulator's greedy batching), and one instance per server on the stage's
    /// hardware. The replica count is the number of Triton servers to run, said in the file's comment.
    static func files(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
      plan.stages.indices.map { i in
        let stage = plan.stages[i], c = plan.configuration.stages[i]
        let gpu = !DeploymentPlan.isCPU(c.hardware)
        let instance = plan.instances[c.hardware].map { " (\(comment($0)))" } ?? ""
        let text = """
          \(header(plan, "Triton model configuration"))# Stage \(comment(stage.name)), model \(comment(stage.model)): run \(c.replicas) Triton server\(c.replicas == 1 ? "" : "s") with this model, each on one \(comment(c.hardware))\(instance).
          name: \(protobufString(names.model[i]))
          backend: \(protobufString(settings.tritonBackend ?? ""))
          max_batch_size: \(c.batchSize)
          dynamic_batching {
            max_queue_delay_microseconds: 0
          }
          instance_group [
            {
              count: 1
              kind: \(gpu ? "KIND_GPU" : "KIND_CPU")
            }
          ]

          """
        return File(path: "\(names.model[i])/config.pbtxt", contents: text)
      }
    }

    // MARK: - Kubernetes
  }
}
