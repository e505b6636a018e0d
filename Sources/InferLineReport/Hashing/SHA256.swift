internal import CCrypto
public import Foundation

/// SHA-256 and HMAC-SHA256 from the system's libcrypto (OpenSSL): the input files' digests in a report and the
/// seals of shard parts. The one place that calls it.
public enum SHA256 {
  /// A digest fed in blocks (a file of any size in constant memory). Not copyable: it owns OpenSSL's context.
  public struct Hasher: ~Copyable {
    private var context: UnsafeMutableRawPointer?

    public init() { context = inferline_sha256_begin() }

    deinit { if let context { inferline_sha256_discard(context) } }

    public mutating func update(_ data: Data) {
      guard let context else { return }
      data.withUnsafeBytes { _ = inferline_sha256_update(context, $0.baseAddress, $0.count) }
    }

    /// The 32-byte digest; ends the hasher.
    public consuming func finalize() -> [UInt8] {
      var digest = [UInt8](repeating: 0, count: 32)
      if let context {
        let ok = digest.withUnsafeMutableBufferPointer { inferline_sha256_end(context, $0.baseAddress) }
        precondition(ok == 1, "OpenSSL's SHA-256 failed")
      }
      context = nil
      return digest
    }
  }

  /// The digest of `data`, 32 bytes.
  public static func hash(_ data: Data) -> [UInt8] {
    var hasher = Hasher()
    hasher.update(data)
    return hasher.finalize()
  }

  /// HMAC-SHA256 of `data` under `key` (RFC 2104), 32 bytes.
  public static func hmac(key: Data, _ data: Data) -> [UInt8] {
    var code = [UInt8](repeating: 0, count: 32)
    let ok = key.withUnsafeBytes { k in
      data.withUnsafeBytes { d in
        code.withUnsafeMutableBufferPointer { c in
          inferline_hmac_sha256(
            k.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(k.count),
            d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, c.baseAddress)
        }
      }
    }
    precondition(ok == 1, "OpenSSL's HMAC-SHA256 failed")
    return code
  }

  /// Lowercase hex of bytes.
  public static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
