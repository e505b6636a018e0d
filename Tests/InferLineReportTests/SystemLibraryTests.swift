import CCairo
import Foundation
import InferLineTestSupport
import Testing

@testable import InferLineReport

/// One real call into each C library, so a broken install fails here rather than in a report.
@Suite struct SystemLibraryTests {
  let scratch = TemporaryFolder("inferline-report")
  var folder: URL { scratch.url }

  /// OpenSSL's SHA-256 and HMAC-SHA256 against published answers (FIPS 180-2's "abc", RFC 4231's test cases 1
  /// and 2) and, for a file read in blocks, against Python's hashlib.
  @Test func sha256AndHMACGiveThePublishedAnswers() throws {
    #expect(
      SHA256.hex(SHA256.hash(Data("abc".utf8)))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      SHA256.hex(SHA256.hash(Data()))
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      SHA256.hex(SHA256.hmac(key: Data("Jefe".utf8), Data("what do ya want for nothing?".utf8)))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    #expect(
      SHA256.hex(SHA256.hmac(key: Data(repeating: 0x0b, count: 20), Data("Hi There".utf8)))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    // A file of 3 MB in 1 MB blocks, as report inputs are read.
    let path = folder.appendingPathComponent("blocks.bin").path
    let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let python = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(ReportWriter.sha256(path: path) == python.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  @Test func cairoDrawsPixelsAndWritesAPNG() throws {
    let canvas = try CairoCanvas(.image, width: 40, height: 20)
    canvas.fill(red: 1, green: 1, blue: 1)
    canvas.fillRectangle(x: 0, y: 0, width: 20, height: 20, red: 0, green: 0.5, blue: 1)
    let left = canvas.pixel(x: 5, y: 5)
    let right = canvas.pixel(x: 35, y: 5)
    #expect(left.red == 0 && left.blue == 255 && (127...128).contains(left.green))
    #expect(right == (255, 255, 255))
    let png = folder.appendingPathComponent("a.png").path
    try canvas.writePNG(to: png)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
    #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
  }

  /// Our PNG writer (libpng, fast) and Cairo's give the same pixels when Cairo reads them back, on a chart-like
  /// image with transparency and anti-aliased text and lines (premultiplied alpha undone as Cairo undoes it).
  @Test func ourPNGsHoldTheSamePixelsAsCairosWriter() throws {
    let canvas = try CairoCanvas(.image, width: 120, height: 60)
    canvas.setColor(red: 0.2, green: 0.4, blue: 0.8, alpha: 0.35)
    canvas.fillRectangle(x: 5, y: 5, width: 60, height: 40)
    canvas.setColor(red: 0.9, green: 0.1, blue: 0.1)
    canvas.strokeLine([(0, 50), (40, 10), (119, 30)], width: 1.3, dash: [3, 2])
    canvas.fillCircle(x: 90, y: 40, radius: 7.3)
    canvas.text("P99 ≤ 400 ms", x: 8, y: 30, size: 11)
    let ours = folder.appendingPathComponent("ours.png").path
    let cairos = folder.appendingPathComponent("cairos.png").path
    try canvas.writePNG(to: ours)
    cairo_surface_flush(canvas.surface)
    #expect(cairo_surface_write_to_png(canvas.surface, cairos) == CAIRO_STATUS_SUCCESS)
    func pixels(_ path: String) throws -> [UInt8] {
      let image = try CairoCanvas(png: path)
      let stride = Int(cairo_image_surface_get_stride(image.surface))
      let height = Int(cairo_image_surface_get_height(image.surface))
      return Array(UnsafeBufferPointer(start: cairo_image_surface_get_data(image.surface), count: stride * height))
    }
    let read = try pixels(ours), reference = try pixels(cairos)
    #expect(read.count == 240 * 4 * 120 && read == reference)
    // Some pixels are partly transparent, so the conversion was exercised.
    #expect(stride(from: 3, to: read.count, by: 4).contains { read[$0] > 0 && read[$0] < 255 })
    let bytes = try Data(contentsOf: URL(fileURLWithPath: ours))
    #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
  }

  /// A PNG that cannot be written names the file and libpng's reason.
  @Test func anUnwritablePNGIsNamed() throws {
    let canvas = try CairoCanvas(.image, width: 10, height: 10)
    let path = folder.appendingPathComponent("missing/a.png").path
    do {
      try canvas.writePNG(to: path)
      Issue.record("writing into a missing folder succeeded")
    } catch let error as CairoError {
      #expect(error.description.contains(path), "\(error)")
    }
  }

  @Test func cairoSVGParsesWithLibXML2() throws {
    let path = folder.appendingPathComponent("a.svg").path
    do {
      let canvas = try CairoCanvas(.svg(path: path), width: 200, height: 100)
      canvas.fill(red: 1, green: 1, blue: 1)
      canvas.fillRectangle(x: 10, y: 10, width: 50, height: 30, red: 0.8, green: 0.2, blue: 0.1)
      canvas.text("inferline", x: 10, y: 80, size: 14)
      try canvas.finish()
    }
    let svg = try String(contentsOfFile: path, encoding: .utf8)
    let document = try MarkupDocument(xml: svg)
    #expect(document.rootName == "svg")
    #expect(document.count(elementsNamed: "path") >= 2)  // the rectangle and at least one glyph outline
  }

  /// A full disk (/dev/full fails every write with ENOSPC): Cairo's write error names the file and the likely
  /// cause, and reads the same through `localizedDescription` (what a generic catch prints).
  @Test func aFullDiskIsNamedNotNumbered() throws {
    guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
    do {
      let canvas = try CairoCanvas(.svg(path: "/dev/full"), width: 200, height: 100)
      canvas.fill(red: 1, green: 1, blue: 1)
      canvas.text(String(repeating: "inferline ", count: 200), x: 10, y: 80, size: 14)
      try canvas.finish()
      Issue.record("writing to /dev/full succeeded")
    } catch let error as CairoError {
      #expect(error.description.contains("/dev/full") && error.description.contains("disk full"), "\(error)")
      #expect((error as any Error).localizedDescription == error.description)
      #expect(!error.description.contains("error 1"))
    }
  }

  @Test func libxml2ReportsWhereMarkupBreaks() {
    do {
      _ = try MarkupDocument(xml: "<svg>\n<g>\n</svg>")
      Issue.record("broken markup parsed")
    } catch let error as MarkupDocument.ParseError {
      #expect(error.line >= 2)
      #expect(!error.message.isEmpty)
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }
}
