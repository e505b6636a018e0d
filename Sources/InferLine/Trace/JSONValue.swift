/// A JSON value parsed from bytes: what the span reader walks. Numbers keep their text (64-bit ids and nanosecond
/// times do not survive a Double), objects their key order.
///
/// `JSONValue.parse` is a plain recursive-descent parser over a byte buffer (RFC 8259, nesting up to 512 deep),
/// several times faster than Foundation's `JSONSerialization` and `JSONDecoder` on OTLP files: no bridging, one
/// pass, strings made only where they are values or keys. - Complexity: O(bytes).
enum JSONValue: Sendable, Equatable {
  case object([(key: String, value: JSONValue)])
  case array([JSONValue])
  case string(String)
  case number(String)
  case bool(Bool)
  case null

  static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.object(let x), .object(let y)): return x.map(\.key) == y.map(\.key) && x.map(\.value) == y.map(\.value)
    case (.array(let x), .array(let y)): return x == y
    case (.string(let x), .string(let y)), (.number(let x), .number(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.null, .null): return true
    default: return false
    }
  }

  /// The member `key` of an object (the first, when repeated); nil for other values.
  subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.key == key }?.value
  }

  var string: String? { if case .string(let s) = self { return s } else { return nil } }
  var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
  var isObject: Bool { if case .object = self { return true } else { return false } }

  /// A scalar as text (strings as they are, numbers as written, booleans as `true`/`false`); nil for the rest.
  var text: String? {
    switch self {
    case .string(let s), .number(let s): return s
    case .bool(let b): return b ? "true" : "false"
    default: return nil
    }
  }

  /// An integer given as a number or as a string of digits (OTLP writes 64-bit integers as strings).
  var integer: Int64? {
    switch self {
    case .string(let s), .number(let s): return Int64(s)
    default: return nil
    }
  }

  struct ParseError: Error { var offset: Int }

  /// Parses one JSON value that spans the whole of `bytes` (whitespace around it allowed).
  static func parse(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> JSONValue {
    try bytes.withUnsafeBufferPointer { (buffer) throws(ParseError) -> JSONValue in
      var parser = Parser(bytes: buffer, index: 0)
      let value = try parser.value(depth: 0)
      parser.skipWhitespace()
      guard parser.index == buffer.count else { throw ParseError(offset: parser.index) }
      return value
    }
  }

  private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int

    mutating func skipWhitespace() {
      while index < bytes.count,
        bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
      {
        index += 1
      }
    }

    mutating func value(depth: Int) throws(ParseError) -> JSONValue {
      skipWhitespace()
      guard index < bytes.count, depth < 512 else { throw ParseError(offset: index) }
      switch bytes[index] {
      case 0x7B:  // {
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x7D {
          index += 1
          return .object(members)
        }
        while true {
          skipWhitespace()
          guard index < bytes.count, bytes[index] == 0x22 else { throw ParseError(offset: index) }
          let key = try string()
          skipWhitespace()
          guard index < bytes.count, bytes[index] == 0x3A else { throw ParseError(offset: index) }
          index += 1
          members.append((key, try value(depth: depth + 1)))
          skipWhitespace()
          guard index < bytes.count else { throw ParseError(offset: index) }
          if bytes[index] == 0x2C {
            index += 1
          } else if bytes[index] == 0x7D {
            index += 1
            return .object(members)
          } else {
            throw ParseError(offset: index)
          }
        }
      case 0x5B:  // [
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x5D {
          index += 1
          return .array(items)
        }
        while true {
          items.append(try value(depth: depth + 1))
          skipWhitespace()
          guard index < bytes.count else { throw ParseError(offset: index) }
          if bytes[index] == 0x2C {
            index += 1
          } else if bytes[index] == 0x5D {
            index += 1
            return .array(items)
          } else {
            throw ParseError(offset: index)
          }
        }
      case 0x22:
        return .string(try string())
      case 0x74:
        try literal("true")
        return .bool(true)
      case 0x66:
        try literal("false")
        return .bool(false)
      case 0x6E:
        try literal("null")
        return .null
      default:
        return .number(try number())
      }
    }

    mutating func literal(_ word: StaticString) throws(ParseError) {
      let n = word.utf8CodeUnitCount
      guard index + n <= bytes.count else { throw ParseError(offset: index) }
      for k in 0..<n where bytes[index + k] != word.utf8Start[k] { throw ParseError(offset: index) }
      index += n
    }

    mutating func number() throws(ParseError) -> String {
      let start = index
      if index < bytes.count, bytes[index] == 0x2D { index += 1 }
      var digits = 0
      while index < bytes.count {
        let b = bytes[index]
        if b &- 0x30 < 10 {
          digits += 1
        } else if !(b == 0x2E || b == 0x65 || b == 0x45 || b == 0x2B || b == 0x2D) {
          break
        }
        index += 1
      }
      guard digits > 0 else { throw ParseError(offset: start) }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    /// A string at `index` (its opening quote), unescaped.
    mutating func string() throws(ParseError) -> String {
      index += 1
      let start = index
      // The common case: no escapes.
      while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
      guard index < bytes.count else { throw ParseError(offset: start) }
      if bytes[index] == 0x22 {
        defer { index += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
      }
      var out = Array(bytes[start..<index])
      while index < bytes.count {
        let b = bytes[index]
        if b == 0x22 {
          index += 1
          return String(decoding: out, as: UTF8.self)
        }
        guard b >= 0x20 else { throw ParseError(offset: index) }
        if b != 0x5C {
          out.append(b)
          index += 1
          continue
        }
        guard index + 1 < bytes.count else { throw ParseError(offset: index) }
        let e = bytes[index + 1]
        index += 2
        switch e {
        case 0x22, 0x5C, 0x2F: out.append(e)
        case 0x62: out.append(0x08)
        case 0x66: out.append(0x0C)
        case 0x6E: out.append(0x0A)
        case 0x72: out.append(0x0D)
        case 0x74: out.append(0x09)
        case 0x75:
          var scalar = try hex4()
          if scalar >= 0xD800 && scalar < 0xDC00, index + 1 < bytes.count, bytes[index] == 0x5C,
            bytes[index + 1] == 0x75
          {
            index += 2
            let low = try hex4()
            if low >= 0xDC00 && low < 0xE000 {
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else {
              out.append(contentsOf: Array("\u{FFFD}".utf8))
              scalar = low
            }
          }
          out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
        default:
          throw ParseError(offset: index - 1)
        }
      }
      throw ParseError(offset: start)
    }

    mutating func hex4() throws(ParseError) -> UInt32 {
      guard index + 4 <= bytes.count else { throw ParseError(offset: index) }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let b = bytes[index]
        let d: UInt32
        switch b {
        case 0x30...0x39: d = UInt32(b - 0x30)
        case 0x41...0x46: d = UInt32(b - 0x41 + 10)
        case 0x61...0x66: d = UInt32(b - 0x61 + 10)
        default: throw ParseError(offset: index)
        }
        v = v << 4 | d
        index += 1
      }
      return v
    }
  }
}
