/// A rate-latency service curve `beta(t) = rate x (t - latency)+`: after `latency` seconds the server serves at
/// least `rate` queries per second while backlogged.
public struct RateLatencyCurve: Sendable, Equatable, Codable {
  /// Queries per second.
  public var rate: Double
  /// Seconds.
  public var latency: Double

  public init(rate: Double, latency: Double) {
    precondition(rate > 0 && latency >= 0, "a rate-latency curve needs a positive rate and a non-negative latency")
    self.rate = rate
    self.latency = latency
  }

  /// The curve a stage offers with greedy batching: `k` replicas, batches of up to `b`, batch latency `L(b)`
  /// seconds. Rate `k b / L(b)`; latency `2 L(b)` (a replica may first finish a smaller batch, then serves full
  /// batches while backlogged).
  public static func stage(replicas: Int, batchSize: Int, batchLatency: Double) -> RateLatencyCurve {
    precondition(replicas > 0 && batchSize > 0 && batchLatency > 0)
    return RateLatencyCurve(rate: Double(replicas * batchSize) / batchLatency, latency: 2 * batchLatency)
  }

  /// Stages in tandem: the slowest rate, the latencies added (bursts are paid only once).
  public static func concatenation(_ curves: [RateLatencyCurve]) -> RateLatencyCurve {
    precondition(!curves.isEmpty, "a path needs at least one stage")
    return RateLatencyCurve(rate: curves.map(\.rate).min()!, latency: curves.map(\.latency).reduce(0, +))
  }

  public func service(seconds: Double) -> Double { rate * max(0, seconds - latency) }
}

/// Which arrivals a bound was computed from.
public enum BoundScope: String, Sendable, Codable {
  /// Every query of the trace: valid for any stage, since a stage never sees more than the pipeline's arrivals.
  case wholeTrace = "whole-trace"
  /// Only the queries that reach the stage (their routes drawn or given): tighter for branches.
  case stageArrivals = "stage-arrivals"
}

/// Worst-case bounds of network calculus for an arrival curve through a rate-latency server.
public struct NetworkCalculusBound: Sendable, Equatable, Codable {
  /// Longest time any query waits and is served, seconds (the horizontal deviation); infinite when the long-run
  /// arrival rate exceeds the service rate.
  public var delay: Double
  /// Most queries ever queued or in service (the vertical deviation); infinite likewise.
  public var backlog: Double
  public var scope: BoundScope

  /// Bounds for `arrivals` through `service`.
  ///
  /// Both deviations of a concave piecewise-linear curve against a convex rate-latency curve are reached at
  /// `D = 0`, `D = T` or a breakpoint of the arrival curve, so those are the only points evaluated.
  /// For a single token bucket `(sigma, rho)` with `rho <= R` they are the textbook `T + sigma / R` and
  /// `sigma + rho T`.
  /// - Complexity: O(number of buckets squared) for the breakpoints.
  public init(arrivals: TokenBucketCurve, service: RateLatencyCurve, scope: BoundScope) {
    self.scope = scope
    let pieces = arrivals.pieces
    guard let lastPiece = pieces.last, lastPiece.bucket.rate <= service.rate else {
      delay = .infinity
      backlog = .infinity
      return
    }
    var points = pieces.map(\.start)
    points.append(service.latency)
    // Delay: sup over s of (T + alpha(s) / R - s), s >= 0 (alpha(0+) is the smallest burst).
    var worstDelay = 0.0
    var worstBacklog = 0.0
    for s in points where s >= 0 {
      let alpha = arrivals.bound(seconds: s)
      worstDelay = max(worstDelay, service.latency + alpha / service.rate - s)
      worstBacklog = max(worstBacklog, alpha - service.service(seconds: s))
    }
    delay = worstDelay
    backlog = worstBacklog
  }
}
