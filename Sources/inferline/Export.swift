public import ArgumentParser
import Foundation
import InferLine
public import InferLineNight
import InferLineReport

extension InferLineCommand {
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Write a report's plan as the configuration a serving system reads: Triton, Kubernetes, Ray Serve or KServe.",
      discussion: """
        The busiest window's plan is what gets deployed (per stage: hardware, batch size, replicas); every \
        target also gets schedule.csv with each window's plan, and kubernetes gets the schedule as CronJobs that \
        scale the deployments at each window's start (UTC). A fleet report writes one folder per pipeline. The \
        input may also be the output of `plan --json`, with --pipeline (and --hardware for instance types). \
        Examples:
          inferline export Reports/sample/report.json --to triton --triton-backend onnxruntime --out deploy/triton
          inferline export Reports/sample/report.json --to kubernetes --image nvcr.io/nvidia/tritonserver:25.01-py3 \\
            --model-repository s3://models --namespace serving --out deploy/k8s
          inferline export Reports/sample/report.json --to ray-serve --import-path pipeline:app --out deploy/ray
          inferline export Reports/sample/report.json --to kserve --model-format onnx \\
            --model-repository s3://models --out deploy/kserve
        --out is replaced as a whole, and only if it is empty or inferline wrote it.

        Exit status 0 on success, 64 for a usage error (a setting the target needs is missing), 65 for a report that cannot be read or exported, 73 when the folder cannot be written.
        """)

    @Argument(help: "A report.json (a pipeline's or a fleet's), or the output of `plan --json`.")
    var input: String

    @Option(help: "What to write: triton, kubernetes, ray-serve or kserve.")
    var to: DeploymentExport.Target

    @Option(help: "Output folder (replaced as a whole; only an empty one or one inferline wrote).")
    var out: String

    @Option(help: "The serving container image (kubernetes).")
    var image: String?

    @Option(help: "Where the models live: a Triton model repository or storage URI prefix (kubernetes, kserve).")
    var modelRepository: String?

    @Option(help: "Kubernetes namespace (kubernetes, kserve).")
    var namespace: String = "default"

    @Option(help: "Triton backend for every model: onnxruntime, tensorrt, pytorch, python... (triton).")
    var tritonBackend: String?

    @Option(help: "Ray Serve import path of the application, e.g. pipeline:app (ray-serve).")
    var importPath: String?

    @Option(help: "KServe model format: onnx, triton, pytorch, sklearn... (kserve).")
    var modelFormat: String?

    @Option(help: "Image the scheduling CronJobs run kubectl from (kubernetes).")
    var kubectlImage: String = "bitnami/kubectl:1.31"

    @Option(help: "CPU each serving container requests, a Kubernetes quantity (kubernetes).")
    var cpu: String = DeploymentExport.Settings().cpuRequest

    @Option(help: "Memory each serving container requests and is limited to, a Kubernetes quantity (kubernetes).")
    var memory: String = DeploymentExport.Settings().memoryRequest

    @Flag(help: "Write the namespace as an object too (kubernetes).")
    var createNamespace = false

    @Flag(
      help:
        "Let Ray Serve's autoscaler set the replicas, between the fewest and the most any window's plan gives the stage (ray-serve)."
    )
    var autoscale = false

    @Option(
      help:
        "What applies the schedule (kubernetes): cronjobs (CronJobs running kubectl, schedule.yaml) or keda (KEDA ScaledObjects with cron triggers, keda.yaml; KEDA must be installed in the cluster)."
    )
    var scaler: DeploymentExport.Settings.Scaler = .cronJobs

    @Option(help: "Pipeline file, to name the stages of a `plan --json` input.")
    var pipeline: String?

    @Option(help: "Hardware catalog, for the instance types of a `plan --json` input (or an older report).")
    var hardware: String?

    @Flag(help: "Print what was written as JSON on stdout: the target, the folder and every file in it.")
    var json = false

    @OptionGroup var quietOption: QuietOption

    /// The deployment settings of the flags.
    var settings: DeploymentExport.Settings {
      var settings = DeploymentExport.Settings()
      settings.image = image
      settings.modelRepository = modelRepository
      settings.namespace = namespace
      settings.tritonBackend = tritonBackend
      settings.rayImportPath = importPath
      settings.modelFormat = modelFormat
      settings.kubectlImage = kubectlImage
      settings.cpuRequest = cpu
      settings.memoryRequest = memory
      settings.createNamespace = createNamespace
      settings.autoscale = autoscale
      settings.scaler = scaler
      return settings
    }

    /// Rules across options, before anything is read: a missing setting is a usage error (64).
    func validate() throws {
      if scaler != .cronJobs && to != .kubernetes {
        throw ValidationError("--scaler applies to --to kubernetes only (it chooses what applies the schedule)")
      }
      do {
        try DeploymentExport.check(settings, for: to)
      } catch let error as InputError {
        throw ValidationError("\(error.message); \(error.fix ?? "")")
      }
    }

    func run() throws {
      quietOption.apply()
      let target = to
      let settings = self.settings
      let parts: [(folder: String?, files: [DeploymentExport.File])] = try reportingInputErrors {
        // Everything is checked and rendered before the folder is touched.
        let plans = try loadPlans()
        // A fleet's pipelines get a folder each: two names that become the same folder are refused.
        let folders = plans.map { DeploymentExport.folderName($0.pipelineName) }
        for (i, name) in folders.enumerated() {
          if let j = folders.firstIndex(of: name), j != i {
            throw InputError(
              file: input,
              "pipelines '\(TerminalText.safe(plans[j].pipelineName))' and '\(TerminalText.safe(plans[i].pipelineName))' both become the folder and object prefix '\(name)'",
              fix: "rename one of them in its pipeline file")
          }
        }
        if target == .kubernetes || target == .kserve {
          // Without the catalog's instance a deployment gets no node selector: say so rather than quietly.
          for plan in plans {
            let used = Set(
              (plan.schedule.compactMap(\.configuration) + [plan.configuration]).flatMap { $0.stages.map(\.hardware) })
            for hardware in used.sorted() where plan.instances[hardware] == nil {
              note(
                "warning: \(TerminalText.safe(plan.pipelineName)): hardware '\(TerminalText.safe(hardware))' has no instance in the report or catalog, so its deployments get no node selector\n  fix: give the catalog with --hardware, with an instance for that type"
              )
            }
          }
        }
        return try plans.map { plan in
          (
            plans.count > 1 ? DeploymentExport.folderName(plan.pipelineName) : nil,
            try DeploymentExport.files(plan, target: target, settings: settings)
          )
        }
      }
      do {
        let folder = try ReportFolder(URL(fileURLWithPath: out), kind: .export)
        var written = 0
        try folder.fill { temporary in
          for (subfolder, files) in parts {
            let base = subfolder.map { temporary.appendingPathComponent($0) } ?? temporary
            for file in files {
              let url = base.appendingPathComponent(file.path)
              try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
              try Data(file.contents.utf8).write(to: url)
              written += 1
            }
          }
        }
        progress("export: \(written) files for \(target.rawValue) in \(TerminalText.safe(out))")
        if json {
          let files = parts.flatMap { part in part.files.map { (part.folder.map { $0 + "/" } ?? "") + $0.path } }
          try printJSON(ExportResult(target: target.rawValue, folder: out, files: files.sorted()))
        }
      } catch let error as InputError {
        note(error.description)
        throw ExitCode(ExitStatus.cannotWrite)
      } catch {
        note("error: \(TerminalText.safe(out)): cannot write the export: \(error.localizedDescription)")
        throw ExitCode(ExitStatus.cannotWrite)
      }
    }

    /// The plans in the input: one per pipeline of a report, or one from `plan --json` with --pipeline.
    func loadPlans() throws -> [DeploymentPlan] {
      guard let data = FileManager.default.contents(atPath: input) else {
        throw InputError(file: input, "cannot be read", fix: "name a report.json or a `plan --json` output")
      }
      let catalog = try hardware.map { path -> HardwareCatalog in
        let (catalog, diagnostics) = HardwareCatalog.load(path: path)
        guard let catalog else { throw InputError(diagnostics.map(\.description).joined(separator: "\n")) }
        return catalog
      }
      var instances: [String: String] = [:]
      var delays: [String: Double] = [:]
      for hw in catalog?.hardware ?? [] where instances[hw.type] == nil { instances[hw.type] = hw.instance }
      for hw in catalog?.hardware ?? [] where delays[hw.type] == nil { delays[hw.type] = hw.provisioningDelaySeconds }
      if data.first(where: { !$0.isWhitespace }) == UInt8(ascii: "[") {
        guard let pipeline else {
          throw InputError(
            file: input, "is a `plan --json` output, which does not name the stages",
            fix: "give the pipeline file with --pipeline (and the catalog with --hardware for instance types)")
        }
        let (spec, diagnostics) = PipelineSpec.load(path: pipeline)
        guard let spec else { throw InputError(diagnostics.map(\.description).joined(separator: "\n")) }
        var plan = try DeploymentPlan(planOutput: data, spec: spec, source: input)
        plan.instances = instances
        plan.provisioningSeconds = delays
        return [plan]
      }
      let (fleet, _) = try ReportWriter.loadFleet(path: input)
      return try fleet.pipelines.map { report in
        var plan = try DeploymentPlan(report: report, source: input)
        if plan.instances.isEmpty { plan.instances = instances }
        if plan.provisioningSeconds.isEmpty { plan.provisioningSeconds = delays }
        return plan
      }
    }
  }
}

extension UInt8 {
  fileprivate var isWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}

extension DeploymentExport.Target: ExpressibleByArgument {}
extension DeploymentExport.Settings.Scaler: ExpressibleByArgument {}

/// What `export --json` prints.
struct ExportResult: Encodable {
  var target: String
  /// The `--out` folder, as given.
  var folder: String
  /// Paths inside `folder`, sorted.
  var files: [String]
}
