import Foundation

/// A chart to draw: what it shows, independent of how it is drawn.
public struct Chart: Sendable {
  public enum Scale: Sendable { case linear, log }

  public struct Axis: Sendable {
    public var label: String
    public var scale: Scale = .linear
    /// Formats tick values; defaults to a compact number.
    public var format: @Sendable (Double) -> String = Ticks.label
    /// Forces the axis to include zero (linear axes only).
    public var includeZero = false
    /// Counts: ticks on whole numbers only (linear axes).
    public var integer = false
    public init(
      label: String, scale: Scale = .linear, includeZero: Bool = false, integer: Bool = false,
      format: @escaping @Sendable (Double) -> String = Ticks.label
    ) {
      self.label = label
      self.scale = scale
      self.includeZero = includeZero
      self.integer = integer
      self.format = format
    }
  }

  public struct Series: Sendable {
    public enum Style: Sendable { case line, step, points, dashed }
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var style: Style
    public init(name: String, points: [(x: Double, y: Double)], style: Style = .line) {
      self.name = name
      self.points = points
      self.style = style
    }
  }

  /// A reference line across the plot: vertical at x, or horizontal at y.
  public struct Marker: Sendable {
    public var value: Double
    public var vertical: Bool
    public var label: String?
    public init(value: Double, vertical: Bool, label: String? = nil) {
      self.value = value
      self.vertical = vertical
      self.label = label
    }
  }

  /// One stacked bar: a category and the height of each named segment.
  public struct Bar: Sendable {
    public var category: String
    public var segments: [Double]
    public init(category: String, segments: [Double]) {
      self.category = category
      self.segments = segments
    }
  }

  public enum Content: Sendable {
    case xy(series: [Series], markers: [Marker])
    /// Stacked bars; `segmentNames` label the segments (the legend).
    case bars(bars: [Bar], segmentNames: [String])
  }

  /// File name without extension (`arrival-rate`).
  public var name: String
  public var title: String
  /// What the chart shows, in a sentence or two (the SVG's `<desc>` and the image's alternative text).
  public var description: String
  public var x: Axis
  public var y: Axis
  public var content: Content
  public var width: Double = 720
  public var height: Double = 360

  public init(name: String, title: String, description: String, x: Axis, y: Axis, content: Content) {
    self.name = name
    self.title = title
    self.description = description
    self.x = x
    self.y = y
    if case .xy(let series, let markers) = content {
      self.content = .xy(series: Self.mergingIdentical(series), markers: markers)
    } else {
      self.content = content
    }
  }

  /// Series drawn the same way through the same points become one, named `a, b and c (the same)`, so that a line
  /// or a point hidden under another is said in the legend instead of vanishing. Order of first appearance is kept.
  /// - Complexity: O(series^2 x points).
  public static func mergingIdentical(_ series: [Series]) -> [Series] {
    var merged: [Series] = []
    var names: [[String]] = []
    for s in series {
      let twin = merged.firstIndex { m in
        m.style == s.style && m.points.count == s.points.count
          && zip(m.points, s.points).allSatisfy { $0.x == $1.x && $0.y == $1.y }
      }
      if let twin {
        names[twin].append(s.name)
      } else {
        merged.append(s)
        names.append([s.name])
      }
    }
    for i in merged.indices where names[i].count > 1 {
      let n = names[i]
      merged[i].name = n.dropLast().joined(separator: ", ") + " and " + n.last! + " (the same)"
    }
    return merged
  }
}

/// Okabe and Ito's colour-blind-safe palette (2008), as RGB components in 0...1.
public enum Palette {
  public static let colours: [(Double, Double, Double)] = [
    (0.000, 0.447, 0.698),  // blue
    (0.902, 0.624, 0.000),  // orange
    (0.000, 0.620, 0.451),  // bluish green
    (0.835, 0.369, 0.000),  // vermillion
    (0.800, 0.475, 0.655),  // reddish purple
    (0.337, 0.706, 0.914),  // sky blue
    (0.941, 0.894, 0.259),  // yellow
    (0.000, 0.000, 0.000),  // black
  ]
  public static func colour(_ i: Int) -> (Double, Double, Double) { colours[i % colours.count] }
}

/// Readable tick values for axes.
public enum Ticks {
  /// "Nice" ticks (1, 2 or 5 times a power of ten) covering [low, high], about `target` of them.
  /// An empty or single-value range gets ticks around it.
  public static func linear(_ low: Double, _ high: Double, target: Int = 6, integer: Bool = false) -> [Double] {
    var lo = low, hi = high
    if !lo.isFinite || !hi.isFinite { return [0, 1] }
    if hi < lo { swap(&lo, &hi) }
    if hi == lo {
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      lo -= pad
      hi += pad
    }
    let raw = (hi - lo) / Double(max(target, 1))
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let nice = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    let step = integer ? max(1, nice.rounded()) : nice
    let first = (lo / step).rounded(.down) * step
    var ticks: [Double] = []
    var v = first
    while v <= hi + step * 1e-9 {
      ticks.append(abs(v) < step * 1e-9 ? 0 : v)
      v += step
    }
    if ticks.last! < hi - step * 1e-9 { ticks.append(ticks.last! + step) }
    return ticks
  }

  /// Powers of ten covering [low, high] (both positive); with fewer than three decades, also 2 and 5 times them,
  /// and where that leaves fewer than four inside (a range within a decade or two), 3, 4, 6 and 8 times them too
  /// where they do not crowd the others (a tenth of the axis apart).
  public static func log(_ low: Double, _ high: Double) -> [Double] {
    guard low > 0, high > 0, low.isFinite, high.isFinite else { return [1, 10] }
    var lo = min(low, high), hi = max(low, high)
    if lo == hi {
      lo /= 10
      hi *= 10
    }
    let a = Int(log10(lo).rounded(.down)), b = Int(log10(hi).rounded(.up))
    let decades = b - a
    var ticks: [Double] = []
    for e in a...b {
      let base = pow(10, Double(e))
      for m in decades < 3 ? [1.0, 2, 5] : [1.0] where base * m >= lo * 0.999 && base * m <= hi * 1.001 {
        ticks.append(base * m)
      }
    }
    if ticks.count < 4 {
      // 3, 4, 6 and 8 times a power of ten, each only if a tenth of the axis from every tick already there.
      let gap = (log10(hi) - log10(lo)) / 10
      for e in a...b {
        for m in [3.0, 4, 6, 8] {
          let v = m * pow(10, Double(e))
          guard v >= lo * 0.999, v <= hi * 1.001, ticks.allSatisfy({ abs(log10($0) - log10(v)) >= gap }) else {
            continue
          }
          ticks.append(v)
        }
      }
      ticks.sort()
    }
    if ticks.count < 2 { ticks = [pow(10, Double(a)), pow(10, Double(b))] }
    return ticks
  }

  /// A compact label: 1200 -> "1.2k", 0.005 -> "0.005", 3 -> "3".
  @Sendable public static func label(_ v: Double) -> String {
    let a = abs(v)
    if a >= 1e9 { return trim(v / 1e9) + "G" }
    if a >= 1e6 { return trim(v / 1e6) + "M" }
    if a >= 1e4 { return trim(v / 1e3) + "k" }
    return trim(v)
  }

  static func trim(_ v: Double) -> String {
    var s = String(format: "%.3g", v)
    if s.contains("e") { s = String(format: "%g", v) }
    return s
  }
}
