import Foundation

/// A decoding error in words: what is wrong and where in the JSON (`DecodingError` prints as a Swift dump).
public enum DecodingErrorText {
  /// Where in the document a decoding error is (empty for other errors).
  public static func codingPath(_ error: any Error) -> [any CodingKey] {
    switch error as? DecodingError {
    case .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
      return c.codingPath
    default: return []
    }
  }

  /// A Swift type as a file's reader knows it: `a list`, `a number`, `text`.
  static func words(_ type: Any.Type) -> String {
    let name = "\(type)"
    if name.hasPrefix("Array") || name.contains("Sequence") || name.hasPrefix("[") { return "a list" }
    if name.hasPrefix("Dictionary") || name.contains("Mapping") || name.contains("KeyedContainer") {
      return "a mapping"
    }
    if ["Double", "Float", "Int", "Int64", "UInt64", "UInt32", "Int32"].contains(name) { return "a number (\(name))" }
    if name == "String" { return "text" }
    if name == "Bool" { return "true or false" }
    return name
  }

  public static func describe(_ error: any Error) -> String {
    func path(_ keys: [any CodingKey]) -> String {
      let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
      return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
    }
    guard let e = error as? DecodingError else { return "not JSON (\(error.localizedDescription))" }
    switch e {
    case .keyNotFound(let key, let c): return "'\(key.stringValue)' is missing at \(path(c.codingPath))"
    case .typeMismatch(let type, let c): return "\(path(c.codingPath)) is not \(words(type))"
    case .valueNotFound(let type, let c): return "\(path(c.codingPath)) is null, not \(words(type))"
    case .dataCorrupted(let c):
      return c.codingPath.isEmpty ? "not valid JSON" : "\(path(c.codingPath)): \(c.debugDescription)"
    @unknown default: return "unreadable"
    }
  }
}
