import Dispatch
import Foundation
import Synchronization

/// Answers "does this configuration meet the SLO on this window's trace?", caching answers and counting how
/// each was reached. Safe to use from several threads; independent questions run in parallel, and the answers
/// do not depend on how many run at once.
public final class FeasibilityOracle: Sendable {
  public struct Answer: Sendable, Equatable {
    public var feasible: Bool
    /// The SLO percentile of end-to-end latency, nanoseconds, when a full simulation ran; nil when the run
    /// stopped early (it was over the SLO) or the network-calculus bound answered.
    public var percentileLatency: Int64? = nil
    /// The worst-case bound, nanoseconds, when the network-calculus screen answered.
    public var bound: Double? = nil
  }

  /// How the answers were reached.
  public struct Counts: Sendable, Equatable, Codable {
    /// Simulations run (a chain search's simulation of one stage on what its prefix leaves counts as one).
    public var estimatorRuns = 0
    /// Simulations stopped as soon as too many queries had missed the SLO.
    public var stoppedEarly = 0
    /// Configurations shown feasible by the network-calculus bound alone, with no simulation.
    public var acceptedByBound = 0
    /// Configurations ruled out by a necessary condition (capacity below the mean rate, the latency floor).
    public var ruledOut = 0
  }

  public let model: PipelineModel
  public let arrivals: [Int64]
  public let seed: UInt64
  /// The objective: latency (nanoseconds) at the pipeline's percentile.
  public let slo: Int64
  let arrivalCurve: TokenBucketCurve?
  /// Queries per second over the window (`PipelineModel.meanRate`), for the necessary-capacity check.
  public let meanRate: Double
  let screens: Bool
  /// The window's routes, drawn once from `seed` (every check simulates the same trace).
  let routes: RouteSource
  /// How long batches take in its simulations.
  public let serviceTimes: ServiceTimeModel
  /// Each arrival's size, when batches take their largest input's size bucket (the model's tables must then be
  /// lower bounds, `PipelineModel.SizeTable.fastest`).
  public let querySizes: [Float]?

  private struct State: Sendable {
    var cache: [PipelineConfiguration: Answer] = [:]
    var counts = Counts()
    /// Prefixes of the chain (its first stages' configurations, root first) that no configuration of the rest can
    /// make feasible (`PrefixBound`).
    var deadPrefixes: Set<[StageConfiguration]> = []
    /// The same, in the order they were found (the search reads the new ones after each batch).
    var deadPrefixList: [[StageConfiguration]] = []
    var ruledOutByPrefix = 0
  }
  private let state = Mutex(State())

  /// A lower bound that rules out every configuration sharing a chain prefix with one simulated infeasible, when
  /// the pipeline is a chain (each stage at most one parent and one child), service deterministic and queues
  /// central. The first k stages of a chain see the same arrivals whatever the later stages are, so their finish
  /// times in one simulation hold for every configuration with the same first k; a query's latency is then at
  /// least its last finish among them plus, for each later stage on its route, the hop and the fastest batch any
  /// hardware gives that stage. When more queries than the percentile allows are over the SLO on that bound alone,
  /// no configuration with this prefix meets it. Exact (never rules out a feasible configuration): tested against
  /// full simulations of every configuration of small instances.
  struct PrefixBound: Sendable {
    /// Stages from root to leaf.
    let chain: [Int]
    /// Per chain position j >= 1: the index of the edge into it (its bit in a route mask).
    let edgeInto: [Int]
    /// Per stage: the fewest nanoseconds any batch takes on any hardware the stage may use.
    let fastestBatch: [Int64]
    /// Route masks by query when some edge may be skipped; nil when every query takes every edge.
    let masks: [UInt64]?
    /// Per chain position j >= 1: the delay of the edge into it.
    let hop: [Int64]

    init?(model: PipelineModel, masks: [UInt64]?) {
      guard model.stages.count >= 2, let root = model.roots.first, model.roots.count == 1,
        model.incoming.allSatisfy({ $0.count <= 1 }), model.outgoing.allSatisfy({ $0.count <= 1 })
      else { return nil }
      var chain = [root]
      var edgeInto = [0]
      while let e = model.outgoing[chain.last!].first {
        guard let k = model.edgeIndex(e) else { return nil }
        chain.append(e.child)
        edgeInto.append(k)
      }
      guard chain.count == model.stages.count else { return nil }
      self.chain = chain
      self.edgeInto = edgeInto
      fastestBatch = model.stages.map(\.fastestBatchLatency)
      self.masks = masks
      hop = edgeInto.map { model.delay(model.inputs.pipeline.edges[$0]) }
    }

    /// The configurations of the first `k` chain stages.
    package func prefix(_ c: PipelineConfiguration, _ k: Int) -> [StageConfiguration] {
      chain.prefix(k).map { c.stages[$0] }
    }

    /// The shortest prefix length (1 up to stages - 1) that one run's finishes show cannot meet the SLO, if any.
    /// - Complexity: O(queries x stages^2).
    func deadPrefixLength(
      finishes: [Int64], arrivals: [Int64], slo: Int64, allowedMisses: Int
    ) -> Int? {
      let n = arrivals.count
      guard finishes.count == n * chain.count else { return nil }
      return finishes.withUnsafeBufferPointer { f in
        for k in 1..<chain.count {
          var misses = 0
          for q in 0..<n {
            var latest = Int64.min
            for j in 0..<k { latest = max(latest, f[chain[j] * n + q]) }
            guard latest != .min else { continue }
            var bound = latest - arrivals[q]
            // The rest of its route, if it reached the prefix's last stage.
            if f[chain[k - 1] * n + q] != .min {
              var j = k
              while j < chain.count, masks.map({ $0[q] & (1 << UInt64(edgeInto[j])) != 0 }) ?? true {
                bound += hop[j] + fastestBatch[chain[j]]
                j += 1
              }
            }
            if bound > slo {
              misses += 1
              if misses > allowedMisses { return k }
            }
          }
        }
        return nil
      }
    }
  }

  /// Necessary capacity per stage from the trace: the queries that reach a stage within any window of the trace
  /// must, all but the misses the percentile allows over the whole trace, be served there between their earliest
  /// arrival at the stage (the window's start plus the fastest path to it) and the latest finish that can still
  /// meet the SLO (the window's end plus the SLO, less the fastest certain path after it). Batches that serve them
  /// lie wholly inside that interval, so k replicas serve at most k x its length x the best n / L(n) up to the
  /// batch size. Too few replicas for some window: no configuration with them meets the SLO, whatever the other
  /// stages do; the search leaves such options out (`Planner.stageOptions`). Exact: tested against full
  /// simulations of every configuration of small instances.
  struct BurstCapacity: Sendable {
    /// Per stage (nil where which queries reach it is not known exactly): pairs of a window length
    /// (nanoseconds) and a number of queries reaching the stage that some window of that length holds.
    let counts: [[(window: Int64, queries: Int)]?]
    /// Per stage: the least time from a query's arrival to its arrival at the stage, and from its finish there to
    /// the end of the query along edges every query takes.
    let before: [Int64], after: [Int64]
    let slo: Int64
    let allowedMisses: Int

    init(model: PipelineModel, arrivals: [Int64], masks: [UInt64]?, slo: Int64, allowedMisses: Int) {
      self.slo = slo
      self.allowedMisses = allowedMisses
      let fastest = model.stages.map(\.fastestBatchLatency)
      var before = [Int64](repeating: 0, count: model.stages.count)
      for n in model.topologicalOrder {
        for e in model.incoming[n] {
          before[n] = max(before[n], before[e.parent] + fastest[e.parent] + model.delay(e))
        }
      }
      var after = [Int64](repeating: 0, count: model.stages.count)
      for n in model.topologicalOrder.reversed() {
        for e in model.outgoing[n] where e.probability >= 1 {
          after[n] = max(after[n], model.delay(e) + fastest[e.child] + after[e.child])
        }
      }
      self.before = before
      self.after = after
      // Which queries reach each stage: all of them where every path to it is certain; on a tree, those whose
      // route takes every edge of the stage's one path; elsewhere not known exactly (no condition).
      var certain = [Bool](repeating: false, count: model.stages.count)
      var path: [[Int]?] = Array(repeating: nil, count: model.stages.count)
      for r in model.roots {
        certain[r] = true
        path[r] = []
      }
      for n in model.topologicalOrder where !model.incoming[n].isEmpty {
        certain[n] = model.incoming[n].contains { certain[$0.parent] && $0.probability >= 1 }
        if model.incoming[n].count == 1, let e = model.incoming[n].first, let up = path[e.parent],
          let k = model.edgeIndex(e)
        {
          path[n] = up + [k]
        }
      }
      // Only more queries than the misses allowed can force replicas: for each count k on a geometric grid above
      // that, the shortest window holding k of the queries (so every window of that length holds k or more).
      var sizes: [Int] = []
      var k = Double(allowedMisses + 1)
      while Int(k) <= arrivals.count {
        if sizes.last != Int(k) { sizes.append(Int(k)) }
        k *= 1.35
      }
      counts = model.stages.indices.map { m -> [(window: Int64, queries: Int)]? in
        let reaching: [Int64]
        if certain[m] {
          reaching = arrivals
        } else if let edgesOnPath = path[m], let masks {
          let bits = edgesOnPath.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) }
          reaching = arrivals.indices.compactMap { masks[$0] & bits == bits ? arrivals[$0] : nil }
        } else {
          return nil
        }
        return sizes.compactMap { k in Self.shortestHolding(reaching, k).map { ($0, k) } }
      }
    }

    /// The shortest span of `k` consecutive sorted times (nil when there are fewer). - Complexity: O(times),
    /// through buffers so that the pass is vectorised (checked indexing kept it a value at a time: 1.2% of a
    /// report).
    static func shortestHolding(_ times: [Int64], _ k: Int) -> Int64? {
      guard k >= 1, times.count >= k else { return nil }
      return times.withUnsafeBufferPointer { t in
        let last = t.baseAddress! + (k - 1)
        var shortest = Int64.max
        for i in 0...(t.count - k) { shortest = min(shortest, last[i] - t[i]) }
        return shortest
      }
    }

    /// The fewest replicas of `option` at batch size b that stage m needs for every window; `Int.max` when no
    /// number is enough (a window's queries cannot even reach the stage in time).
    func minimumReplicas(stage m: Int, option: PipelineModel.HardwareOption, batch b: Int) -> Int {
      guard let counts = counts[m] else { return 1 }
      var rate = 0.0  // queries per nanosecond per replica, at best
      for n in 1...max(1, min(b, option.latencyTable.count)) where option.latencyTable[n - 1] > 0 {
        rate = max(rate, Double(n) / Double(option.latencyTable[n - 1]))
      }
      guard rate > 0 else { return 1 }
      var fewest = 1
      for (window, queries) in counts where queries > allowedMisses {
        let room = window + slo - before[m] - after[m]
        guard room > 0 else { return Int.max }
        let needed = (Double(queries - allowedMisses) / (Double(room) * rate)).rounded(.up)
        fewest = max(fewest, needed >= Double(Int32.max) ? Int(Int32.max) : Int(needed))
      }
      return fewest
    }
  }

  /// Made on first use (the search's option lists): O(queries x stages x log(queries)).
  private let burstCapacityStorage = Mutex<BurstCapacity?>(nil)
  let burstMasks: [UInt64]?

  /// `BurstCapacity` for this window and objective (only with the screens on).
  var burstCapacity: BurstCapacity? {
    guard screens else { return nil }
    return burstCapacityStorage.withLock { stored in
      if let stored { return stored }
      let made = BurstCapacity(
        model: model, arrivals: arrivals, masks: burstMasks, slo: slo,
        allowedMisses: model.percentile.allowedMisses(of: arrivals.count))
      stored = made
      return made
    }
  }

  /// Set for chains when the screens are on (`PrefixBound`).
  let prefixBound: PrefixBound?

  /// Recent runs' stage outputs, which later checks hand on instead of simulating the stages they share
  /// (`StageOutputCache`); nil when asked not to, or when service is not deterministic.
  let stageOutputs: StageOutputCache?

  /// Stages the checks so far handed on from an earlier run, and stages they simulated (zero without
  /// `stageOutputs`).
  public var stageCounts: (replayed: Int, simulated: Int) { stageOutputs?.stageCounts ?? (0, 0) }

  /// Made on first use (only the coarse-grained baselines ask): O(queries).
  private let routeFloorStorage = Mutex<RouteFloor?>(nil)

  /// `RouteFloor` for this window and objective, when the screens are on and service is deterministic.
  var routeFloor: RouteFloor? {
    guard screens && serviceTimes == .deterministic else { return nil }
    return routeFloorStorage.withLock { stored in
      if let stored { return stored }
      let made = RouteFloor(model: model, masks: burstMasks, queries: arrivals.count, slo: slo)
      stored = made
      return made
    }
  }

  /// A lower bound on each query's latency from its route alone: on every stage its route visits it takes at
  /// least the fastest batch up to the stage's batch size, after the latest of the visited parents it comes from
  /// plus the edge's delay. A configuration under which more queries than the percentile allows are over the SLO
  /// on this bound alone cannot meet it, however many replicas it has. Exact with deterministic service (a
  /// batch of n takes L(n); sized tables are lower bounds). Queries are grouped by route mask, so a check costs
  /// O(routes x (stages + edges)), routes at most 2^edges and at most the queries.
  struct RouteFloor: Sendable {
    /// Distinct route masks (bit k: edge k taken) and how many queries take each.
    let routes: [(mask: UInt64, queries: Int)]
    /// Per stage: its outgoing edges' children, mask bits and delays.
    let outgoing: [[(child: Int, bit: UInt64, delay: Int64)]]
    let roots: [Int]
    let order: [Int]
    let slo: Int64
    let allowedMisses: Int

    init(model: PipelineModel, masks: [UInt64]?, queries: Int, slo: Int64) {
      if let masks {
        var counts: [UInt64: Int] = [:]
        for m in masks { counts[m, default: 0] += 1 }
        routes = counts.sorted { $0.key < $1.key }.map { (mask: $0.key, queries: $0.value) }
      } else {
        routes = [(mask: ~0, queries: queries)]
      }
      outgoing = model.outgoing.map { edges in
        // An edge without an index is never taken here: the bound only gets lower.
        edges.map { e in
          (child: e.child, bit: model.edgeIndex(e).map { UInt64(1) << UInt64($0) } ?? 0, delay: model.delay(e))
        }
      }
      roots = model.roots
      order = model.topologicalOrder
      self.slo = slo
      allowedMisses = model.percentile.allowedMisses(of: queries)
    }

    /// Whether no more queries than allowed are over the SLO on the bound, for these per-stage fastest batches.
    func holds(fastest: [Int64]) -> Bool {
      var start = [Int64](repeating: -1, count: fastest.count)
      var misses = 0
      for route in routes {
        for m in start.indices { start[m] = -1 }
        for r in roots { start[r] = 0 }
        var latest: Int64 = 0
        for n in order where start[n] >= 0 {
          let finish = start[n] + fastest[n]
          latest = max(latest, finish)
          for e in outgoing[n] where route.mask & e.bit != 0 { start[e.child] = max(start[e.child], finish + e.delay) }
        }
        if latest > slo {
          misses += route.queries
          if misses > allowedMisses { return false }
        }
      }
      return true
    }
  }

  /// How many combinations the search skipped because a dead prefix ruled them out (`PrefixBound`). The search
  /// reads dead prefixes only between batches, and the oracle never consults them itself: a prefix found dead by
  /// one configuration of a batch would otherwise rule out another of the same batch or not, by timing, and the
  /// counts would depend on the cores.
  public var ruledOutByPrefix: Int { state.withLock { $0.ruledOutByPrefix } }

  /// Counts simulations a search ran itself (`ChainSearch`'s one-stage simulations, one each).
  func noteStageSimulations(_ count: Int) { state.withLock { $0.counts.estimatorRuns += count } }

  /// Adds combinations the search skipped to `ruledOutByPrefix`.
  func noteSkippedByPrefix(_ count: Int) { state.withLock { $0.ruledOutByPrefix += count } }

  /// Dead prefixes found since the first `known` (in the order found), root first.
  func deadPrefixes(after known: Int) -> [[StageConfiguration]] {
    state.withLock { s in known < s.deadPrefixList.count ? Array(s.deadPrefixList[known...]) : [] }
  }

  /// True when the chain runs through the stages in index order, so a prefix of the chain is a prefix of a
  /// configuration's stages (the search then skips whole cones of them).
  var prefixIsLeading: Bool { prefixBound?.chain == Array(0..<model.stages.count) }

  /// - Parameters:
  ///   - arrivals: the window's arrival times, nanoseconds, sorted.
  ///   - sloMs: an objective other than the pipeline's (for the cost-versus-SLO sweep).
  ///   - screens: false runs every check as a full simulation (no necessary conditions, no bound, no early stop):
  ///     the baseline the benchmark compares against.
  ///   - serviceTimes: other than `.deterministic` for a what-if on service variability (the bound is then not used).
  ///   - prefixBounds: false leaves out `PrefixBound` (the benchmark's side-by-side baseline).
  ///   - querySizes: one per arrival, for sized profiles: built on `PipelineModel(inputs, sizeTable: .fastest)`
  ///     the necessary conditions and the prefix bound stay exact (their tables are lower bounds); the
  ///     network-calculus bound, which needs the slowest batch, is not used.
  ///   - sharesStageOutputs: hand on the stages a check shares with a kept run (`StageOutputCache`). Off by
  ///     default: on the 17.3M-query day's report it saved 2-4% of planning (lost 14% with a third of the memory
  ///     budget) and raised peak memory by 90-360 MB (recording runs that then stop early, and the kept
  ///     recordings); `inferline-bench stage-outputs` measures it per pipeline.
  public init(
    model: PipelineModel, arrivals: [Int64], seed: UInt64, sloMs: Double? = nil, screens: Bool = true,
    serviceTimes: ServiceTimeModel = .deterministic, prefixBounds: Bool = true, querySizes: [Float]? = nil,
    sharesStageOutputs: Bool = false
  ) {
    precondition(querySizes == nil || querySizes!.count == arrivals.count, "one size per arrival")
    precondition(
      querySizes == nil || !model.hasSizedProfiles || model.sizeTable == .fastest,
      "planning with query sizes needs lower-bound tables: PipelineModel(inputs, sizeTable: .fastest)")
    self.querySizes = querySizes
    self.screens = screens
    self.serviceTimes = serviceTimes
    self.model = model
    self.arrivals = arrivals
    self.seed = seed
    slo = sloMs.map(ProfileTable.nanoseconds) ?? model.slo
    meanRate = PipelineModel.meanRate(arrivals)
    let probabilities = model.inputs.pipeline.edges.map(\.probability)
    let masks =
      probabilities.contains { $0 < 1 }
      ? RouteSource.drawnMasks(seed: seed, probabilities: probabilities, count: arrivals.count) : nil
    routes = masks.map { .given($0) } ?? .drawn(seed: seed)
    burstMasks = masks
    stageOutputs =
      sharesStageOutputs && serviceTimes == .deterministic && model.inputs.pipeline.dispatch == .centralQueue
      ? StageOutputCache(model: model, queries: arrivals.count) : nil
    prefixBound =
      prefixBounds && screens && serviceTimes == .deterministic && model.inputs.pipeline.dispatch == .centralQueue
      ? PrefixBound(model: model, masks: masks) : nil
    // The bound applies to pipelines without joins (each stage then sees a subset of its parent's output), whose
    // stages serve from one queue (a per-replica queue can wait while another replica idles) in at most L(b).
    let hasJoin = model.incoming.contains { $0.count > 1 }
    arrivalCurve =
      hasJoin || arrivals.count < 2 || model.inputs.pipeline.dispatch != .centralQueue
        || serviceTimes != .deterministic || querySizes != nil
      ? nil
      : TokenBucketCurve(arrivals: arrivals, rates: TokenBucketCurve.defaultRates(arrivals, shortestWindow: 1_000_000))
  }

  public var counters: Counts { state.withLock { $0.counts } }

  /// The configurations answered so far, in no particular order.
  var answered: [PipelineConfiguration] { state.withLock { Array($0.cache.keys) } }

  /// Records a configuration a necessary condition ruled out (the caller checked it): infeasible, cached as
  /// `evaluate` would have cached it, counted in `ruledOut`.
  func ruleOut(_ configuration: PipelineConfiguration) -> Answer {
    state.withLock {
      if let known = $0.cache[configuration] { return known }
      $0.counts.ruledOut += 1
      $0.cache[configuration] = Answer(feasible: false)
      return Answer(feasible: false)
    }
  }

  /// The answer for one configuration. With a `draft`, what the evaluation finds goes there, not into the oracle,
  /// until `keep(_:)` (an answer the oracle holds already is read from it either way).
  public func evaluate(_ configuration: PipelineConfiguration, draft: Draft? = nil) -> Answer {
    if let known = state.withLock({ $0.cache[configuration] }) { return known }
    if let draft, let found = draft.findings[configuration] { return found.answer }
    let finding = compute(configuration, cancellation: draft?.cancellation)
    if let draft {
      draft.findings[configuration] = finding
      draft.order.append(configuration)
    } else {
      state.withLock { keep(finding, configuration, in: &$0) }
    }
    return finding.answer
  }

  /// Answers for several configurations, in parallel on every core; the same answers as one at a time.
  public func evaluate(_ configurations: [PipelineConfiguration]) -> [Answer] {
    let results = ResultSlots<Answer>(count: configurations.count)
    DispatchQueue.concurrentPerform(iterations: configurations.count) { i in
      results[i] = self.evaluate(configurations[i])
    }
    return results.values.map { $0! }
  }

  /// What one evaluation found: the answer, and what it adds to the counts and the dead prefixes.
  struct Finding {
    var answer: Answer
    var counts = Counts()
    var deadPrefix: [StageConfiguration]? = nil
  }

  /// Evaluations made on the side (`evaluate(_:draft:)`), which the oracle takes in only at `keep(_:)`: work
  /// whose results may turn out not to be wanted, and which can be cancelled (its simulations then stop, and it
  /// must not be kept). Used by one thread at a time.
  public final class Draft: @unchecked Sendable {
    var findings: [PipelineConfiguration: Finding] = [:]
    /// The configurations in the order they were evaluated.
    var order: [PipelineConfiguration] = []
    let cancellation = Cancellation()
    public init() {}
  }

  /// Takes in a draft's evaluations in the order they were made; one the oracle has answered meanwhile (in
  /// another draft, or asked directly) counts once.
  public func keep(_ draft: Draft) {
    precondition(!draft.cancellation.isCancelled, "a cancelled draft is never kept")
    state.withLock { s in
      for c in draft.order { keep(draft.findings[c]!, c, in: &s) }
    }
  }

  private func keep(_ finding: Finding, _ configuration: PipelineConfiguration, in s: inout State) {
    guard s.cache[configuration] == nil else { return }
    s.cache[configuration] = finding.answer
    s.counts.estimatorRuns += finding.counts.estimatorRuns
    s.counts.stoppedEarly += finding.counts.stoppedEarly
    s.counts.acceptedByBound += finding.counts.acceptedByBound
    s.counts.ruledOut += finding.counts.ruledOut
    if let dead = finding.deadPrefix, s.deadPrefixes.insert(dead).inserted { s.deadPrefixList.append(dead) }
  }

  /// Runs `work` on items `0 ..< count` as one at a time in order would, skipping item i when `runs(i, earlier)`
  /// is false for the results of the items before it (nil where skipped): the same results, answers, counts and
  /// cache whatever `width`. Up to `width` items run at once. `runs` is asked with the results known so far (nil
  /// for those not known yet) too, so it must never turn from false to true as more of them are known (as a rule
  /// that skips once something earlier is feasible, or cheap enough): an item it rules out that way is skipped, or
  /// cancelled if begun; one begun before that and then ruled out is dropped with what it evaluated (its
  /// evaluations go through `evaluate(_:draft:)` with the draft given).
  /// - Parameter width: items at once; by default the cores other tasks leave (`CoreShare.process`).
  /// - Returns: per item, its result; nil when it was skipped.
  public func evaluateInOrder<Result: Sendable>(
    count: Int, width: Int? = nil, runs: @escaping @Sendable (_ item: Int, _ earlier: [Result?]) -> Bool,
    _ work: @escaping @Sendable (_ item: Int, _ draft: Draft) -> Result
  ) -> [Result?] {
    guard count > 0 else { return [] }
    typealias Progress = InOrderProgress<Result>
    let progress = Mutex(Progress(count: count))
    // Decides the items at the front in order: a finished one is kept when it still runs after the ones before
    // it; then items begun that the results known now rule out are cancelled.
    let decide: @Sendable (inout Progress) -> Void = { p in
      while p.decided < p.next {
        if p.ruledOut[p.decided] {
          p.decided += 1
          continue
        }
        guard let (result, draft) = p.finished[p.decided] else { break }
        p.finished[p.decided] = nil
        if runs(p.decided, Array(p.results[..<p.decided])) {
          self.keep(draft)
          p.results[p.decided] = result
        }
        p.decided += 1
      }
      for i in p.decided..<p.next where !p.ruledOut[i] && !runs(i, Array(p.results[..<i])) {
        p.ruledOut[i] = true
        p.begun[i]?.cancellation.cancel()
      }
    }
    let workers = max(1, min(count, width ?? CoreShare.process.cores()))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while true {
        let taken: (Int, Draft)? = progress.withLock { p in
          while p.next < count {
            let i = p.next
            p.next += 1
            // Ruled out by what is known now: skipped.
            if !runs(i, Array(p.results[..<i])) {
              p.ruledOut[i] = true
              decide(&p)
              continue
            }
            let draft = Draft()
            p.begun[i] = draft
            return (i, draft)
          }
          return nil
        }
        guard let (item, draft) = taken else { return }
        let result = work(item, draft)
        progress.withLock { p in
          p.begun[item] = nil
          if !p.ruledOut[item] { p.finished[item] = (result, draft) }
          decide(&p)
        }
      }
    }
    return progress.withLock { p in
      decide(&p)
      return p.results
    }
  }

  private func compute(_ configuration: PipelineConfiguration, cancellation: Cancellation? = nil) -> Finding {
    // A cancelled draft is never kept (`keep(_:)`): what it finds from here on means nothing.
    if let cancellation, cancellation.isCancelled { return Finding(answer: Answer(feasible: false)) }
    guard let options = model.options(configuration) else { return Finding(answer: Answer(feasible: false)) }
    if screens && !meetsNecessaryConditions(configuration, options) {
      return Finding(answer: Answer(feasible: false), counts: Counts(ruledOut: 1))
    }
    if screens, let bound = networkCalculusBound(configuration, options), bound * 1e9 <= Double(slo) {
      return Finding(answer: Answer(feasible: true, bound: bound), counts: Counts(acceptedByBound: 1))
    }
    guard
      let input = try? model.simulationInput(
        arrivals: arrivals, configuration: configuration, routes: routes, serviceTimes: serviceTimes, slo: slo,
        dispatchSeed: seed, querySizes: querySizes)
    else { return Finding(answer: Answer(feasible: false)) }
    var simulation = Estimator.Options(
      stopWhenInfeasible: screens, collectWaitPercentiles: false, recordStageFinishes: prefixBound != nil)
    simulation.summarisesLatencies = false  // the percentile is selected below
    simulation.cancellation = cancellation
    var result: SimulationResult
    if let stageOutputs {
      let run = Estimator.simulate(
        input, options: simulation, replaying: stageOutputs.replays(for: input.stages), recording: true)
      if let recordings = run.recordings { stageOutputs.keep(input.stages, recordings) }
      result = run.result
    } else {
      result = Estimator.simulate(input, options: simulation)
    }
    if let cancellation, cancellation.isCancelled { return Finding(answer: Answer(feasible: false)) }
    // An infeasible run may show that its first stages alone miss the SLO, whatever comes after them.
    let dead =
      result.feasible
      ? nil
      : prefixBound.flatMap { bound in
        result.stageFinishes.flatMap {
          bound.deadPrefixLength(
            finishes: $0, arrivals: arrivals, slo: slo,
            allowedMisses: model.percentile.allowedMisses(of: arrivals.count))
        }.map { bound.prefix(configuration, $0) }
      }
    var latency: Int64? = nil
    // Taken out of the result, so that the selection reorders the one buffer (a copy was 8 bytes a query).
    var latencies = result.latencies ?? []
    result.latencies = nil
    if !latencies.isEmpty { latency = Selection.tail(&latencies, model.percentile.rank(of: latencies.count) - 1) }
    #if INFERLINE_INVARIANTS
      precondition(!result.feasible || (latency ?? 0) <= slo, "a feasible run's percentile is within the SLO")
    #endif
    return Finding(
      answer: Answer(feasible: result.feasible, percentileLatency: latency),
      counts: Counts(estimatorRuns: 1, stoppedEarly: result.stoppedEarly ? 1 : 0), deadPrefix: dead)
  }

  /// A full simulation of a configuration on this window against this objective (no early stop), and the SLO
  /// percentile of its latencies (`Int64.max` when some query was never served).
  public func simulateFully(
    _ configuration: PipelineConfiguration
  ) throws -> (
    result: SimulationResult, percentileLatency: Int64
  ) {
    let input = try model.simulationInput(
      arrivals: arrivals, configuration: configuration, routes: routes, serviceTimes: serviceTimes, slo: slo,
      dispatchSeed: seed, querySizes: querySizes)
    let result = Estimator.simulate(input, options: .latenciesOnly)
    var latencies = result.latencies ?? []
    let latency = latencies.isEmpty ? 0 : Selection.tail(&latencies, model.percentile.rank(of: latencies.count) - 1)
    return (result, latency)
  }

  /// Necessary conditions: every stage can serve its share of the mean rate, and the fastest a query can go on
  /// the chosen hardware (batch 1 on every stage of the longest path over edges every query takes, plus hops)
  /// is within the SLO.
  func meetsNecessaryConditions(
    _ configuration: PipelineConfiguration, _ options: [PipelineModel.HardwareOption]
  ) -> Bool {
    var single = [Int64](repeating: 0, count: options.count)
    for (m, stage) in configuration.stages.enumerated() {
      let option = options[m]
      guard let l1 = option.latency(batch: 1), option.latency(batch: stage.batchSize) != nil else { return false }
      if option.capacity(batch: stage.batchSize, replicas: stage.replicas) < meanRate * model.scaleFactors[m] {
        return false
      }
      single[m] = l1
    }
    return model.criticalPath(singleLatencies: single, certainEdgesOnly: true).nanoseconds <= slo
  }

  /// `RouteFloor` for a configuration: true when it holds, or when it does not apply (random service, screens
  /// off). The searches do not consult it (a configuration it rules out would no longer count against their
  /// budget of simulations, and they would examine others than they do); the coarse-grained baselines do.
  func meetsRouteFloor(_ configuration: PipelineConfiguration) -> Bool {
    guard let routeFloor, let options = model.options(configuration) else { return true }
    return routeFloor.holds(
      fastest: options.indices.map { m in
        options[m].latencyTable.prefix(configuration.stages[m].batchSize).min() ?? 0
      })
  }

  /// The worst-case end-to-end latency, seconds, for a pipeline without joins: per stage the delay bound of its
  /// input's token buckets through its rate-latency curve, then the stage's output buckets feed its children
  /// (an input bucket (sigma, rho) leaves a server of rate R >= rho with latency T as (sigma + rho T, rho)).
  /// Nil when there is a join, or some stage's long-run rate is too low for every bucket.
  func networkCalculusBound(
    _ configuration: PipelineConfiguration, _ options: [PipelineModel.HardwareOption]
  ) -> Double? {
    guard let arrivalCurve else { return nil }
    var inputCurve = [TokenBucketCurve?](repeating: nil, count: options.count)
    var done = [Double](repeating: 0, count: options.count)
    for r in model.roots { inputCurve[r] = arrivalCurve }
    for n in model.topologicalOrder {
      guard let curve = inputCurve[n] else { continue }
      let stage = configuration.stages[n]
      guard options[n].latency(batch: stage.batchSize) != nil, stage.replicas > 0 else { return nil }
      // The slowest batch up to b, so the curve holds for any batch.
      let slowest = options[n].slowestLatency(upTo: stage.batchSize)
      let service = RateLatencyCurve.stage(
        replicas: stage.replicas, batchSize: stage.batchSize, batchLatency: Double(slowest) / 1e9)
      let usable = curve.buckets.filter { $0.rate <= service.rate }
      guard !usable.isEmpty else { return nil }
      let bound = NetworkCalculusBound(
        arrivals: TokenBucketCurve(buckets: usable), service: service, scope: .wholeTrace)
      guard bound.delay.isFinite else { return nil }
      let parentDone = model.incoming[n].map { done[$0.parent] + Double(model.delay($0)) / 1e9 }.max() ?? 0
      done[n] = parentDone + bound.delay
      let output = TokenBucketCurve(
        buckets: usable.map { TokenBucket(rate: $0.rate, burst: $0.burst + $0.rate * service.latency) })
      for e in model.outgoing[n] { inputCurve[e.child] = output }
    }
    return done.max()
  }
}

/// `FeasibilityOracle.evaluateInOrder`'s bookkeeping: items handed out, items decided (a prefix), and the results.
private struct InOrderProgress<Result> {
  /// Items handed out or skipped: a prefix.
  var next = 0
  /// Items decided (kept or skipped): a prefix of `next`.
  var decided = 0
  var results: [Result?]
  /// Items done and not yet decided, with what they evaluated.
  var finished: [(Result, FeasibilityOracle.Draft)?]
  /// Items running, with their drafts.
  var begun: [FeasibilityOracle.Draft?]
  /// Items the results before them rule out (skipped, or cancelled if begun).
  var ruledOut: [Bool]

  init(count: Int) {
    results = Array(repeating: nil, count: count)
    finished = Array(repeating: nil, count: count)
    begun = Array(repeating: nil, count: count)
    ruledOut = Array(repeating: false, count: count)
  }
}
