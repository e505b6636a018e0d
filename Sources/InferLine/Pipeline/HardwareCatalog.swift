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

  /// A serverless platform that can take a stage's overflow (MArk, ATC'19): billed per request and per GB-second
  /// instead of per replica-hour, never planned on.
  public struct ServerlessTier: Sendable, Equatable, Codable {
    public var type: String
    /// The hardware type whose profiles give its latencies (batch 1): what one invocation runs on.
    public var runsAs: String
    /// Dollars per invocation.
    public var pricePerRequest: Double
    /// Dollars per GB-second of memory configured, over each invocation's duration.
    public var pricePerGBSecond: Double
    public var memoryGB: Double
    /// Seconds an invocation that finds no warm instance waits first (container start and model load).
    public var coldStartSeconds: Double
    /// Most invocations running at once, per stage.
    public var concurrencyLimit: Int
    /// Seconds an idle instance stays warm.
    public var keepWarmSeconds: Double
    /// Instances of each stage kept warm all the time (provisioned concurrency), 0 for none.
    public var provisionedConcurrency: Int = 0
    /// Dollars per GB-second of a provisioned instance's time, whether it serves or not.
    public var pricePerProvisionedGBSecond: Double = 0
    public var line: Int?

    /// Dollars for `invocations` that ran `seconds` in all, and `provisionedSeconds` of provisioned instances.
    public func cost(invocations: Int, seconds: Double, provisionedSeconds: Double = 0) -> Double {
      Double(invocations) * pricePerRequest + seconds * memoryGB * pricePerGBSecond
        + provisionedSeconds * memoryGB * pricePerProvisionedGBSecond
    }
  }

  public var name: String
  public var hardware: [Hardware]
  /// Serverless tiers (the catalog's `serverless` list), for the overflow what-if.
  public var serverless: [ServerlessTier] = []
  public var file: String

  public func serverlessTier(type: String) -> ServerlessTier? { serverless.first { $0.type == type } }

  public func hardware(type: String) -> Hardware? { hardware.first { $0.type == type } }

  static let keys = ["name", "description", "source", "hardware", "serverless"]
  static let serverlessKeys = [
    "type", "runs_as", "price_per_request", "price_per_gb_second", "memory_gb", "cold_start_s", "concurrency_limit",
    "keep_warm_s", "provisioned_concurrency", "price_per_provisioned_gb_second", "description", "source",
  ]
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
    var tiers: [ServerlessTier] = []
    if let node = top["serverless"] {
      guard case .sequence(let list) = node else {
        sink.error(node.line, "'serverless' must be a list of serverless platforms (type, runs_as, prices)")
        return (nil, sink.items)
      }
      for item in list {
        guard let map = YAMLMapping(item, what: "a serverless entry", sink: &sink) else { continue }
        map.checkKeys(serverlessKeys, in: "a serverless entry", sink: &sink)
        guard let type = map.string("type", required: true, in: "a serverless entry", sink: &sink) else { continue }
        let what = "serverless '\(type)'"
        let runsAs = map.string("runs_as", required: true, in: what, sink: &sink)
        if let runsAs, !entries.contains(where: { $0.type == runsAs }) {
          sink.error(
            map["runs_as"]?.line ?? map.line,
            "\(what): runs_as '\(runsAs)' is not a hardware type of this catalog (its profiles give the tier's latencies); types: \(entries.map(\.type).joined(separator: ", "))"
          )
        }
        func value(_ key: String, _ range: ClosedRange<Double>, _ meaning: String, default fallback: Double?) -> Double?
        {
          guard let (v, line) = map.number(key, required: fallback == nil, in: what, sink: &sink) else {
            return map[key] == nil ? fallback : nil
          }
          guard range.contains(v) else {
            sink.error(
              line, "\(what): \(key) must be from \(range.lowerBound) to \(range.upperBound) \(meaning) (got \(v))")
            return nil
          }
          return v
        }
        let perRequest = value("price_per_request", 0...1000, "dollars", default: 0)
        let perGBs = value("price_per_gb_second", 0...1000, "dollars", default: 0)
        let memory = value("memory_gb", 0.001...100_000, "GB", default: 1)
        let cold = value("cold_start_s", 0...3600, "seconds", default: nil)
        let limit = value("concurrency_limit", 1...1_000_000, "invocations", default: 1000)
        let keepWarm = value("keep_warm_s", 0...86_400, "seconds", default: 600)
        let provisioned = value("provisioned_concurrency", 0...10_000, "instances", default: 0)
        let provisionedPrice = value("price_per_provisioned_gb_second", 0...1000, "dollars", default: 0)
        if let provisioned, provisioned > 0, map["price_per_provisioned_gb_second"] == nil {
          sink.error(
            map["provisioned_concurrency"]?.line ?? map.line,
            "\(what): provisioned_concurrency needs price_per_provisioned_gb_second (dollars per GB-second an instance is kept warm)"
          )
        }
        if let provisioned, provisioned != provisioned.rounded() {
          sink.error(map.line, "\(what): provisioned_concurrency must be a whole number (got \(provisioned))")
        }
        if map["price_per_request"] == nil && map["price_per_gb_second"] == nil {
          sink.error(map.line, "\(what) has no price: give price_per_request, price_per_gb_second or both")
        }
        if let limit, limit != limit.rounded() {
          sink.error(map.line, "\(what): concurrency_limit must be a whole number (got \(limit))")
        }
        if tiers.contains(where: { $0.type == type }) || entries.contains(where: { $0.type == type }) {
          sink.error(map.line, "'\(type)' is listed twice in the catalog")
          continue
        }
        guard let runsAs, let perRequest, let perGBs, let memory, let cold, let limit, let keepWarm, let provisioned,
          let provisionedPrice
        else { continue }
        tiers.append(
          ServerlessTier(
            type: type, runsAs: runsAs, pricePerRequest: perRequest, pricePerGBSecond: perGBs, memoryGB: memory,
            coldStartSeconds: cold, concurrencyLimit: Int(limit), keepWarmSeconds: keepWarm,
            provisionedConcurrency: Int(provisioned), pricePerProvisionedGBSecond: provisionedPrice, line: map.line))
      }
    }
    guard !sink.hasErrors else { return (nil, sink.items) }
    return (HardwareCatalog(name: name, hardware: entries, serverless: tiers, file: path), sink.items)
  }
}
