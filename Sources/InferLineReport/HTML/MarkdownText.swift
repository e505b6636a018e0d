import InferLine

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
}
