import Foundation

/// A decoding error in words: what is wrong and where in the JSON (`DecodingError` prints as a Swift dump).
public enum DecodingErrorText {
  public static func describe(_ error: any Error) -> String {
    func path(_ keys: [any CodingKey]) -> String {
      let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
      return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
    }
    guard let e = error as? DecodingError else { return "not JSON (\(error.localizedDescription))" }
    switch e {
    case .keyNotFound(let key, let c): return "'\(key.stringValue)' is missing at \(path(c.codingPath))"
    case .typeMismatch(let type, let c): return "\(path(c.codingPath)) is not \(type)"
    case .valueNotFound(let type, let c): return "\(path(c.codingPath)) is null, not \(type)"
    case .dataCorrupted(let c):
      return c.codingPath.isEmpty ? "not valid JSON" : "\(path(c.codingPath)): \(c.debugDescription)"
    @unknown default: return "unreadable"
    }
  }
}
