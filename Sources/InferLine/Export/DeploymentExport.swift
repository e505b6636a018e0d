import Foundation

/// Turns a `DeploymentPlan` into the configuration files a serving system reads: Triton model configurations,
/// Kubernetes manifests with the hour-by-hour schedule as CronJobs, a Ray Serve config file, or KServe
/// InferenceServices. Every name and value that came from an input file is escaped for the format it lands in,
/// and names become file and object names only after they are made safe (a stage named `../x` cannot write
/// outside the output folder).
public enum DeploymentExport {
  public enum Target: String, CaseIterable, Sendable {
    case triton
    case kubernetes
    case rayServe = "ray-serve"
    case kserve
  }

  /// What the plan does not know; each target says which it needs (`Target.required`).
  public struct Settings: Sendable, Equatable {
    /// The serving container's image (kubernetes, kserve).
    public var image: String?
    /// Where the models live: a Triton model repository or a storage URI prefix (kubernetes, kserve).
    public var modelRepository: String?
    public var namespace = "default"
    /// Triton's backend for every model (`onnxruntime`, `tensorrt`, `pytorch`, `python`...).
    public var tritonBackend: String?
    /// Ray Serve's import path of the application (`pipeline:app`).
    public var rayImportPath: String?
    /// KServe's model format (`onnx`, `triton`, `pytorch`...).
    public var modelFormat: String?
    /// The image the scheduled-scaling CronJobs run `kubectl` from.
    public var kubectlImage = "bitnami/kubectl:1.31"

    public init() {}
  }

  /// One file to write, relative to the output folder.
  public struct File: Sendable, Equatable {
    public var path: String
    public var contents: String
  }

  /// The settings a target cannot do without, as (flag, what it is).
  public static func required(_ target: Target) -> [(flag: String, keyPath: KeyPath<Settings, String?>)] {
    switch target {
    case .triton: return [("--triton-backend", \.tritonBackend)]
    case .kubernetes: return [("--image", \.image), ("--model-repository", \.modelRepository)]
    case .rayServe: return [("--import-path", \.rayImportPath)]
    case .kserve: return [("--model-repository", \.modelRepository), ("--model-format", \.modelFormat)]
    }
  }

  /// - Throws: `InputError` naming every setting `target` needs that `settings` lacks.
  public static func check(_ settings: Settings, for target: Target) throws {
    let missing = required(target).filter { settings[keyPath: $0.keyPath]?.isEmpty ?? true }
    guard missing.isEmpty else {
      throw InputError(
        "exporting to \(target.rawValue) needs \(missing.map(\.flag).joined(separator: " and ")), which the plan does not know",
        fix:
          "give \(missing.map { "\($0.flag) VALUE" }.joined(separator: " ")) (see inferline export --help for examples)"
      )
    }
  }

  /// The files for one pipeline.
  /// - Throws: `InputError` for a missing setting or a stage name that cannot become a safe name.
  public static func files(_ plan: DeploymentPlan, target: Target, settings: Settings) throws -> [File] {
    try check(settings, for: target)
    try plan.check()
    let names = try ObjectNames(plan)
    // CronJobs fire on whole minutes: a shorter window would share its minute with the next and take its replicas.
    if target == .kubernetes, plan.appliesSchedule, plan.schedule.count > 1,
      let short = plan.schedule.firstIndex(where: { $0.seconds < 60 })
    {
      throw InputError(
        file: plan.source,
        "window \(short + 1) lasts \(String(format: "%g", plan.schedule[short].seconds)) s: the schedule's CronJobs fire once a minute at most, so a window under a minute would get the next window's replicas",
        fix: "plan with windows of a minute or more (--window 1m) for a Kubernetes schedule")
    }
    var files: [File]
    switch target {
    case .triton: files = triton(plan, names: names, settings: settings)
    case .kubernetes: files = kubernetes(plan, names: names, settings: settings)
    case .rayServe: files = rayServe(plan, names: names, settings: settings)
    case .kserve: files = kserve(plan, names: names, settings: settings)
    }
    files.append(File(path: "schedule.csv", contents: scheduleCSV(plan)))
    return files
  }

  // MARK: - Names

  /// A pipeline's folder in the export of a fleet: its name as a safe label (`pipeline` when nothing is left).
  public static func folderName(_ pipeline: String) -> String {
    let label = ObjectNames.label(pipeline, limit: 63)
    return label.isEmpty ? "pipeline" : label
  }

  /// Safe names for every stage: a Triton model name (`[A-Za-z0-9_-]`) and a Kubernetes object name (an RFC 1123
  /// label of at most 63 characters), each unique within the pipeline.
  ///
  /// Kubernetes object names are unique by construction, within a pipeline and across a fleet exported into one
  /// namespace: each is a readable label followed by a stable hash of the exact names it stands for (`unique`),
  /// so stage `a` moved to A10G b8 and a stage named `a-a10g-b8`, or pipeline `a` with stage `b-c` and pipeline
  /// `a-b` with stage `c`, can no longer give one Deployment name.
  struct ObjectNames {
    var model: [String]
    var object: [String]
    /// The pipeline as a readable label (Ray Serve's application name, Kubernetes' `part-of` label).
    var pipeline: String
    /// The pipeline's prefix for Kubernetes objects of its own (the scaler's account, CronJobs): hashed.
    var pipelineObject: String

    init(_ plan: DeploymentPlan) throws {
      pipeline = Self.label(plan.pipelineName, limit: 40)
      pipelineObject = Self.unique(plan.pipelineName, identity: [plan.pipelineName], limit: 40)
      model = plan.stages.map { Self.modelName($0.name) }
      object = plan.stages.map {
        Self.unique("\(plan.pipelineName)-\($0.name)", identity: [plan.pipelineName, $0.name], limit: 63)
      }
      for (kind, list) in [("Triton model", model), ("Kubernetes", object)] {
        for (i, name) in list.enumerated() {
          guard !name.isEmpty, name != ".", name != ".." else {
            throw InputError(
              "stage \(quoted(plan.stages[i].name)) has no characters a \(kind) name can use",
              fix: "rename the stage in the pipeline file with letters, digits and '-'")
          }
          if let j = list.firstIndex(of: name), j != i {
            throw InputError(
              "stages \(quoted(plan.stages[j].name)) and \(quoted(plan.stages[i].name)) both become the \(kind) name '\(name)'",
              fix: "rename one of them in the pipeline file")
          }
        }
      }
    }

    /// ASCII letters, digits, `_` and `-`; anything else (dots and slashes too) becomes `_`.
    static func modelName(_ s: String) -> String {
      String(
        s.unicodeScalars.map { c in
          c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "_" || c == "-") ? Character(c) : "_"
        })
    }

    /// Lower-case letters, digits and `-`, starting and ending with a letter or digit; longer names keep their
    /// start and a hash of the whole so that two long names stay apart.
    static func label(_ s: String, limit: Int) -> String {
      var out = ""
      for c in s.lowercased().unicodeScalars {
        let ok = c.isASCII && CharacterSet.alphanumerics.contains(c)
        if ok {
          out.unicodeScalars.append(c)
        } else if !out.hasSuffix("-") {
          out += "-"
        }
      }
      out = String(out.drop { $0 == "-" }.reversed().drop { $0 == "-" }.reversed())
      if out.count > limit {
        let hash = String(format: "%08x", Self.fnv1a(s) & 0xFFFF_FFFF)
        out = String(out.prefix(limit - 9)).trimmingCharacters(in: CharacterSet(charactersIn: "-")) + "-" + hash
      }
      return out
    }

    /// `label(readable)` cut to leave room for `-` and six hex digits of a hash of `identity` (its parts joined
    /// by NUL, which no name contains): two different identities give two different names, but for a hash
    /// collision (one in 16.7 million per pair).
    static func unique(_ readable: String, identity: [String], limit: Int) -> String {
      let hash = String(format: "%06x", fnv1a(identity.joined(separator: "\u{0}")) & 0xFF_FFFF)
      let base = label(readable, limit: limit - 7)
      return (base.isEmpty ? "x" : base) + "-" + hash
    }

    static func fnv1a(_ s: String) -> UInt64 {
      var h: UInt64 = 0xcbf2_9ce4_8422_2325
      for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
      }
      return h
    }
  }

  // MARK: - Escaping

  /// A YAML double-quoted scalar that says exactly `s`: `"` and `\\` escaped, and every control, line or paragraph
  /// separator, bidirectional or other invisible formatting character as `\\uXXXX` (YAML 1.2 reads the escapes back).
  static func yaml(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
      switch c {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default:
        if TerminalText.isControl(c) || TerminalText.isBidi(c) || c.properties.generalCategory == .format
          || c.value == 0x2028 || c.value == 0x2029 || c.value > 0xFFFF && c.properties.generalCategory == .unassigned
        {
          out += c.value > 0xFFFF ? String(format: "\\U%08X", c.value) : String(format: "\\u%04X", c.value)
        } else {
          out.unicodeScalars.append(c)
        }
      }
    }
    return out + "\""
  }

  /// A protobuf text-format string: printable ASCII as it is (but `"` and `\`), every other byte as `\ooo`.
  static func protobufString(_ s: String) -> String {
    var out = "\""
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "\""): out += "\\\""
      case UInt8(ascii: "\\"): out += "\\\\"
      case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(b))
      default: out += "\\" + String(b, radix: 8).leftPadded(to: 3)
      }
    }
    return out + "\""
  }

  /// Text for a `#` comment or a message: on one line, with control and bidirectional characters shown as escapes.
  static func comment(_ s: String) -> String { TerminalText.safe(s) }

  static func quoted(_ s: String) -> String { "'\(TerminalText.safe(s))'" }

  static func header(_ plan: DeploymentPlan, _ what: String) -> String {
    """
    # \(what), written by inferline \(InferLineVersion.current) from \(comment(plan.source)).
    # Pipeline \(comment(plan.pipelineName)): the busiest window's plan; schedule.csv has every window's.
    \(recommendationLine(plan))

    """
  }

  /// What the report recommends doing with these files, as a comment line.
  static func recommendationLine(_ plan: DeploymentPlan) -> String {
    guard let policy = plan.recommendation else {
      return "# From plan output: nothing was replayed; the schedule is the per-window plans."
    }
    let title = comment(PolicyTitle.of(policy))
    switch policy {
    case "static":
      return
        "# Recommended (the cheapest provisioning that kept the SLO over the log): the \(title); keep these counts."
    case "schedule":
      return
        "# Recommended (the cheapest provisioning that kept the SLO over the log): the \(title); apply the scheduled scaling."
    default:
      return
        "# Recommended (the cheapest provisioning that kept the SLO over the log): the \(title), starting from these counts."
    }
  }

  // MARK: - Triton

  /// One `config.pbtxt` per stage (in a folder named after the model): its largest batch, dynamic batching that
  /// sends whatever is queued at once (the simulator's greedy batching), and one instance per server on the stage's
  /// hardware. The replica count is the number of Triton servers to run, said in the file's comment.
  static func triton(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
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

  /// A stage's deployment on one hardware type and batch size: the schedule may move a stage between them, so each
  /// becomes its own Deployment.
  struct Variant: Hashable {
    var stage: Int
    var hardware: String
    var batchSize: Int
  }

  /// The variants in first-use order (the busiest window's first), with their object names.
  static func variants(_ plan: DeploymentPlan, names: ObjectNames) -> [(variant: Variant, name: String)] {
    var seen: [Variant] = []
    func add(_ c: PipelineConfiguration) {
      for (i, s) in c.stages.enumerated() {
        let v = Variant(stage: i, hardware: s.hardware, batchSize: s.batchSize)
        if !seen.contains(v) { seen.append(v) }
      }
    }
    add(plan.configuration)
    for step in plan.schedule { if let c = step.configuration { add(c) } }
    return seen.map { v in
      let primary =
        v.hardware == plan.configuration.stages[v.stage].hardware
        && v.batchSize == plan.configuration.stages[v.stage].batchSize
      guard !primary else { return (v, names.object[v.stage]) }
      let stage = plan.stages[v.stage].name
      return (
        v,
        ObjectNames.unique(
          "\(plan.pipelineName)-\(stage)-\(v.hardware)-b\(v.batchSize)",
          identity: [plan.pipelineName, stage, v.hardware, String(v.batchSize)], limit: 63)
      )
    }
  }

  static func labels(_ plan: DeploymentPlan, names: ObjectNames, name: String, indent: String) -> String {
    """
    \(indent)app.kubernetes.io/name: \(yaml(name))
    \(indent)app.kubernetes.io/part-of: \(yaml(names.pipeline))
    \(indent)app.kubernetes.io/managed-by: inferline
    """
  }

  /// The node selector and resources of one replica: the catalog's instance type and one GPU, or the instance type
  /// alone for a CPU stage.
  static func placement(
    _ plan: DeploymentPlan, hardware: String, indent: String
  ) -> (selector: String, resources: String) {
    let instance = plan.instances[hardware].flatMap { $0.split(separator: " ").first.map(String.init) }
    let selector =
      instance.map { "\(indent)nodeSelector:\n\(indent)  node.kubernetes.io/instance-type: \(yaml($0))\n" } ?? ""
    let resources =
      DeploymentPlan.isCPU(hardware)
      ? "" : "\(indent)  resources:\n\(indent)    limits:\n\(indent)      nvidia.com/gpu: \"1\"\n"
    return (selector, resources)
  }

  static func kubernetes(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
    let variants = variants(plan, names: names)
    var deployments = header(
      plan, "Kubernetes Deployments, one per stage (and per hardware and batch size it moves to)")
    for (v, name) in variants {
      let stage = plan.stages[v.stage]
      let c = plan.configuration.stages[v.stage]
      let replicas = c.hardware == v.hardware && c.batchSize == v.batchSize ? c.replicas : 0
      let place = placement(plan, hardware: v.hardware, indent: "      ")
      deployments += """
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: \(yaml(name))
          namespace: \(yaml(settings.namespace))
          labels:
        \(labels(plan, names: names, name: name, indent: "    "))
          annotations:
            inferline.io/stage: \(yaml(stage.name))
            inferline.io/model: \(yaml(stage.model))
            inferline.io/hardware: \(yaml(v.hardware))
            inferline.io/batch-size: "\(v.batchSize)"
        spec:
          replicas: \(replicas)
          selector:
            matchLabels:
              app.kubernetes.io/name: \(yaml(name))
          template:
            metadata:
              labels:
        \(labels(plan, names: names, name: name, indent: "        "))
            spec:
        \(place.selector)      containers:
              - name: server
                image: \(yaml(settings.image ?? ""))
                env:
                - name: MODEL_NAME
                  value: \(yaml(names.model[v.stage]))
                - name: MODEL_REPOSITORY
                  value: \(yaml(settings.modelRepository ?? ""))
                - name: MAX_BATCH_SIZE
                  value: "\(v.batchSize)"
        \(place.resources)
        """
    }
    // Scheduled scaling only where it is the recommended provisioning; otherwise the Deployments' counts are the
    // busiest window's, as the recommended provisioning starts from them.
    guard plan.appliesSchedule else { return [File(path: "deployments.yaml", contents: deployments)] }
    return [
      File(path: "deployments.yaml", contents: deployments),
      File(path: "schedule.yaml", contents: cronSchedule(plan, variants: variants, names: names, settings: settings)),
    ]
  }

  /// The hour-by-hour schedule as CronJobs that run `kubectl scale` at each window's start (UTC) for every
  /// deployment whose count changes then, with the service account and role they need. Windows repeat daily: a log
  /// of several days is scheduled from its last day.
  static func cronSchedule(
    _ plan: DeploymentPlan, variants: [(variant: Variant, name: String)], names: ObjectNames, settings: Settings
  ) -> String {
    let account = ObjectNames.label("\(names.pipelineObject)-scaler", limit: 63)
    var text = header(
      plan, "Scheduled scaling: CronJobs that set each deployment's replicas at each window's start (UTC)")
    text += """
      ---
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: \(yaml(account))
        namespace: \(yaml(settings.namespace))
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata:
        name: \(yaml(account))
        namespace: \(yaml(settings.namespace))
      rules:
      - apiGroups: ["apps"]
        resources: ["deployments", "deployments/scale"]
        verbs: ["get", "patch", "update"]
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata:
        name: \(yaml(account))
        namespace: \(yaml(settings.namespace))
      subjects:
      - kind: ServiceAccount
        name: \(yaml(account))
        namespace: \(yaml(settings.namespace))
      roleRef:
        apiGroup: rbac.authorization.k8s.io
        kind: Role
        name: \(yaml(account))

      """
    let steps = dailySteps(plan)
    for (k, step) in steps.enumerated() {
      // Only where the plan changes from the window before (the day wraps around).
      let before = steps[(k + steps.count - 1) % steps.count].configuration
      guard let configuration = step.configuration, steps.count == 1 || configuration != before else { continue }
      var up: [String] = [], down: [String] = []
      for (v, name) in variants {
        let s = configuration.stages[v.stage]
        let count = s.hardware == v.hardware && s.batchSize == v.batchSize ? s.replicas : 0
        let previous = before.map { b -> Int in
          let p = b.stages[v.stage]
          return p.hardware == v.hardware && p.batchSize == v.batchSize ? p.replicas : 0
        }
        guard count != previous || steps.count == 1 else { continue }
        let command = "kubectl scale deployment/\(name) --replicas=\(count) -n \(shellWord(settings.namespace))"
        // New capacity first, then the old goes: no moment with less than either plan.
        if count >= (previous ?? 0) { up.append(command) } else { down.append(command) }
      }
      let commands = up + down
      guard !commands.isEmpty else { continue }
      let minute = step.minuteOfDay
      let jobName = ObjectNames.label(
        "\(names.pipelineObject)-at-\(String(format: "%02d%02d", minute / 60, minute % 60))", limit: 52)
      text += """
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: \(yaml(jobName))
          namespace: \(yaml(settings.namespace))
        spec:
          schedule: "\(minute % 60) \(minute / 60) * * *"
          timeZone: Etc/UTC
          concurrencyPolicy: Forbid
          jobTemplate:
            spec:
              backoffLimit: 3
              template:
                spec:
                  serviceAccountName: \(yaml(account))
                  restartPolicy: OnFailure
                  containers:
                  - name: scale
                    image: \(yaml(settings.kubectlImage))
                    command: ["/bin/sh", "-c", \(yaml(commands.joined(separator: " && ")))]

        """
    }
    return text
  }

  /// A word the shell reads as itself.
  static func shellWord(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

  /// The last day's windows (each at its minute of the day, UTC), in order.
  static func dailySteps(_ plan: DeploymentPlan) -> [(minuteOfDay: Int, configuration: PipelineConfiguration?)] {
    let day: Int64 = 86_400_000_000_000
    guard let last = plan.schedule.map(\.start).max() else { return [] }
    let from = last - day + 1
    var seen = Set<Int>()
    var steps: [(Int, PipelineConfiguration?)] = []
    for step in plan.schedule.reversed() where step.start >= from {
      let minute = Int(((step.start % day + day) % day) / 60_000_000_000)
      if seen.insert(minute).inserted { steps.append((minute, step.configuration)) }
    }
    return steps.reversed()
  }

  // MARK: - Ray Serve

  static func rayServe(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
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

  static func kserve(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
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
        \(place.selector)    batcher:
              maxBatchSize: \(c.batchSize)
              maxLatency: 1
            model:
              modelFormat:
                name: \(yaml(settings.modelFormat ?? ""))
              storageUri: \(yaml(repository + names.model[i]))
        \(place.resources)
        """
    }
    return [File(path: "inferenceservices.yaml", contents: text)]
  }

  // MARK: - Schedule

  /// Every window: start (ISO-8601 UTC, or seconds from the log's start), and per stage its hardware, batch size
  /// and replicas (empty where the window has no plan). Names are quoted as CSV and guarded against spreadsheet
  /// formulas.
  static func scheduleCSV(_ plan: DeploymentPlan) -> String {
    func cell(_ s: String) -> String {
      var v = s
      if let first = v.first, "=+-@\t\r".contains(first) { v = "'" + v }
      return v.contains(where: { ",\"\n\r".contains($0) })
        ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
    }
    let formatter = ISO8601DateFormatter()
    var lines = ["window_start,window_seconds,stage,hardware,batch_size,replicas"]
    for step in plan.schedule {
      let start =
        step.start > 1_000_000_000_000_000
        ? formatter.string(from: Date(timeIntervalSince1970: Double(step.start) / 1e9))
        : String(format: "%.0f", Double(step.start) / 1e9)
      for (i, stage) in plan.stages.enumerated() {
        let s = step.configuration?.stages[i]
        lines.append(
          [
            start, String(format: "%g", step.seconds), cell(stage.name), cell(s?.hardware ?? ""),
            s.map { "\($0.batchSize)" } ?? "", s.map { "\($0.replicas)" } ?? "",
          ].joined(separator: ","))
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  // MARK: - Review

  /// What changes between two plans, in the exported terms a reviewer approves: per stage its hardware (and
  /// instance), batch size and replicas, old -> new. Empty when the deployment would not change.
  public static func changes(from old: DeploymentPlan, to new: DeploymentPlan) -> [String] {
    var lines: [String] = []
    let oldStages = Dictionary(
      zip(old.stages.map(\.name), old.configuration.stages).map { ($0, $1) }, uniquingKeysWith: { a, _ in a })
    for (i, stage) in new.stages.enumerated() {
      let n = new.configuration.stages[i]
      let name = quoted(stage.name)
      guard let o = oldStages[stage.name] else {
        lines.append("deploy \(name): new stage, \(n.hardware) x\(n.replicas), max_batch_size \(n.batchSize)")
        continue
      }
      var parts: [String] = []
      if o.hardware != n.hardware {
        let instance = new.instances[n.hardware].map { " (\(comment($0)))" } ?? ""
        parts.append("hardware \(o.hardware) -> \(n.hardware)\(instance)")
      }
      if o.replicas != n.replicas { parts.append("replicas \(o.replicas) -> \(n.replicas)") }
      if o.batchSize != n.batchSize { parts.append("max_batch_size \(o.batchSize) -> \(n.batchSize)") }
      if !parts.isEmpty { lines.append("deploy \(name): " + parts.joined(separator: ", ")) }
    }
    let newNames = Set(new.stages.map(\.name))
    for stage in old.stages where !newNames.contains(stage.name) {
      lines.append("deploy \(quoted(stage.name)): removed")
    }
    return lines
  }
}

extension JSONEncoder {
  /// Sorted keys, no escaped slashes: the same bytes for the same value.
  static var sorted: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }
}

extension String {
  func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
