import Foundation
import InferLineTestSupport
import Testing

/// The READMEs as a user pastes them. Every ```sh block of README.md runs, in order, in one shell in a scratch
/// copy of the repository, with `.build/release/inferline` the binary under test: `swift build` is not run again
/// (the binary is built) and `make TARGET` is checked with `make -n` (CI runs `make test` itself). The sample
/// logs' `inferline generate` commands in SampleTraces/README.md remake the shipped files byte for byte.
@Suite struct ReadmeTests {
  static let root = CommandLineTests.packageRoot

  /// The fenced blocks of `markdown` whose info string is `sh`, in order.
  static func shellBlocks(_ markdown: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring]? = nil
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
      if current == nil {
        if line == "```sh" { current = [] }
      } else if line == "```" {
        blocks.append(current!.joined(separator: "\n"))
        current = nil
      } else {
        current!.append(line)
      }
    }
    return blocks
  }

  /// Files under `folder` (relative paths, `.build` left out) with their size and modification time.
  static func files(_ folder: URL) -> [String: String] {
    var result: [String: String] = [:]
    let base = folder.standardizedFileURL.path + "/"
    guard let walk = FileManager.default.enumerator(atPath: folder.path) else { return result }
    while let relative = walk.nextObject() as? String {
      if relative.hasPrefix(".build") { continue }
      let path = base + relative
      guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
        attributes[.type] as? FileAttributeType == .typeRegular
      else { continue }
      let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
      let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      result[relative] = "\(size) \(modified)"
    }
    return result
  }

  /// A scratch copy of what the READMEs use: the samples, the scripts, the Makefile and the READMEs, with the
  /// binary under test at `.build/release/inferline`.
  static func scratchCopy(_ scratch: TemporaryFolder) throws -> URL {
    let copy = scratch.url.appendingPathComponent("repository")
    try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
    for item in ["Makefile", "Scripts", "SampleTraces", "README.md", "Reports/README.md", "Package.swift"] {
      let target = copy.appendingPathComponent(item)
      try FileManager.default.createDirectory(
        at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: root.appendingPathComponent(item), to: target)
    }
    let release = copy.appendingPathComponent(".build/release")
    try FileManager.default.createDirectory(at: release, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      at: release.appendingPathComponent("inferline"), withDestinationURL: CommandLineTests.binary)
    return copy
  }

  /// Runs `script` with bash in `folder`, HOME and TMPDIR inside the scratch folder, `set -euo pipefail`, and the
  /// failing line named on stderr.
  static func bash(_ script: String, in folder: URL, scratch: TemporaryFolder) throws -> CommandLineTests.Run {
    let home = scratch.url.appendingPathComponent("home"), temporary = scratch.url.appendingPathComponent("tmp")
    for made in [home, temporary] {
      try FileManager.default.createDirectory(at: made, withIntermediateDirectories: true)
    }
    let prologue = """
      set -euo pipefail
      trap 'echo "README test: this command failed (exit $?): $BASH_COMMAND" >&2' ERR
      cd '\(folder.path)'
      swift() { [ "$1" = build ] && [ -x .build/release/inferline ]; }
      make() { command make -n "$@" > /dev/null; }

      """
    return try CommandLineTests().launch(
      URL(fileURLWithPath: "/bin/bash"), ["-c", prologue + script],
      environment: ["HOME": home.path, "TMPDIR": temporary.path, "COLUMNS": "80", "NO_COLOR": "1"])
  }

  @Test func everyReadmeBlockRunsAndWritesOnlyIntoReports() throws {
    let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
    let blocks = Self.shellBlocks(readme)
    #expect(blocks.count >= 2)
    let script = blocks.joined(separator: "\n")
    // Nothing is named outside the repository: no absolute paths and no way up.
    let words = script.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "=" })
    let outside = words.filter { $0.hasPrefix("/") || $0.contains("../") || $0.hasPrefix("~") }
    #expect(outside.isEmpty, "README commands name paths outside the repository: \(outside)")

    let scratch = TemporaryFolder("inferline-readme")
    let copy = try Self.scratchCopy(scratch)
    let before = Self.files(copy)
    let run = try Self.bash(script, in: copy, scratch: scratch)
    #expect(run.status == 0, "\(run.stderr.suffix(3000))")
    let after = Self.files(copy)
    let written = after.filter { before[$0.key] != $0.value }.keys.sorted()
    let stray = written.filter { !$0.hasPrefix("Reports/") }
    #expect(stray.isEmpty, "README commands wrote outside Reports/: \(stray)")
    #expect(Set(before.keys).subtracting(after.keys).isEmpty, "README commands removed files")

    // What the walk-through says it makes, made.
    for made in [
      "Reports/last-night/index.html", "Reports/nightly/summary.md", "Reports/fleet/index.html", "Reports/night.yaml",
      "Reports/my-profiles.csv", "Reports/deploy/k8s/video-monitoring/deployments.yaml",
    ] {
      #expect(written.contains(made), "README commands did not write \(made)")
    }
    let nightly = try String(
      contentsOf: copy.appendingPathComponent("Reports/nightly/summary.md"), encoding: .utf8)
    #expect(nightly.contains("Since the previous report"))
    // The calibration figures the README quotes are the ones the command prints, rounded as the README rounds.
    let fit = try #require(
      run.stdout.firstMatch(
        of:
          #/service times x (\d+\.\d+) \+ (\d+\.\d+) ms per stage.*held-out error.*P99 (\d+\.\d+)% with the profiles as they are.*P99 (\d+\.\d+)% calibrated/#
      ), "\(run.stdout.suffix(2000))")
    let quoted = String(
      format: "the fit finds x%.2f + %.1f ms, and the\n# held-out P99 error falls from %.0f%% to %.0f%%",
      Double(fit.1)!, Double(fit.2)!, Double(fit.3)!, Double(fit.4)!)
    #expect(readme.contains(quoted), "README should say: \(quoted)")
  }

  /// One row of SampleTraces/README.md's table: the file and the command that made it.
  static func generateCommands(_ markdown: String) -> [(file: String, command: String)] {
    markdown.split(separator: "\n").compactMap { line in
      let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      guard cells.count >= 3, cells[0].hasPrefix("`logs/"), cells[2].hasPrefix("`inferline generate ") else {
        return nil
      }
      return (String(cells[0].dropFirst().dropLast()), String(cells[2].dropFirst().dropLast()))
    }
  }

  @Test func theSampleLogsAreRemadeByTheCommandsTheirReadmeGives() throws {
    let readme = try String(
      contentsOf: Self.root.appendingPathComponent("SampleTraces/README.md"), encoding: .utf8)
    let commands = Self.generateCommands(readme)
    #expect(commands.count >= 6)
    let scratch = TemporaryFolder("inferline-samples")
    let copy = try Self.scratchCopy(scratch)
    let script = commands.map { ".build/release/inferline" + $0.command.dropFirst("inferline".count) }
      .joined(separator: "\n")
    let run = try Self.bash(script, in: copy, scratch: scratch)
    #expect(run.status == 0, "\(run.stderr.suffix(3000))")
    for (file, _) in commands {
      let shipped = try Data(contentsOf: Self.root.appendingPathComponent("SampleTraces/\(file)"))
      let remade = try Data(contentsOf: copy.appendingPathComponent("SampleTraces/\(file)"))
      #expect(remade == shipped, "SampleTraces/\(file) is not what its README command makes")
    }
  }

  @Test func fencedShellBlocksAreFoundInOrder() {
    let blocks = Self.shellBlocks("a\n```sh\none\ntwo\n```\n```swift\nx\n```\n```sh\nthree\n```\n")
    #expect(blocks == ["one\ntwo", "three"])
  }
}
