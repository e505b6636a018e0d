import ArgumentParser
import Foundation
import InferLine
import InferLineNight

extension InferLineCommand {
  struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "replay",
      abstract: "Replay an autoscaler over a whole log: replicas over time, cost and predicted SLO misses.",
      discussion: """
        The configuration (hardware and batch per stage, starting replicas) is --config, or the recommended plan \
        of the busiest --window of the log, planned exactly as `report` and `plan` plan it. Policies: inferline \
        (the InferLine tuner), hpa (Kubernetes HPA), ray (Ray Serve), kpa (Knative), static (no scaling), or all \
        (in the report's order). --unit scales the pipeline as one coarse-grained unit (CG-Peak's hardware and \
        batch size, sized for the busiest window's peak).

        Exit status 0 on success, 3 when no configuration within the replica limits meets the SLO on the busiest window, 5 when the search budget ran out before it found a plan for it or showed that none exists (a larger --budget may find one), 64 for a usage error, 65 for bad input, 74 when standard output cannot be written.
        """)

    @Option(name: .customLong("trace"), help: "Query log(s) of the whole period to replay.")
    var traces: [String]

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions
    @OptionGroup var search: SearchOptions

    /// `--policy`: one of the standard policies by name, or all of them.
    enum PolicyChoice: String, CaseIterable, ExpressibleByArgument {
      case inferline, hpa, ray, kpa
      case fixed = "static"
      case predictive, all

      var policies: [ScalingPolicy] {
        self == .all
          ? CapacityAnalysis.standardPolicies : CapacityAnalysis.standardPolicies.filter { $0.name == rawValue }
      }
    }

    @Option(help: "Policy: inferline, hpa, ray, kpa, static, predictive (a what-if: MArk-style forecasting) or all.")
    var policy: PolicyChoice = .inferline

    @Option(help: "Configuration file to start from instead of planning the busiest window.")
    var config: String?

    @Flag(help: "Scale the coarse-grained unit (CG-Peak's hardware and batch size) instead of the planned stages.")
    var unit = false

    @Option(help: "Seed for drawn routes.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON for machines instead of a table.")
    var json = false

    @OptionGroup(title: "Serving conditions (what-ifs)") var serving: ServingOptions

    @OptionGroup var quietOption: QuietOption

    func run() throws {
      quietOption.apply()
      var policies = policy.policies
      if let prewarm = serving.prewarm {
        policies = policies.map { policy in
          guard case .inferline(var tuner) = policy else { return policy }
          tuner.prewarmSeconds = prewarm
          return .inferline(tuner)
        }
      }
      var options = CapacityAnalysis.Options()
      options.log = try log.readOptions()
      options.windowLength = try window.nanoseconds()
      options.seed = seed
      options.budget = try search.budget()
      let model = try pipelineOptions.model()
      let conditions = try serving.conditions(model, seed: seed)
      let (workload, logSet) = try reportingInputErrors {
        try CapacityAnalysis.Workload.read(logs: traces, model: model, options: options)
      }
      noteIngestion(logSet.reports)
      let busiest = workload.windows[workload.busiest]
      var configuration: PipelineConfiguration
      var planningWindow: Int? = nil
      if let config {
        configuration = try reportingInputErrors {
          try PipelineConfiguration.load(path: config, pipeline: model.inputs.pipeline)
        }
        try reportingInputErrors { try model.check(configuration) }
        let window = CapacityAnalysis.planningWindow(
          for: configuration, model: model, workload: workload, seed: seed)
        planningWindow = window
        if !json {
          progress(
            "the tuner calibrates on \(InstantText.describe(workload.windows[window].start, relative: workload.trace.isRelative)) (\(workload.windows[window].count) queries): the busiest window this configuration meets the SLO on"
          )
        }
      } else {
        if !json {
          progress(
            "planning the busiest window (\(InstantText.describe(busiest.start, relative: workload.trace.isRelative)), \(busiest.count) queries)"
          )
        }
        let plan = WindowPlanning.plan(
          model: model, window: busiest, arrivals: workload.busiestArrivals, seed: seed, budget: options.budget)
        if unit {
          guard let peak = plan.baselines.first(where: { $0.name == BaselineResult.peak }) else {
            note("no coarse-grained unit meets the SLO on the busiest window")
            throw ExitCode(ExitStatus.sloUnattainable)
          }
          configuration = peak.configuration
        } else {
          guard let recommended = plan.recommended else {
            // As `plan` and `report`: 3 only when no configuration meets the SLO, 5 when the budget ran out first.
            let proven = plan.unattainable?.proven != false
            note(
              "the busiest window cannot be planned: \(TerminalText.safe(plan.note ?? "no plan"))"
                + (proven ? "" : " (a larger --budget may find one)"))
            throw ExitCode(proven ? ExitStatus.sloUnattainable : ExitStatus.noPlanFound)
          }
          configuration = recommended.configuration
        }
      }
      let json = self.json
      let results = try reportingInputErrors {
        try CapacityAnalysis.replays(
          model: model, workload: workload, configuration: configuration, policies: policies, unit: unit, seed: seed,
          planning: planningWindow, conditions: conditions
        ) { p in
          if !json { progress("replaying \(p.name) over \(workload.trace.count) queries") }
        }
      }
      if json {
        try printJSON(results)
        return
      }
      let percentile = String(format: "%g", model.inputs.pipeline.slo.percentile)
      say(
        "pipeline '\(TerminalText.safe(model.name))', \(workload.trace.count) queries over \(String(format: "%.1f", results.first?.hours ?? 0)) hours, SLO P\(percentile) <= \(String(format: "%g", Milliseconds.of(model.slo))) ms\(unit ? ", scaled as one unit" : "")"
      )
      say("starting from: " + TerminalText.safe(configuration.describe(stageNames: model.stageNames)))
      say("policy      cost ($)   misses   P\(percentile) (ms)  decisions  replica-hours by hardware")
      for r in results {
        let hours = r.replicaSecondsByHardware.sorted { $0.key < $1.key }.map {
          String(format: "%@ %.1f", TerminalText.safe($0.key), $0.value / 3600)
        }.joined(separator: ", ")
        say(
          r.policy.padding(toLength: 10, withPad: " ", startingAt: 0)
            + String(
              format: " %9.2f  %6.3f%%  %10.1f  %9d  ", r.cost, r.missRate * 100, r.percentileLatencyMs, r.decisions)
            + hours)
        if let o = r.overflow {
          say(
            String(
              format: "            serverless %@: %d queries (%d cold starts), $%.2f of the cost",
              TerminalText.safe(o.tier),
              o.queries, o.coldStarts, o.cost)
              + (o.stagesWithout.isEmpty
                ? ""
                : "; not for \(o.stagesWithout.map { TerminalText.safe($0) }.joined(separator: ", ")) (no profile)"))
        }
      }
    }
  }
}
