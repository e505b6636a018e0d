import ArgumentParser
import Foundation
import InferLine
import InferLineNight

extension InferLineCommand {
  struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Compare the simulator's predictions with the latencies a deployment was observed to have, and fit a correction.",
      discussion: """
        Simulates the configuration that was deployed (--config, as simulate takes) over a log that carries \
        observed end-to-end latencies (--latency-column), and compares each window's P50, P95 and P99. Then fits \
        service times x multiplier + overhead per stage on every other window and checks it on the rest (held \
        out). `report --calibrate CONFIG` plans with the fitted profiles. When no slowdown and overhead explain the \
        observations (a stage missing from the pipeline, another configuration deployed), it says so. Example:
          inferline calibrate --trace yesterday.csv.gz --latency-column latency_ms \\
            --config deployed.yaml --pipeline P.yaml --hardware H.yaml --profiles F.csv --window 1h

        With --traces instead of --trace, reads tracing spans (OTLP JSON as the OpenTelemetry Collector's file \
        exporter writes it, a Jaeger JSON export, or an SDK's console exporter output; gzip or not): a span per \
        stage a query visited, named as the stage (or as its `span:` in the pipeline file, or named by the \
        pipeline's `span_attribute`). Each stage's own times are then observed, so the multiplier and overhead \
        are fitted per model, each stage and the corrected pipeline are judged window by window on held-out \
        windows, the routes and hop delays the spans show are printed beside the pipeline file's, and the stage, \
        hop or unmapped span the model cannot explain is named. Traces that cannot be used (partial, clock skew, a \
        stage visited twice) are counted, not dropped silently. Example:
          inferline calibrate --traces spans.otlp.jsonl.gz --config deployed.yaml \\
            --pipeline P.yaml --hardware H.yaml --profiles F.csv --window 15m

        Exit status 0 on success, 64 for a usage error, 65 for bad input (too few usable observations among them), 74 when standard output cannot be written.
        """)

    @Option(name: .customLong("trace"), help: "Query log(s) with observed latencies.")
    var logs: [String] = []

    @Option(
      name: .customLong("traces"),
      help: "Tracing span files (OTLP JSON, Jaeger JSON or console exporter; gzip or not): fit per stage.")
    var spanFiles: [String] = []

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "The configuration that was deployed when the log was recorded (YAML, as simulate takes).")
    var config: String

    @OptionGroup var window: WindowOption
    @OptionGroup var log: LogOptions

    @Option(help: "Seed for drawn routes.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON for machines instead of a table.")
    var json = false

    @OptionGroup var quietOption: QuietOption

    func validate() throws {
      if logs.isEmpty == spanFiles.isEmpty {
        throw ValidationError(
          "give either --trace (query logs with --latency-column) or --traces (tracing spans), not \(logs.isEmpty ? "neither" : "both")"
        )
      }
    }

    func run() throws {
      quietOption.apply()
      let inputs = try pipelineOptions.load()
      if !spanFiles.isEmpty {
        let fit = try reportingInputErrors {
          try StageCalibration.fit(
            inputs: inputs, deployed: config, traces: spanFiles, windowLength: try window.nanoseconds())
        }
        if json {
          try printJSON(fit)
        } else {
          for line in fit.lines { say(line) }
        }
        if !fit.explained { throw ExitCode(ExitStatus.badInput) }
        return
      }
      let calibration = try reportingInputErrors {
        try Calibration.fit(
          inputs: inputs, deployed: config, logs: logs, log: try log.readOptions(),
          windowLength: try window.nanoseconds(), seed: seed)
      }
      if json {
        try printJSON(calibration)
      } else {
        for line in CalibrationRun.describe(calibration) { say(line) }
      }
      if !calibration.explained { throw ExitCode(ExitStatus.badInput) }
    }
  }
}

/// A calibration in words, as `calibrate` prints it.
enum CalibrationRun {
  static func describe(_ c: Calibration) -> [String] {
    var lines = [
      c.summary, "",
      "window                set       queries  observed P50/P95/P99 ms   profiles            calibrated",
    ]
    for w in c.windows {
      func triple(_ v: [Double]) -> String { v.map { String(format: "%.1f", $0) }.joined(separator: "/") }
      let start = InstantText.describe(w.start, relative: w.start < Calibration.earliestAbsoluteInstant)
      lines.append(
        "\(start.padding(toLength: 21, withPad: " ", startingAt: 0)) \((w.heldOut ? "held out" : "training").padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(format: "%7d", w.queries))  \(triple(w.observedMs).padding(toLength: 24, withPad: " ", startingAt: 0)) \(triple(w.predictedMs).padding(toLength: 19, withPad: " ", startingAt: 0)) \(triple(w.calibratedMs))"
      )
    }
    return lines
  }
}
