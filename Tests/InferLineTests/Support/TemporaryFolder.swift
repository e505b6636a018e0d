import Foundation

/// A fresh folder under the system's temporary directory, removed when the value is released.
final class TemporaryFolder: Sendable {
  let url: URL

  init() {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("inferline-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// Writes `text` (UTF-8) to `name` in the folder and returns its path.
  @discardableResult
  func write(_ name: String, _ text: String) -> String {
    write(name, bytes: Array(text.utf8))
  }

  @discardableResult
  func write(_ name: String, bytes: [UInt8]) -> String {
    let path = url.appendingPathComponent(name).path
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
  }

  func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// gzip-compresses bytes with the system's `gzip` (an implementation of the format independent of ours).
func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
  let folder = TemporaryFolder()
  let plain = folder.write("plain", bytes: bytes)
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/gzip")
  process.arguments = ["-c", "-n", plain]
  let output = Pipe()
  process.standardOutput = output
  try process.run()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return Array(data)
}
