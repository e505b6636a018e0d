/// Text from input files made safe to print on a terminal: control characters (ESC, CR, BEL, ...), C1 controls
/// and bidirectional overrides are shown as `\u{...}` escapes, so a name cannot move the cursor, recolour the
/// screen, set the window title or reorder the surrounding text.
public enum TerminalText {
  /// - Parameter keepingLineBreaks: keep `\n` and `\t` (for whole messages; names get them escaped).
  /// - Complexity: O(characters).
  public static func safe(_ text: String, keepingLineBreaks: Bool = false) -> String {
    escaping(text) { isControl($0) && !(keepingLineBreaks && ($0 == "\n" || $0 == "\t")) || isBidi($0) }
  }

  /// Only the bidirectional marks, embeddings, overrides and isolates shown as escapes (for HTML, where other
  /// characters are escaped by the template engine). - Complexity: O(characters).
  public static func showingBidiControls(_ text: String) -> String { escaping(text, where: isBidi) }

  /// `text` with every scalar that `shouldEscape` picks written as `\u{hex}`.
  static func escaping(_ text: String, where shouldEscape: (Unicode.Scalar) -> Bool) -> String {
    guard text.unicodeScalars.contains(where: shouldEscape) else { return text }
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      if shouldEscape(scalar) {
        result += "\\u{\(String(scalar.value, radix: 16))}"
      } else {
        result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// C0 and C1 controls and DEL.
  static func isControl(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x00...0x1F, 0x7F...0x9F: true
    default: false
    }
  }

  /// Bidirectional marks, embeddings, overrides and isolates.
  static func isBidi(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
  }
}
