internal import CFileSystem
public import Foundation
import InferLine
import InferLineNight

/// The folder a report is written to, kept safe: only a folder that holds a report (it carries the marker file)
/// or an empty one is ever replaced; one run at a time per folder (a lock file beside it); the new report is
/// swapped in with one atomic exchange, so the folder is never missing; and temporaries that an earlier, killed
/// run left are cleaned up (or, where only they still hold the last report, put back).
public struct ReportFolder: ~Copyable {
  /// What a folder holds: `report --out` and `export --out` each replace only their own kind, so an export never
  /// replaces a report (even the one it reads) and a report never replaces an export.
  public enum Kind: Sendable {
    case report, export

    /// The file every folder of this kind carries; `--out` replaces only folders that have it (or are empty).
    public var markerName: String { self == .report ? ReportFolder.markerName : ".inferline-export" }
    var words: String { self == .report ? "a report folder" : "an export folder" }
  }

  /// The file every report folder carries; `--out` replaces only folders that have it (or are empty).
  public static let markerName = ".inferline-report"
  /// Files a report folder written before the marker existed holds; such a folder is replaced too.
  static let legacyContents: Set<String> = ["index.html", "report.json", "summary.md", "charts"]

  public let destination: URL
  public let kind: Kind
  let parent: URL
  let lockPath: String
  let lockDescriptor: Int32

  /// Checks the destination and takes its lock, before any work is done.
  /// - Throws: `InputError` naming the folder and the fix: a file, a folder with other contents (another kind's
  ///   folder among them), another run writing it, a parent that cannot be created.
  public init(_ destination: URL, kind: Kind = .report) throws {
    let (destination, parent, lockPath, fd) = try Self.open(destination, kind: kind)
    self.destination = destination
    self.kind = kind
    self.parent = parent
    self.lockPath = lockPath
    lockDescriptor = fd
  }

  static func open(_ destination: URL, kind: Kind) throws -> (URL, URL, String, Int32) {
    let destination = destination.standardizedFileURL
    let parent = destination.deletingLastPathComponent()
    let name = destination.lastPathComponent
    guard !name.isEmpty, name != "/", name != ".", name != ".." else {
      throw InputError(
        file: destination.path, "is not a folder name a report can be written to",
        fix: "name a new folder, e.g. --out Reports/nightly")
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: destination.path, isDirectory: &isFolder) {
      guard isFolder.boolValue else {
        throw InputError(
          file: destination.path, "is a file, not a report folder",
          fix: "name a folder for --out (it is replaced as a whole)")
      }
      try Self.checkReplaceable(destination, kind: kind)
    }
    do {
      try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
    } catch {
      throw InputError(
        file: parent.path, "cannot create the folder: \(error.localizedDescription)",
        fix: "check the path and its permissions")
    }
    let lockPath = parent.appendingPathComponent(".\(name).lock").path
    let fd = inferline_lock_file(lockPath)
    guard fd >= 0 else {
      let code = inferline_errno()
      if code == EWOULDBLOCK {
        throw InputError(
          file: destination.path, "another inferline run is writing this report now",
          fix: "wait for it to finish, or write to another --out folder")
      }
      throw InputError(
        file: lockPath, "cannot create the lock file: \(String(cString: strerror(code)))",
        fix: "check that the folder can be written")
    }
    do {
      try recoverAndClean(destination: destination, parent: parent)
    } catch {
      inferline_unlock_file(lockPath, fd)
      throw error
    }
    return (destination, parent, lockPath, fd)
  }

  /// The lock file goes with the run, whether it succeeded or failed (a killed run's is reused by the next).
  deinit { inferline_unlock_file(lockPath, lockDescriptor) }

  /// Fills a new temporary folder with `body` and swaps it in; when `body` or the swap fails, the temporary is
  /// removed and the destination is as it was.
  /// - Throws: what `body` or the file system threw.
  public func fill(_ body: (URL) throws -> Void) throws {
    let temporary = try makeTemporary()
    do {
      try body(temporary)
      try swapIn(temporary)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }

  /// A folder may be replaced when it is empty, carries its kind's marker, or (a report folder) holds only what a
  /// report folder written before the marker held.
  static func checkReplaceable(_ folder: URL, kind: Kind) throws {
    let contents = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    if contents.isEmpty || contents.contains(kind.markerName) { return }
    if kind == .report, !contents.contains(Kind.export.markerName), Set(contents).isSubset(of: legacyContents),
      contents.contains("report.json")
    {
      return
    }
    let shown = contents.sorted().prefix(3).map { "'\(TerminalText.safe($0))'" }.joined(separator: ", ")
    let other = kind == .export ? Kind.report : Kind.export
    let what =
      contents.contains(other.markerName) || (kind == .export && contents.contains("report.json"))
      ? "is \(other.words), not \(kind.words)" : "is not \(kind.words)"
    throw InputError(
      file: folder.path,
      "\(what) (it holds \(shown)\(contents.count > 3 ? " and \(contents.count - 3) more" : "")); inferline replaces only folders of this kind it wrote",
      fix: "name a new or empty folder for --out; nothing was changed")
  }

  static func partialPrefix(_ destination: URL) -> String { ".\(destination.lastPathComponent).partial-" }
  static func oldPrefix(_ destination: URL) -> String { ".\(destination.lastPathComponent).old-" }

  /// Under the lock: an earlier run killed between the two renames of a non-atomic swap left the folder missing
  /// and the last report in `.NAME.old-PID`: put it back. Every other temporary of this folder is stale: remove it.
  static func recoverAndClean(destination: URL, parent: URL) throws {
    let partialPrefix = partialPrefix(destination), oldPrefix = oldPrefix(destination)
    let siblings = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
    let olds = siblings.filter { $0.hasPrefix(oldPrefix) }.sorted()
    var restored: String? = nil
    if !FileManager.default.fileExists(atPath: destination.path), let newest = olds.last {
      try FileManager.default.moveItem(at: parent.appendingPathComponent(newest), to: destination)
      restored = newest
    }
    for name in siblings where (name.hasPrefix(partialPrefix) || name.hasPrefix(oldPrefix)) && name != restored {
      try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))
    }
  }

  /// A new, empty temporary folder beside the destination, for the run to fill.
  public func makeTemporary() throws -> URL {
    let temporary = parent.appendingPathComponent(
      "\(Self.partialPrefix(destination))\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: temporary)
    try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
    let command = kind == .report ? "report" : "export"
    try Data("inferline \(command) folder: `\(command) --out` replaces only folders that carry this file\n".utf8)
      .write(to: temporary.appendingPathComponent(kind.markerName))
    return temporary
  }

  /// Puts the finished temporary folder in place. With an existing report, one atomic exchange (the folder is
  /// never missing, whenever the process dies), then the old report, now in the temporary's place, is removed.
  /// Where the file system cannot exchange, the old report is moved aside first and moved back on failure.
  public func swapIn(_ temporary: URL) throws {
    if !FileManager.default.fileExists(atPath: destination.path) {
      try FileManager.default.moveItem(at: temporary, to: destination)
      return
    }
    try Self.checkReplaceable(destination, kind: kind)  // it may have changed while the analysis ran
    if inferline_exchange_paths(temporary.path, destination.path) == 0 {
      try? FileManager.default.removeItem(at: temporary)
      return
    }
    let old = parent.appendingPathComponent(
      "\(Self.oldPrefix(destination))\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.moveItem(at: destination, to: old)
    do {
      try FileManager.default.moveItem(at: temporary, to: destination)
    } catch {
      try? FileManager.default.moveItem(at: old, to: destination)
      throw error
    }
    try? FileManager.default.removeItem(at: old)
  }
}
