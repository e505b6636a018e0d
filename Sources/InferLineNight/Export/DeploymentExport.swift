import Foundation
import InferLine

/// Turns a `DeploymentPlan` into the configuration files a serving system reads: Triton model configurations,
/// Kubernetes manifests with the hour-by-hour schedule as CronJobs, a Ray Serve config file, or KServe
/// InferenceServices. Every name and value that came from an input file is escaped for the format it lands in,
/// and names become file and object names only after they are made safe (a stage named `../x` cannot write
/// outside the output folder).
public enum DeploymentExport {
  /// The serving systems `export` writes for, by their name on the command line; each is a `DeploymentTarget`
  /// in a file of its own under `Targets/`.
  public enum Target: String, CaseIterable, Sendable {
    case triton
    case kubernetes
    case rayServe = "ray-serve"
    case kserve

    /// The target's settings, checks and files.
    var implementation: any DeploymentTarget.Type {
      switch self {
      case .triton: Triton.self
      case .kubernetes: Kubernetes.self
      case .rayServe: RayServe.self
      case .kserve: KServe.self
      }
    }
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
    /// What each serving container requests (and, for memory, is limited to): Kubernetes quantities.
    public var cpuRequest = "2"
    public var memoryRequest = "8Gi"
    /// Whether `deployments.yaml` creates the namespace too (kubernetes).
    public var createNamespace = false
    /// Ray Serve's own autoscaler instead of fixed replicas, bounded by the plan's fewest and most (ray-serve).
    public var autoscale = false
    /// What applies the Kubernetes schedule: CronJobs running `kubectl scale`, or KEDA `ScaledObject`s with cron
    /// triggers (kubernetes).
    public var scaler: Scaler = .cronJobs

    /// What applies a Kubernetes schedule.
    public enum Scaler: String, CaseIterable, Sendable {
      /// CronJobs that run `kubectl scale` and `kubectl rollout status` (`schedule.yaml`).
      case cronJobs = "cronjobs"
      /// KEDA `ScaledObject`s (keda.sh/v1alpha1) with one cron trigger per run of windows (`keda.yaml`).
      case keda
    }

    public init() {}
  }

  /// One file to write, relative to the output folder.
  public struct File: Sendable, Equatable {
    public var path: String
    public var contents: String
  }

  /// The settings a target cannot do without, as (flag, what it is).
  public static func required(_ target: Target) -> [(flag: String, keyPath: KeyPath<Settings, String?>)] {
    target.implementation.required
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
    try target.implementation.check(plan)
    var files = target.implementation.files(plan, names: names, settings: settings)
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
