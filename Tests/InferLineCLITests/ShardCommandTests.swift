import Foundation
import InferLine
import InferLineNight
import InferLineReport
import InferLineTestSupport
import Testing

/// `report --shard K/N` and `report --merge` through the binary: the merged report.json is the single-machine one
/// (but for timings and the time it was generated) for a fleet, for windows whose search stops before its proof and
/// for a night without a plan; and a merge refuses parts that are missing, repeated or from other inputs.
extension CommandLineTests {
  /// report.json without what differs between runs of the same inputs: timings and the generation time.
  static func comparable(_ path: String) throws -> NSDictionary {
    try comparableReport(Data(contentsOf: URL(fileURLWithPath: path)))
  }

  @Test func shardedReportsMergeToTheSingleMachineReport() throws {
    let s = Self.samples
    // Six hours through two pipelines with a spike: a fleet log.
    let log = path("fleet.csv")
    let generated = try run([
      "generate", "--process", "diurnal", "--rate", "6", "--peak-to-trough", "3", "--spikes", "1",
      "--spike-multiplier", "3", "--spike-duration", "20m", "--duration", "6h", "--seed", "12", "--pipeline",
      "video-monitoring=0.6", "--pipeline", "image-processing=0.4", "--out", log,
    ])
    #expect(generated.status == 0, "\(generated.stderr)")
    let inputs =
      Self.sampleCatalog + [
        "--growth", "2",
        "--quiet",
      ]
    let fleet =
      [
        "report", log, "--pipeline", "\(s)/pipelines/video-monitoring.yaml", "--pipeline",
        "\(s)/pipelines/image-processing.yaml",
      ] + inputs
    let single = ["report", log, "--pipeline", "\(s)/pipelines/video-monitoring.yaml"] + inputs
    // Bursty social-media traffic with a budget of 30 simulations: every search stops before its proof, so the
    // shards warm-start the busiest window's run of neighbours and the merge warm-starts the day.
    let social = path("social.csv")
    #expect(
      try run([
        "generate", "--process", "diurnal", "--rate", "12", "--peak-to-trough", "3", "--cv", "3", "--duration", "4h",
        "--seed", "12", "--pipeline", "social-media", "--out", social,
      ]).status == 0)
    let stopped = ["report", social, "--pipeline", "\(s)/pipelines/social-media.yaml", "--budget", "30"] + inputs
    // The merge's equality for fleets and single pipelines at several shard counts, searches stopped early included,
    // is the library's (`NightReportTests`, `NightStagesTests`); here the binary's flags and files, end to end: a
    // fleet's folders, the stopped searches the refusals below use, and a night without a plan.
    for (name, arguments, shards) in [
      // Two shards are the unattainable case's and the Ray driver's (ClusterTests).
      ("fleet", fleet, [2]), ("stopped", stopped, [3]),
      // Nothing meets a 5 ms SLO: no plan, no replay, the budget and what-ifs as one machine gives them.
      ("unattainable", single + ["--slo", "5", "--overflow", "Lambda"], [2]),
    ] {
      let whole = try run(arguments + ["--out", path("\(name)-whole")])
      #expect(whole.status == 0 || whole.status == 3, "\(whole.stderr)")
      let files =
        name == "fleet"
        ? ["report.json", "video-monitoring/report.json", "image-processing/report.json"] : ["report.json"]
      for n in shards {
        var parts: [String] = []
        for k in 0..<n {
          let part = path("\(name)-\(n)-parts/\(k)")
          let r = try run(arguments + ["--shard", "\(k)/\(n)", "--out", part])
          #expect(r.status == 0 && r.stdout.contains("shard \(k) of \(n)"), "\(r.stderr)")
          parts.append(part)
        }
        let merged = path("\(name)-\(n)-merged")
        let m = try run(["report", "--merge"] + parts + ["--out", merged, "--quiet"])
        #expect(m.status == whole.status, "\(m.stderr)")
        for file in files {
          #expect(
            try Self.comparable("\(merged)/\(file)") == Self.comparable(path("\(name)-whole/\(file)")),
            "\(name), \(n) shards: \(file) differs from the single-machine report")
        }
      }
    }
    // Some window of the stopped run was not proven (else that case tested nothing new).
    let windows = try Self.comparable(path("stopped-whole/report.json"))["windows"] as! [[String: Any]]
    #expect(windows.contains { $0["provenOptimal"] as? Bool == false })

    // Refusals: a missing shard is named; a shard given twice; an input changed since the shards read it.
    let p = (0..<3).map { path("stopped-3-parts/\($0)") }
    let missing = try run(["report", "--merge", p[0], p[2], "--out", path("never")])
    #expect(missing.status == 65 && missing.stderr.contains("missing part of shard 1 of 3"), "\(missing.stderr)")
    let twice = try run(["report", "--merge", p[0], p[0], p[1], p[2], "--out", path("never")])
    #expect(twice.status == 65 && twice.stderr.contains("shard 0 is given twice"), "\(twice.stderr)")
    let other = path("other-part")
    #expect(try run(stopped + ["--seed", "2", "--shard", "1/3", "--out", other]).status == 0)
    let mixed = try run(["report", "--merge", p[0], other, p[2], "--out", path("never")])
    #expect(mixed.status == 65 && mixed.stderr.contains("cut from other settings"), "\(mixed.stderr)")
    try (try String(contentsOfFile: social, encoding: .utf8) + "\n").write(
      toFile: social, atomically: true, encoding: .utf8)
    let changed = try run(["report", "--merge"] + p + ["--out", path("never")])
    #expect(changed.status == 65 && changed.stderr.contains("changed since the shards read it"), "\(changed.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("never")))
    let reseeded = try run(["report", "--merge"] + p + ["--seed", "2", "--out", path("never")])
    #expect(reseeded.status == 64 && reseeded.stderr.contains("(drop: --seed)"), "\(reseeded.stderr)")
    let bad = try run(single + ["--shard", "3/3", "--out", path("never")])
    #expect(bad.status == 64 && bad.stderr.contains("--shard must be K/N"))
  }
}

extension CommandLineTests {
  /// A part edited after its shard wrote it is refused by name: by its seal when only the content changed, and, when
  /// a forger also recomputed the hash, by the figures themselves (no replica, a negative or NaN cost, no pipeline,
  /// a plan of no stages, arguments that are not a shard's). Parts signed with `INFERLINE_PART_KEY` merge only
  /// with that key. A shard writes only into a folder of its own. Nothing is written by a refused merge.
  @Test func editedPartsAreRefusedAndShardsWriteOnlyTheirOwnFolders() throws {
    let log = path("small.csv")
    #expect(
      try run([
        "generate", "--rate", "3", "--duration", "2h", "--seed", "5", "--pipeline", "video-monitoring", "--out", log,
      ]).status == 0)
    let arguments =
      ["report", log] + Self.sampleInputs("video-monitoring") + ["--growth", "2", "--quiet"]
    let parts = (0..<2).map { path("parts/\($0)") }
    for (k, part) in parts.enumerated() {
      let r = try run(arguments + ["--shard", "\(k)/2", "--out", part])
      #expect(r.status == 0, "\(r.stderr)")
    }
    let original = try Data(contentsOf: URL(fileURLWithPath: parts[0] + "/part.json"))
    let pristine = try PartFile.decode(original, file: "part.json", key: nil)
    let owner = pristine.pipelines[0].replays.isEmpty ? 1 : 0  // the part with the replays
    let ownerFile = parts[owner] + "/part.json"
    let ownerData = try Data(contentsOf: URL(fileURLWithPath: ownerFile))
    func merge(_ environment: [String: String] = [:]) throws -> Run {
      try launch(
        Self.binary, ["report", "--merge"] + parts + ["--out", path("never"), "--quiet"], environment: environment)
    }
    // Edited by hand: the seal no longer matches.
    let text = String(decoding: ownerData, as: UTF8.self)
    let figure = text.range(of: "\"cpuSeconds\" : ")!
    let edited = text.replacingCharacters(in: figure, with: "\"cpuSeconds\" : 1")
    #expect(edited != text)
    try edited.write(toFile: ownerFile, atomically: true, encoding: .utf8)
    let unsealed = try merge()
    #expect(
      unsealed.status == 65 && unsealed.stderr.contains("changed after the shard wrote it")
        && unsealed.stderr.contains(ownerFile), "\(unsealed.stderr)")
    // Edited and sealed again: the figures are checked.
    let part = try PartFile.decode(ownerData, file: ownerFile, key: nil)
    func forged(_ change: (inout NightShards.Part) -> Void, says expected: String, status: Int32 = 65) throws {
      var copy = part
      change(&copy)
      try PartFile.encode(copy, key: nil).write(to: URL(fileURLWithPath: ownerFile))
      let r = try merge()
      #expect(r.status == status && r.stderr.contains(expected), "\(expected): \(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: path("never")))
    }
    let window = part.pipelines[0].plans.keys.min()!
    try forged({ $0.pipelines[0].plans[window]!.recommended!.configuration.stages[0].replicas = 0 }, says: "no replica")
    try forged({ $0.pipelines[0].plans[window]!.recommended!.configuration.stages = [] }, says: "has 0 stages")
    try forged({ $0.pipelines[0].plans[window]!.recommended!.costPerHour *= 2 }, says: "its configuration $")
    try forged({ $0.pipelines[0].replays[0]!.cost = -1e9 }, says: "cost is -1000000000.0")
    try forged({ $0.pipelines[0].replays[0]!.cost = .nan }, says: "cost is nan")
    try forged({ $0.pipelines = [] }, says: "holds 0 pipelines, the night has 1")
    try forged({ $0.pipelines[0].plans[10_000] = $0.pipelines[0].plans[window] }, says: "a plan of window 10000")
    // The settings are compared across parts: edit them in every part, as a forger would.
    func forgedSettings(_ change: @escaping (inout ReportRequest) -> Void) throws {
      for (i, p) in parts.enumerated() where i != owner {
        var other = try PartFile.decode(Data(contentsOf: URL(fileURLWithPath: p + "/part.json")), file: p, key: nil)
        change(&other.request)
        try PartFile.encode(other, key: nil).write(to: URL(fileURLWithPath: p + "/part.json"))
      }
      try forged({ change(&$0.request) }, says: "the part's settings are not a shard's")
    }
    try forgedSettings { $0.calibrate = "deployed.yaml" }
    try forgedSettings { $0.logs = [] }
    try forgedSettings { $0.out = "/tmp/elsewhere" }

    // Signed parts: merged with the key only.
    let key = ["INFERLINE_PART_KEY": "night-key-1"]
    for (k, part) in parts.enumerated() {
      let r = try launch(Self.binary, arguments + ["--shard", "\(k)/2", "--out", part], environment: key)
      #expect(r.status == 0, "\(r.stderr)")
      #expect(contents(part) == ["part.json"], "no temporary is left beside the part")
    }
    let keyless = try merge()
    #expect(keyless.status == 65 && keyless.stderr.contains("signed, and INFERLINE_PART_KEY is not set"))
    let wrong = try merge(["INFERLINE_PART_KEY": "another"])
    #expect(wrong.status == 65 && wrong.stderr.contains("signature does not match"), "\(wrong.stderr)")
    let merged = try launch(
      Self.binary, ["report", "--merge"] + parts + ["--out", path("merged"), "--quiet"], environment: key)
    #expect(merged.status == 0, "\(merged.stderr)")

    // A shard's --out must be its own: a report folder is refused before any work, and left as it was.
    let before = try Data(contentsOf: URL(fileURLWithPath: path("merged/report.json")))
    let onReport = try run(arguments + ["--shard", "0/2", "--out", path("merged")])
    #expect(onReport.status == 73 && onReport.stderr.contains("is not a shard's folder"), "\(onReport.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: path("merged/report.json"))) == before)
    #expect(!contents(path("merged")).contains("part.json"))
  }
}
