import ArgumentParser
import Foundation
import InferLine
import InferLineNight

extension InferLineCommand {
  struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Plan the cheapest configuration that meets the SLO, for every workload window of a log.",
      discussion: """
        For each window a cost-ordered branch-and-bound search finds the cheapest hardware, batch size and replica \
        count per stage that the simulator judges feasible, and proves it (or, when --budget runs out, reports its \
        best plan with a proven lower bound and the gap). InferLine's greedy planner runs on every window too \
        (its gap is shown), and the CG-Peak and CG-Mean baselines on the busiest window (on every window with \
        --baselines): the recommendation is never dearer than a feasible one of them. Windows with too few queries for the SLO percentile to mean anything are \
        reported, not planned. `report` and `replay` plan windows the same way.

        Exit status 0 when every window has a plan, 3 when some window cannot meet the SLO (no configuration within the replica limits meets it; the plans are still printed), 5 when the search budget ran out before it found a plan for some window or showed that none exists (a larger --budget may find one), 64 for a usage error, 65 for bad input, 74 when standard output cannot be written.
        """)

    @Option(name: .customLong("trace"), help: "Query log(s).")
    var traces: [String]

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions
    @OptionGroup var search: SearchOptions

    @Flag(help: "Kept for scripts: every window is searched for the proven optimum anyway.")
    var exact = false

    @Flag(help: "Evaluate and print the CG-Peak and CG-Mean baselines on every window.")
    var baselines = false

    @Option(help: "Also plan for these multiples of the SLO (the cost-versus-SLO frontier), e.g. 0.5,0.75,1,1.5,2,3.")
    var frontier: String?

    @Option(help: "SLO latency in ms, instead of the pipeline file's.")
    var slo: Double?

    @Option(help: "Seed for the routes drawn in the simulations.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON for machines instead of a table.")
    var json = false

    struct Entry: Encodable {
      /// The pipeline and its stage names, in the order of every configuration (`export` checks them).
      var pipeline: String
      var stageNames: [String]
      var start: Int64
      var queries: Int
      var planned: Bool
      var note: String?
      var recommended: InferLine.Plan?
      var greedy: InferLine.Plan?
      var greedyFailure: String?
      var unattainable: Unattainable?
      var baselines: [BaselineResult]?
      var frontier: [FrontierPoint]?
      var seconds: Double
    }

    @OptionGroup var quietOption: QuietOption

    /// `--frontier`'s multiples of the SLO. - Throws: `ValidationError` naming the flag.
    func multipliers() throws -> [Double]? {
      try frontier.map { text -> [Double] in
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 && $0!.isFinite }) else {
          throw ValidationError("--frontier must be positive multiples of the SLO separated by commas (got '\(text)')")
        }
        return values.map { $0! }
      }
    }

    /// Rules of the options, before anything is read.
    func validate() throws {
      _ = try window.nanoseconds()
      _ = try search.budget()
      _ = try multipliers()
    }

    func run() throws {
      quietOption.apply()
      let length = try window.nanoseconds()
      let budget = try search.budget()
      let multipliers = try multipliers()
      var options = CapacityAnalysis.Options()
      options.log = try log.readOptions()
      options.windowLength = length
      options.seed = seed
      options.budget = budget
      let model = try pipelineOptions.model(sloMs: slo)
      let (workload, logSet) = try reportingInputErrors {
        try CapacityAnalysis.Workload.read(logs: traces, model: model, options: options)
      }
      noteIngestion(logSet.reports)
      let trace = workload.trace
      let windows = workload.windows
      let json = self.json
      let plans = WindowPlanning.planAll(
        model: model, trace: trace, windows: windows, seed: seed, budget: budget, allBaselines: baselines
      ) { done in
        if !json { progress("planned \(done) of \(windows.count) windows") }
      }
      let results = plans.enumerated().map { index, p -> Entry in
        var entry = Entry(
          pipeline: model.name, stageNames: model.stageNames, start: p.start, queries: p.queries, planned: p.planned,
          note: p.note, recommended: p.recommended,
          greedy: p.greedy, greedyFailure: p.greedyFailure, unattainable: p.unattainable,
          baselines: baselines ? p.baselines : nil, seconds: p.seconds)
        if let multipliers, p.planned {
          // The same answers as the report's: the window's plan is the point at its SLO and every point's first
          // candidate.
          entry.frontier = InferLine.Planner.frontier(
            model: model, arrivals: windows[index].relativeArrivals(in: trace), seed: seed, multipliers: multipliers,
            budget: budget,
            incumbents: p.recommended.map { [(name: "the window's plan", configuration: $0.configuration)] } ?? [],
            planAtSLO: p.recommended)
        }
        return entry
      }
      if json {
        try printJSON(results)
      } else {
        printTable(results, model: model, trace: trace, length: length)
      }
      let withoutPlan = results.filter { $0.planned && $0.recommended == nil }
      if withoutPlan.contains(where: { $0.unattainable?.proven != false }) {
        throw ExitCode(ExitStatus.sloUnattainable)
      }
      if !withoutPlan.isEmpty {
        note(
          "the search budget ran out before it found a plan for \(withoutPlan.count) window\(withoutPlan.count == 1 ? "" : "s") or showed that none exists (a larger --budget may find one); exit \(ExitStatus.noPlanFound)"
        )
        throw ExitCode(ExitStatus.noPlanFound)
      }
    }

    /// A frontier point in words: its cost and what the search proved ("$7.350/h, proven", "$8.730/h, within 12.0%
    /// of the bound", "no plan found; none below $2.080/h").
    static func frontierText(_ p: FrontierPoint) -> String {
      guard let cost = p.costPerHour else {
        return p.lowerBoundPerHour.map { String(format: "no plan found; none below $%.3f/h", $0) } ?? "no plan"
      }
      if p.provenOptimal == true { return String(format: "$%.3f/h, proven", cost) }
      return String(format: "$%.3f/h", cost)
        + (p.gap.map { String(format: ", within %.1f%% of the bound", $0 * 100) } ?? ", not proven")
    }

    func printTable(_ results: [Entry], model: PipelineModel, trace: ArrivalTrace, length: Int64) {
      let percentile = model.percentile
      let names = model.stageNames
      say(
        "pipeline '\(TerminalText.safe(model.name))', SLO \(percentile) <= \(String(format: "%g", Milliseconds.of(model.slo))) ms, windows of \(DurationText.describe(nanoseconds: length)), seed \(seed)"
      )
      for r in results {
        let label = InstantText.describe(r.start, relative: trace.isRelative)
        guard let plan = r.recommended else {
          say("\(label)  \(r.queries) queries: \(TerminalText.safe(r.note ?? "no plan"))")
          continue
        }
        var line =
          "\(label)  \(r.queries) queries: \(TerminalText.safe(plan.configuration.describe(stageNames: names)))  $\(String(format: "%.3f", plan.costPerHour))/h"
        if let p = plan.percentileLatencyMs { line += String(format: ", %@ %.1f ms", percentile.description, p) }
        if let b = plan.boundMs { line += String(format: ", bound %.1f ms", b) }
        if plan.provenOptimal == true {
          line += ", proven optimal"
        } else if let lb = plan.lowerBoundPerHour, let gap = plan.gap {
          line += String(
            format: ", NOT proven (%@): lower bound $%.3f/h, gap %.1f%%",
            plan.effort?.description ?? "the budget ran out", lb, gap * 100)
        }
        if plan.method != "optimal" { line += " (found by \(plan.method))" }
        line += "  [\(plan.counts.estimatorRuns) simulations in the window, \(String(format: "%.1f", r.seconds)) s]"
        say(line)
        if let g = r.greedy, let gap = g.gapToRecommended {
          say(
            String(format: "    InferLine greedy: $%.3f/h, %.1f%% above the recommendation", g.costPerHour, gap * 100))
        } else if r.greedy == nil {
          say("    InferLine greedy: found no plan (\(TerminalText.safe(r.greedyFailure ?? "no reason given")))")
        }
        for b in r.baselines ?? [] {
          say(
            String(format: "    %@: $%.3f/h, %.2f%% of queries over the SLO", b.name, b.costPerHour, b.missRate * 100))
        }
        if let points = r.frontier {
          say(
            "    cost against SLO: "
              + points.map { p in String(format: "%g ms ", p.sloMs) + Self.frontierText(p) }.joined(separator: ", "))
        }
      }
    }
  }
}
