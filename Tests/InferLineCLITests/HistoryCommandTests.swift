import Foundation
import Testing

/// `report --history` and `generate --weekly --trend --day-noise` on the command line: a flag and a configuration
/// key, an unreadable folder refused before any work, and a pattern that is not seven multipliers a usage error.
extension CommandLineTests {
  @Test func aHistoryIsAFlagAndAKeyAndItsFolderMustExist() throws {
    let log = path("week.csv")
    let generated = try run([
      "generate", "--rate", "0.02", "--duration", "8d", "--weekly", "1,1,1,1,1,0.5,0.5", "--trend", "0.01",
      "--day-noise", "0.02", "--seed", "3", "--out", log, "--json",
    ])
    #expect(generated.status == 0, "\(generated.stderr)")
    let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count - 1
    #expect(generated.stdout.contains("\"queries\" : \(lines)"), "\(generated.stdout)")
    let badPattern = try run(["generate", "--weekly", "1,2", "--out", path("never.csv")])
    #expect(badPattern.status == 64 && badPattern.stderr.contains("--weekly must be 7 multipliers"))

    try FileManager.default.createDirectory(atPath: path("nights"), withIntermediateDirectories: true)
    let flags = ["report", log] + Self.sampleInputs("video-monitoring")
    let dumped = try run(flags + ["--history", path("nights"), "--out", path("r"), "--dump-config"])
    #expect(dumped.status == 0 && dumped.stdout.contains("history: \(path("nights"))"), "\(dumped.stdout)")
    let missing = try run(flags + ["--history", path("no-such-folder"), "--out", path("r"), "--quiet"])
    #expect(
      missing.status == 65 && missing.stderr.contains("no-such-folder: error: no such folder"), "\(missing.stderr)")
    let empty = try run(flags + ["--history", path("nights"), "--out", path("r"), "--quiet"])
    #expect(empty.status == 65 && empty.stderr.contains("holds no report.json and no log"), "\(empty.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("r")))
  }
}
