import Foundation
import Testing

/// `inferline export`: files each serving system reads, checked against the systems' own schemas (Triton's
/// ModelConfig message, Kubernetes' OpenAPI schema, the KServe SDK's models, Ray Serve's ServeDeploySchema) by
/// Scripts/validate-export.py, and against the report.
extension CommandLineTests {
  /// Runs the validator on a folder: its exit status and output.
  func validate(_ folder: String) throws -> (status: Int32, output: String) {
    try validate([folder])[folder]!
  }

  /// Runs the validator once on several folders (its schemas load once, about a second): each folder's exit status
  /// and output, as a run on that folder alone would give them.
  func validate(_ folders: [String]) throws -> [String: (status: Int32, output: String)] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
      ["python3", Self.packageRoot.appendingPathComponent("Scripts/validate-export.py").path] + folders
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    guard folders.count > 1 else { return [folders[0]: (process.terminationStatus, output)] }
    var results: [String: (status: Int32, output: String)] = [:]
    for folder in folders {
      let start = "== \(folder)\n", end = "== \(folder): exit "
      guard let from = output.range(of: start),
        let to = output.range(of: end, range: from.upperBound..<output.endIndex),
        let status = Int32(output[to.upperBound...].prefix { $0.isNumber })
      else {
        Issue.record("the validator said nothing of \(folder): \(output)")
        continue
      }
      results[folder] = (status, String(output[from.upperBound..<to.lowerBound]))
    }
    return results
  }

  /// A small report of the video-monitoring sample: its folder.
  func sampleReport(_ name: String, rate: String = "30", seed: String = "12") throws -> String {
    let log = path("\(name).csv")
    #expect(
      try run(["generate", "--process", "diurnal", "--rate", rate, "--duration", "30m", "--seed", seed, "--out", log])
        .status == 0)
    let out = path(name)
    let report = try run(
      ["report", log, "--out", out, "--quiet"] + Self.sampleInputs("video-monitoring") + [
        "--window", "10m", "--seed", "4",
      ])
    #expect(report.status == 0, "\(report.stderr)")
    return out
  }

  static let targets: [(String, [String])] = [
    ("triton", ["--triton-backend", "onnxruntime"]),
    ("kubernetes", ["--image", "nvcr.io/nvidia/tritonserver:25.01-py3", "--model-repository", "s3://models"]),
    ("ray-serve", ["--import-path", "pipeline:app"]),
    ("kserve", ["--model-format", "onnx", "--model-repository", "s3://models/"]),
  ]

  @Test func exportsValidateAgainstTheSystemsSchemasAndSayWhatTheReportSays() throws {
    let report = try sampleReport("export-report")
    let saved =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report + "/report.json")))
      as! [String: Any]
    let plan = (saved["recommended"] as! [String: Any])["stages"] as! [[String: Any]]
    let stages = (saved["stages"] as! [[String: Any]]).map { $0["name"] as! String }
    for (target, flags) in Self.targets {
      let out = path("export-\(target)")
      let r = try run(["export", report + "/report.json", "--to", target, "--out", out] + flags)
      #expect(r.status == 0, "\(target): \(r.stderr)")
      // schedule.csv: one row per window and stage, and the busiest window's row matches the plan.
      let schedule = try String(contentsOfFile: out + "/schedule.csv", encoding: .utf8).split(separator: "\n")
      #expect(schedule.count == 1 + (saved["windows"] as! [Any]).count * stages.count)
    }
    let checks = try validate(Self.targets.map { path("export-\($0.0)") })
    for (target, _) in Self.targets {
      #expect(
        checks[path("export-\(target)")]?.status == 0, "\(target): \(checks[path("export-\(target)")]?.output ?? "")")
    }
    // Triton: every stage validated as a ModelConfig, with the plan's batch size and instance kind.
    let triton = checks[path("export-triton")]!
    #expect(triton.output.components(separatedBy: "triton ok").count - 1 == stages.count)
    for (i, name) in stages.enumerated() {
      let text = try String(contentsOfFile: path("export-triton/\(name)/config.pbtxt"), encoding: .utf8)
      #expect(text.contains("max_batch_size: \(plan[i]["batchSize"] as! Int)\n"))
      #expect(text.contains((plan[i]["hardware"] as! String) == "CPU" ? "kind: KIND_CPU" : "kind: KIND_GPU"))
      #expect(text.contains("run \(plan[i]["replicas"] as! Int) Triton server"))
      // Dynamic batching only where there is a batch to form; a version folder says which file goes in it.
      #expect(text.contains("dynamic_batching") == (plan[i]["batchSize"] as! Int > 1), "\(name)")
      let version = try String(contentsOfFile: path("export-triton/\(name)/1/MODEL_FILE_HERE.txt"), encoding: .utf8)
      #expect(version.contains("put model.onnx in this folder"))
    }
    // Kubernetes: every Deployment, the CronJobs and their RBAC objects validated strictly; replicas as planned.
    let kubernetes = checks[path("export-kubernetes")]!
    for name in stages {
      #expect(
        kubernetes.output.contains(
          "kubernetes ok: \(path("export-kubernetes"))/deployments.yaml: Deployment video-monitoring-\(name)-"))
    }
    // The files say what the report recommends; CronJobs only when that is the per-window schedule, one at each
    // window whose plan differs from the window before (the day wraps around).
    let recommended = (saved["recommendation"] as! [String: Any])["policy"] as! String
    let deployments = try String(contentsOfFile: path("export-kubernetes/deployments.yaml"), encoding: .utf8)
    #expect(deployments.contains("# Recommended (the cheapest provisioning that kept the SLO over the log): the "))
    let plans = (saved["windows"] as! [[String: Any]]).map {
      ($0["configuration"] as? [String: Any]).map(NSDictionary.init)
    }
    let changes = plans.indices.filter { k in plans[k] != nil && plans[k] != plans[(k + plans.count - 1) % plans.count]
    }
    let cronJobs = kubernetes.output.components(separatedBy: "CronJob video-monitoring-").count - 1
    #expect(cronJobs == (recommended != "schedule" ? 0 : plans.count == 1 ? 1 : changes.count), "\(recommended)")
    #expect(kubernetes.output.contains("RoleBinding video-monitoring-") == (recommended == "schedule"))
    #expect(
      FileManager.default.fileExists(atPath: path("export-kubernetes/schedule.yaml")) == (recommended == "schedule"))
    for (i, name) in stages.enumerated() {
      let block = deployments.components(separatedBy: "kind: Deployment").first {
        $0.contains("metadata:\n  name: \"video-monitoring-\(name)-")
      }!
      #expect(block.contains("replicas: \(plan[i]["replicas"] as! Int)\n"), "\(name)")
    }
    // KServe: every InferenceService checked against the SDK's models; Ray Serve against Ray's schema.
    #expect(checks[path("export-ray-serve")]!.output.contains("ray-serve ok: "))
    let kserveCheck = checks[path("export-kserve")]!
    #expect(kserveCheck.output.components(separatedBy: "kserve ok").count - 1 == stages.count)
    let ray = try String(contentsOfFile: path("export-ray-serve/serve-config.yaml"), encoding: .utf8)
    let kserve = try String(contentsOfFile: path("export-kserve/inferenceservices.yaml"), encoding: .utf8)
    for (i, name) in stages.enumerated() {
      let replicas = plan[i]["replicas"] as! Int, batch = plan[i]["batchSize"] as! Int
      #expect(ray.contains("- name: \"\(name)\"\n    num_replicas: \(replicas)\n"))
      #expect(ray.components(separatedBy: "- name: \"\(name)\"")[1].contains("max_batch_size: \(batch)\n"))
      #expect(
        kserve.components(separatedBy: "name: \"video-monitoring-\(name)-")[1].contains(
          "minReplicas: \(replicas)\n    maxReplicas: \(replicas)\n"))
      #expect(kserve.contains("storageUri: \"s3://models/\(name)\""))
      // No batcher at batch size 1: it would only add its wait.
      let service = kserve.components(separatedBy: "name: \"video-monitoring-\(name)-")[1]
        .components(separatedBy: "kind: InferenceService")[0]
      #expect(
        service.contains("batcher:") == (batch > 1) && (batch == 1 || service.contains("maxBatchSize: \(batch)\n")))
    }
  }

  /// The validator is not a rubber stamp: an unknown Triton field, a misspelt Kubernetes or KServe field and a
  /// wrong type each fail it.
  @Test func theSchemaCheckRejectsBrokenFiles() throws {
    let report = try sampleReport("export-broken")
    for (target, flags) in Self.targets {
      #expect(
        try run(["export", report + "/report.json", "--to", target, "--out", path("broken-\(target)")] + flags).status
          == 0)
    }
    /// Each broken variant of one file of a target's folder, in a copy of the folder of its own.
    var expected: [String: Int32] = [:]
    func variants(_ target: String, _ file: String, _ edits: [(String, String)]) throws {
      let good = try String(contentsOfFile: path("broken-\(target)/\(file)"), encoding: .utf8)
      expected[path("broken-\(target)")] = 0
      for (k, (from, to)) in edits.enumerated() {
        let bad = good.replacingOccurrences(of: from, with: to)
        #expect(bad != good, "\(target): \(from)")
        let folder = path("broken-\(target)-\(k)")
        try FileManager.default.copyItem(atPath: path("broken-\(target)"), toPath: folder)
        try bad.write(toFile: "\(folder)/\(file)", atomically: true, encoding: .utf8)
        expected[folder] = 1
      }
    }
    try variants(
      "triton", "detect/config.pbtxt",
      [
        ("max_batch_size", "max_batch"), ("KIND_", "KIND_TPU_"),
        ("max_queue_delay_microseconds: 0", "max_queue_delay_microseconds: \"soon\""),
      ])
    try variants(
      "kubernetes", "deployments.yaml", [("nodeSelector:", "nodeSelectors:"), ("replicas: ", "replicas: many ")])
    try variants(
      "kserve", "inferenceservices.yaml",
      [("minReplicas:", "minimumReplicas:"), ("maxBatchSize: ", "maxBatchSize: lots")])
    try variants(
      "ray-serve", "serve-config.yaml", [("num_replicas:", "num_replica:"), ("num_replicas: ", "num_replicas: many")])
    let results = try validate(expected.keys.sorted())
    for (folder, status) in expected.sorted(by: { $0.key < $1.key }) {
      #expect(results[folder]?.status == status, "\(folder): \(results[folder]?.output ?? "")")
    }
  }

  /// Hostile stage names become safe file and object names, and their exact text survives, escaped, where it is
  /// shown; missing settings and a folder that is not inferline's are refused before anything is written.
  @Test func exportKeepsHostileNamesInsideAndRefusesWhatItCannotDo() throws {
    let pipeline = path("hostile.yaml")
    try """
    name: "evil \\"pipe\\""
    slo: {latency_ms: 400}
    stages:
      - {name: "../../escape", model: ssd320}
      - {name: "x\\"y\\nz\\u202e", model: resnet50}
    edges:
      "../../escape -> x\\"y\\nz\\u202e": 0.6
    """.write(toFile: pipeline, atomically: true, encoding: .utf8)
    let log = path("hostile.csv")
    #expect(try run(["generate", "--rate", "10", "--duration", "20m", "--seed", "3", "--out", log]).status == 0)
    let report = path("hostile-report")
    let made = try run(
      ["report", log, "--out", report, "--quiet", "--pipeline", pipeline] + Self.sampleCatalog + ["--window", "10m"])
    #expect(made.status == 0, "\(made.stderr)")
    for (target, flags) in Self.targets {
      let out = path("hostile-\(target)")
      let r = try run(["export", report + "/report.json", "--to", target, "--out", out] + flags)
      #expect(r.status == 0, "\(target): \(r.stderr)")
      // Nothing outside the output folder: every file is under it.
      let files = FileManager.default.enumerator(atPath: out)!.allObjects as! [String]
      #expect(files.allSatisfy { !$0.split(separator: "/").contains("..") }, "\(files)")
      #expect(
        !FileManager.default.fileExists(
          atPath: folder.deletingLastPathComponent().appendingPathComponent("escape").path))
    }
    let checks = try validate(Self.targets.map { path("hostile-\($0.0)") })
    for (target, _) in Self.targets {
      #expect(checks[path("hostile-\(target)")]?.status == 0, "\(target)")
    }
    // The stage's exact name, read back by a YAML parser from the annotation.
    let yaml = try String(contentsOfFile: path("hostile-kubernetes/deployments.yaml"), encoding: .utf8)
    #expect(yaml.contains("inferline.io/stage: \"x\\\"y\\nz\\u202E\""))
    #expect(!yaml.contains("\u{202E}"))
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    reader.arguments = [
      "python3", "-c",
      "import sys, yaml, json; print(json.dumps([d['metadata']['annotations']['inferline.io/stage'] for d in yaml.safe_load_all(open(sys.argv[1])) if d and d['kind'] == 'Deployment']))",
      path("hostile-kubernetes/deployments.yaml"),
    ]
    let pipe = Pipe()
    reader.standardOutput = pipe
    try reader.run()
    let names = try JSONDecoder().decode([String].self, from: pipe.fileHandleForReading.readDataToEndOfFile())
    reader.waitUntilExit()
    #expect(names == ["../../escape", "x\"y\nz\u{202E}"])
    // Missing settings: refused, naming the flag, nothing written.
    let missing = try run(["export", report + "/report.json", "--to", "kubernetes", "--out", path("not-written")])
    #expect(missing.status == 64 && missing.stderr.contains("--image") && missing.stderr.contains("--model-repository"))
    #expect(!FileManager.default.fileExists(atPath: path("not-written")))
    let unknown = try run(["export", report + "/report.json", "--to", "docker", "--out", path("not-written")])
    #expect(unknown.status == 64 && unknown.stderr.contains("'triton', 'kubernetes', 'ray-serve' or 'kserve'"))
    // A folder inferline did not write is left alone.
    let mine = path("my-folder")
    try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
    try "keep me".write(toFile: mine + "/notes.txt", atomically: true, encoding: .utf8)
    let refused = try run([
      "export", report + "/report.json", "--to", "triton", "--triton-backend", "python", "--out", mine,
    ])
    #expect(refused.status == 73 && refused.stderr.contains("is not an export folder"))
    #expect(try String(contentsOfFile: mine + "/notes.txt", encoding: .utf8) == "keep me")
    // A report folder, even the one whose report.json is read, is not an export's to replace; nor is an export
    // folder a report's. Both are left as they were.
    let before = try FileManager.default.contentsOfDirectory(atPath: report).sorted()
    let ontoReport = try run([
      "export", report + "/report.json", "--to", "triton", "--triton-backend", "python", "--out", report,
    ])
    #expect(ontoReport.status == 73 && ontoReport.stderr.contains("is a report folder, not an export folder"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: report).sorted() == before)
    let exported = path("hostile-triton")
    #expect(FileManager.default.fileExists(atPath: exported + "/.inferline-export"))
    let ontoExport = try run(
      ["report", log, "--out", exported, "--quiet", "--pipeline", pipeline] + Self.sampleCatalog + ["--window", "10m"])
    #expect(ontoExport.status == 73 && ontoExport.stderr.contains("is an export folder, not a report folder"))
    #expect(FileManager.default.fileExists(atPath: exported + "/.inferline-export"))
  }

  /// Line terminators YAML 1.1 (libyaml, PyYAML) reads as breaks, U+2028, U+2029 and U+0085, and Markdown and HTML
  /// syntax in the pipeline's and the stages' names, read back with each output language's own parser: every YAML
  /// file each target writes (PyYAML) has exactly the objects and keys meant (no injected ConfigMap, RBAC object
  /// or top-level key); every Triton config.pbtxt (protobuf's text format, Triton's ModelConfig) only the fields
  /// written; schedule.csv (Python's csv) six cells a row and the names whole; summary.md (CommonMark) no raw HTML,
  /// link or emphasis; and `validate` prints each name on its line.
  @Test func lineSeparatorsInNamesInjectNothing() throws {
    let pipeline = path("separators.yaml")
    try """
    name: "vm\\u2028apiVersion: v1\\u2028kind: ConfigMap\\u2028metadata: {name: pwned, namespace: kube-system}\\u2028http_options: {host: 0.0.0.0}"
    slo: {latency_ms: 400}
    stages:
      - {name: "a\\u0085kind: ClusterRoleBinding", model: ssd320}
      - {name: "b\\u2029pwned: true | <script>alert(1)</script> [x](javascript:alert(2)) *y*", model: resnet50}
    edges:
      "a\\u0085kind: ClusterRoleBinding -> b\\u2029pwned: true | <script>alert(1)</script> [x](javascript:alert(2)) *y*": 0.6
    """.write(toFile: pipeline, atomically: true, encoding: .utf8)
    let common = Self.sampleCatalog
    let checked = try run(["validate", pipeline] + common)
    #expect(checked.status == 0, "\(checked.stderr)")
    for separator in ["\u{2028}", "\u{2029}", "\u{85}"] { #expect(!checked.stdout.contains(separator)) }
    #expect(checked.stdout.split(separator: "\n").count == 6, "\(checked.stdout)")
    let log = path("separators.csv")
    #expect(try run(["generate", "--rate", "10", "--duration", "20m", "--seed", "3", "--out", log]).status == 0)
    let report = path("separators-report")
    let made = try run(["report", log, "--out", report, "--quiet", "--pipeline", pipeline, "--window", "10m"] + common)
    #expect([0, 4].contains(made.status), "\(made.stderr)")
    let expected: [String: (kinds: Set<String>, keys: Set<String>)] = [
      "deployments.yaml": (["Deployment", "Service", "Namespace"], ["apiVersion", "kind", "metadata", "spec"]),
      "schedule.yaml": (
        ["CronJob", "ServiceAccount", "Role", "RoleBinding"],
        ["apiVersion", "kind", "metadata", "spec", "rules", "roleRef", "subjects"]
      ),
      "serve-config.yaml": ([], ["applications"]),
      "inferenceservices.yaml": (["InferenceService"], ["apiVersion", "kind", "metadata", "spec"]),
    ]
    let stageNames = [
      "a\u{85}kind: ClusterRoleBinding",
      "b\u{2029}pwned: true | <script>alert(1)</script> [x](javascript:alert(2)) *y*",
    ]
    // Markdown (summary.md), read with a CommonMark parser (markdown-it): no raw HTML, no link, no table or
    // emphasis made of a name, and the names whole in the text.
    let markdown = try python(
      """
      import sys, json
      from markdown_it import MarkdownIt
      tokens = MarkdownIt("commonmark").enable("table").parse(open(sys.argv[1], encoding="utf-8").read())
      kinds, text = set(), []
      def walk(ts):
          for t in ts:
              kinds.add(t.type)
              if t.type in ("text", "code_inline"): text.append(t.content)
              walk(t.children or [])
      walk(tokens)
      print(json.dumps({"kinds": sorted(kinds), "text": "".join(text)}))
      """, report + "/summary.md")
    let kinds = Set(markdown["kinds"] as! [String])
    #expect(kinds.isDisjoint(with: ["html_inline", "html_block", "link_open", "em_open", "table_open"]), "\(kinds)")
    let text = (markdown["text"] as! String)
    #expect(text.contains("<script>alert(1)</script> [x](javascript:alert(2)) *y*"), "\(text)")
    for (target, flags) in Self.targets {
      let out = path("separators-\(target)")
      let r = try run(["export", report + "/report.json", "--to", target, "--out", out] + flags)
      #expect(r.status == 0, "\(target): \(r.stderr)")
      // schedule.csv, read with Python's csv module: every row six cells, the stage cell a stage's name, whole.
      let csv = try python(
        """
        import sys, csv, json
        rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline="")))
        print(json.dumps({"header": rows[0], "widths": sorted({len(r) for r in rows}), "stages": sorted({r[2] for r in rows[1:]})}))
        """, out + "/schedule.csv")
      #expect(csv["widths"] as? [Int] == [6], "\(target): \(csv)")
      #expect(Set(csv["stages"] as! [String]) == Set(stageNames), "\(target): \(csv["stages"]!)")
      if target == "triton" {
        // Every config.pbtxt, read with Triton's own ModelConfig message: only the fields written, one model each.
        let configs = (FileManager.default.enumerator(atPath: out)!.allObjects as! [String]).filter {
          $0.hasSuffix("config.pbtxt")
        }
        #expect(configs.count == 2, "\(configs)")
        for config in configs {
          let parsed = try python(
            """
            import sys, json, importlib.util
            from google.protobuf import text_format, json_format
            spec = importlib.util.spec_from_file_location("v", sys.argv[2])
            v = importlib.util.module_from_spec(spec); spec.loader.exec_module(v)
            m = v.triton_config_message()()
            text_format.Parse(open(sys.argv[1], encoding="utf-8").read(), m)
            print(json.dumps(json_format.MessageToDict(m)))
            """, out + "/" + config, Self.packageRoot.path + "/Scripts/validate-export.py")
          #expect(
            Set(parsed.keys).isSubset(of: ["name", "backend", "maxBatchSize", "instanceGroup", "dynamicBatching"]),
            "\(config): \(parsed.keys.sorted())")
          #expect((parsed["name"] as? String).map { config.hasPrefix($0 + "/") } == true, "\(config): \(parsed)")
        }
        continue
      }
      let files = (FileManager.default.enumerator(atPath: out)!.allObjects as! [String]).filter {
        $0.hasSuffix(".yaml")
      }
      #expect(!files.isEmpty, "\(target)")
      for file in files {
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        reader.arguments = [
          "python3", "-c",
          "import sys, yaml, json; docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]; print(json.dumps({'kinds': sorted({d.get('kind', '') for d in docs if 'kind' in d}), 'keys': sorted({k for d in docs for k in d}), 'texts': json.dumps(docs)}))",
          out + "/" + file,
        ]
        let pipe = Pipe()
        reader.standardOutput = pipe
        try reader.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        reader.waitUntilExit()
        #expect(reader.terminationStatus == 0, "\(target)/\(file) does not parse")
        let parsed = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let name = URL(fileURLWithPath: file).lastPathComponent
        let want = try #require(expected[name], "\(name)")
        #expect(Set(parsed["kinds"] as! [String]).isSubset(of: want.kinds), "\(target)/\(file): \(parsed["kinds"]!)")
        #expect(Set(parsed["keys"] as! [String]).isSubset(of: want.keys), "\(target)/\(file): \(parsed["keys"]!)")
        // The names are still there, whole, inside the values they belong to.
        let texts = parsed["texts"] as! String
        #expect(!texts.contains("\"pwned\": true") && !texts.contains("kube-system\""), "\(target)/\(file)")
      }
    }
  }

  /// The Kubernetes export serves: read back with PyYAML, every Deployment's container starts Triton on the
  /// stage's model from the repository, with ports, startup, readiness and liveness probes on Triton's health
  /// endpoints, CPU and memory requests, and on GPU hardware the GPU limit and the GPU taint's toleration; a Service
  /// per stage selects its pods on the same ports; `--create-namespace` writes the Namespace.
  @Test func kubernetesDeploymentsStartAServerBehindAService() throws {
    let report = try sampleReport("serve-report")
    let out = path("export-serve")
    let r = try run([
      "export", report + "/report.json", "--to", "kubernetes", "--out", out, "--image", "tritonserver:25.01",
      "--model-repository", "s3://models", "--namespace", "ml", "--create-namespace", "--cpu", "4", "--memory", "16Gi",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try validate(out).status == 0)
    let found = try python(
      """
      import json, sys, yaml
      docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
      out = {"problems": [], "kinds": [d["kind"] for d in docs], "services": {}, "deployments": {}}
      for d in docs:
          if d["kind"] == "Service":
              out["services"][d["metadata"]["name"]] = {
                  "selector": d["spec"]["selector"], "ports": sorted(p["port"] for p in d["spec"]["ports"])}
          if d["kind"] != "Deployment":
              continue
          pod = d["spec"]["template"]
          c = pod["spec"]["containers"][0]
          gpu = "nvidia.com/gpu" in c["resources"].get("limits", {})
          tolerates = any(t.get("key") == "nvidia.com/gpu" for t in pod["spec"].get("tolerations", []))
          out["deployments"][d["metadata"]["name"]] = {
              "labels": pod["metadata"]["labels"], "command": c["command"], "args": c["args"],
              "ports": sorted(p["containerPort"] for p in c["ports"]),
              "probes": [c[k]["httpGet"]["path"] for k in ("startupProbe", "readinessProbe", "livenessProbe")],
              "requests": c["resources"]["requests"], "gpu": gpu, "tolerates": tolerates,
              "hardware": d["metadata"]["annotations"]["inferline.io/hardware"]}
      print(json.dumps(out))
      """, out + "/deployments.yaml")
    let kinds = found["kinds"] as! [String]
    #expect(kinds.first == "Namespace")
    let deployments = found["deployments"] as! [String: [String: Any]]
    let services = found["services"] as! [String: [String: Any]]
    #expect(!deployments.isEmpty && services.count == deployments.count)  // the plan moves no stage
    for (name, d) in deployments {
      #expect(d["command"] as! [String] == ["tritonserver"], "\(name)")
      let args = d["args"] as! [String]
      #expect(args.contains("--model-repository=s3://models") && args.contains { $0.hasPrefix("--load-model=") })
      #expect(d["ports"] as! [Int] == [8000, 8001, 8002])
      #expect(d["probes"] as! [String] == ["/v2/health/ready", "/v2/health/ready", "/v2/health/live"])
      #expect(d["requests"] as! [String: String] == ["cpu": "4", "memory": "16Gi"])
      let gpu = d["hardware"] as! String != "CPU"
      #expect(d["gpu"] as! Bool == gpu && d["tolerates"] as! Bool == gpu, "\(name)")
      // Exactly one Service selects this Deployment's pods.
      let labels = d["labels"] as! [String: String]
      let selecting = services.filter { _, s in
        (s["selector"] as! [String: String]).allSatisfy { labels[$0.key] == $0.value }
      }
      #expect(selecting.count == 1, "\(name): \(selecting.keys)")
      #expect(selecting.first?.value["ports"] as? [Int] == [8000, 8001, 8002])
    }
  }

  /// `--autoscale`: Ray Serve's autoscaler, validated by Ray's schema, between the fewest and the most replicas any
  /// window's plan gives each stage on its deployed hardware and batch size, and no fixed count beside it.
  @Test func rayServeAutoscalesWithinThePlansBounds() throws {
    let report = try sampleReport("autoscale-report", rate: "60", seed: "7")
    let out = path("export-autoscale")
    let r = try run([
      "export", report + "/report.json", "--to", "ray-serve", "--out", out, "--import-path", "pipeline:app",
      "--autoscale",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let checked = try validate(out)
    #expect(checked.status == 0 && checked.output.contains("ray-serve ok"), "\(checked.output)")
    let found = try python(
      """
      import json, sys, yaml
      d = yaml.safe_load(open(sys.argv[1]))
      print(json.dumps({x["name"]: {"config": x.get("autoscaling_config"), "fixed": "num_replicas" in x}
                        for x in d["applications"][0]["deployments"]}))
      """, out + "/serve-config.yaml")
    let saved =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report + "/report.json")))
      as! [String: Any]
    let stages = (saved["stages"] as! [[String: Any]]).map { $0["name"] as! String }
    // What is deployed: the recommended replay's starting configuration where it has one, else the busiest plan.
    let policy = (saved["recommendation"] as! [String: Any])["policy"] as! String
    let replays = (saved["replays"] as! [[String: Any]]) + (saved["baselineReplays"] as! [[String: Any]])
    let start =
      replays.first { $0["policy"] as? String == policy }?["configuration"] as? [String: Any]
      ?? saved["recommended"] as! [String: Any]
    let deployedStages = start["stages"] as! [[String: Any]]
    for (i, name) in stages.enumerated() {
      let entry = try #require(found[name] as? [String: Any], "\(name)")
      #expect(entry["fixed"] as? Bool == false)
      let config = try #require(entry["config"] as? [String: Int])
      let c = deployedStages[i]
      let (hardware, batch, replicas) = (c["hardware"] as! String, c["batchSize"] as! Int, c["replicas"] as! Int)
      let counts =
        [replicas]
        + (saved["windows"] as! [[String: Any]]).compactMap { w -> Int? in
          guard let s = ((w["configuration"] as? [String: Any])?["stages"] as? [[String: Any]])?[i],
            s["hardware"] as? String == hardware, s["batchSize"] as? Int == batch
          else { return nil }
          return s["replicas"] as? Int
        }
      #expect(config["min_replicas"] == counts.min() && config["max_replicas"] == counts.max(), "\(name): \(config)")
      #expect(config["initial_replicas"] == replicas && config["target_ongoing_requests"] == 2 * batch)
    }
  }

  /// Runs a Python program on `arguments` and returns the JSON object it prints.
  func python(_ program: String, _ arguments: String...) throws -> [String: Any] {
    let r = try launch(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", program] + arguments, environment: [:])
    #expect(r.status == 0, "python: \(r.stderr)")
    return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
  }

  /// `diff` ends with the change as a reviewer approves it: per stage, the exported hardware, replicas and batch.
  @Test func diffSaysTheChangeInExportedTerms() throws {
    let quiet = try sampleReport("diff-quiet", rate: "10", seed: "5")
    let busy = try sampleReport("diff-busy", rate: "60", seed: "5")
    let d = try run(["diff", quiet + "/report.json", busy + "/report.json"])
    #expect(d.status == 0)
    let old =
      (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: quiet + "/report.json")))
      as! [String: Any])["recommended"] as! [String: Any]
    let new =
      (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: busy + "/report.json")))
      as! [String: Any])["recommended"] as! [String: Any]
    let a = old["stages"] as! [[String: Any]], b = new["stages"] as! [[String: Any]]
    for (i, name) in ["detect", "vehicle", "person"].enumerated() {
      let ra = a[i]["replicas"] as! Int, rb = b[i]["replicas"] as! Int
      let line = d.stdout.split(separator: "\n").first { $0.hasPrefix("deploy '\(name)':") }
      if ra != rb { #expect(line?.contains("replicas \(ra) -> \(rb)") == true, "\(d.stdout)") }
      if a[i]["hardware"] as! String == b[i]["hardware"] as! String,
        a[i]["batchSize"] as! Int == b[i]["batchSize"] as! Int, ra == rb
      {
        #expect(line == nil)
      }
    }
    #expect(d.stdout.contains("deploy '"), "the busier day changes the deployment: \(d.stdout)")
    // --exit-code: 1 when the reports differ, 0 (and nothing printed) when they do not.
    let differ = try run(["diff", quiet + "/report.json", busy + "/report.json", "--exit-code"])
    #expect(differ.status == 1 && differ.stdout == d.stdout)
    let same = try run(["diff", busy + "/report.json", busy + "/report.json", "--exit-code"])
    #expect(same.status == 0 && same.stdout.isEmpty, "\(same.stdout)")
  }

  /// From `plan --json` with --pipeline and --hardware: the busiest window's plan, validated the same way; without
  /// --pipeline the error says to give it.
  @Test func exportFromPlanOutputNeedsThePipeline() throws {
    let s = Self.samples
    let log = path("plan-export.csv")
    #expect(
      try run(["generate", "--process", "diurnal", "--rate", "30", "--duration", "30m", "--seed", "12", "--out", log])
        .status == 0)
    let common = ["--pipeline", "\(s)/pipelines/video-monitoring.yaml", "--hardware", "\(s)/hardware/aws-2026.yaml"]
    let plan = try run(
      [
        "plan", "--trace", log, "--json", "--profiles", "\(s)/profiles/profiles-2026.csv", "--window", "10m", "--seed",
        "4",
      ] + common)
    #expect(plan.status == 0)
    try plan.stdout.write(toFile: path("plan.json"), atomically: true, encoding: .utf8)
    let bare = try run([
      "export", path("plan.json"), "--to", "triton", "--triton-backend", "python", "--out", path("plan-triton"),
    ])
    #expect(bare.status == 65 && bare.stderr.contains("--pipeline"))
    // Without the catalog nothing says which instance carries a replica: exported, with a warning that says so.
    let blind = try run([
      "export", path("plan.json"), "--to", "kserve", "--model-format", "onnx", "--model-repository", "r", "--pipeline",
      "\(s)/pipelines/video-monitoring.yaml", "--out", path("plan-blind"),
    ])
    #expect(blind.status == 0 && blind.stderr.contains("no node selector"), "\(blind.stderr)")
    let r = try run(
      [
        "export", path("plan.json"), "--to", "kubernetes", "--image", "i", "--model-repository", "r", "--out",
        path("plan-k8s"),
      ] + common)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try validate(path("plan-k8s")).status == 0)
    let windows = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as! [[String: Any]]
    let busiest = windows.max { ($0["queries"] as! Int) < ($1["queries"] as! Int) }!
    let stages =
      ((busiest["recommended"] as! [String: Any])["configuration"] as! [String: Any])["stages"] as! [[String: Any]]
    let yaml = try String(contentsOfFile: path("plan-k8s/deployments.yaml"), encoding: .utf8)
    #expect(
      yaml.contains("node.kubernetes.io/instance-type: \"g4dn.xlarge\"")
        == stages.contains { $0["hardware"] as! String == "T4" })
    let detect = yaml.components(separatedBy: "kind: Deployment").first {
      $0.contains("name: \"video-monitoring-detect-")
    }!
    #expect(detect.contains("replicas: \(stages[0]["replicas"] as! Int)\n"))

    // --scaler keda: the schedule as KEDA ScaledObjects (one window given a replica more, so a count changes),
    // checked by the validator against KEDA's ScaledObject fields and cron rules.
    var changed = windows
    var first = changed[0]["recommended"] as! [String: Any]
    var firstConfiguration = first["configuration"] as! [String: Any]
    var firstStages = firstConfiguration["stages"] as! [[String: Any]]
    firstStages[0]["replicas"] = (firstStages[0]["replicas"] as! Int) + 1
    firstConfiguration["stages"] = firstStages
    first["configuration"] = firstConfiguration
    changed[0]["recommended"] = first
    try JSONSerialization.data(withJSONObject: changed).write(to: URL(fileURLWithPath: path("plan-keda.json")))
    let keda = try run(
      [
        "export", path("plan-keda.json"), "--to", "kubernetes", "--scaler", "keda", "--image", "i",
        "--model-repository", "r", "--out", path("plan-keda"),
      ] + common)
    #expect(keda.status == 0, "\(keda.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("plan-keda/schedule.yaml")))
    // The validator refuses what KEDA would: a count as a number, and a typo it would prune.
    let kedaYAML = try String(contentsOfFile: path("plan-keda/keda.yaml"), encoding: .utf8)
    let numeric = kedaYAML.replacing(#/desiredReplicas: "(\d+)"/#) { match in "desiredReplicas: \(match.1)" }
    let typo = kedaYAML.replacingOccurrences(of: "minReplicaCount:", with: "minReplicas:")
    let broken = [numeric, typo].indices.map { path("plan-keda-broken-\($0)") }
    for (text, folder) in zip([numeric, typo], broken) {
      #expect(text != kedaYAML)
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try text.write(toFile: folder + "/keda.yaml", atomically: true, encoding: .utf8)
    }
    let kedaChecks = try validate([path("plan-keda")] + broken)
    let kedaChecked = kedaChecks[path("plan-keda")]
    #expect(kedaChecked?.status == 0 && kedaChecked?.output.contains("keda ok") == true, "\(kedaChecked?.output ?? "")")
    for (k, folder) in broken.enumerated() {
      #expect(kedaChecks[folder]?.status == 1, "broken case \(k)")
    }
    let wrongTarget = try run(
      [
        "export", path("plan-keda.json"), "--to", "triton", "--triton-backend", "python", "--scaler", "keda", "--out",
        path("never"),
      ] + common)
    #expect(wrongTarget.status == 64)

    // A hand-written or edited plan is checked as a log is: every refusal names the window and the value, and
    // nothing crashes or is exported as given.
    func edited(
      _ name: String, pipeline: String = "video-monitoring", _ change: (inout [[String: Any]]) -> Void
    )
      throws -> Run
    {
      var copy = windows
      change(&copy)
      try JSONSerialization.data(withJSONObject: copy).write(to: URL(fileURLWithPath: path(name)))
      return try run([
        "export", path(name), "--to", "kubernetes", "--image", "i", "--model-repository", "r", "--pipeline",
        "\(s)/pipelines/\(pipeline).yaml", "--out", path(name + "-out"),
      ])
    }
    func setStage(_ w: inout [String: Any], _ key: String, _ value: Any) {
      var recommended = w["recommended"] as! [String: Any]
      var configuration = recommended["configuration"] as! [String: Any]
      var stages = configuration["stages"] as! [[String: Any]]
      stages[0][key] = value
      configuration["stages"] = stages
      recommended["configuration"] = configuration
      w["recommended"] = recommended
    }
    let planned = windows.indices.first { windows[$0]["recommended"] != nil }!
    for (name, expected, change) in [
      ("min-start", "starts at -9223372036854775808 ns", { (w: inout [[String: Any]]) in w[0]["start"] = Int64.min }),
      (
        "extremes", "starts at",
        { (w: inout [[String: Any]]) in
          w[0]["start"] = Int64.max
          w[1]["start"] = Int64.min
        }
      ),
      (
        "negative", "has -1 replicas, outside 1 to",
        { (w: inout [[String: Any]]) in setStage(&w[planned], "replicas", -1) }
      ),
      (
        "huge", "has 9223372036854775807 replicas",
        { (w: inout [[String: Any]]) in setStage(&w[planned], "replicas", Int64.max) }
      ),
      ("batch", "has batch size 0", { (w: inout [[String: Any]]) in setStage(&w[planned], "batchSize", 0) }),
      ("unordered", "not after window", { (w: inout [[String: Any]]) in w.swapAt(0, 1) }),
    ] as [(String, String, (inout [[String: Any]]) -> Void)] {
      let r = try edited(name, change)
      #expect(r.status == 65 && r.stderr.contains(expected), "\(name): \(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: path(name + "-out")))
    }
    // The plan of one pipeline given with another's file: refused by its names, not matched by stage count.
    let other = try edited("other", pipeline: "social-media") { _ in }
    #expect(
      other.status == 65 && other.stderr.contains("is a plan of pipeline 'video-monitoring', not of 'social-media'"),
      "\(other.stderr)")
    let renamed = try edited("renamed", pipeline: "social-media") { w in
      for i in w.indices {
        w[i]["pipeline"] = "social-media"
        w[i]["stageNames"] = ["detect", "car", "face"]
      }
    }
    #expect(renamed.status == 65 && renamed.stderr.contains("plans the stages detect, car, face"), "\(renamed.stderr)")

    // Windows under a minute cannot be a CronJob schedule: refused for kubernetes, fine for triton.
    let short = try run(
      [
        "plan", "--trace", log, "--json", "--profiles", "\(s)/profiles/profiles-2026.csv", "--window", "30s",
        "--budget", "50",
      ] + common)
    try short.stdout.write(toFile: path("short.json"), atomically: true, encoding: .utf8)
    let cron = try run(
      [
        "export", path("short.json"), "--to", "kubernetes", "--image", "i", "--model-repository", "r", "--out",
        path("short-k8s"),
      ] + common)
    #expect(cron.status == 65 && cron.stderr.contains("CronJobs fire once a minute at most"), "\(cron.stderr)")
    let triton = try run(
      ["export", path("short.json"), "--to", "triton", "--triton-backend", "python", "--out", path("short-triton")]
        + common)
    #expect(triton.status == 0, "\(triton.stderr)")
  }
}
