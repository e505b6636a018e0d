import Foundation
import InferLine

extension DeploymentExport {
  /// KServe: an InferenceService per stage.
  enum KServe: DeploymentTarget {
    static var required: [(flag: String, keyPath: KeyPath<Settings, String?>)] {
      [("--model-repository", \.modelRepository), ("--model-format", \.modelFormat)]
    }

    static func files(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
      var text = header(plan, "KServe InferenceServices, one per stage")
      for (i, stage) in plan.stages.enumerated() {
        let c = plan.configuration.stages[i]
        let place = placement(plan, hardware: c.hardware, indent: "    ")
        let repository =
          (settings.modelRepository ?? "").hasSuffix("/")
          ? settings.modelRepository! : (settings.modelRepository ?? "") + "/"
        text += """
          ---
          apiVersion: serving.kserve.io/v1beta1
          kind: InferenceService
          metadata:
            name: \(yaml(names.object[i]))
            namespace: \(yaml(settings.namespace))
            annotations:
              serving.kserve.io/deploymentMode: RawDeployment
              inferline.io/stage: \(yaml(stage.name))
              inferline.io/hardware: \(yaml(c.hardware))
          spec:
            predictor:
              minReplicas: \(c.replicas)
              maxReplicas: \(c.replicas)
          \(place.selector)\(batcher(c.batchSize))    model:
                modelFormat:
                  name: \(yaml(settings.modelFormat ?? ""))
                storageUri: \(yaml(repository + names.model[i]))
          \(place.resources)
          """
      }
      return [File(path: "inferenceservices.yaml", contents: text)]
    }

    /// KServe's batcher at the plan's batch size (it waits at most 1 ms for a batch to fill); none at batch 1,
    /// where it would only add that wait.
    static func batcher(_ batchSize: Int) -> String {
      batchSize > 1 ? "    batcher:\n      maxBatchSize: \(batchSize)\n      maxLatency: 1\n" : ""
    }

    // MARK: - Schedule
  }
}
