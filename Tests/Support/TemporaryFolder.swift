public import Foundation

/// A fresh folder under the system's temporary directory, removed with everything in it when the value is
/// released: the one temporary-folder helper of every test target.
public final class TemporaryFolder: Sendable {
  public let url: URL

  /// - Parameter prefix: the start of the folder's name, to tell whose it is.
  public init(_ prefix: String = "inferline-tests") {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// Writes `text` (UTF-8) to `name` in the folder and returns its path.
  @discardableResult
  public func write(_ name: String, _ text: String) -> String {
    write(name, bytes: Array(text.utf8))
  }

  @discardableResult
  public func write(_ name: String, bytes: [UInt8]) -> String {
    let path = url.appendingPathComponent(name).path
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
  }

  public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

extension TemporaryFolder {
  /// A folder for the rest of the test process, as a shared fixture's `static let` holds it: a static is never
  /// released, so the folder is removed when the process exits instead.
  public static func untilExit(_ prefix: String) -> TemporaryFolder {
    let folder = TemporaryFolder(prefix)
    FoldersRemovedAtExit.add(folder.url)
    return folder
  }
}

/// The folders `TemporaryFolder.untilExit` made, removed by one `atexit` handler.
enum FoldersRemovedAtExit {
  nonisolated(unsafe) static var urls: [URL] = []
  nonisolated(unsafe) static var registered = false
  static let lock = NSLock()

  static func add(_ url: URL) {
    lock.lock()
    defer { lock.unlock() }
    urls.append(url)
    guard !registered else { return }
    registered = true
    atexit {
      for url in FoldersRemovedAtExit.urls { try? FileManager.default.removeItem(at: url) }
    }
  }
}
