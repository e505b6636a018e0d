import Foundation
import InferLine

extension DeploymentExport {
  /// Ray Serve: one config file with a deployment per stage.
  enum RayServe: DeploymentTarget {
    static var required: [(flag: String, keyPath: KeyPath<Settings, String?>)] { [("--import-path", \.rayImportPath)] }

    static func files(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
      var lines = [
        "applications:",
        "- name: \(yaml(names.pipeline))",
        "  route_prefix: \(yaml("/" + names.pipeline))",
        "  import_path: \(yaml(settings.rayImportPath ?? ""))",
        "  deployments:",
      ]
      for (i, stage) in plan.stages.enumerated() {
        let c = plan.configuration.stages[i]
        let gpu = !DeploymentPlan.isCPU(c.hardware)
        lines.append("  - name: \(yaml(stage.name))")
        if settings.autoscale {
          let bounds = replicaBounds(plan, stage: i)
          lines += [
            "    autoscaling_config:",
            "      min_replicas: \(bounds.least)",
            "      initial_replicas: \(min(max(c.replicas, bounds.least), bounds.most))",
            "      max_replicas: \(bounds.most)",
            "      target_ongoing_requests: \(2 * c.batchSize)",
          ]
        } else {
          lines.append("    num_replicas: \(c.replicas)")
        }
        lines += [
          "    ray_actor_options:",
          "      num_gpus: \(gpu ? 1 : 0)",
        ]
        if gpu { lines.append("      accelerator_type: \(yaml(c.hardware))") }
        lines += [
          "    user_config:",
          "      max_batch_size: \(c.batchSize)",
          "      batch_wait_timeout_s: 0",
        ]
      }
      return [
        File(
          path: "serve-config.yaml",
          contents: header(plan, "Ray Serve config file (serve deploy)") + lines.joined(separator: "\n") + "\n")
      ]
    }

    /// The fewest and the most replicas of stage i over the deployed configuration and every window's plan on
    /// the same hardware and batch size (the autoscaler's bounds: the plan never needed fewer or more).
    static func replicaBounds(_ plan: DeploymentPlan, stage i: Int) -> (least: Int, most: Int) {
      let c = plan.configuration.stages[i]
      let counts =
        [c.replicas]
        + plan.schedule.compactMap { step in
          step.configuration.map { $0.stages[i] }.flatMap {
            $0.hardware == c.hardware && $0.batchSize == c.batchSize ? $0.replicas : nil
          }
        }
      return (counts.min()!, counts.max()!)
    }

    // MARK: - KServe
  }
}
