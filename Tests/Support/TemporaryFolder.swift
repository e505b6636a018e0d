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
