import ArgumentParser
internal import CFileSystem
internal import CMemory
import Foundation
import InferLine
import InferLineNight
import Synchronization

@main
struct InferLineCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inferline",
    abstract: "Plan capacity for ML prediction-serving pipelines from their query logs.",
    discussion: """
      Reads query logs (CSV, TSV or JSON Lines, plain or gzip), fits arrival envelopes and plans the cheapest \
      provisioning that keeps end-to-end tail latency under the SLO. See README.md for a walk-through.
      """,
    version: InferLineVersion.current,
    subcommands: [
      Inspect.self, Envelope.self, Validate.self, Profiles.self, Simulate.self, Plan.self, ReplayCommand.self,
      Report.self, Diff.self, Export.self, Calibrate.self, Generate.self,
    ])

  /// Runs the command, then flushes standard output and checks it: results written to a full disk or a closed pipe
  /// (`plan --json > file`) must not leave a truncated file behind an exit status of 0. A command that succeeded
  /// (or ended with 3 or 4, which still print results) exits 74 (sysexits' EX_IOERR) when its output was lost.
  static func main() {
    // As many malloc arenas as cores: the night's replays run on threads of their own (`ThreadWork`).
    inferline_limit_malloc_arenas(Int32(ProcessInfo.processInfo.activeProcessorCount))
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let code as ExitCode
      where code == ExitCode(ExitStatus.sloUnattainable) || code == ExitCode(ExitStatus.sloAtRisk)
      || code == ExitCode(ExitStatus.noPlanFound)
    {
      checkStandardOutput()
      exit(withError: code)
    } catch {
      exit(withError: error)
    }
    checkStandardOutput()
  }
}

/// Flushes standard output; when that or an earlier write failed, says so and exits `ExitStatus.cannotWriteOutput`.
func checkStandardOutput() {
  if inferline_flush_standard_output() != 0 {
    let reason = String(cString: strerror(errno))
    note("error: cannot write the results to standard output (\(reason)); what was written is incomplete")
    Foundation.exit(ExitStatus.cannotWriteOutput)
  }
}

/// Exit statuses, distinct per cause so that scripts can tell them apart.
enum ExitStatus {
  /// A file or a value in it was bad (sysexits' EX_DATAERR).
  static let badInput: Int32 = 65
  /// The output could not be written (sysexits' EX_CANTCREAT).
  static let cannotWrite: Int32 = 73
  /// Every input was fine but the SLO cannot be met for some window (results are still printed).
  static let sloUnattainable: Int32 = 3
  /// Some window has no plan because the search budget ran out before it found one or showed that none exists
  /// (results are still printed): a larger `--budget` may find one.
  static let noPlanFound: Int32 = 5
  /// Every window has a plan, but no provisioning replayed over the log kept some pipeline's SLO (the report is
  /// written and says so first): a nightly job should page someone.
  static let sloAtRisk: Int32 = 4
  /// Standard output could not be written (sysexits' EX_IOERR): a full disk or a closed pipe.
  static let cannotWriteOutput: Int32 = 74
}

/// Runs `body`; an `InputError` or a `DiagnosticsError` is printed to stderr as a diagnostic and ends the command with `ExitStatus.badInput`.
func reportingInputErrors<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let error as InputError {
    note(error.description)
    throw ExitCode(ExitStatus.badInput)
  } catch let error as DiagnosticsError {
    note(error.description)
    throw ExitCode(ExitStatus.badInput)
  }
}

/// `--quiet`, on every command: no progress lines or notes of what was done on stderr. Warnings, errors and the
/// results on stdout are unchanged.
struct QuietOption: ParsableArguments {
  @Flag(help: "No progress or notes on stderr (warnings and errors are still written).")
  var quiet = false

  /// Makes `progress` silent for the rest of the run when `--quiet` was given.
  func apply() { setQuiet(quiet) }
}

/// Set once by `QuietOption.apply` (or `report --quiet`) before a command's work starts.
let quietRun = Atomic<Bool>(false)

/// Makes `progress` silent (or not) for the rest of the run.
func setQuiet(_ quiet: Bool) { quietRun.store(quiet, ordering: .relaxed) }

/// Writes a progress line or a note of what was done to stderr, unless `--quiet` was given.
func progress(_ text: String) {
  if !quietRun.load(ordering: .relaxed) { note(text) }
}

/// Writes a line to stderr (notes, warnings and errors; stdout is for results).
func note(_ text: String) {
  FileHandle.standardError.write(Data((TerminalText.safe(text, keepingLineBreaks: true) + "\n").utf8))
}

/// Notes on stderr what reading the logs skipped or adjusted (`inspect` prints it all): nothing is dropped or
/// changed without a word.
func noteIngestion(_ reports: [IngestionReport]) {
  for r in reports {
    if r.malformedLines > 0 {
      note(
        "\(r.file): skipped \(r.malformedLines) malformed line\(r.malformedLines == 1 ? "" : "s")"
          + (r.skipped.first.map { " (first: line \($0.line), \($0.reason))" } ?? ""))
    }
    if let z = r.sizeColumn, let unreadable = r.unreadableSizes, unreadable > 0 {
      note(
        "\(r.file): \(unreadable) quer\(unreadable == 1 ? "y has" : "ies have") no readable '\(z)' (size): kept, at the largest size bucket"
      )
    }
    for warning in r.warnings { note("\(r.file): warning: \(warning)") }
  }
}

/// Prints a line for people on stdout. Everything printed for people goes through here or `note`, so text from
/// input files (names, paths, log values) cannot carry terminal escape sequences or bidirectional overrides.
func say(_ text: String = "", terminator: String = "\n") {
  print(TerminalText.safe(text, keepingLineBreaks: true), terminator: terminator)
}

/// Prints an Encodable as pretty JSON with sorted keys to stdout.
func printJSON(_ value: some Encodable) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  encoder.nonConformingFloatEncodingStrategy = .convertToString(
    positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
  let data = try encoder.encode(value)
  print(String(decoding: data, as: UTF8.self))
}
