/// A problem with something the user gave us: a file, a line in it, a flag.
///
/// The description reads like a compiler diagnostic, `file:line: error: message`, followed by what to do about it.
/// The library throws these and never prints; the command line prints `description` and picks the exit status.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file the problem is in, as the user named it; `nil` for problems with flags.
  public var file: String?
  /// 1-based line number in `file`, when the problem is on one line.
  public var line: Int?
  /// What is wrong.
  public var message: String
  /// What the user can do to fix it.
  public var fix: String?

  public init(file: String? = nil, line: Int? = nil, _ message: String, fix: String? = nil) {
    self.file = file
    self.line = line
    self.message = message
    self.fix = fix
  }

  public var description: String {
    var location = ""
    if let file { location = file + (line.map { ":\($0)" } ?? "") + ": " }
    var text = "\(location)error: \(message)"
    if let fix { text += "\n  fix: \(fix)" }
    return text
  }
}
