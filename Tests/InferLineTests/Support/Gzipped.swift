import Foundation
import InferLineTestSupport

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
