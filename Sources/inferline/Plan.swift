import ArgumentParser
import Foundation
import InferLine

extension InferLineCommand {
  struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Plan the cheapest configuration that meets the SLO, for every workload window of a log.",
      discussion: """
        For each window the greedy planner (after InferLine) chooses hardware, batch size and replicas per stage; \
        --exact also runs the exact search and reports the greedy plan's optimality gap; --baselines adds CG-Peak \
        and CG-Mean. Windows with too few queries for the SLO percentile to mean anything (fewer than one query \
        allowed over the SLO) are reported, not planned.
        """)

    @Option(name: .customLong("trace"), help: "Query log(s).")
    var traces: [String]

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions

    @Flag(help: "Also run the exact search and report the greedy plan's gap.")
    var exact = false

    @Flag(help: "Also evaluate the CG-Peak and CG-Mean baselines.")
    var baselines = false

    @Option(help: "Also plan for these multiples of the SLO (the cost-versus-SLO frontier), e.g. 0.5,0.75,1,1.5,2,3.")
    var frontier: String?

    @Option(help: "Seed for the routes drawn in the simulations.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON for machines instead of a table.")
    var json = false

    struct WindowPlan: Encodable {
      var start: Int64
      var queries: Int
      var planned: Bool
      var note: String?
      var greedy: InferLine.Plan?
      var exact: InferLine.Plan?
      var gap: Double?
      var baselines: [BaselineResult]?
      var frontier: [FrontierPoint]?
      var seconds: Double
    }

    func run() throws {
      let options = try log.readOptions()
      let length = try window.nanoseconds()
      let multipliers = try frontier.map { text -> [Double] in
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
          throw ValidationError("--frontier must be positive multiples of the SLO separated by commas (got '\(text)')")
        }
        return values.map { $0! }
      }
      let inputs = try pipelineOptions.load()
      let spec = inputs.pipeline
      let full = try reportingInputErrors { () throws -> ArrivalTrace in
        let set = try QueryLogSet.read(paths: traces, options: options)
        return try set.trace(for: spec)
      }
      let windows = full.windows(length: length)
      let percentile = Percentile(percent: spec.slo.percentile)
      var results: [WindowPlan] = []
      for (index, w) in windows.enumerated() {
        let started = Date()
        let label = InstantText.describe(w.start, relative: full.isRelative)
        guard percentile.allowedMisses(of: w.count) >= 1 else {
          results.append(
            WindowPlan(
              start: w.start, queries: w.count, planned: false,
              note: "too few queries for a \(percentile) to mean anything (\(w.count))", seconds: 0))
          continue
        }
        if !json { note("planning window \(index + 1) of \(windows.count) (\(label), \(w.count) queries)") }
        let arrivals = w.relativeArrivals(in: full)
        let planner = InferLine.Planner(oracle: FeasibilityOracle(inputs: inputs, arrivals: arrivals, seed: seed))
        var entry = WindowPlan(start: w.start, queries: w.count, planned: true, seconds: 0)
        switch planner.greedy() {
        case .success(let plan): entry.greedy = plan
        case .failure(var why):
          why.attainableSLOMs = InferLine.Planner.attainableSLO(inputs: inputs, arrivals: arrivals, seed: seed, sloMs: spec.slo.latencyMs)
          entry.note = why.description
        }
        if exact, case .success(let plan) = InferLine.Planner(oracle: FeasibilityOracle(inputs: inputs, arrivals: arrivals, seed: seed)).exact() {
          entry.exact = plan
          if let g = entry.greedy { entry.gap = g.costPerHour / plan.costPerHour - 1 }
        }
        if baselines { entry.baselines = planner.coarseGrainedBaselines() }
        if let multipliers {
          entry.frontier = InferLine.Planner.frontier(inputs: inputs, arrivals: arrivals, seed: seed, multipliers: multipliers)
        }
        entry.seconds = Date().timeIntervalSince(started)
        results.append(entry)
      }
      if json {
        try printJSON(results)
      } else {
        print("pipeline '\(spec.name)', SLO \(percentile) <= \(String(format: "%g", spec.slo.latencyMs)) ms, windows of \(DurationText.describe(nanoseconds: length)), seed \(seed)")
        for r in results {
          let label = InstantText.describe(r.start, relative: full.isRelative)
          guard let plan = r.greedy else {
            print("\(label)  \(r.queries) queries: \(r.note ?? "no plan")")
            continue
          }
          var line = "\(label)  \(r.queries) queries: \(plan.configuration.describe(stageNames: spec.stages.map(\.name)))  $\(String(format: "%.3f", plan.costPerHour))/h"
          if let p = plan.percentileLatencyMs { line += String(format: ", %@ %.1f ms", percentile.description, p) }
          if let b = plan.boundMs { line += String(format: ", bound %.1f ms", b) }
          line += "  [\(plan.counts.estimatorRuns) simulations, \(plan.counts.stoppedEarly) cut short, \(plan.counts.acceptedByBound) by the bound, \(String(format: "%.1f", r.seconds)) s]"
          print(line)
          if let e = r.exact, let gap = r.gap {
            print(String(format: "    exact: $%.3f/h, greedy gap %.1f%%", e.costPerHour, gap * 100))
          }
          for b in r.baselines ?? [] {
            print(String(format: "    %@: $%.3f/h, %.2f%% of queries over the SLO", b.name, b.costPerHour, b.missRate * 100))
          }
          if let points = r.frontier {
            print("    cost against SLO: " + points.map { p in
              String(format: "%g ms ", p.sloMs) + (p.costPerHour.map { String(format: "$%.3f/h", $0) } ?? "unattainable")
            }.joined(separator: ", "))
          }
        }
      }
      if results.contains(where: { $0.planned && $0.greedy == nil }) { throw ExitCode(ExitStatus.sloUnattainable) }
    }
  }
}
