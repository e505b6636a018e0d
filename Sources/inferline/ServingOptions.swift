import ArgumentParser
import Foundation
import InferLine

/// The serving what-ifs' options, shared by `report` (a section each) and `replay` (the conditions of its runs).
struct ServingOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "What-if (MArk): a serverless tier of the hardware catalog's 'serverless' list takes the queries each stage's replicas cannot serve in time.",
      valueName: "type"))
  var overflow: String?

  @Option(
    help: ArgumentHelp(
      "What-if (Orion): replicas added during the day serve their first BATCHES batches SLOWDOWN times slower, e.g. 20:3.",
      valueName: "batches:slowdown"))
  var coldStart: String?

  @Option(
    help: ArgumentHelp(
      "Pre-warming look-ahead of the InferLine tuner, seconds (with --cold-start).", valueName: "seconds"))
  var prewarm: Double?

  @Option(
    help: ArgumentHelp(
      "What-if (Orion): service times correlated across stages, e.g. 0.3:0.8 (the log-spread of a query's size factor, and the share of its variance common to all its stages).",
      valueName: "sigma:correlation"))
  var correlatedService: String?

  @Flag(help: "What-if (RackSched): today's plan on the busiest window under each balancer (report only).")
  var balancers = false

  /// Two numbers separated by a colon, each checked.
  static func pair(
    _ text: String, option: String, meaning: String, _ valid: (Double, Double) -> Bool
  ) throws -> (
    Double, Double
  ) {
    let parts = text.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], valid(a, b) else {
      throw ValidationError("--\(option) must be \(meaning) (got '\(TerminalText.safe(text))')")
    }
    return (a, b)
  }

  func tier(_ model: PipelineModel) throws -> HardwareCatalog.ServerlessTier? {
    guard let overflow else { return nil }
    let catalog = model.inputs.catalog
    guard let tier = catalog.serverlessTier(type: overflow) else {
      let known = catalog.serverless.map(\.type)
      throw ValidationError(
        "--overflow: the catalog \(TerminalText.safe(catalog.file)) has no serverless tier '\(TerminalText.safe(overflow))'; "
          + (known.isEmpty
            ? "add one to its 'serverless' list (type, runs_as, price_per_request, price_per_gb_second, memory_gb, cold_start_s, concurrency_limit, keep_warm_s)"
            : "it has \(known.map { TerminalText.safe($0) }.joined(separator: ", "))"))
    }
    return tier
  }

  func coldStartModel() throws -> ColdStart? {
    try coldStart.map { text in
      let (batches, slowdown) = try Self.pair(
        text, option: "cold-start",
        meaning: "BATCHES:SLOWDOWN, a whole number of batches from 1 to 100000 and a slowdown from 1 to 1000, e.g. 20:3"
      ) { b, s in b >= 1 && b <= 100_000 && b == b.rounded() && s >= 1 && s <= 1000 }
      return ColdStart(batches: Int(batches), slowdown: slowdown)
    }
  }

  func correlated() throws -> ServingWhatIfs.CorrelatedService? {
    try correlatedService.map { text in
      let (sigma, rho) = try Self.pair(
        text, option: "correlated-service",
        meaning: "SIGMA:CORRELATION, a log-spread from 0 to 3 and a correlation from 0 to 1, e.g. 0.3:0.8"
      ) { s, r in s >= 0 && s <= 3 && r >= 0 && r <= 1 }
      return ServingWhatIfs.CorrelatedService(sigma: sigma, correlation: rho)
    }
  }

  func checkPrewarm() throws {
    if let prewarm, !(prewarm > 0 && prewarm <= 3600) {
      throw ValidationError("--prewarm must be a look-ahead from 0 to 3600 seconds (got \(prewarm))")
    }
  }

  /// The report's what-ifs.
  func request(_ model: PipelineModel) throws -> ServingWhatIfs.Request {
    try checkPrewarm()
    if prewarm != nil && coldStart == nil {
      throw ValidationError(
        "--prewarm is the look-ahead of the cold-start what-if's pre-warming tuner: give --cold-start too (replay takes --prewarm alone)"
      )
    }
    var request = ServingWhatIfs.Request()
    request.overflow = try tier(model)
    request.coldStart = try coldStartModel()
    request.prewarmSeconds = prewarm ?? request.prewarmSeconds
    request.correlated = try correlated()
    request.balancers = balancers
    return request
  }

  /// A replay's conditions, seeded.
  func conditions(_ model: PipelineModel, seed: UInt64) throws -> ReplayConditions {
    try checkPrewarm()
    if balancers {
      throw ValidationError(
        "--balancers is a report what-if; replay under one balancer with the pipeline file's 'dispatch'")
    }
    var conditions = ReplayConditions(coldStart: try coldStartModel(), overflow: try tier(model))
    if let c = try correlated() {
      conditions.serviceTimes = .correlated(seed: seed, sigma: c.sigma, correlation: c.correlation)
    }
    return conditions
  }
}
