import Foundation
import Testing

/// `report --config` and `--dump-config`: the printed settings, given back as a file, make the same report as the
/// flags they came from; flags beside a file override it; a bad setting names the flag (exit 64) or the file, its
/// line and key (exit 65), before any work.
extension CommandLineTests {
  @Test func aDumpedConfigurationMakesTheSameReportAsItsFlags() throws {
    let log = path("night.csv")
    #expect(
      try run([
        "generate", "--rate", "3", "--duration", "2h", "--seed", "4", "--pipeline", "video-monitoring", "--out", log,
      ]).status == 0)
    let flags =
      ["report", log] + Self.sampleInputs("video-monitoring") + [
        "--window", "30m", "--growth", "1.5,3", "--seed", "5",
        "--cold-start", "10:2", "--quiet",
      ]
    let fromFlags = try run(flags + ["--out", path("flags")])
    #expect(fromFlags.status == 0, "\(fromFlags.stderr)")
    let dumped = try run(flags + ["--out", path("from-config"), "--dump-config"])
    #expect(dumped.status == 0 && dumped.stdout.contains("window: 30m") && dumped.stdout.contains("cold_start: '10:2'"))
    #expect(!FileManager.default.fileExists(atPath: path("from-config")), "--dump-config writes no report")
    try dumped.stdout.write(toFile: path("night.yaml"), atomically: true, encoding: .utf8)
    let fromConfig = try run(["report", "--config", path("night.yaml"), "--quiet"])
    #expect(fromConfig.status == 0, "\(fromConfig.stderr)")
    #expect(try Self.comparable(path("from-config/report.json")) == Self.comparable(path("flags/report.json")))

    // A flag beside the file wins; the file's other settings stay.
    let reseeded = try run(["report", "--config", path("night.yaml"), "--seed", "6", "--dump-config"])
    #expect(reseeded.stdout.contains("seed: 6") && reseeded.stdout.contains("window: 30m"), "\(reseeded.stdout)")

    // A bad value: from the file, the file's error (65); from a flag, a usage error (64). Nothing is written.
    try dumped.stdout.replacingOccurrences(of: "window: 30m", with: "window: soon").write(
      toFile: path("bad.yaml"), atomically: true, encoding: .utf8)
    let badFile = try run(["report", "--config", path("bad.yaml"), "--out", path("never")])
    #expect(
      badFile.status == 65 && badFile.stderr.contains("bad.yaml: error: 'window' 'soon' is not a duration")
        && badFile.stderr.contains("override it with --window"), "\(badFile.stderr)")
    let badFlag = try run(["report", "--config", path("night.yaml"), "--window", "soon", "--out", path("never")])
    #expect(badFlag.status == 64 && badFlag.stderr.contains("--window 'soon' is not a duration"), "\(badFlag.stderr)")
    let overridden = try run(["report", "--config", path("bad.yaml"), "--window", "1h", "--dump-config"])
    #expect(overridden.status == 0 && overridden.stdout.contains("window: 1h"))
    try "seed: 1\nwindw: 15m\n".write(toFile: path("typo.yaml"), atomically: true, encoding: .utf8)
    let typo = try run(["report", "--config", path("typo.yaml"), "--out", path("never")])
    #expect(
      typo.status == 65 && typo.stderr.contains("typo.yaml:2: error: unknown key 'windw' (did you mean 'window'?)"),
      "\(typo.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("never")))
  }
}
