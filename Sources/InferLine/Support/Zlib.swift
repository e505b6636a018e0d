internal import CZlib

/// The one place that touches zlib: streaming gzip inflate and deflate.
///
/// Both work on caller-owned buffers so that a multi-gigabyte log never needs more than a block in memory.
enum Zlib {
  /// What went wrong inside zlib, in words a user can act on.
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// Streaming gzip decompressor. Handles concatenated gzip members (as `cat a.gz b.gz` produces).
  final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    /// True once the current gzip member's trailer (CRC and length) has been read and checked.
    private(set) var atMemberEnd = false

    init() throws {
      stream = .allocate(capacity: 1)
      stream.initialize(to: z_stream())
      // 15 window bits + 16: expect a gzip header and trailer.
      let status = inferline_inflateInit2(stream, 15 + 16)
      guard status == Z_OK else {
        stream.deallocate()
        throw Failure(description: "zlib could not start (status \(status))")
      }
    }

    deinit {
      inflateEnd(stream)
      stream.deinitialize(count: 1)
      stream.deallocate()
    }

    /// Inflates from `input` into `output`.
    /// - Returns: bytes consumed from `input` and bytes written to `output`.
    /// - Throws: `Failure` when the data is not valid gzip (bad header, bad CRC, corrupt blocks).
    func inflate(
      input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer
    ) throws -> (consumed: Int, written: Int) {
      guard let outBase = output.baseAddress, output.count > 0 else { return (0, 0) }
      if atMemberEnd {
        // A further member follows: start it afresh.
        guard inflateReset(stream) == Z_OK else { throw Failure(description: "zlib could not reset") }
        atMemberEnd = false
      }
      guard let inBase = input.baseAddress, input.count > 0 else { return (0, 0) }
      let inStart = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: Bytef.self))
      let outStart = outBase.assumingMemoryBound(to: Bytef.self)
      stream.pointee.next_in = inStart
      stream.pointee.avail_in = UInt32(clamping: input.count)
      stream.pointee.next_out = outStart
      stream.pointee.avail_out = UInt32(clamping: output.count)
      let status = CZlib.inflate(stream, Z_NO_FLUSH)
      let consumed = stream.pointee.next_in - inStart
      let written = stream.pointee.next_out - outStart
      switch status {
      case Z_OK, Z_BUF_ERROR:
        return (consumed, written)
      case Z_STREAM_END:
        atMemberEnd = true
        return (consumed, written)
      case Z_DATA_ERROR:
        let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
        throw Failure(description: "corrupt gzip data (\(reason))")
      case Z_MEM_ERROR:
        throw Failure(description: "out of memory while decompressing")
      default:
        throw Failure(description: "zlib failed (status \(status))")
      }
    }
  }

  /// Streaming gzip compressor.
  final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// - Parameter level: 1 (fastest) to 9 (smallest); 6 is zlib's default.
    init(level: Int32 = 6) throws {
      stream = .allocate(capacity: 1)
      stream.initialize(to: z_stream())
      let status = inferline_deflateInit2(stream, level, 15 + 16)
      guard status == Z_OK else {
        stream.deallocate()
        throw Failure(description: "zlib could not start (status \(status))")
      }
    }

    deinit {
      deflateEnd(stream)
      stream.deinitialize(count: 1)
      stream.deallocate()
    }

    /// Compresses `input` (all of it) and hands every produced block to `sink`; `finish` ends the gzip member.
    func deflate(
      _ input: UnsafeRawBufferPointer, finish: Bool, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
      var out = [UInt8](repeating: 0, count: 1 << 16)
      let inStart = input.baseAddress.map {
        UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
      }
      stream.pointee.next_in = inStart
      stream.pointee.avail_in = UInt32(input.count)
      let flush = finish ? Z_FINISH : Z_NO_FLUSH
      while true {
        let (status, produced) = out.withUnsafeMutableBytes { buffer -> (Int32, Int) in
          let base = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
          stream.pointee.next_out = base
          stream.pointee.avail_out = UInt32(buffer.count)
          let status = CZlib.deflate(stream, flush)
          return (status, stream.pointee.next_out - base)
        }
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
          throw Failure(description: "zlib failed to compress (status \(status))")
        }
        if produced > 0 { try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
        if status == Z_STREAM_END { return }
        if !finish && stream.pointee.avail_in == 0 && produced < out.count { return }
      }
    }
  }
}
