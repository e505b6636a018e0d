public import Foundation
import InferLine
public import InferLineNight

/// A shard's `part.json`: the part as JSON with a seal over its content, so that a part edited after the shard
/// wrote it (by hand, by a tool, by a disk) is refused by the merge instead of merged.
///
/// The seal is `sha256:HEX` of the part's JSON with an empty seal, or, when `INFERLINE_PART_KEY` is set for the
/// shards and the merge, `hmac-sha256:HEX` keyed with it: the hash finds edits, the key also finds a forger who
/// recomputed the hash. Either way the merge checks every figure as well (`NightShards.Part.check`).
public enum PartFile {
  /// The environment variable holding the key parts are signed with.
  public static let keyVariable = "INFERLINE_PART_KEY"

  /// The key from the environment, nil when unset or empty.
  public static func environmentKey() -> String? {
    ProcessInfo.processInfo.environment[keyVariable].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// The part as sealed JSON. - Complexity: two encodings of the part.
  public static func encode(_ part: NightShards.Part, key: String? = environmentKey()) throws -> Data {
    var sealed = part
    sealed.seal = try seal(part, key: key)
    return try ReportWriter.encoder().encode(sealed)
  }

  /// A part read from `data` (from `file`, for messages): the format and version this inferline merges, and a seal
  /// that matches its content (and `key`, when the part was signed).
  /// - Throws: `InputError` naming the file and what to do.
  public static func decode(_ data: Data, file: String, key: String? = environmentKey()) throws -> NightShards.Part {
    let part: NightShards.Part
    do {
      part = try ReportWriter.decoder().decode(NightShards.Part.self, from: data)
    } catch {
      throw InputError(
        file: file, "not a part of a sharded report: \(DecodingErrorText.describe(error))",
        fix: "give the part.json files `inferline report --shard K/N` wrote")
    }
    guard part.format == NightShards.Part.format else {
      throw InputError(
        file: file,
        "not a part of a sharded report (its format is '\(TerminalText.safe(String(part.format.prefix(60))))')",
        fix: "give the part.json files `inferline report --shard K/N` wrote")
    }
    guard part.version == NightShards.Part.currentVersion else {
      throw InputError(
        file: file,
        "a part of version \(part.version), this inferline merges version \(NightShards.Part.currentVersion)",
        fix: "run the shards and the merge with the same inferline")
    }
    let found = part.seal ?? ""
    if found.hasPrefix("hmac-sha256:") && key == nil {
      throw InputError(
        file: file, "the part is signed, and \(keyVariable) is not set",
        fix: "set \(keyVariable) to the key the shards ran with")
    }
    if key != nil && !found.hasPrefix("hmac-sha256:") {
      throw InputError(
        file: file, "the part is not signed, and \(keyVariable) is set: it was not written by a shard with the key",
        fix: "run the shards with \(keyVariable) set, or unset it for the merge")
    }
    guard found == (try seal(part, key: key)) else {
      throw InputError(
        file: file,
        key == nil
          ? "the part was changed after the shard wrote it (its content does not match its seal)"
          : "the part's signature does not match (changed after the shard wrote it, or signed with another key)",
        fix: "run the shard again, and merge the part as it wrote it")
    }
    return part
  }

  /// The seal of a part's content: the part's JSON with no seal, hashed (or signed with `key`).
  static func seal(_ part: NightShards.Part, key: String?) throws -> String {
    var bare = part
    bare.seal = nil
    let data = try ReportWriter.encoder().encode(bare)
    guard let key else { return "sha256:" + hex(SHA256.hash(data)) }
    return "hmac-sha256:" + hex(SHA256.hmac(key: Data(key.utf8), data))
  }

  static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    digest.map { String(format: "%02x", $0) }.joined()
  }
}
