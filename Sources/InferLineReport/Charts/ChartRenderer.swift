public import Foundation

/// Draws `Chart`s with Cairo: axes with readable ticks and units, log scales, a legend, the palette.
public enum ChartRenderer {
  static let left = 72.0, right = 24.0, top = 54.0, bottom = 52.0

  /// Draws the chart onto a canvas of the chart's size.
  public static func draw(_ chart: Chart, on canvas: CairoCanvas) {
    canvas.fill(red: 1, green: 1, blue: 1)
    canvas.setColor(red: 0.1, green: 0.1, blue: 0.1)
    canvas.drawText(chart.title, x: left, y: 22, size: 15, bold: true)
    let plot = (x: left, y: top, w: chart.width - left - right, h: chart.height - top - bottom)
    switch chart.content {
    case .xy(let series, let markers):
      drawXY(chart, series: series, markers: markers, plot: plot, canvas: canvas)
    case .bars(let bars, let names):
      drawBars(chart, bars: bars, names: names, plot: plot, canvas: canvas)
    }
  }

  /// Maps data to the plot along one axis.
  struct Mapping {
    var scale: Chart.Scale
    var low: Double
    var high: Double
    var from: Double
    var to: Double
    func callAsFunction(_ v: Double) -> Double {
      let t: Double
      switch scale {
      case .linear: t = high == low ? 0.5 : (v - low) / (high - low)
      case .log: t = high == low ? 0.5 : (log10(max(v, low)) - log10(low)) / (log10(high) - log10(low))
      }
      return from + t * (to - from)
    }
  }

  static func range(_ values: [Double], axis: Chart.Axis) -> (Double, Double, [Double]) {
    var v = values.filter { $0.isFinite && (axis.scale == .linear || $0 > 0) }
    if axis.includeZero && axis.scale == .linear { v.append(0) }
    guard let lo = v.min(), let hi = v.max() else { return axis.scale == .log ? (1, 10, [1, 10]) : (0, 1, [0, 1]) }
    let ticks = axis.scale == .log ? Ticks.log(lo, hi) : Ticks.linear(lo, hi, integer: axis.integer)
    return (min(ticks.first!, lo), max(ticks.last!, hi), ticks)
  }

  static func drawAxes(
    _ chart: Chart, xm: Mapping, ym: Mapping, xTicks: [Double], yTicks: [Double],
    plot: (x: Double, y: Double, w: Double, h: Double), canvas: CairoCanvas, categoryLabels: [(Double, String)] = []
  ) {
    canvas.setColor(red: 0.88, green: 0.88, blue: 0.88)
    for t in yTicks { canvas.strokeLine([(plot.x, ym(t)), (plot.x + plot.w, ym(t))], width: 0.6) }
    for t in xTicks where categoryLabels.isEmpty {
      canvas.strokeLine([(xm(t), plot.y), (xm(t), plot.y + plot.h)], width: 0.6)
    }
    canvas.setColor(red: 0.25, green: 0.25, blue: 0.25)
    canvas.strokeLine([(plot.x, plot.y), (plot.x, plot.y + plot.h), (plot.x + plot.w, plot.y + plot.h)], width: 1)
    for t in yTicks { canvas.drawText(chart.y.format(t), x: plot.x - 6, y: ym(t) + 4, size: 10, anchor: 1) }
    if categoryLabels.isEmpty {
      for t in xTicks { canvas.drawText(chart.x.format(t), x: xm(t), y: plot.y + plot.h + 16, size: 10, anchor: 0.5) }
    } else {
      let every = max(1, categoryLabels.count / 12)
      for (i, (x, label)) in categoryLabels.enumerated() where i % every == 0 {
        canvas.drawText(label, x: x, y: plot.y + plot.h + 16, size: 10, anchor: 0.5)
      }
    }
    canvas.drawText(chart.x.label, x: plot.x + plot.w / 2, y: plot.y + plot.h + 38, size: 11, anchor: 0.5)
    canvas.drawText(chart.y.label, x: 16, y: plot.y + plot.h / 2, size: 11, anchor: 0.5, rotated: true)
  }

  static func drawLegend(
    _ names: [String], styles: [Chart.Series.Style]? = nil, canvas: CairoCanvas, x: Double, width: Double
  ) {
    var cx = x
    var cy = 40.0
    for (i, name) in names.enumerated() {
      let w = canvas.textWidth(name, size: 10) + 30
      if cx + w > x + width {
        cx = x
        cy += 13
      }
      let (r, g, b) = Palette.colour(i)
      canvas.setColor(red: r, green: g, blue: b)
      if styles?[i] == .points {
        canvas.fillCircle(x: cx + 8, y: cy - 4, radius: 3.5)
      } else {
        canvas.strokeLine([(cx, cy - 4), (cx + 16, cy - 4)], width: 3, dash: styles?[i] == .dashed ? [4, 3] : [])
      }
      canvas.setColor(red: 0.15, green: 0.15, blue: 0.15)
      canvas.drawText(name, x: cx + 20, y: cy, size: 10)
      cx += w
    }
  }

  static func drawXY(
    _ chart: Chart, series: [Chart.Series], markers: [Chart.Marker], plot: (x: Double, y: Double, w: Double, h: Double),
    canvas: CairoCanvas
  ) {
    // Dashed series are guides (fits): the axes fit the data, and guides are clipped to it.
    let data = series.contains { $0.style != .dashed } ? series.filter { $0.style != .dashed } : series
    let (xl, xh, xTicks) = range(
      data.flatMap { $0.points.map(\.x) } + markers.filter(\.vertical).map(\.value), axis: chart.x)
    let (yl, yh, yTicks) = range(
      data.flatMap { $0.points.map(\.y) } + markers.filter { !$0.vertical }.map(\.value), axis: chart.y)
    let xm = Mapping(scale: chart.x.scale, low: xl, high: xh, from: plot.x, to: plot.x + plot.w)
    let ym = Mapping(scale: chart.y.scale, low: yl, high: yh, from: plot.y + plot.h, to: plot.y)
    drawAxes(chart, xm: xm, ym: ym, xTicks: xTicks, yTicks: yTicks, plot: plot, canvas: canvas)
    canvas.clip(x: plot.x, y: plot.y - 2, width: plot.w + 2, height: plot.h + 4)
    for m in markers {
      canvas.setColor(red: 0.45, green: 0.45, blue: 0.45)
      if m.vertical, let label = m.label {
        // A labelled vertical marker is a threshold (the SLO): red, named at the top.
        canvas.setColor(red: 0.75, green: 0.1, blue: 0.1)
        canvas.strokeLine([(xm(m.value), plot.y), (xm(m.value), plot.y + plot.h)], width: 1.2, dash: [6, 3])
        canvas.drawText(label, x: xm(m.value) - 4, y: plot.y + 12, size: 10, anchor: 1)
      } else if m.vertical {
        canvas.strokeLine([(xm(m.value), plot.y), (xm(m.value), plot.y + plot.h)], width: 0.8, dash: [3, 3])
      } else {
        canvas.setColor(red: 0.75, green: 0.1, blue: 0.1)
        canvas.strokeLine([(plot.x, ym(m.value)), (plot.x + plot.w, ym(m.value))], width: 1.2, dash: [6, 3])
        if let label = m.label {
          canvas.drawText(label, x: plot.x + plot.w - 4, y: ym(m.value) - 4, size: 10, anchor: 1)
        }
      }
    }
    for (i, s) in series.enumerated() {
      let (r, g, b) = Palette.colour(i)
      canvas.setColor(red: r, green: g, blue: b)
      let valid = s.points.filter {
        $0.x.isFinite && $0.y.isFinite && (chart.x.scale == .linear || $0.x > 0)
          && (chart.y.scale == .linear || $0.y > 0)
      }
      switch s.style {
      case .points:
        for p in valid { canvas.fillCircle(x: xm(p.x), y: ym(p.y), radius: 4) }
      case .step:
        var path: [(Double, Double)] = []
        for (k, p) in valid.enumerated() {
          if k > 0 { path.append((xm(p.x), ym(valid[k - 1].y))) }
          path.append((xm(p.x), ym(p.y)))
        }
        if valid.count == 1, let p = valid.first { canvas.fillCircle(x: xm(p.x), y: ym(p.y), radius: 3) }
        canvas.strokeLine(path, width: 1.8)
      case .line, .dashed:
        if valid.count == 1, let p = valid.first { canvas.fillCircle(x: xm(p.x), y: ym(p.y), radius: 3) }
        canvas.strokeLine(valid.map { (xm($0.x), ym($0.y)) }, width: 1.8, dash: s.style == .dashed ? [5, 3] : [])
      }
    }
    canvas.resetClip()
    if series.isEmpty || series.allSatisfy({ $0.points.isEmpty }) {
      canvas.setColor(red: 0.4, green: 0.4, blue: 0.4)
      canvas.drawText("no data", x: plot.x + plot.w / 2, y: plot.y + plot.h / 2, size: 13, anchor: 0.5)
    }
    drawLegend(series.map(\.name), styles: series.map(\.style), canvas: canvas, x: plot.x, width: plot.w)
  }

  static func drawBars(
    _ chart: Chart, bars: [Chart.Bar], names: [String], plot: (x: Double, y: Double, w: Double, h: Double),
    canvas: CairoCanvas
  ) {
    let totals = bars.map { $0.segments.reduce(0, +) }
    var yAxis = chart.y
    yAxis.includeZero = true
    let (yl, yh, yTicks) = range(totals + [0], axis: yAxis)
    let ym = Mapping(scale: .linear, low: yl, high: yh, from: plot.y + plot.h, to: plot.y)
    let band = plot.w / Double(max(bars.count, 1))
    let labels = bars.enumerated().map { (plot.x + band * (Double($0.offset) + 0.5), $0.element.category) }
    drawAxes(
      chart, xm: Mapping(scale: .linear, low: 0, high: 1, from: plot.x, to: plot.x + plot.w), ym: ym, xTicks: [],
      yTicks: yTicks, plot: plot, canvas: canvas, categoryLabels: labels)
    for (i, bar) in bars.enumerated() {
      var base = 0.0
      for (k, v) in bar.segments.enumerated() where v > 0 {
        let (r, g, b) = Palette.colour(k)
        canvas.setColor(red: r, green: g, blue: b)
        let x = plot.x + band * Double(i) + band * 0.15
        canvas.fillRectangle(x: x, y: ym(base + v), width: band * 0.7, height: ym(base) - ym(base + v))
        base += v
      }
    }
    if bars.isEmpty {
      canvas.setColor(red: 0.4, green: 0.4, blue: 0.4)
      canvas.drawText("no data", x: plot.x + plot.w / 2, y: plot.y + plot.h / 2, size: 13, anchor: 0.5)
    }
    drawLegend(names, canvas: canvas, x: plot.x, width: plot.w)
  }

  /// Writes `charts/NAME.svg` and `charts/NAME.png` under `folder` and returns the SVG for inlining, with ids
  /// prefixed by the chart's name and `<title>`, `<desc>` and `role="img"` added.
  public static func write(_ chart: Chart, to folder: URL) throws -> String {
    let charts = folder.appendingPathComponent("charts")
    try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
    let svgPath = charts.appendingPathComponent("\(chart.name).svg").path
    do {
      let svg = try CairoCanvas(.svg(path: svgPath), width: chart.width, height: chart.height)
      draw(chart, on: svg)
      try svg.finish()
    }
    let png = try CairoCanvas(.image, width: chart.width, height: chart.height)
    draw(chart, on: png)
    try png.writePNG(to: charts.appendingPathComponent("\(chart.name).png").path)
    let raw = try String(contentsOfFile: svgPath, encoding: .utf8)
    let processed = try SVGPostProcessor.process(
      raw, idPrefix: chart.name, title: chart.title, description: chart.description)
    try processed.write(toFile: svgPath, atomically: true, encoding: .utf8)
    return processed
  }
}
