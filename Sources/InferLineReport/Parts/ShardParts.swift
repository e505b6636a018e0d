import Foundation
import InferLine
public import InferLineNight

#if canImport(Glibc)
  import Glibc
#endif

/// Reading, checking and writing the parts of a sharded report (`report --shard`, `report --merge`).
public enum ShardParts {
  /// The parts at `paths` (each a shard's --out folder or its part.json): one complete set of N shards, cut from the
  /// same settings and inputs, in shard order.
  /// - Throws: `InputError` naming a part that cannot be read, a missing or repeated shard, or parts that disagree.
  public static func load(_ paths: [String]) throws -> [(path: String, part: NightShards.Part)] {
    var parts: [(path: String, part: NightShards.Part)] = []
    for path in paths {
      var isFolder: ObjCBool = false
      let file =
        FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
        ? (path as NSString).appendingPathComponent("part.json") : path
      guard let data = FileManager.default.contents(atPath: file) else {
        throw InputError(
          file: file, "cannot read the part", fix: "give the folders the shards wrote with --out (each holds part.json)"
        )
      }
      let part = try PartFile.decode(data, file: file)
      parts.append((file, part))
    }
    guard let first = parts.first else { throw InputError("--merge names no part", fix: "give every shard's part") }
    let n = first.part.shards
    for (file, part) in parts {
      guard part.shards == n else {
        throw InputError(
          file: file, "a part of \(part.shards) shards among parts of \(n) (\(first.path))",
          fix: "merge the parts of one run")
      }
      try part.checkRequest(file: file)
      guard part.request == first.part.request else {
        throw InputError(
          file: file, "cut from other settings than \(first.path) (compare `report --dump-config` of the two runs)",
          fix: "merge the parts of one run")
      }
      for input in part.inputs {
        if let other = first.part.inputs.first(where: { $0.path == input.path }), other.sha256 != input.sha256 {
          throw InputError(
            file: file, "shard \(part.shard) read \(input.path) with another content than shard \(first.part.shard)",
            fix: "run every shard on the same input files")
        }
      }
    }
    let shards = parts.map(\.part.shard)
    if let twice = Set(shards).first(where: { k in shards.filter { $0 == k }.count > 1 }) {
      let files = parts.filter { $0.part.shard == twice }.map(\.path).joined(separator: ", ")
      throw InputError("shard \(twice) is given twice (\(files))", fix: "give each shard's part once")
    }
    let missing = (0..<n).filter { !shards.contains($0) }
    guard missing.isEmpty else {
      throw InputError(
        "missing part\(missing.count == 1 ? "" : "s") of shard\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) of \(n) (given: \(parts.map(\.path).joined(separator: ", ")))",
        fix:
          "run the missing shard\(missing.count == 1 ? "" : "s") (`report ... --shard K/\(n)`), or find \(missing.count == 1 ? "its" : "their") folder\(missing.count == 1 ? "" : "s")"
      )
    }
    return parts.sorted { $0.part.shard < $1.part.shard }
  }

  /// - Throws: `InputError` naming an input file that changed since the shards read it.
  public static func checkInputs(_ parts: [NightShards.Part], against now: [CapacityReport.InputFile]) throws {
    for input in parts[0].inputs {
      guard let current = now.first(where: { $0.path == input.path }) else { continue }
      guard current.sha256 == input.sha256 else {
        throw InputError(
          file: input.path,
          "changed since the shards read it (SHA-256 \(input.sha256.prefix(12))..., now \(current.sha256.prefix(12))...)",
          fix: "run the shards again on the file as it is, or restore it")
      }
    }
  }

  /// Writes `folder/part.json` through a temporary file renamed into place. The folder must be new, empty, or a
  /// shard's (holding only a part.json and temporaries of one): a shard never writes into another folder.
  /// - Throws: `InputError` for another folder; file errors, after removing the temporary.
  public static func check(folder: String) throws {
    let contents = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    let foreign = contents.filter { $0 != "part.json" && !isTemporary($0) }
    guard foreign.isEmpty else {
      let shown = foreign.sorted().prefix(3).map { "'\(TerminalText.safe($0))'" }.joined(separator: ", ")
      throw InputError(
        file: folder,
        "is not a shard's folder (it holds \(shown)\(foreign.count > 3 ? " and \(foreign.count - 3) more" : "")): a shard writes only into a new or empty folder, or one holding an earlier part.json",
        fix: "give each shard a folder of its own for --out; nothing was changed")
    }
  }

  public static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".part.json.") && name.hasSuffix(".tmp") }

  public static func write(_ part: NightShards.Part, to folder: String) throws {
    try check(folder: folder)
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    // Temporaries of killed shards are stale.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where isTemporary(name) {
      try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
    }
    let final = URL(fileURLWithPath: folder).appendingPathComponent("part.json")
    let temporary = URL(fileURLWithPath: folder).appendingPathComponent(".part.json.\(getpid()).tmp")
    do {
      try PartFile.encode(part).write(to: temporary)
      // rename(2) replaces an earlier part in one step.
      guard rename(temporary.path, final.path) == 0 else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final.path])
      }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }

  /// User and system CPU seconds of this process so far.
  public static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }
}
