/// Text from input files made safe to print on a terminal: control characters (ESC, CR, BEL, ...), C1 controls
/// (NEL among them), the Unicode line and paragraph separators and bidirectional overrides are shown as `\u{...}`
/// escapes, so a name cannot move the cursor, recolour the screen, set the window title, reorder the surrounding
/// text, or start a new line (in a terminal, or in a YAML comment, where YAML 1.1 and libyaml read U+0085, U+2028
/// and U+2029 as line breaks).
public enum TerminalText {
  /// Whether `text` reads as a name a file of ours would hold (a column, a key: letters, digits, spaces and
  /// `_-.@#()[]`, at most 64 characters). Messages repeat only such text from a file that failed to parse: the
  /// first line of a password file or a key of a secrets file named by mistake is not echoed.
  public static func looksLikeName(_ text: String) -> Bool {
    text.count <= 64
      && text.unicodeScalars.allSatisfy {
        $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.@ #()[]".unicodeScalars.contains($0)
      }
  }

  /// - Parameter keepingLineBreaks: keep `\n` and `\t` (for whole messages; names get them escaped).
  /// - Complexity: O(characters).
  public static func safe(_ text: String, keepingLineBreaks: Bool = false) -> String {
    escaping(text) {
      isControl($0) && !(keepingLineBreaks && ($0 == "\n" || $0 == "\t")) || isBidi($0) || isUnicodeLineBreak($0)
    }
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
  package static func isControl(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x00...0x1F, 0x7F...0x9F: true
    default: false
    }
  }

  /// The line and paragraph separators (U+2028, U+2029): line breaks to YAML 1.1, JavaScript and many viewers.
  static func isUnicodeLineBreak(_ s: Unicode.Scalar) -> Bool { s.value == 0x2028 || s.value == 0x2029 }

  /// Bidirectional marks, embeddings, overrides and isolates.
  package static func isBidi(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
  }
}
