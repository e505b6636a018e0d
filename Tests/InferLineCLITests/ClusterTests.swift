import Foundation
import Testing

/// The cluster runs of a sharded report as they ship in Cluster/: the Kubernetes manifests validate against the
/// Kubernetes schemas and their commands, run as each pod would, merge to the single-machine report; the Ray driver
/// does the same on a local Ray instance.
extension CommandLineTests {
  /// A small night through two pipelines, laid out as the cluster's volume: data/logs, pipelines, hardware,
  /// profiles.
  func clusterVolume(_ name: String) throws -> String {
    let s = Self.samples, data = path("\(name)/data")
    for folder in ["logs", "pipelines", "hardware", "profiles"] {
      try FileManager.default.createDirectory(atPath: "\(data)/\(folder)", withIntermediateDirectories: true)
    }
    let generated = try run([
      "generate", "--process", "diurnal", "--rate", "5", "--peak-to-trough", "3", "--duration", "4h", "--seed", "21",
      "--pipeline", "video-monitoring=0.6", "--pipeline", "social-media=0.4", "--gzip", "--out",
      "\(data)/logs/night.csv.gz",
    ])
    #expect(generated.status == 0, "\(generated.stderr)")
    for (from, to) in [
      ("pipelines/video-monitoring.yaml", "pipelines/video-monitoring.yaml"),
      ("pipelines/social-media.yaml", "pipelines/social-media.yaml"),
      ("hardware/aws-2026.yaml", "hardware/aws-2026.yaml"),
      ("profiles/profiles-2026.csv", "profiles/profiles-2026.csv"),
    ] {
      try FileManager.default.copyItem(atPath: "\(s)/\(from)", toPath: "\(data)/\(to)")
    }
    return data
  }

  /// Runs a command line through /bin/sh with extra environment, the inferline binary first on the PATH.
  func shell(_ script: String, environment: [String: String] = [:]) throws -> Run {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return try launch(
      URL(fileURLWithPath: "/bin/sh"), ["-c", script],
      environment: environment.merging(["PATH": Self.binary.deletingLastPathComponent().path + ":" + path]) { a, _ in a
      })
  }

  /// The single-machine report of the same inputs, for comparison.
  func singleMachineReport(_ data: String, out: String, extra: [String] = []) throws {
    let r = try run(
      [
        "report", "\(data)/logs/night.csv.gz", "--pipeline", "\(data)/pipelines/video-monitoring.yaml", "--pipeline",
        "\(data)/pipelines/social-media.yaml", "--hardware", "\(data)/hardware/aws-2026.yaml", "--profiles",
        "\(data)/profiles/profiles-2026.csv", "--quiet", "--out", out,
      ] + extra)
    #expect(r.status == 0, "\(r.stderr)")
  }

  func expectSameReports(_ merged: String, _ single: String, _ what: String) throws {
    for file in ["report.json", "video-monitoring/report.json", "social-media/report.json"] {
      #expect(
        try Self.comparable("\(merged)/\(file)") == Self.comparable("\(single)/\(file)"),
        "\(what): \(file) differs from the single-machine report")
    }
  }

  @Test func kubernetesManifestsValidateAndTheirCommandsMergeToTheSingleMachineReport() throws {
    let folder = Self.packageRoot.appendingPathComponent("Cluster/kubernetes").path
    let validation = try shell("python3 '\(Self.packageRoot.path)/Scripts/validate-export.py' '\(folder)'")
    #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
    for line in [
      "kubernetes ok: \(folder)/report-shards.yaml: Job inferline-shards",
      "kubernetes ok: \(folder)/report-merge.yaml: Job inferline-merge",
      "kubernetes ok: \(folder)/storage.yaml: PersistentVolumeClaim inferline-nightly",
    ] {
      #expect(validation.stdout.contains(line), "\(validation.stdout)")
    }
    // What the pods run: the Job's shape and the shell command of each container, read with PyYAML.
    let read = try shell(
      """
      python3 -c 'import json, yaml
      s = yaml.safe_load(open("\(folder)/report-shards.yaml"))["spec"]
      m = yaml.safe_load(open("\(folder)/report-merge.yaml"))["spec"]
      c = s["template"]["spec"]["containers"][0]
      print(json.dumps([s["completionMode"], s["completions"], s["parallelism"], s["backoffLimitPerIndex"],
        s["template"]["spec"]["restartPolicy"], c["args"][0], m["template"]["spec"]["containers"][0]["args"][0],
        c["image"] == m["template"]["spec"]["containers"][0]["image"]]))'
      """)
    #expect(read.status == 0, "\(read.stderr)")
    let shape = try JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as! [Any]
    #expect(shape[0] as? String == "Indexed" && shape[4] as? String == "Never" && shape[7] as? Bool == true)
    let n = shape[1] as! Int
    #expect(shape[2] as? Int == n && (shape[3] as! Int) >= 1)
    let shardScript = shape[5] as! String, mergeScript = shape[6] as! String
    #expect(shardScript.contains("--shard \"$JOB_COMPLETION_INDEX/\(n)\""), "N in --shard is the Job's completions")
    // Each pod's command on a volume laid out as storage.yaml says, then the merge's.
    let data = try clusterVolume("kubernetes")
    for k in 0..<n {
      let pod = try shell(
        shardScript.replacingOccurrences(of: "/data", with: data), environment: ["JOB_COMPLETION_INDEX": "\(k)"])
      #expect(pod.status == 0 && pod.stdout.contains("shard \(k) of \(n)"), "\(pod.stderr)")
    }
    let merge = try shell(mergeScript.replacingOccurrences(of: "/data", with: data))
    #expect(merge.status == 0, "\(merge.stderr)")
    let reports = try FileManager.default.contentsOfDirectory(atPath: "\(data)/reports").filter { !$0.hasPrefix(".") }
    #expect(reports.count == 1)
    let single = path("kubernetes/single")
    try singleMachineReport(data, out: single, extra: ["--window", "1h", "--seed", "1"])
    try expectSameReports("\(data)/reports/\(reports[0])", single, "Kubernetes, \(n) shards")
  }

  @Test func rayDriverRunsTheShardsOnALocalRayInstance() throws {
    let data = try clusterVolume("ray")
    let single = path("ray/single")
    try singleMachineReport(data, out: single)
    // A local Ray instance of its own (a short temp folder: Ray's socket paths must fit 107 bytes).
    let temp = "/tmp/ilray-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let port = Int.random(in: 20_000...40_000)
    let started = try shell(
      "ray start --head --port=\(port) --num-cpus=2 --include-dashboard=false --disable-usage-stats --temp-dir=\(temp)")
    #expect(started.status == 0, "ray start (installed by Scripts/setup.sh): \(started.stderr)")
    defer {
      _ = try? shell("ray stop --force", environment: ["RAY_TMPDIR": temp])
      try? FileManager.default.removeItem(atPath: temp)
    }
    let driver = Self.packageRoot.appendingPathComponent("Cluster/ray/report.py").path
    for n in [2, 4] {
      let merged = path("ray/merged-\(n)")
      let r = try shell(
        "python3 '\(driver)' --shards \(n) --parts '\(path("ray/parts-\(n)"))' --out '\(merged)' --address 127.0.0.1:\(port) --inferline '\(Self.binary.path)' -- '\(data)/logs/night.csv.gz' --pipeline '\(data)/pipelines/video-monitoring.yaml' --pipeline '\(data)/pipelines/social-media.yaml' --hardware '\(data)/hardware/aws-2026.yaml' --profiles '\(data)/profiles/profiles-2026.csv'"
      )
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stderr.contains("\(n) shards and the merge in"), "\(r.stderr)")
      try expectSameReports(merged, single, "Ray, \(n) shards")
    }
    // A shard that cannot run (an input missing) fails its task; the driver names it and exits non-zero.
    let broken = try shell(
      "python3 '\(driver)' --shards 2 --parts '\(path("ray/broken"))' --out '\(path("ray/never"))' --address 127.0.0.1:\(port) --inferline '\(Self.binary.path)' -- '\(data)/logs/night.csv.gz' --pipeline '\(data)/pipelines/video-monitoring.yaml' --hardware '\(data)/hardware/missing.yaml' --profiles '\(data)/profiles/profiles-2026.csv'"
    )
    #expect(broken.status != 0 && broken.stderr.contains("exited"), "\(broken.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("ray/never")))
  }
}
