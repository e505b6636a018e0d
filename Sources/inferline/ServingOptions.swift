import ArgumentParser
import Foundation
import InferLine
import InferLineNight

/// The serving what-ifs' options, shared by `report` (a section each) and `replay` (the conditions of its runs);
/// `ReportRequest.WhatIfSettings` reads and checks them.
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

  /// `settings` with the options given here in place of its own.
  func applied(to settings: ReportRequest.WhatIfSettings) -> ReportRequest.WhatIfSettings {
    var s = settings
    if let overflow { s.overflow = overflow }
    if let coldStart { s.coldStart = coldStart }
    if let prewarm { s.prewarmSeconds = prewarm }
    if let correlatedService { s.correlatedService = correlatedService }
    if balancers { s.balancers = true }
    return s
  }

  /// The configuration keys these options set.
  var givenKeys: Set<String> {
    var keys: Set<String> = []
    if overflow != nil { keys.insert("overflow") }
    if coldStart != nil { keys.insert("cold_start") }
    if prewarm != nil { keys.insert("prewarm_seconds") }
    if correlatedService != nil { keys.insert("correlated_service") }
    if balancers { keys.insert("balancers") }
    return keys
  }

  /// A replay's conditions, seeded.
  func conditions(_ model: PipelineModel, seed: UInt64) throws -> ReplayConditions {
    let settings = applied(to: .init())
    try usage { () throws(ReportRequest.SettingError) in try settings.checkPrewarm() }
    if balancers {
      throw ValidationError(
        "--balancers is a report what-if; replay under one balancer with the pipeline file's 'dispatch'")
    }
    return try usage { () throws(ReportRequest.SettingError) in
      var conditions = ReplayConditions(coldStart: try settings.coldStartModel(), overflow: try settings.tier(model))
      if let c = try settings.correlated() {
        conditions.serviceTimes = .correlated(seed: seed, sigma: c.sigma, correlation: c.correlation)
      }
      return conditions
    }
  }
}
