internal import CLibXML2
import Foundation

/// Rewrites a Cairo SVG for inlining: every `id` (Cairo writes `glyph0-0`, `clip1`, `surface5` into every file)
/// gets a per-chart prefix, with every reference to it (`href="#..."`, `url(#...)`) updated, so several charts
/// share one page without clashes; adds `<title>`, `<desc>`, `role="img"` and `aria-labelledby` for screen
/// readers; drops the XML declaration. All through libxml2, so text is escaped by the serializer.
public enum SVGPostProcessor {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  public static func process(_ svg: String, idPrefix: String, title: String, description: String) throws -> String {
    let prefix = idPrefix.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    inferline_xml_silence_errors()
    let bytes = Array(svg.utf8)
    let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
    guard
      let doc = bytes.withUnsafeBufferPointer({ b in
        b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) {
          xmlReadMemory($0, Int32(b.count), "chart.svg", nil, options)
        }
      })
    else { throw Failure(description: "the chart's SVG does not parse") }
    defer { xmlFreeDoc(doc) }
    guard let root = xmlDocGetRootElement(doc) else {
      throw Failure(description: "the chart's SVG has no root element")
    }

    func name(_ node: xmlNodePtr) -> String {
      String(cString: UnsafeRawPointer(node.pointee.name).assumingMemoryBound(to: CChar.self))
    }
    /// References: `href="#id"` (plain or xlink) and `url(#id)` in any attribute; colours are left alone.
    func rewrite(_ value: String, attribute: String) -> String {
      var v = value
      if attribute == "href", v.hasPrefix("#") { v = "#\(prefix)-" + v.dropFirst() }
      return v.replacingOccurrences(of: "url(#", with: "url(#\(prefix)-")
    }
    func walk(_ node: xmlNodePtr?) {
      var current = node
      while let n = current {
        if n.pointee.type == XML_ELEMENT_NODE {
          var attribute = n.pointee.properties
          while let a = attribute {
            let attributeName = String(cString: UnsafeRawPointer(a.pointee.name).assumingMemoryBound(to: CChar.self))
            if let raw = xmlNodeGetContent(UnsafeMutableRawPointer(a).assumingMemoryBound(to: xmlNode.self)) {
              let value = String(cString: UnsafeRawPointer(raw).assumingMemoryBound(to: CChar.self))
              inferline_xmlFree(raw)
              var updated = value
              if attributeName == "id" {
                updated = "\(prefix)-\(value)"
              } else if value.contains("#") {
                updated = rewrite(value, attribute: attributeName)
              }
              if updated != value { xmlSetNsProp(n, a.pointee.ns, a.pointee.name, updated) }
            }
            attribute = a.pointee.next
          }
        }
        walk(n.pointee.children)
        current = n.pointee.next
      }
    }
    walk(root)
    // Accessibility: title and description first, then the drawing.
    let titleID = "\(prefix)-title", descID = "\(prefix)-desc"
    let descNode = xmlNewDocNode(doc, root.pointee.ns, "desc", nil)!
    xmlNodeAddContent(descNode, description)
    xmlSetProp(descNode, "id", descID)
    let titleNode = xmlNewDocNode(doc, root.pointee.ns, "title", nil)!
    xmlNodeAddContent(titleNode, title)
    xmlSetProp(titleNode, "id", titleID)
    if let first = root.pointee.children {
      xmlAddPrevSibling(first, descNode)
      xmlAddPrevSibling(descNode, titleNode)
    } else {
      xmlAddChild(root, titleNode)
      xmlAddChild(root, descNode)
    }
    xmlSetProp(root, "role", "img")
    xmlSetProp(root, "aria-labelledby", "\(titleID) \(descID)")
    // Serialize the root element alone (no XML declaration).
    guard let buffer = xmlBufferCreate() else { throw Failure(description: "libxml2 could not allocate a buffer") }
    defer { xmlBufferFree(buffer) }
    xmlNodeDump(buffer, doc, root, 0, 0)
    guard let content = xmlBufferContent(buffer) else {
      throw Failure(description: "libxml2 could not serialize the chart")
    }
    return String(cString: UnsafeRawPointer(content).assumingMemoryBound(to: CChar.self))
  }
}
