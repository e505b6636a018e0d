internal import CLibXML2
import Foundation

/// A parsed XML (SVG) document, owned; parse errors carry libxml2's message and line.
public final class MarkupDocument {
  private let document: xmlDocPtr

  public struct ParseError: Error, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
  }

  /// Parses XML text. Network access and entity expansion stay off.
  public init(xml: String) throws {
    inferline_xml_silence_errors()
    xmlResetLastError()
    let bytes = Array(xml.utf8)
    let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
    let parsed = bytes.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
        xmlReadMemory($0, Int32(buffer.count), "memory.xml", nil, options)
      }
    }
    guard let parsed else {
      if let error = xmlGetLastError() {
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        throw ParseError(
          line: Int(error.pointee.line), message: message.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      throw ParseError(line: 0, message: "not XML")
    }
    document = parsed
  }

  /// Parses HTML (libxml2's HTML parser: HTML5 void elements and all), for checking a written report.
  public init(html: String) throws {
    inferline_xml_silence_errors()
    let bytes = Array(html.utf8)
    let options = Int32(HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue)
    let parsed = bytes.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
        htmlReadMemory($0, Int32(buffer.count), "index.html", "UTF-8", options)
      }
    }
    guard let parsed else { throw ParseError(line: 0, message: "not HTML") }
    document = parsed
  }

  /// One element: its name, attributes and the names of its element children.
  public struct Element {
    public var name: String
    public var attributes: [String: String]
    public var children: [String]
  }

  /// Every element of the document, in document order.
  public var elements: [Element] {
    var result: [Element] = []
    func text(_ p: UnsafePointer<xmlChar>?) -> String {
      p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) } ?? ""
    }
    func walk(_ node: xmlNodePtr?) {
      var current = node
      while let n = current {
        if n.pointee.type == XML_ELEMENT_NODE {
          var attributes: [String: String] = [:]
          var a = n.pointee.properties
          while let attribute = a {
            let value = xmlNodeGetContent(UnsafeMutableRawPointer(attribute).assumingMemoryBound(to: xmlNode.self))
            attributes[text(attribute.pointee.name)] = text(value)
            if let value { inferline_xmlFree(value) }
            a = attribute.pointee.next
          }
          var children: [String] = []
          var c = n.pointee.children
          while let child = c {
            if child.pointee.type == XML_ELEMENT_NODE { children.append(text(child.pointee.name)) }
            c = child.pointee.next
          }
          result.append(Element(name: text(n.pointee.name), attributes: attributes, children: children))
        }
        walk(n.pointee.children)
        current = n.pointee.next
      }
    }
    walk(xmlDocGetRootElement(document))
    return result
  }

  deinit { xmlFreeDoc(document) }

  /// The root element's name.
  public var rootName: String {
    guard let root = xmlDocGetRootElement(document) else { return "" }
    return String(cString: UnsafeRawPointer(root.pointee.name).assumingMemoryBound(to: CChar.self))
  }

  /// Number of elements with the given local name anywhere in the document.
  public func count(elementsNamed name: String) -> Int {
    func walk(_ node: xmlNodePtr?) -> Int {
      var total = 0
      var current = node
      while let n = current {
        if n.pointee.type == XML_ELEMENT_NODE,
          String(cString: UnsafeRawPointer(n.pointee.name).assumingMemoryBound(to: CChar.self)) == name
        {
          total += 1
        }
        total += walk(n.pointee.children)
        current = n.pointee.next
      }
      return total
    }
    return walk(xmlDocGetRootElement(document))
  }
}
