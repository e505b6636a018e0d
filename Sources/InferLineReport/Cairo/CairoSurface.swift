internal import CCairo
internal import CPNGWriter
public import Foundation

/// A problem Cairo reported, with its own words and the file it concerned.
public struct CairoError: LocalizedError, CustomStringConvertible {
  public var description: String
  public var errorDescription: String? { description }

  /// "cairo could not <doing> <path>: <Cairo's reason>", with what a write error usually means.
  init(_ doing: String, path: String?, status: cairo_status_t) {
    var text =
      "cairo could not \(doing)\(path.map { " \($0)" } ?? ""): \(String(cString: cairo_status_to_string(status)))"
    if status == CAIRO_STATUS_WRITE_ERROR { text += " (is the disk full, or the folder not writable?)" }
    description = text
  }

  /// A problem writing a PNG (libpng's words).
  init(writingPNG path: String, reason: String) {
    description = "could not write \(path): \(reason) (is the disk full, or the folder not writable?)"
  }
}

/// A Cairo drawing surface with its context: SVG written to a file, or an image kept in memory for PNG.
///
/// Owns both C objects and destroys them in `deinit`; every initialiser checks Cairo's status.
public final class CairoCanvas {
  public enum Kind {
    case svg(path: String)
    case image
  }

  let surface: OpaquePointer
  let context: OpaquePointer
  /// The SVG file, for messages.
  let path: String?
  public let width: Double
  public let height: Double

  /// - Parameters: width and height in points (SVG) or pixels (image).
  public init(_ kind: Kind, width: Double, height: Double) throws {
    self.width = width
    self.height = height
    switch kind {
    case .svg(let path):
      self.path = path
      surface = cairo_svg_surface_create(path, width, height)
    case .image:
      path = nil
      surface = cairo_image_surface_create(
        CAIRO_FORMAT_ARGB32, Int32((width * 2).rounded(.up)), Int32((height * 2).rounded(.up)))
    }
    let status = cairo_surface_status(surface)
    guard status == CAIRO_STATUS_SUCCESS else {
      cairo_surface_destroy(surface)
      throw CairoError("create", path: self.path, status: status)
    }
    context = cairo_create(surface)
    if case .image = kind { cairo_scale(context, 2, 2) }  // PNGs at twice the resolution, same coordinates
  }

  /// Loads a PNG (for checking rendered pages). Pixel coordinates are the image's own.
  public init(png path: String) throws {
    surface = cairo_image_surface_create_from_png(path)
    self.path = path
    let status = cairo_surface_status(surface)
    guard status == CAIRO_STATUS_SUCCESS else {
      cairo_surface_destroy(surface)
      throw CairoError("read", path: path, status: status)
    }
    width = Double(cairo_image_surface_get_width(surface))
    height = Double(cairo_image_surface_get_height(surface))
    context = cairo_create(surface)
    pixelScale = 1
  }

  /// Device pixels per point (2 for the charts' PNGs, 1 for loaded images).
  var pixelScale = 2

  deinit {
    cairo_destroy(context)
    cairo_surface_destroy(surface)
  }

  /// Fills the whole canvas with an RGB colour (components 0...1).
  public func fill(red: Double, green: Double, blue: Double) {
    cairo_set_source_rgb(context, red, green, blue)
    cairo_paint(context)
  }

  /// Fills a rectangle; coordinates in points from the top left.
  public func fillRectangle(
    x: Double, y: Double, width: Double, height: Double, red: Double, green: Double, blue: Double
  ) {
    cairo_set_source_rgb(context, red, green, blue)
    cairo_rectangle(context, x, y, width, height)
    cairo_fill(context)
  }

  /// Draws text with its baseline starting at (x, y).
  public func text(_ string: String, x: Double, y: Double, size: Double) {
    cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    cairo_set_font_size(context, size)
    cairo_set_source_rgb(context, 0, 0, 0)
    cairo_move_to(context, x, y)
    cairo_show_text(context, string)
  }

  // MARK: Drawing primitives for the chart layer (coordinates in points from the top left)

  public func setColor(red: Double, green: Double, blue: Double, alpha: Double = 1) {
    cairo_set_source_rgba(context, red, green, blue, alpha)
  }

  /// Strokes a polyline.
  public func strokeLine(_ points: [(Double, Double)], width: Double, dash: [Double] = []) {
    guard let first = points.first else { return }
    cairo_set_line_width(context, width)
    cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
    dash.withUnsafeBufferPointer { cairo_set_dash(context, $0.baseAddress, Int32($0.count), 0) }
    cairo_move_to(context, first.0, first.1)
    for p in points.dropFirst() { cairo_line_to(context, p.0, p.1) }
    cairo_stroke(context)
    cairo_set_dash(context, nil, 0, 0)
  }

  public func fillRectangle(x: Double, y: Double, width: Double, height: Double) {
    cairo_rectangle(context, x, y, width, height)
    cairo_fill(context)
  }

  public func fillCircle(x: Double, y: Double, radius: Double) {
    cairo_new_sub_path(context)
    cairo_arc(context, x, y, radius, 0, 2 * Double.pi)
    cairo_fill(context)
  }

  /// Limits drawing to a rectangle until `resetClip`.
  public func clip(x: Double, y: Double, width: Double, height: Double) {
    cairo_rectangle(context, x, y, width, height)
    cairo_clip(context)
  }

  public func resetClip() { cairo_reset_clip(context) }

  /// Width of a text at a size, points.
  public func textWidth(_ string: String, size: Double, bold: Bool = false) -> Double {
    selectFont(size: size, bold: bold)
    var extents = cairo_text_extents_t()
    cairo_text_extents(context, string, &extents)
    return extents.x_advance
  }

  func selectFont(size: Double, bold: Bool) {
    cairo_select_font_face(
      context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
    cairo_set_font_size(context, size)
  }

  /// Draws text in the current colour; `anchor` 0 left, 0.5 centre, 1 right of x; `rotated` turns it a quarter
  /// anticlockwise about (x, y).
  public func drawText(
    _ string: String, x: Double, y: Double, size: Double, anchor: Double = 0, bold: Bool = false, rotated: Bool = false
  ) {
    let width = textWidth(string, size: size, bold: bold)
    cairo_save(context)
    cairo_translate(context, x, y)
    if rotated { cairo_rotate(context, -Double.pi / 2) }
    cairo_move_to(context, -anchor * width, 0)
    cairo_show_text(context, string)
    cairo_restore(context)
  }

  /// The RGB of the image canvas at a point (components 0...255; chart images hold two pixels per point).
  public func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
    cairo_surface_flush(surface)
    let data = cairo_image_surface_get_data(surface)!
    let stride = Int(cairo_image_surface_get_stride(surface))
    let p = data + (pixelScale * y) * stride + (pixelScale * x) * 4  // ARGB32, native order: B G R A on little-endian
    return (p[2], p[1], p[0])
  }

  /// Writes an image canvas as PNG: the pixels Cairo's own writer gives (premultiplied alpha undone as Cairo undoes
  /// it), without row filters and at a low deflate level (libpng's `PNG_IMAGE_FLAG_FAST`, in `CPNGWriter`). Cairo's writer
  /// tries every filter on every row at the default level: several times slower for files about a third larger.
  /// - Complexity: O(pixels).
  public func writePNG(to path: String) throws {
    cairo_surface_flush(surface)
    guard let data = cairo_image_surface_get_data(surface) else {
      throw CairoError(writingPNG: path, reason: "the image has no pixels")
    }
    var message = [CChar](repeating: 0, count: 256)
    let written = inferline_write_png(
      data, cairo_image_surface_get_width(surface), cairo_image_surface_get_height(surface),
      cairo_image_surface_get_stride(surface), path, &message, message.count)
    guard written != 0 else {
      throw CairoError(
        writingPNG: path,
        reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
  }

  /// Finishes the surface: an SVG file is complete on disk after this.
  public func finish() throws {
    cairo_surface_finish(surface)
    let status = cairo_surface_status(surface)
    guard status == CAIRO_STATUS_SUCCESS else {
      throw CairoError("finish", path: path, status: status)
    }
  }
}
