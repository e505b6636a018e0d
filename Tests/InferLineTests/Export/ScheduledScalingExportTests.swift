import Foundation
import Testing
import Yams

@testable import InferLine

/// The Kubernetes schedule asks for new capacity a provisioning delay before its window and takes the old down at
/// the window's start only once the new is ready; read back as YAML.
struct ScheduledScalingExportTests {
  /// Three hours: 1 T4, then 3 T4 from 01:00 (T4 takes 150 s to serve: asked at 00:57), then the stage moves to 2
  /// CPU at 02:00 (CPU 30 s: asked at 01:59; the T4s go at 02:00 once the CPU deployment is ready), and back to 1
  /// T4 at midnight.
  @Test func newCapacityIsAskedAheadAndTheOldGoesOnceItIsReady() throws {
    let hour: Int64 = 3_600_000_000_000
    func plan(_ hardware: String, _ replicas: Int) -> PipelineConfiguration {
      PipelineConfiguration(stages: [.init(hardware: hardware, batchSize: 1, replicas: replicas)])
    }
    var deployment = DeploymentPlan(
      pipelineName: "p", stages: [.init(name: "s", model: "m")], configuration: plan("T4", 3),
      schedule: [
        .init(start: 0, seconds: 3600, configuration: plan("T4", 1)),
        .init(start: hour, seconds: 3600, configuration: plan("T4", 3)),
        .init(start: 2 * hour, seconds: 3600, configuration: plan("CPU", 2)),
      ], instances: [:], source: "report.json")
    deployment.provisioningSeconds = ["T4": 150, "CPU": 30]
    var settings = DeploymentExport.Settings()
    settings.image = "tritonserver"
    settings.modelRepository = "s3://m"
    let files = try DeploymentExport.files(deployment, target: .kubernetes, settings: settings)
    let schedule = try #require(files.first { $0.path == "schedule.yaml" }).contents
    var jobs: [String: (schedule: String, command: String)] = [:]
    for document in try Yams.load_all(yaml: schedule) {
      guard let d = document as? [String: Any], d["kind"] as? String == "CronJob" else { continue }
      let name = (d["metadata"] as! [String: Any])["name"] as! String
      let spec = d["spec"] as! [String: Any]
      let pod = (((spec["jobTemplate"] as! [String: Any])["spec"] as! [String: Any])["template"] as! [String: Any])
      let container = ((pod["spec"] as! [String: Any])["containers"] as! [[String: Any]])[0]
      // Names end with the window's minute (after the pipeline's hashed name).
      jobs[String(name.split(separator: "-").suffix(2).joined(separator: "-"))] = (
        spec["schedule"] as! String, (container["command"] as! [String])[2]
      )
    }
    // 01:00: only additions, asked 3 minutes ahead (150 s rounded up to whole minutes).
    let up1 = try #require(jobs["up-0100"], "\(jobs.keys.sorted())")
    #expect(up1.schedule == "57 0 * * *" && up1.command.contains("--replicas=3") && jobs["at-0100"] == nil)
    // 02:00: the CPU deployment asked at 01:59; at 02:00 wait for it, then the T4s go.
    let up2 = try #require(jobs["up-0200"]), at2 = try #require(jobs["at-0200"])
    let cpu = try #require(up2.command.split(separator: " ").first { $0.hasPrefix("deployment/") })
    #expect(up2.schedule == "59 1 * * *" && cpu.contains("cpu-b1") && up2.command.contains("--replicas=2"))
    #expect(at2.schedule == "0 2 * * *")
    let wait = try #require(at2.command.range(of: "kubectl rollout status \(cpu)"))
    let down = try #require(at2.command.range(of: "--replicas=0"))
    #expect(wait.upperBound < down.lowerBound && !at2.command.contains("\(cpu) --replicas"), "\(at2.command)")
    // Midnight (the day wraps): the T4 back 3 minutes ahead, the CPUs down at 00:00 once it is ready.
    #expect(jobs["up-0000"]?.schedule == "57 23 * * *" && jobs["at-0000"]?.schedule == "0 0 * * *")
    #expect(jobs.count == 5)
  }
}
