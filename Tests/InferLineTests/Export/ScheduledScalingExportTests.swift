import Foundation
import Testing
import Yams

@testable import InferLine
@testable import InferLineNight

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

/// `--scaler keda`: the same schedule as KEDA ScaledObjects. Read back as YAML and run minute by minute as KEDA's
/// cron scaler does (a trigger is active from its start to its end, wrapping past midnight; the highest active
/// trigger wins; `minReplicaCount` otherwise), every minute has at least the plan's replicas, exactly the plan's
/// outside the provisioning lead before a rise.
struct KEDAScheduleExportTests {
  static func plan(_ stages: [(String, Int)]) -> PipelineConfiguration {
    PipelineConfiguration(stages: stages.map { .init(hardware: $0.0, batchSize: 1, replicas: $0.1) })
  }

  /// Minute of the day from a "m h * * *" cron expression.
  static func minute(_ cron: String) throws -> Int {
    let fields = cron.split(separator: " ")
    try #require(fields.count == 5 && fields[2...].allSatisfy { $0 == "*" }, "\(cron)")
    let m = try #require(Int(fields[0])), h = try #require(Int(fields[1]))
    try #require((0..<60).contains(m) && (0..<24).contains(h))
    return h * 60 + m
  }

  @Test(arguments: [1, 7, 23])
  func kedaTriggersGiveThePlansReplicasAtEveryMinute(seed: UInt64) throws {
    var rng = SeededGenerator(seed: seed)
    let hour: Int64 = 3_600_000_000_000
    let hardware = ["T4", "CPU"]
    // A day of 24 random windows for two stages, each on T4 or CPU with 1-4 replicas; a few windows unplanned.
    var schedule: [DeploymentPlan.Step] = []
    var plans: [PipelineConfiguration?] = []
    for w in 0..<24 {
      let c: PipelineConfiguration? =
        rng.next() % 9 == 0
        ? nil
        : Self.plan((0..<2).map { _ in (hardware[Int(rng.next() % 2)], Int(rng.next() % 4) + 1) })
      plans.append(c)
      schedule.append(.init(start: Int64(w) * hour, seconds: 3600, configuration: c))
    }
    let busiest = plans.compactMap { $0 }.first!
    var deployment = DeploymentPlan(
      pipelineName: "p", stages: [.init(name: "a", model: "m"), .init(name: "b", model: "m")],
      configuration: busiest, schedule: schedule, instances: [:], source: "report.json")
    deployment.provisioningSeconds = ["T4": 150, "CPU": 30]
    var settings = DeploymentExport.Settings()
    settings.image = "tritonserver"
    settings.modelRepository = "s3://m"
    settings.scaler = .keda
    let files = try DeploymentExport.files(deployment, target: .kubernetes, settings: settings)
    #expect(files.contains { $0.path == "keda.yaml" } && !files.contains { $0.path == "schedule.yaml" })
    let keda = try #require(files.first { $0.path == "keda.yaml" }).contents
    let deployments = try #require(files.first { $0.path == "deployments.yaml" }).contents
    // Each Deployment's variant, from its annotations.
    var variants: [String: (stage: Int, hardware: String, replicas: Int)] = [:]
    for document in try Yams.load_all(yaml: deployments) {
      guard let d = document as? [String: Any], d["kind"] as? String == "Deployment" else { continue }
      let metadata = d["metadata"] as! [String: Any]
      let annotations = metadata["annotations"] as! [String: Any]
      variants[metadata["name"] as! String] = (
        annotations["inferline.io/stage"] as! String == "a" ? 0 : 1, annotations["inferline.io/hardware"] as! String,
        (d["spec"] as! [String: Any])["replicas"] as! Int
      )
    }
    var scaled: Set<String> = []
    for document in try Yams.load_all(yaml: keda) {
      guard let d = document as? [String: Any] else { continue }
      #expect(d["apiVersion"] as? String == "keda.sh/v1alpha1" && d["kind"] as? String == "ScaledObject")
      let spec = try #require(d["spec"] as? [String: Any])
      let target = try #require((spec["scaleTargetRef"] as? [String: Any])?["name"] as? String)
      let variant = try #require(variants[target], "a ScaledObject for an unknown Deployment \(target)")
      scaled.insert(target)
      let least = try #require(spec["minReplicaCount"] as? Int), most = try #require(spec["maxReplicaCount"] as? Int)
      var triggers: [(start: Int, end: Int, replicas: Int)] = []
      for t in try #require(spec["triggers"] as? [[String: Any]]) {
        #expect(t["type"] as? String == "cron")
        let m = try #require(t["metadata"] as? [String: Any])
        // KEDA's CRD types every metadata value as a string.
        #expect(m.values.allSatisfy { $0 is String }, "\(m)")
        #expect(m["timezone"] as? String == "Etc/UTC")
        let start = try Self.minute(m["start"] as! String), end = try Self.minute(m["end"] as! String)
        #expect(start != end)
        triggers.append((start, end, Int(m["desiredReplicas"] as! String)!))
      }
      let lead = variant.hardware == "T4" ? 3 : 1
      // The plan's count at minute t (an unplanned window keeps the one before, across midnight too).
      func planned(_ t: Int) -> Int {
        var w = t / 60
        for _ in 0..<24 {
          if let c = plans[w] {
            let s = c.stages[variant.stage]
            return s.hardware == variant.hardware ? s.replicas : 0
          }
          w = (w + 23) % 24
        }
        return 0
      }
      var most_ = 0
      for t in 0..<1440 {
        let active = triggers.filter { tr in
          tr.start < tr.end ? (tr.start <= t && t < tr.end) : (t >= tr.start || t < tr.end)
        }
        let keda = max(least, active.map(\.replicas).max() ?? least)
        most_ = max(most_, keda)
        #expect(keda >= planned(t), "\(target) at minute \(t): KEDA gives \(keda), the plan \(planned(t))")
        let rising = (1...lead).contains { planned((t + $0) % 1440) > planned(t) }
        if !rising {
          #expect(keda == planned(t), "\(target) at minute \(t): KEDA gives \(keda), the plan \(planned(t))")
        }
      }
      #expect(most == most_ && least <= most)
    }
    // Every Deployment whose count changes over the day is scaled; one whose count never changes is not.
    for (name, v) in variants {
      let counts = Set(
        (0..<24).map { w -> Int in
          var k = w
          while plans[k] == nil { k = (k + 23) % 24 }
          let s = plans[k]!.stages[v.stage]
          return s.hardware == v.hardware ? s.replicas : 0
        })
      #expect(scaled.contains(name) == (counts.count > 1), "\(name): counts \(counts)")
      // A Deployment KEDA leaves alone holds its one count all day.
      if counts.count == 1 { #expect(v.replicas == counts.first) }
    }
    #expect(!scaled.isEmpty)
  }
}
