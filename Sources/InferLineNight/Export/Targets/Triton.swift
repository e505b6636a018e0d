import Foundation
import InferLine

extension DeploymentExport {
  /// NVIDIA Triton: a model configuration (`config.pbtxt`) per stage.
  enum Triton: DeploymentTarget {
    static var required: [(flag: String, keyPath: KeyPath<Settings, String?>)] {
      [("--triton-backend", \.tritonBackend)]
    }

    /// A Triton model repository: per stage a model folder with `config.pbtxt` (its largest batch, dynamic batching
    /// that sends whatever is queued at once, the simulator's greedy batching, where the batch is over 1, and one
    /// instance per server on the stage's hardware) and a version folder `1/` saying which file goes in it. The
    /// replica count is the number of Triton servers to run, said in the file's comment.
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
          \(c.batchSize > 1 ? "dynamic_batching {\n  max_queue_delay_microseconds: 0\n}\n" : "")instance_group [
            {
              count: 1
              kind: \(gpu ? "KIND_GPU" : "KIND_CPU")
            }
          ]

          """
        let file = modelFile(settings.tritonBackend ?? "")
        return [
          File(path: "\(names.model[i])/config.pbtxt", contents: text),
          File(
            path: "\(names.model[i])/1/MODEL_FILE_HERE.txt",
            contents:
              "Version 1 of model \(names.model[i]) (stage \(TerminalText.safe(stage.name)), \(TerminalText.safe(stage.model))): put \(file) in this folder.\n"
          ),
        ]
      }.flatMap { $0 }
    }

    /// The file a Triton backend loads from a version folder by default.
    static func modelFile(_ backend: String) -> String {
      switch backend {
      case "onnxruntime": "model.onnx"
      case "tensorrt": "model.plan"
      case "pytorch": "model.pt"
      case "python": "model.py"
      case "tensorflow": "model.savedmodel/"
      case "openvino": "model.xml and model.bin"
      default: "the model file the \(TerminalText.safe(backend)) backend loads"
      }
    }

    // MARK: - Kubernetes
  }
}
