/// One problem found in an input file, located to its line, in the form compilers use:
/// `file:line: error: message` (or `warning:`).
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible, Codable {
  public enum Severity: String, Sendable, Codable {
    case error, warning
  }

  public var severity: Severity
  public var file: String
  /// 1-based; nil for a problem with the file as a whole.
  public var line: Int?
  public var message: String

  public init(_ severity: Severity, file: String, line: Int?, _ message: String) {
    self.severity = severity
    self.file = file
    self.line = line
    self.message = message
  }

  public var description: String {
    "\(file)\(line.map { ":\($0)" } ?? ""): \(severity.rawValue): \(message)"
  }
}

/// Every problem found while loading inputs; thrown when at least one is an error.
public struct DiagnosticsError: Error, CustomStringConvertible, Sendable {
  public var diagnostics: [Diagnostic]

  package init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

  public var description: String {
    let errors = diagnostics.filter { $0.severity == .error }.count
    return (diagnostics.map(\.description) + ["\(errors) error\(errors == 1 ? "" : "s") found"])
      .joined(separator: "\n")
  }
}

/// Collects diagnostics for one file.
package struct DiagnosticSink {
  let file: String
  package var items: [Diagnostic] = []

  package init(file: String) { self.file = file }

  package mutating func error(_ line: Int?, _ message: String) {
    items.append(Diagnostic(.error, file: file, line: line, message))
  }
  mutating func warning(_ line: Int?, _ message: String) {
    items.append(Diagnostic(.warning, file: file, line: line, message))
  }
  package var hasErrors: Bool { items.contains { $0.severity == .error } }
}

/// Edit distance, for "did you mean" suggestions on misspelt keys.
/// - Complexity: O(a x b).
func editDistance(_ a: String, _ b: String) -> Int {
  let x = Array(a.lowercased()), y = Array(b.lowercased())
  if x.isEmpty { return y.count }
  if y.isEmpty { return x.count }
  var previous = Array(0...y.count)
  var current = previous
  for i in 1...x.count {
    current[0] = i
    for j in 1...y.count {
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
    }
    swap(&previous, &current)
  }
  return previous[y.count]
}

/// " (did you mean 'stages'?)" when a known word is close to `word`, else "".
func suggestion(for word: String, among known: [String]) -> String {
  guard let best = known.min(by: { editDistance(word, $0) < editDistance(word, $1) }),
    editDistance(word, best) <= max(2, best.count / 3), editDistance(word, best) < word.count
  else { return "" }
  return " (did you mean '\(best)'?)"
}
