public import Foundation

/// A report.json's content without what differs between runs of the same inputs (`timings` and `generatedAt`, at
/// any depth): what a merged, configured or repeated run must equal.
/// - Throws: when the data is not JSON.
public func comparableReport(_ data: Data) throws -> NSDictionary {
  func strip(_ value: Any) -> Any {
    if let d = value as? [String: Any] {
      return d.filter { $0.key != "timings" && $0.key != "generatedAt" }.mapValues(strip)
    }
    if let a = value as? [Any] { return a.map(strip) }
    return value
  }
  return strip(try JSONSerialization.jsonObject(with: data)) as! NSDictionary
}
