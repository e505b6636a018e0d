/// A pipeline's shape as the simulators walk it: each stage's children with the edge that reaches them, its number
/// of parents, the roots, the joins and a topological order. Both simulators build their tables from it.
/// - Complexity: O(stages + edges) to build.
struct PipelineGraph: Sendable {
  let stageCount: Int
  /// Children of stage s: `children[childStart[s] ..< childStart[s + 1]]`, reached by edge `childEdge[...]` (an
  /// index into the input's edges), in the edges' order.
  let childStart: [Int]
  let children: [Int]
  let childEdge: [Int]
  /// Parents of each stage.
  let parentCount: [Int]
  /// Stages without parents: where the trace's queries enter.
  let roots: [Int]
  /// Each stage's index among the joins (stages with several parents), or -1; and how many joins there are.
  let joinIndex: [Int]
  let joinCount: Int
  /// Parents before children; nil when the edges have a cycle.
  let order: [Int]?

  init(stageCount: Int, edges: [(parent: Int, child: Int)]) {
    self.stageCount = stageCount
    var start = [Int](repeating: 0, count: stageCount + 1)
    var parents = [Int](repeating: 0, count: stageCount)
    for e in edges {
      start[e.parent + 1] += 1
      parents[e.child] += 1
    }
    for s in 0..<stageCount { start[s + 1] += start[s] }
    var fill = start
    var childOf = [Int](repeating: 0, count: edges.count)
    var edgeOf = [Int](repeating: 0, count: edges.count)
    for (k, e) in edges.enumerated() {
      childOf[fill[e.parent]] = e.child
      edgeOf[fill[e.parent]] = k
      fill[e.parent] += 1
    }
    childStart = start
    children = childOf
    childEdge = edgeOf
    parentCount = parents
    roots = (0..<stageCount).filter { parents[$0] == 0 }
    var joins = [Int](repeating: -1, count: stageCount)
    var j = 0
    for s in 0..<stageCount where parents[s] > 1 {
      joins[s] = j
      j += 1
    }
    joinIndex = joins
    joinCount = j
    order = PipelineSpec.topologicalOrder(count: stageCount, edges: edges)
  }

  init(_ input: SimulationInput) { self.init(stageCount: input.stageCount, edges: input.edges) }

  /// The parents of stage s. - Complexity: O(edges).
  func parents(of s: Int) -> [Int] {
    (0..<stageCount).filter { p in children[childStart[p]..<childStart[p + 1]].contains(s) }
  }

  /// What a route (a mask of the edges taken) means: how many stages it visits, and for each join how many of
  /// its parents it visits with the edge into the join taken (the parents the join waits for).
  /// - Complexity: O(stages + edges).
  func routeFacts(_ mask: UInt64) -> (visited: UInt8, joins: [UInt8]) {
    var visited = [Bool](repeating: false, count: stageCount)
    for r in roots { visited[r] = true }
    var joins = [UInt8](repeating: 0, count: joinCount)
    for s in order ?? [] where visited[s] {
      for i in childStart[s]..<childStart[s + 1] where mask & (1 << UInt64(childEdge[i])) != 0 {
        visited[children[i]] = true
        if joinIndex[children[i]] >= 0 { joins[joinIndex[children[i]]] += 1 }
      }
    }
    return (UInt8(visited.filter { $0 }.count), joins)
  }
}
