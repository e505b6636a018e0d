import Foundation
package import Yams

/// A YAML file read into Yams' node tree, which keeps the line of every value for diagnostics.
package struct YAMLDocument {
  let path: String
  package let root: Node

  /// Reads and parses a YAML file. Syntax errors become one diagnostic with the line libyaml reports.
  package static func load(path: String, sink: inout DiagnosticSink) -> YAMLDocument? {
    guard let data = FileManager.default.contents(atPath: path) else {
      sink.error(nil, FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
      return nil
    }
    guard let text = String(data: data, encoding: .utf8) else {
      sink.error(nil, "not UTF-8 text")
      return nil
    }
    do {
      guard let root = try Yams.compose(yaml: text) else {
        sink.error(nil, "the file is empty")
        return nil
      }
      return YAMLDocument(path: path, root: root)
    } catch let error as YamlError {
      switch error {
      case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
        .composer(_, let problem, let mark, _):
        sink.error(mark.line, "YAML syntax: \(problem)")
      case .duplicatedKeysInMapping(let duplicates, _):
        sink.error(nil, "duplicate keys: \(duplicates.joined(separator: ", "))")
      default:
        sink.error(nil, "YAML: \(error)")
      }
      return nil
    } catch {
      sink.error(nil, "YAML: \(error)")
      return nil
    }
  }
}

/// Typed access to a YAML mapping that reports unknown keys and wrong types with their lines.
package struct YAMLMapping {
  let node: Node
  let pairs: [(key: String, keyLine: Int?, value: Node)]

  /// Nil (with an error) when `node` is not a mapping.
  package init?(_ node: Node, what: String, sink: inout DiagnosticSink) {
    guard case .mapping(let mapping) = node else {
      sink.error(node.line, "\(what) must be a mapping of keys to values")
      return nil
    }
    self.node = node
    pairs = mapping.map { (key: $0.key.string ?? "\($0.key)", keyLine: $0.key.line, value: $0.value) }
  }

  var line: Int? { node.line }

  /// Reports every key not in `known`, with a suggestion for near misses.
  /// A key that is not a name is not repeated (the file may be another kind, such as a secrets file), and after
  /// five unknown keys the rest are counted in one line.
  package func checkKeys(_ known: [String], in what: String, sink: inout DiagnosticSink) {
    let unknown = pairs.filter { !known.contains($0.key) }
    for pair in unknown.prefix(5) {
      let key =
        TerminalText.looksLikeName(pair.key)
        ? "unknown key '\(pair.key)'\(suggestion(for: pair.key, among: known))"
        : "a key that is not a name (\(pair.key.count) characters, not shown)"
      sink.error(pair.keyLine, "\(key) in \(what); known keys: \(known.joined(separator: ", "))")
    }
    if unknown.count > 5 {
      sink.error(
        unknown[5].keyLine,
        "\(unknown.count - 5) more unknown keys in \(what)\(unknown.count == pairs.count ? ": none of its keys is one, so this may be another kind of file" : "")"
      )
    }
  }

  package subscript(key: String) -> Node? { pairs.first { $0.key == key }?.value }

  func string(_ key: String, required: Bool, in what: String, sink: inout DiagnosticSink) -> String? {
    guard let value = self[key] else {
      if required { sink.error(line, "\(what) has no '\(key)'") }
      return nil
    }
    guard case .scalar(let scalar) = value, !scalar.string.isEmpty else {
      sink.error(value.line, "'\(key)' in \(what) must be a non-empty text value")
      return nil
    }
    return scalar.string
  }

  func number(_ key: String, required: Bool, in what: String, sink: inout DiagnosticSink) -> (Double, Int?)? {
    guard let value = self[key] else {
      if required { sink.error(line, "\(what) has no '\(key)'") }
      return nil
    }
    guard case .scalar(let scalar) = value, let number = Double(scalar.string.trimmingCharacters(in: .whitespaces)),
      number.isFinite
    else {
      sink.error(value.line, "'\(key)' in \(what) must be a number (got '\(value.string ?? "a list or mapping")')")
      return nil
    }
    return (number, value.line)
  }
}

extension Node {
  package var line: Int? { mark?.line }
}
