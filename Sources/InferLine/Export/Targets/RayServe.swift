import Foundation

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
        lines += [
          "  - name: \(yaml(stage.name))",
          "    num_replicas: \(c.replicas)",
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

    // MARK: - KServe
  }
}
