import Foundation
internal import Yams

/// The hardware a pipeline may run on, with prices: one entry per hardware type.
public struct HardwareCatalog: Sendable, Equatable {
  /// The largest `max_replicas` a catalog may give (a fleet of a million replicas of one type is past any plan).
  public static let largestReplicaLimit = 1_000_000

  public struct Hardware: Sendable, Equatable, Codable {
    /// The type's name, as profiles and pipelines refer to it (`T4`, `A100`, `CPU`).
    public var type: String
    /// The instance that carries one replica (`g4dn.xlarge`).
    public var instance: String?
    /// Dollars per hour for one replica.
    public var pricePerHour: Double
    /// Seconds from a scale-up decision until a new replica serves.
    public var provisioningDelaySeconds: Double
    /// Most replicas of this type that can be had; nil for no limit.
    public var maxReplicas: Int?
    public var line: Int?
  }

  public var name: String
  public var hardware: [Hardware]
  public var file: String

  public func hardware(type: String) -> Hardware? { hardware.first { $0.type == type } }

  static let keys = ["name", "description", "source", "hardware"]
  static let entryKeys = [
    "type", "instance", "price_per_hour", "provisioning_delay_s", "max_replicas", "description", "source",
  ]

  /// Loads and checks a catalog file, collecting every problem.
  public static func load(path: String) -> (HardwareCatalog?, [Diagnostic]) {
    var sink = DiagnosticSink(file: path)
    guard let document = YAMLDocument.load(path: path, sink: &sink),
      let top = YAMLMapping(document.root, what: "a hardware catalog", sink: &sink)
    else { return (nil, sink.items) }
    top.checkKeys(keys, in: "the catalog", sink: &sink)
    let name =
      top.string("name", required: false, in: "the catalog", sink: &sink)
      ?? URL(fileURLWithPath: path).lastPathComponent
    var entries: [Hardware] = []
    guard case .sequence(let list)? = top["hardware"], !list.isEmpty else {
      sink.error(
        top["hardware"]?.line ?? top.line, "the catalog needs 'hardware': a list of hardware types with prices")
      return (nil, sink.items)
    }
    for item in list {
      guard let map = YAMLMapping(item, what: "a hardware entry", sink: &sink) else { continue }
      map.checkKeys(entryKeys, in: "a hardware entry", sink: &sink)
      guard let type = map.string("type", required: true, in: "a hardware entry", sink: &sink) else { continue }
      let what = "hardware '\(type)'"
      let instance = map.string("instance", required: false, in: what, sink: &sink)
      var price: Double? = nil
      if let (p, line) = map.number("price_per_hour", required: false, in: what, sink: &sink) {
        if p >= 0 { price = p } else { sink.error(line, "\(what): price_per_hour must not be negative (got \(p))") }
      } else if map["price_per_hour"] == nil {
        sink.error(map.line, "\(what) has no price_per_hour (dollars per hour for one replica)")
      }
      var delay = 0.0
      if let (d, line) = map.number("provisioning_delay_s", required: false, in: what, sink: &sink) {
        if d >= 0 && d <= 86_400 {
          delay = d
        } else {
          sink.error(line, "\(what): provisioning_delay_s must be from 0 to 86400 seconds (a day) (got \(d))")
        }
      }
      var maxReplicas: Int? = nil
      if let (m, line) = map.number("max_replicas", required: false, in: what, sink: &sink) {
        if m >= 1 && m <= Double(HardwareCatalog.largestReplicaLimit) && m == m.rounded() {
          maxReplicas = Int(m)
        } else {
          sink.error(
            line,
            "\(what): max_replicas must be a whole number from 1 to \(HardwareCatalog.largestReplicaLimit) (got \(m))")
        }
      }
      if let earlier = entries.first(where: { $0.type == type }) {
        sink.error(map.line, "hardware '\(type)' is listed twice (first on line \(earlier.line ?? 0))")
        continue
      }
      guard let price else { continue }
      entries.append(
        Hardware(
          type: type, instance: instance, pricePerHour: price, provisioningDelaySeconds: delay,
          maxReplicas: maxReplicas,
          line: map.line))
    }
    guard !sink.hasErrors else { return (nil, sink.items) }
    return (HardwareCatalog(name: name, hardware: entries, file: path), sink.items)
  }
}
