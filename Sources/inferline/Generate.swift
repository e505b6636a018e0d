public import ArgumentParser
import Foundation
public import InferLine
import InferLineNight

extension InferLineCommand {
  struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a seeded synthetic query log: Poisson, gamma, a diurnal day, sudden spikes or on-off bursts.",
      discussion: """
        The same seed and flags give the same file, byte for byte. Examples:
          inferline generate --process poisson --rate 200 --duration 1h --out poisson.csv
          inferline generate --process diurnal --rate 200 --duration 1d --gzip --out day.csv.gz
          inferline generate --process gamma --rate 50 --cv 4 --format jsonl --time-format iso8601 --out bursty.jsonl
          inferline generate --process onoff --rate 40 --on-mean 5s --off-mean 1m --duration 1h --out onoff.csv
          inferline generate --process diurnal --rate 12 --spikes 3 --duration 1d \\
            --pipeline video=0.6 --pipeline social=0.4 --out fleet.csv
          inferline generate --process diurnal --rate 5 --duration 6w --weekly 1.1,1.1,1.1,1.05,1,0.85,0.8 \\
            --trend 0.003 --day-noise 0.03 --gzip --out history.csv.gz
        With several --pipeline names each query is given one of them at random (seeded), in proportion to the \
        shares after '=' (equal shares when none are given).
        --process onoff is a Markov-modulated Poisson process: bursts at --rate queries per second lasting \
        --on-mean on average, quiet gaps of --off-mean on average at --off-rate (default silent), both of \
        exponential length; with --peak-to-trough above 1 the rates follow a diurnal day as well.
        With --weekly, --trend or --day-noise the log is made a day at a time (24 h from --start each): each \
        day's rates are the process's times that day's level (weekday multiplier x (1 + trend)^day x lognormal \
        noise), a history to forecast from (`report --history`).

        Exit status 0 on success, 64 for a usage error, 65 for bad input (the files --observe reads), 73 when the log cannot be written.
        """)

    enum Process: String, ExpressibleByArgument, CaseIterable {
      case poisson, gamma, diurnal, spikes, onoff
    }

    @Option(help: "Arrival process: \(Process.allCases.map(\.rawValue).joined(separator: ", ")).")
    var process: Process = .poisson

    @Option(help: "Mean arrival rate, queries per second (for diurnal: the day's mean; for onoff: the rate while on).")
    var rate: Double = 100

    @Option(help: "Coefficient of variation of inter-arrival gaps (gamma: default 2; diurnal: default 1, Poisson).")
    var cv: Double?

    @Option(help: "Peak-to-trough rate ratio over the day (diurnal: default 4; onoff: default 1, no daily curve).")
    var peakToTrough: Double?

    @Option(help: "Number of spikes (spikes: default 3; diurnal: default none, laid over the day's curve).")
    var spikes: Int?

    @Option(help: "Rate multiplier during a spike (spikes, diurnal).")
    var spikeMultiplier: Double = 5

    @Option(help: "Length of each spike: 30s, 2m, ... (spikes, diurnal).")
    var spikeDuration: String = "60s"

    @Option(help: "Mean length of a burst (onoff): 20s, 1m, ...")
    var onMean: String = "20s"

    @Option(help: "Mean length of a quiet gap (onoff): 90s, 2m, ...")
    var offMean: String = "90s"

    @Option(help: "Queries per second during a quiet gap (onoff; default 0, silent).")
    var offRate: Double = 0

    @Option(help: "Length of the log: 90s, 15m, 1h, 1d, 4w.")
    var duration: String = "1h"

    @Option(
      help: ArgumentHelp(
        "Over several days: each weekday's traffic multiplier, 7 values Monday first (scaled to mean 1).",
        valueName: "mon,...,sun"))
    var weekly: String?

    @Option(help: "Over several days: traffic growth per day, compounded (0.01 = 1% a day; negative shrinks).")
    var trend: Double?

    @Option(help: "Over several days: sigma of each day's lognormal traffic level (0.05 = about 5%), seeded.")
    var dayNoise: Double?

    @Option(help: "First instant, ISO-8601 UTC (default 2026-11-28T00:00:00Z).")
    var start: String = "2026-11-28T00:00:00Z"

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "File format: csv, tsv, jsonl.")
    var format: QueryLogWriter.Format = .csv

    @Option(help: "Timestamp format: \(QueryLogWriter.TimeFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var timeFormat: QueryLogWriter.TimeFormat = .epochMilliseconds

    @Option(
      help: ArgumentHelp(
        "Add a pipeline column with this name; repeat for a log of several pipelines, each NAME=SHARE.",
        valueName: "name[=share]"))
    var pipeline: [String] = []

    @Flag(help: "Add a latency_ms column (lognormal, median 20 ms), seeded.")
    var withLatency = false

    @Option(
      help: ArgumentHelp(
        "Add a size column per query (tokens, pixels, items) drawn from a lognormal: NAME=MEDIAN:SIGMA:MAX, such as tokens=90:0.7:512 (whole sizes from 1 to MAX), seeded.",
        valueName: "name=median:sigma:max"))
    var sizes: String?

    @Option(
      help:
        "Add a latency_ms column of latencies as a deployment of this configuration (YAML, as simulate takes) would show them: the simulator's, with --slowdown, --overhead-ms and --noise applied (for trying calibrate). Needs --pipeline-file, --hardware and --profiles."
    )
    var observe: String?

    @Option(help: "The pipeline file of --observe.")
    var pipelineFile: String?

    @Option(help: "Hardware catalog (YAML) of --observe.")
    var hardware: String?

    @Option(help: "Model profiles (CSV) of --observe.")
    var profiles: String?

    @Option(help: "With --observe: service times this many times the profiled ones.")
    var slowdown: Double = 1

    @Option(help: "With --observe: milliseconds each stage adds to every batch.")
    var overheadMs: Double = 0

    @Option(help: "With --observe: sigma of lognormal noise on each observed latency (0.05 = about 5%).")
    var noise: Double = 0

    @Flag(help: "Compress with gzip.")
    var gzip = false

    @Option(name: .shortAndLong, help: "Output file (- for standard output).")
    var out: String

    /// Rules across options, before anything runs.
    func validate() throws {
      if observe != nil {
        guard pipeline.count <= 1, !withLatency else {
          throw ValidationError("--observe makes a one-pipeline log; leave out --with-latency and a --pipeline mix")
        }
        guard pipelineFile != nil, hardware != nil, profiles != nil else {
          throw ValidationError("--observe needs --pipeline-file, --hardware and --profiles")
        }
        guard slowdown > 0, slowdown.isFinite, overheadMs >= 0, overheadMs.isFinite, noise >= 0, noise <= 2 else {
          throw ValidationError("--slowdown must be positive, --overhead-ms 0 or more, and --noise from 0 to 2")
        }
      }
      if json && out == "-" {
        throw ValidationError(
          "--json prints to standard output, which --out - fills with the log: write the log to a file")
      }
      _ = try settings()
      _ = try dailyPattern()
      _ = try pipelineMix()
    }

    /// The options that are parsed from text (durations, times, the size column, the arrival process), checked.
    /// - Throws: `ValidationError` naming the flag.
    func settings() throws -> (
      length: Int64, start: Int64, sizes: QueryLogWriter.GeneratedSizes?, process: ArrivalProcess
    ) {
      guard let length = DurationText.nanoseconds(duration) else {
        throw ValidationError("--duration '\(duration)' is not a duration such as 15m, 1h or 1d")
      }
      guard let spikeLength = DurationText.nanoseconds(spikeDuration) else {
        throw ValidationError("--spike-duration '\(spikeDuration)' is not a duration such as 30s or 2m")
      }
      var parser = TimestampParser(unit: .seconds)
      guard let startTime = parser.parse(start) else {
        throw ValidationError("--start '\(start)' is not an ISO-8601 time such as 2026-11-28T00:00:00Z")
      }
      var sizeColumn: QueryLogWriter.GeneratedSizes? = nil
      if let sizes {
        let parts = sizes.split(separator: "=", maxSplits: 1).map(String.init)
        let numbers = parts.count == 2 ? parts[1].split(separator: ":").compactMap { Double($0) } : []
        guard parts.count == 2, !parts[0].isEmpty, TerminalText.looksLikeName(parts[0]), numbers.count == 3,
          numbers[0] > 0, numbers[1] >= 0, numbers[2] >= 1, numbers.allSatisfy(\.isFinite)
        else {
          throw ValidationError(
            "--sizes must be NAME=MEDIAN:SIGMA:MAX with a positive median, a spread of 0 or more and a maximum of at least 1, such as tokens=90:0.7:512 (got '\(TerminalText.safe(sizes))')"
          )
        }
        sizeColumn = .init(
          column: parts[0], median: numbers[0], sigma: numbers[1], maximum: numbers[2],
          seed: RandomStream.generatedSizes.seed(seed))
      }
      let arrivalProcess: ArrivalProcess
      switch process {
      case .poisson: arrivalProcess = .poisson(rate: rate)
      case .gamma: arrivalProcess = .gamma(rate: rate, cv: cv ?? 2)
      case .diurnal:
        arrivalProcess = .diurnal(
          meanRate: rate, peakToTrough: peakToTrough ?? 4,
          spikes: spikes.map {
            .init(count: $0, multiplier: spikeMultiplier, duration: Double(spikeLength) / 1e9)
          }, cv: cv ?? 1)
      case .spikes:
        arrivalProcess = .spikes(
          rate: rate, multiplier: spikeMultiplier, count: spikes ?? 3, duration: Double(spikeLength) / 1e9)
      case .onoff:
        guard let on = DurationText.nanoseconds(onMean), let off = DurationText.nanoseconds(offMean) else {
          throw ValidationError("--on-mean and --off-mean take durations such as 20s or 2m")
        }
        arrivalProcess = .onOff(
          .init(
            onRate: rate, offRate: offRate, meanOn: Double(on) / 1e9, meanOff: Double(off) / 1e9,
            peakToTrough: peakToTrough ?? 1))
      }
      do { try arrivalProcess.validate() } catch let e as InputError { throw ValidationError(e.message) }
      return (length, startTime, sizeColumn, arrivalProcess)
    }

    @Flag(help: "Print what was written as JSON on stdout: the file, the queries, the seed (not with --out -).")
    var json = false

    @OptionGroup var quietOption: QuietOption

    func run() throws {
      quietOption.apply()
      let (length, startTime, sizeColumn, arrivalProcess) = try settings()
      var writer = QueryLogWriter()
      writer.format = format
      writer.timeFormat = timeFormat
      writer.gzip = gzip
      let mix = try pipelineMix()
      if mix.count == 1 { writer.pipeline = mix[0].name } else { writer.pipelines = mix.map(\.name) }
      writer.latencySeed = withLatency ? RandomStream.generatedLatencies.seed(seed) : nil
      writer.sizes = sizeColumn
      let arrivals: [Int64]
      if let pattern = try dailyPattern() {
        arrivals =
          TraceGenerator.arrivals(
            arrivalProcess, duration: Double(length) / 1e9, start: startTime, seed: seed, pattern: pattern
          ).arrivals
      } else {
        arrivals = TraceGenerator.arrivals(
          arrivalProcess, duration: Double(length) / 1e9, start: startTime, seed: seed)
      }
      let owners =
        mix.count > 1
        ? TraceGenerator.pipelineOfEachQuery(count: arrivals.count, shares: mix.map(\.share), seed: seed) : []
      if let observe {
        let (pipelineFile, hardware, profiles) = (pipelineFile!, hardware!, profiles!)
        let inputs = try PipelineOptions.load(pipeline: pipelineFile, hardware: hardware, profiles: profiles)
        writer.latenciesMs = try reportingInputErrors {
          try Calibration.observedLatencies(
            inputs: inputs, deployed: try PipelineConfiguration.load(path: observe, pipeline: inputs.pipeline),
            arrivals: arrivals, slowdown: slowdown, overheadMs: overheadMs, noise: noise, seed: seed)
        }
      }
      do {
        try writer.write(arrivals: arrivals, pipelineOfArrival: owners, to: out)
      } catch let error as InputError {
        note(error.description)
        throw ExitCode(ExitStatus.cannotWrite)
      }
      progress("wrote \(arrivals.count) queries to \(out == "-" ? "standard output" : out) (seed \(seed))")
      if json { try printJSON(GenerateResult(file: out, queries: arrivals.count, seed: seed)) }
    }

    /// The day-to-day pattern of --weekly, --trend and --day-noise; nil when none is given.
    /// - Throws: `ValidationError` naming the flag.
    func dailyPattern() throws -> DailyPattern? {
      guard weekly != nil || trend != nil || dayNoise != nil else { return nil }
      var multipliers = [Double](repeating: 1, count: 7)
      if let weekly {
        let values = weekly.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 7, values.allSatisfy({ $0 != nil }) else {
          throw ValidationError(
            "--weekly must be 7 multipliers separated by commas, Monday first, e.g. 1.1,1.1,1.1,1.05,1,0.8,0.75 (got '\(TerminalText.safe(weekly))')"
          )
        }
        multipliers = values.map { $0! }
      }
      do {
        return try DailyPattern(weekly: multipliers, trendPerDay: trend ?? 0, noise: dayNoise ?? 0)
      } catch let e as InputError {
        throw ValidationError(e.message + (e.fix.map { " (\($0))" } ?? ""))
      }
    }

    /// The `--pipeline` names and their shares. - Throws: `ValidationError` for a bad share or a repeated name.
    func pipelineMix() throws -> [(name: String, share: Double)] {
      var mix: [(name: String, share: Double)] = []
      for item in pipeline {
        var name = item, share = 1.0
        if let eq = item.lastIndex(of: "="), pipeline.count > 1 {
          name = String(item[..<eq])
          guard let s = Double(item[item.index(after: eq)...]), s > 0, s.isFinite else {
            throw ValidationError(
              "--pipeline '\(TerminalText.safe(item))': the share after '=' must be a positive number, as in video-monitoring=0.6"
            )
          }
          share = s
        }
        guard !name.isEmpty else { throw ValidationError("--pipeline needs a name, as in --pipeline video-monitoring") }
        guard !mix.contains(where: { $0.name == name }) else {
          throw ValidationError("--pipeline '\(TerminalText.safe(name))' is given twice; give each pipeline once")
        }
        mix.append((name, share))
      }
      return mix
    }
  }
}

extension QueryLogWriter.Format: ExpressibleByArgument {}
extension QueryLogWriter.TimeFormat: ExpressibleByArgument {}

/// What `generate --json` prints.
struct GenerateResult: Encodable {
  var file: String
  var queries: Int
  var seed: UInt64
}
