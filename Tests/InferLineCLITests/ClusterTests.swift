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
    // Each pod's command on a volume laid out as storage.yaml says, then the merge's, for the night's run folder;
    // an earlier night's parts (one shard more, and a folder over a week old) are not merged, and the old one is
    // removed.
    let data = try clusterVolume("kubernetes")
    let run = ["INFERLINE_RUN": "20261202T010000Z"]
    for stale in ["\(data)/parts/20261101T010000Z/\(n)", "\(data)/parts/20261201T010000Z/\(n)"] {
      try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
      try Data("{}".utf8).write(to: URL(fileURLWithPath: stale + "/part.json"))
    }
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -30 * 86_400)], ofItemAtPath: "\(data)/parts/20261101T010000Z")
    for k in 0..<n {
      let pod = try shell(
        shardScript.replacingOccurrences(of: "/data", with: data),
        environment: run.merging(["JOB_COMPLETION_INDEX": "\(k)"]) { a, _ in a })
      #expect(pod.status == 0 && pod.stdout.contains("shard \(k) of \(n)"), "\(pod.stderr)")
      #expect(FileManager.default.fileExists(atPath: "\(data)/parts/20261202T010000Z/\(k)/part.json"))
    }
    let merge = try shell(mergeScript.replacingOccurrences(of: "/data", with: data), environment: run)
    #expect(merge.status == 0, "\(merge.stderr)")
    #expect(contents("\(data)/parts").sorted() == ["20261201T010000Z", "20261202T010000Z"])
    let reports = try FileManager.default.contentsOfDirectory(atPath: "\(data)/reports").filter { !$0.hasPrefix(".") }
    #expect(reports.count == 1)
    let single = path("kubernetes/single")
    try singleMachineReport(data, out: single, extra: ["--window", "1h", "--seed", "1"])
    try expectSameReports("\(data)/reports/\(reports[0])", single, "Kubernetes, \(n) shards")
  }

  /// run-night.sh with a stand-in kubectl: the manifests it applies carry the night's run folder, and a shards Job
  /// that fails ends the wait at once (not after its 6-hour timeout), with a non-zero exit and no merge.
  @Test func runNightStopsWhenTheShardsJobFails() throws {
    let bin = path("kubectl-bin"), applied = path("applied.yaml"), calls = path("calls.txt")
    try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
    for (job, condition) in [("fails", "Failed"), ("completes", "Complete")] {
      let kubectl = """
        #!/bin/sh
        echo "$*" >> '\(calls)'
        case "$1" in
          apply) cat >> '\(applied)' ;;
          get) echo "\(condition) " ;;
          logs) echo "pod: error: the shard failed" ;;
        esac
        """
      try FileManager.default.createDirectory(atPath: "\(bin)/\(job)", withIntermediateDirectories: true)
      try kubectl.write(toFile: "\(bin)/\(job)/kubectl", atomically: true, encoding: .utf8)
      try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(bin)/\(job)/kubectl")
    }
    let script = Self.packageRoot.appendingPathComponent("Cluster/kubernetes/run-night.sh").path
    let started = Date()
    let failed = try launch(
      URL(fileURLWithPath: "/bin/sh"), [script],
      environment: [
        "PATH": "\(bin)/fails:/usr/bin:/bin", "INFERLINE_RUN": "20261202T010000Z", "INFERLINE_POLL_SECONDS": "1",
      ])
    #expect(failed.status != 0 && failed.stderr.contains("job inferline-shards failed"), "\(failed.stderr)")
    #expect(failed.stderr.contains("the shard failed"), "the pods' last lines are shown")
    #expect(Date().timeIntervalSince(started) < 30)
    let applications = try String(contentsOfFile: applied, encoding: .utf8)
    #expect(applications.contains("value: \"20261202T010000Z\"") && !applications.contains("__INFERLINE_RUN__"))
    #expect(!applications.contains("inferline-merge"), "no merge after a failed shards Job")
    try FileManager.default.removeItem(atPath: applied)
    let completed = try launch(
      URL(fileURLWithPath: "/bin/sh"), [script],
      environment: ["PATH": "\(bin)/completes:/usr/bin:/bin", "INFERLINE_RUN": "r1", "INFERLINE_POLL_SECONDS": "1"])
    #expect(completed.status == 0 && completed.stderr.contains("run r1 merged"), "\(completed.stderr)")
    #expect(try String(contentsOfFile: applied, encoding: .utf8).contains("inferline-merge"))
  }

  @Test func rayDriverRunsTheShardsOnALocalRayInstance() throws {
    let data = try clusterVolume("ray")
    let single = path("ray/single")
    try singleMachineReport(data, out: single)
    // A local Ray instance of its own (a short temp folder: Ray's socket paths must fit 107 bytes), without the log
    // monitor (the driver does not forward worker logs).
    let temp = "/tmp/ilray-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let port = Int.random(in: 20_000...40_000)
    // In a process group of its own, so that only this instance is stopped, at once (`ray stop` takes seconds and
    // stops every Ray instance of the machine).
    let started = try shell(
      "setsid --wait sh -c 'echo $$ > \(temp).group; exec ray start --head --port=\(port) --num-cpus=2 --include-dashboard=false --include-log-monitor=false --disable-usage-stats --temp-dir=\(temp)'"
    )
    #expect(started.status == 0, "ray start (installed by Scripts/setup.sh): \(started.stderr)")
    defer {
      if let group = try? String(contentsOfFile: temp + ".group", encoding: .utf8),
        let id = Int32(group.trimmingCharacters(in: .whitespacesAndNewlines))
      {
        kill(-id, SIGKILL)
      }
      try? FileManager.default.removeItem(atPath: temp)
      try? FileManager.default.removeItem(atPath: temp + ".group")
    }
    let driver = Self.packageRoot.appendingPathComponent("Cluster/ray/report.py").path
    for n in [2] {
      let merged = path("ray/merged-\(n)")
      let r = try shell(
        "python3 '\(driver)' --shards \(n) --parts '\(path("ray/parts-\(n)"))' --out '\(merged)' --address 127.0.0.1:\(port) --inferline '\(Self.binary.path)' -- '\(data)/logs/night.csv.gz' --pipeline '\(data)/pipelines/video-monitoring.yaml' --pipeline '\(data)/pipelines/social-media.yaml' --hardware '\(data)/hardware/aws-2026.yaml' --profiles '\(data)/profiles/profiles-2026.csv'"
      )
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stderr.contains("\(n) shards and the merge in"), "\(r.stderr)")
      try expectSameReports(merged, single, "Ray, \(n) shards")
    }
    // A shard that cannot run (an input missing) fails its task once (inferline refused it: exit 65, never
    // retried); the driver names it and exits non-zero. A counting wrapper stands in for the binary.
    let counted = path("ray/counted-inferline"), calls = path("ray/calls.txt")
    try "#!/bin/sh\necho \"$*\" >> '\(calls)'\nexec '\(Self.binary.path)' \"$@\"\n".write(
      toFile: counted, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: counted)
    let broken = try shell(
      "python3 '\(driver)' --shards 2 --parts '\(path("ray/broken"))' --out '\(path("ray/never"))' --address 127.0.0.1:\(port) --inferline '\(counted)' -- '\(data)/logs/night.csv.gz' --pipeline '\(data)/pipelines/video-monitoring.yaml' --hardware '\(data)/hardware/missing.yaml' --profiles '\(data)/profiles/profiles-2026.csv'"
    )
    #expect(broken.status != 0 && broken.stderr.contains("exited 65"), "\(broken.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("ray/never")))
    let shardRuns = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").filter {
      $0.contains("--shard")
    }
    #expect(shardRuns.count <= 2, "a refused shard is not retried: \(shardRuns)")
    // Only the paths are made absolute, whatever the working folder holds: relative --pipeline works, and
    // `--window 1h` stays a duration although a file named 1h is there.
    let relative = path("ray/relative")
    try FileManager.default.createDirectory(atPath: relative, withIntermediateDirectories: true)
    try Data().write(to: URL(fileURLWithPath: relative + "/1h"))
    try FileManager.default.copyItem(atPath: data, toPath: relative + "/data")
    // An hour of the night is enough to see the paths (the merge itself was checked above).
    try FileManager.default.removeItem(atPath: relative + "/data/logs/night.csv.gz")
    let hour = try run([
      "generate", "--process", "diurnal", "--rate", "5", "--duration", "1h", "--seed", "21", "--pipeline",
      "video-monitoring=0.6", "--pipeline", "social-media=0.4", "--gzip", "--out", relative + "/data/logs/night.csv.gz",
    ])
    #expect(hour.status == 0, "\(hour.stderr)")
    let fromRelative = try shell(
      "cd '\(relative)' && python3 '\(driver)' --shards 2 --parts parts --out merged --address 127.0.0.1:\(port) --inferline '\(Self.binary.path)' -- data/logs/night.csv.gz --pipeline data/pipelines/video-monitoring.yaml --pipeline=data/pipelines/social-media.yaml --hardware data/hardware/aws-2026.yaml --profiles data/profiles/profiles-2026.csv --window 1h"
    )
    #expect(fromRelative.status == 0, "\(fromRelative.stderr)")
    let merged = try Self.comparable(relative + "/merged/video-monitoring/report.json")
    let inputs = (merged["inputs"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    #expect(inputs.count == 4 && inputs.allSatisfy { $0.hasPrefix(relative + "/data/") }, "\(inputs)")
    #expect(merged["windowLengthSeconds"] as? Double == 3600)
  }
}
