import ArgumentParser
import Foundation
import InferLine

extension InferLineCommand {
  struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "replay",
      abstract: "Replay an autoscaler over a whole log: replicas over time, cost and predicted SLO misses.",
      discussion: """
        The configuration (hardware and batch per stage, starting replicas) is --config, or the greedy plan of the \
        busiest --window of the log. Policies: inferline (the InferLine tuner), hpa (Kubernetes HPA), ray (Ray \
        Serve), kpa (Knative), static (no scaling), or all. --unit scales the pipeline as one coarse-grained unit \
        (every stage on one hardware type and batch size, sized for the planning window's peak).
        """)

    @Option(name: .customLong("trace"), help: "Query log(s) of the whole period to replay.")
    var traces: [String]

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions

    @Option(help: "Policy: inferline, hpa, ray, kpa, static or all.")
    var policy: String = "inferline"

    @Option(help: "Configuration file to start from instead of planning the busiest window.")
    var config: String?

    @Flag(help: "Scale the coarse-grained unit (CG-Peak's hardware and batch size) instead of the planned stages.")
    var unit = false

    @Option(help: "Seed for drawn routes.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON for machines instead of a table.")
    var json = false

    func run() throws {
      let options = try log.readOptions()
      let policies: [ScalingPolicy]
      switch policy {
      case "inferline": policies = [.inferline(InferLineTuner())]
      case "hpa": policies = [.hpa(HorizontalPodAutoscaler())]
      case "ray": policies = [.ray(RayServeAutoscaler())]
      case "kpa": policies = [.kpa(KnativeAutoscaler())]
      case "static": policies = [.fixed]
      case "all":
        policies = [.fixed, .inferline(InferLineTuner()), .hpa(HorizontalPodAutoscaler()), .ray(RayServeAutoscaler()), .kpa(KnativeAutoscaler())]
      default: throw ValidationError("--policy must be inferline, hpa, ray, kpa, static or all (got '\(policy)')")
      }
      let inputs = try pipelineOptions.load()
      let spec = inputs.pipeline
      let length = try window.nanoseconds()
      let full = try reportingInputErrors { () throws -> ArrivalTrace in
        try QueryLogSet.read(paths: traces, options: options).trace(for: spec)
      }
      let busiest = full.windows(length: length).max { $0.count < $1.count }!
      let planning = busiest.relativeArrivals(in: full)
      var configuration: PipelineConfiguration
      if let config {
        do { configuration = try PipelineConfiguration.load(path: config, pipeline: spec) } catch let e as DiagnosticsError {
          note(e.description)
          throw ExitCode(ExitStatus.badInput)
        }
      } else {
        if !json { note("planning on the busiest window (\(InstantText.describe(busiest.start, relative: full.isRelative)), \(busiest.count) queries)") }
        let planner = InferLine.Planner(oracle: FeasibilityOracle(inputs: inputs, arrivals: planning, seed: seed))
        if unit {
          guard let peak = planner.coarseGrainedBaselines().first else {
            note("no coarse-grained unit meets the SLO on the busiest window")
            throw ExitCode(ExitStatus.sloUnattainable)
          }
          configuration = peak.configuration
        } else {
          switch planner.greedy() {
          case .success(let plan): configuration = plan.configuration
          case .failure(let why):
            note("the busiest window cannot be planned: \(why)")
            throw ExitCode(ExitStatus.sloUnattainable)
          }
        }
      }
      var results: [ReplayResult] = []
      for p in policies {
        if !json { note("replaying \(p.name) over \(full.count) queries") }
        let started = Date()
        results.append(try reportingInputErrors {
          try Replay.run(
            arrivals: full.arrivals, inputs: inputs, configuration: configuration, planning: planning, policy: p, unit: unit,
            seed: seed)
        })
        if !json { note(String(format: "  %.1f s", Date().timeIntervalSince(started))) }
      }
      if json {
        try printJSON(results)
        return
      }
      print("pipeline '\(spec.name)', \(full.count) queries over \(String(format: "%.1f", results.first?.hours ?? 0)) hours, SLO P\(String(format: "%g", spec.slo.percentile)) <= \(String(format: "%g", spec.slo.latencyMs)) ms\(unit ? ", scaled as one unit" : "")")
      print("starting from: " + configuration.describe(stageNames: spec.stages.map(\.name)))
      print("policy      cost ($)   misses   P\(String(format: "%g", spec.slo.percentile)) (ms)  decisions  replica-hours by hardware")
      for r in results {
        let hours = r.replicaSecondsByHardware.sorted { $0.key < $1.key }.map { String(format: "%@ %.1f", $0.key, $0.value / 3600) }.joined(separator: ", ")
        print(
          r.policy.padding(toLength: 10, withPad: " ", startingAt: 0)
            + String(format: " %9.2f  %6.3f%%  %10.1f  %9d  ", r.cost, r.missRate * 100, r.percentileLatencyMs, r.decisions) + hours)
      }
    }
  }
}
