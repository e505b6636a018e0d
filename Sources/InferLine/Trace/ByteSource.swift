import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads a file's bytes block by block, decompressing gzip on the way when the file starts with gzip's magic bytes
/// (`1f 8b`), whatever its name.
///
/// Memory is one input block for gzip plus whatever the caller's buffer holds; nothing else grows with the file.
final class ByteSource {
  /// The path as the user named it (for messages).
  let path: String
  /// True when the file is gzip-compressed.
  private(set) var isGzip = false
  /// Size of the file on disk, in bytes.
  let fileSize: Int
  /// Bytes read from disk so far.
  private(set) var fileBytesRead = 0

  private let descriptor: Int32
  private var inflater: Zlib.Inflater?
  private var input: [UInt8] = []
  private var inputStart = 0
  private var inputEnd = 0
  private var fileAtEnd = false
  /// True while inside a gzip member whose trailer has not been seen.
  private var insideMember = false

  /// - Parameter path: a file, or `-` for standard input.
  init(path: String) throws {
    self.path = path
    var info = stat()
    if path == "-" {
      descriptor = STDIN_FILENO
      fileSize = 0
      input = [UInt8](repeating: 0, count: 1 << 20)
      try sniff()
      return
    }
    guard stat(path, &info) == 0 else {
      // (NSString's deletingLastPathComponent traps on one-character paths on Linux.)
      let folder = path.contains("/") ? URL(fileURLWithPath: path).deletingLastPathComponent().path : "."
      throw InputError(
        file: path, "cannot read the file: \(String(cString: strerror(errno)))",
        fix: "check the path; list the folder with `ls \(Self.shellQuoted(folder))`")
    }
    guard (info.st_mode & S_IFMT) != S_IFDIR else {
      throw InputError(file: path, "is a folder, not a log file", fix: "name the log files inside it")
    }
    descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else {
      throw InputError(
        file: path, "cannot open the file: \(String(cString: strerror(errno)))",
        fix: "check the file's permissions")
    }
    fileSize = Int(info.st_size)
    input = [UInt8](repeating: 0, count: 1 << 20)
    try sniff()
  }

  /// Bytes already in memory (the fuzzers, tests), read as a file named `name` would be.
  init(bytes: [UInt8], name: String) throws {
    path = name
    descriptor = -1
    fileSize = bytes.count
    fileBytesRead = bytes.count
    input = bytes
    inputEnd = bytes.count
    fileAtEnd = true
    try sniff()
  }

  /// Reads the first bytes and looks for gzip's magic bytes.
  private func sniff() throws {
    try fillInput()
    if inputEnd - inputStart >= 2, input[inputStart] == 0x1F, input[inputStart + 1] == 0x8B {
      isGzip = true
      inflater = try Zlib.Inflater()
    }
  }

  deinit { if descriptor >= 0 && descriptor != STDIN_FILENO { close(descriptor) } }

  static func shellQuoted(_ s: String) -> String {
    s.allSatisfy { $0.isLetter || $0.isNumber || "/._-".contains($0) }
      ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// Appends more file bytes to the input buffer (moving what is unread to the front). Sets `fileAtEnd`.
  private func fillInput() throws {
    if inputStart > 0 {
      let unread = inputEnd - inputStart
      if unread > 0 {
        input.withUnsafeMutableBytes { buffer in
          let base = buffer.baseAddress!
          memmove(base, base + inputStart, unread)
        }
      }
      inputStart = 0
      inputEnd = unread
    }
    if inputEnd < input.count && !fileAtEnd && descriptor >= 0 {
      let end = inputEnd
      inputEnd += try input.withUnsafeMutableBytes { try readFile($0.baseAddress! + end, count: $0.count - end) }
    }
  }

  /// One `read(2)` into `pointer`, retried on EINTR. Returns 0 at the end of the file.
  private func readFile(_ pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
    if descriptor < 0 {  // bytes in memory: all of them are in `input` already
      fileAtEnd = true
      return 0
    }
    while true {
      let n = Glibc.read(descriptor, pointer, count)
      if n >= 0 {
        fileBytesRead += n
        if n == 0 { fileAtEnd = true }
        return n
      }
      if errno == EINTR { continue }
      throw InputError(file: path, "read failed: \(String(cString: strerror(errno)))")
    }
  }

  /// Reads up to `buffer.count` bytes of (decompressed) content.
  /// - Returns: the number of bytes written; 0 only at the end of the content.
  /// - Throws: `InputError` naming the file for read errors, corrupt gzip and a truncated gzip file.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0 else { return 0 }
    guard let inflater else {
      // Plain file: first hand out what the sniffing read, then read straight into the caller's buffer.
      if inputEnd > inputStart {
        let n = min(buffer.count, inputEnd - inputStart)
        input.withUnsafeBytes { raw in
          buffer.baseAddress!.copyMemory(from: raw.baseAddress! + inputStart, byteCount: n)
        }
        inputStart += n
        return n
      }
      if fileAtEnd { return 0 }
      return try readFile(buffer.baseAddress!, count: buffer.count)
    }
    var written = 0
    while written < buffer.count {
      if inputStart == inputEnd {
        if fileAtEnd { break }
        try fillInput()
        continue
      }
      if inflater.atMemberEnd {
        // Another gzip member may follow (concatenated files); anything else after the trailer is an error.
        if inputEnd - inputStart < 2 && !fileAtEnd {
          try fillInput()
          continue
        }
        let b0 = input[inputStart]
        let b1 = inputEnd - inputStart >= 2 ? input[inputStart + 1] : 0
        guard b0 == 0x1F && b1 == 0x8B else {
          if input[inputStart..<inputEnd].allSatisfy({ $0 == 0 }) {
            inputStart = inputEnd  // zero padding after the last member, as some tape and copy tools add
            continue
          }
          throw InputError(
            file: path, "corrupt gzip file: unexpected bytes after the end of the compressed data",
            fix: "check the file with `gzip -t \(Self.shellQuoted(path))`; copy it again if it was damaged")
        }
      }
      let (consumed, produced): (Int, Int)
      do {
        (consumed, produced) = try input.withUnsafeBytes { raw in
          try inflater.inflate(
            input: UnsafeRawBufferPointer(rebasing: raw[inputStart..<inputEnd]),
            output: UnsafeMutableRawBufferPointer(rebasing: buffer[written...]))
        }
      } catch let failure as Zlib.Failure {
        throw InputError(
          file: path, failure.description,
          fix: "check the file with `gzip -t \(Self.shellQuoted(path))`; copy it again if it was damaged")
      }
      insideMember = !inflater.atMemberEnd
      inputStart += consumed
      written += produced
      if consumed == 0 && produced == 0 && !inflater.atMemberEnd {
        if fileAtEnd { break }
        try fillInput()
      }
    }
    if written == 0 && insideMember {
      throw InputError(
        file: path, "truncated gzip file: the compressed data ends before its end marker",
        fix: "the file was cut short (an interrupted copy or a log still being written); copy it again")
    }
    return written
  }
}
