import InferLine
import InferLineNight

/// Text from input files made safe inside Markdown (summary.md goes into change tickets, which render it):
/// Markdown and HTML punctuation that can start emphasis, code, a link, an image, a table cell, a heading, a tag
/// or an entity is backslash-escaped (our lines start with `- `, so `-`, `+` and `>` cannot start a block), line breaks become spaces (no new heading or list item),
/// and control and bidirectional-override characters are shown as escapes.
enum MarkdownText {
  static let special: Set<Character> = [
    "\\", "`", "*", "_", "{", "}", "[", "]", "(", ")", "#", "!", "|", "<", "&",
  ]

  /// - Complexity: O(characters).
  static func escape(_ text: String) -> String {
    var result = ""
    for c in text {
      if c.isNewline {
        result.append(" ")
      } else if special.contains(c) {
        result.append("\\")
        result.append(c)
      } else {
        result += String(c)
      }
    }
    return TerminalText.safe(result)
  }

  /// The Markdown inferline writes, as plain text for a terminal: the escapes `escape` added removed, and `**`
  /// around bold text dropped (headings and list dashes read as they are). - Complexity: O(characters).
  static func plain(_ markdown: String) -> String {
    var result = ""
    var characters = markdown.makeIterator()
    var pending = characters.next()
    while let c = pending {
      let next = characters.next()
      if c == "\\", let n = next, special.contains(n) {
        result.append(n)
        pending = characters.next()
      } else if c == "*", next == "*" {
        pending = characters.next()
      } else {
        result.append(c)
        pending = next
      }
    }
    return result
  }
}
