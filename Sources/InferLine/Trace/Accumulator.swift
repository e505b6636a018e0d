/// Gathers the parsed blocks of one log in line order and turns them into sorted traces.
struct Accumulator {
  let layout: LogLayout
  var times: [Int64] = []
  var pipelineIDs: [UInt16] = []
  var latencies: [Float] = []
  var routes: [UInt64] = []
  var sizes: [Float] = []
  var names: [[UInt8]] = []
  private var nameIndex: [[UInt8]: UInt16] = [:]
  var lines = 0
  var blank = 0
  var malformed = 0
  var skipped: [SkippedLine] = []
  var unreadableLatencies = 0
  var unreadableSizes = 0
  var adjusted = AdjustedTimestampCounts()

  init(layout: LogLayout) { self.layout = layout }

  mutating func reserve(_ count: Int) {
    times.reserveCapacity(count)
    if layout.pipelineColumn != nil { pipelineIDs.reserveCapacity(count) }
    if layout.latencyColumn != nil { latencies.reserveCapacity(count) }
    if layout.routeColumn != nil { routes.reserveCapacity(count) }
    if layout.sizeColumn != nil { sizes.reserveCapacity(count) }
  }

  mutating func append(_ part: ParsedLines, firstLine: Int, keep: Int) {
    times.append(contentsOf: part.times.buffer)
    if layout.pipelineColumn != nil {
      // Map this part's local pipeline numbers to global ones.
      var map = [UInt16](repeating: 0, count: part.pipelineNames.count)
      for (local, name) in part.pipelineNames.enumerated() {
        if let id = nameIndex[name] {
          map[local] = id
        } else {
          let id = UInt16(names.count)
          names.append(name)
          nameIndex[name] = id
          map[local] = id
        }
      }
      let identity = map.enumerated().allSatisfy { $0.offset == Int($0.element) }
      if identity {
        pipelineIDs.append(contentsOf: part.pipelineIDs.buffer)
      } else {
        pipelineIDs.append(contentsOf: part.pipelineIDs.buffer.lazy.map { map[Int($0)] })
      }
    }
    latencies.append(contentsOf: part.latencies.buffer)
    routes.append(contentsOf: part.routes.buffer)
    sizes.append(contentsOf: part.sizes.buffer)
    lines += part.lines
    blank += part.blank
    malformed += part.malformed
    unreadableLatencies += part.unreadableLatencies
    unreadableSizes += part.unreadableSizes
    adjusted.add(part.adjusted, firstLine: firstLine)
    for s in part.skipped where skipped.count < keep {
      skipped.append(SkippedLine(line: firstLine + s.line, reason: s.reason))
    }
  }

  consuming func finish(
    file: String, source: ByteSource, layout: LogLayout, unit: TimeUnit, unitDetected: Bool, iso: Bool,
    options: LogReadOptions, contentBytes: Int
  ) throws -> QueryLog {
    if times.isEmpty {
      let example = skipped.first.map { " (line \($0.line): \($0.reason))" } ?? ""
      throw InputError(
        file: file,
        lines == blank
          ? "the log has a header but no data lines"
          : "none of the \(lines - blank) data lines could be read\(example)",
        fix: lines == blank
          ? "check that the export finished"
          : "check the timestamp column ('\(layout.columns[layout.timeColumn])') and its format; name the right one with --time-column, or the unit with --time-unit"
      )
    }
    let hasLatency = layout.latencyColumn != nil
    let hasRoutes = layout.routeColumn != nil
    let hasSizes = layout.sizeColumn != nil
    var traces: [ArrivalTrace] = []
    if layout.pipelineColumn == nil || names.count <= 1 {
      let name = names.first.map { String(decoding: $0, as: UTF8.self) }
      traces.append(
        ArrivalTrace(
          pipeline: name, arrivals: times, observedLatencyMs: hasLatency ? latencies : nil,
          isRelative: unit == .relativeSeconds && !iso))
      if hasRoutes { traces[0].visitedStages = routes }
      if hasSizes {
        traces[0].querySizes = sizes
        traces[0].sizeColumn = layout.columns[layout.sizeColumn!]
      }
      times = []
      latencies = []
      routes = []
      sizes = []
    } else {
      // Stable partition by pipeline: counts, then one pass.
      var counts = [Int](repeating: 0, count: names.count)
      for id in pipelineIDs { counts[Int(id)] += 1 }
      var split = counts.map { c -> [Int64] in
        var a: [Int64] = []
        a.reserveCapacity(c)
        return a
      }
      var splitLatency =
        hasLatency
        ? counts.map { c -> [Float] in
          var a: [Float] = []
          a.reserveCapacity(c)
          return a
        } : []
      var splitRoutes = [[UInt64]](repeating: [], count: hasRoutes ? names.count : 0)
      var splitSizes = [[Float]](repeating: [], count: hasSizes ? names.count : 0)
      for i in times.indices {
        let id = Int(pipelineIDs[i])
        split[id].append(times[i])
        if hasLatency { splitLatency[id].append(latencies[i]) }
        if hasRoutes { splitRoutes[id].append(routes[i]) }
        if hasSizes { splitSizes[id].append(sizes[i]) }
      }
      routes = []
      sizes = []
      times = []
      latencies = []
      pipelineIDs = []
      for (id, name) in names.enumerated() {
        traces.append(
          ArrivalTrace(
            pipeline: String(decoding: name, as: UTF8.self), arrivals: split[id],
            observedLatencyMs: hasLatency ? splitLatency[id] : nil, isRelative: unit == .relativeSeconds && !iso))
        if hasRoutes { traces[traces.count - 1].visitedStages = splitRoutes[id] }
        if hasSizes {
          traces[traces.count - 1].querySizes = splitSizes[id]
          traces[traces.count - 1].sizeColumn = layout.columns[layout.sizeColumn!]
        }
        split[id] = []
        if hasLatency { splitLatency[id] = [] }
      }
    }
    var outOfOrder = 0
    for i in traces.indices {
      let n = Self.sortCountingOutOfOrder(&traces[i])
      outOfOrder += n
    }
    var report = IngestionReport(
      file: file, fileBytes: source.fileSize, contentBytes: contentBytes, gzip: source.isGzip,
      format: layout.format,
      delimiter: layout.format == .jsonl ? nil : String(UnicodeScalar(layout.delimiter)),
      timeColumn: layout.columns[layout.timeColumn], timeUnit: unit, timeUnitDetected: unitDetected, isoTimestamps: iso,
      timeZone: options.timeZone.description,
      pipelineColumn: layout.pipelineColumn.map { layout.columns[$0] },
      latencyColumn: layout.latencyColumn.map { layout.columns[$0] },
      routeColumn: layout.routeColumn.map { layout.columns[$0] },
      sizeColumn: layout.sizeColumn.map { layout.columns[$0] },
      lines: lines, blankLines: blank, queries: traces.reduce(0) { $0 + $1.count }, malformedLines: malformed,
      skipped: skipped, outOfOrder: outOfOrder, unreadableLatencies: unreadableLatencies,
      adjustedTimestamps: adjusted.entries, duplicateColumns: layout.duplicateColumns)
    if hasSizes { report.unreadableSizes = unreadableSizes }
    let ignored = layout.ignoredColumnIndices
    report.ignoredColumnCount = ignored.count
    report.ignoredColumns = ignored.prefix(IngestionReport.ignoredColumnsListed).map { i -> String in
      let name = layout.columns[i]
      return name.count > 60 ? String(name.prefix(60)) + "..." : name
    }
    return QueryLog(report: report, traces: traces)
  }

  /// Sorts a trace by arrival time (latencies move with their queries) and returns how many queries are stamped
  /// earlier than the query on the line before (one late line counts once, however far it is displaced).
  /// - Complexity: O(N) when sorted; O(N log N) otherwise.
  static func sortCountingOutOfOrder(_ trace: inout ArrivalTrace) -> Int {
    var outOfOrder = 0
    var previous = Int64.min
    for t in trace.arrivals {
      if t < previous { outOfOrder += 1 }
      previous = t
    }
    guard outOfOrder > 0 else { return 0 }
    if trace.observedLatencyMs == nil && trace.visitedStages == nil && trace.querySizes == nil {
      trace.arrivals.sort()
      return outOfOrder
    }
    // Other columns move with their queries: sort a permutation (stable), then apply it to each column.
    let order = trace.arrivals.indices.sorted { trace.arrivals[$0] < trace.arrivals[$1] }
    trace.arrivals = order.map { trace.arrivals[$0] }
    if let latencies = trace.observedLatencyMs { trace.observedLatencyMs = order.map { latencies[$0] } }
    if let routes = trace.visitedStages { trace.visitedStages = order.map { routes[$0] } }
    if let sizes = trace.querySizes { trace.querySizes = order.map { sizes[$0] } }
    return outOfOrder
  }
}
