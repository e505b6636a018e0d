import Foundation
import InferLineTestSupport
import Testing

@testable import InferLine
@testable import InferLineNight

struct ProvisioningDecisionTests {
  let second: Int64 = 1_000_000_000

  /// The most machines per hardware type in a window, against the count evaluated at every second (the
  /// timelines change only on whole seconds), on random timelines.
  @Test func theMostMachinesInAWindowAgreeWithEverySecond() {
    var rng = SeededGenerator(seed: 5)
    for _ in 0..<200 {
      var timelines: [ReplicaTimeline] = []
      let stages: Int = 1 + Int(rng.next() % 4)
      for s in 0..<stages {
        var time: Int64 = 0
        var points: [ReplicaTimeline.Point] = []
        let count: Int = 1 + Int(rng.next() % 6)
        for _ in 0..<count {
          let replicas: Int = 1 + Int(rng.next() % 5)
          points.append(ReplicaTimeline.Point(time: time, replicas: replicas))
          let step: Int64 = 1 + Int64(rng.next() % 20)
          time += step * second
        }
        let hardware: String = rng.next() % 2 == 0 ? "T4" : "CPU"
        timelines.append(ReplicaTimeline(stage: "s\(s)", hardware: hardware, points: points))
      }
      let from: Int64 = Int64(rng.next() % 60) * second
      let to: Int64 = from + Int64(1 + rng.next() % 40) * second
      var expected: [String: Int] = [:]
      for t in stride(from: from, to: to, by: Int(second)) {
        var total: [String: Int] = [:]
        for line in timelines { total[line.hardware, default: 0] += line.replicas(at: t) }
        for (h, n) in total { expected[h] = max(expected[h] ?? 0, n) }
      }
      #expect(ProvisioningDecision.most(timelines, from: from, to: to) == expected)
      // The fewest over the whole day, against every second from the first change to the last.
      var end: Int64 = 0
      for line in timelines { for p in line.points { end = max(end, p.time) } }
      var fewest: [String: Int] = [:]
      for t in stride(from: 0, through: end, by: Int(second)) {
        var total: [String: Int] = [:]
        for line in timelines { total[line.hardware, default: 0] += line.replicas(at: t) }
        for (h, n) in total { fewest[h] = min(fewest[h] ?? .max, n) }
      }
      #expect(ProvisioningDecision.least(timelines) == fewest)
    }
  }

  /// A provisioning that scales is said as its range and mean, not as runs of hourly maxima.
  @Test func aScalingProvisioningIsSaidAsItsRange() {
    let run = ProvisioningDecision.Run(start: 0, end: 3600 * second, machines: ["T4": 3, "CPU": 3])
    var d = ProvisioningDecision(
      policy: "inferline", peak: run, runs: [run], costPerDay: 10, percentileLatencyMs: 300, sloMs: 400,
      percentile: 99, missRate: 0.001, meetsSLO: true, isRelative: false)
    #expect(d.scalingLine == nil)
    d.scaling = .init(least: ["T4": 1, "CPU": 2], mean: ["T4": 2.24, "CPU": 2.5], decisions: 31)
    #expect(
      d.scalingLine
        == "scales on live traffic from 2 CPU and 1 T4 up to the peak's, 2.5 CPU and 2.2 T4 on average (31 decisions)")
  }

  @Test func machinesAreSaidMostFirst() {
    #expect(ProvisioningDecision.text(["CPU": 2, "T4": 3]) == "3 T4 and 2 CPU")
    #expect(ProvisioningDecision.text(["CPU": 2, "A10": 2, "T4": 1]) == "2 A10, 2 CPU and 1 T4")
    #expect(ProvisioningDecision.text(["T4": 0]) == "no machines")
  }

  /// A day of three runs: the base is the fewest of each type, and each run above it says what it adds, in the
  /// reader's zone.
  @Test func theScheduleLineSaysWhatIsAddedAndWhen() {
    let day: Int64 = 1_795_824_000 * 1_000_000_000  // 2026-11-28T00:00:00Z
    let hour = 3600 * second
    let runs = [
      ProvisioningDecision.Run(start: day, end: day + 14 * hour, machines: ["T4": 2, "CPU": 1]),
      ProvisioningDecision.Run(start: day + 14 * hour, end: day + 18 * hour, machines: ["T4": 4, "CPU": 1]),
      ProvisioningDecision.Run(start: day + 18 * hour, end: day + 24 * hour, machines: ["T4": 3, "CPU": 2]),
    ]
    let d = ProvisioningDecision(
      policy: "schedule", peak: runs[1], runs: runs, costPerDay: 10, percentileLatencyMs: 300, sloMs: 400,
      percentile: 99, missRate: 0.001, meetsSLO: true, isRelative: false)
    #expect(
      d.scheduleLine(zone: .utc) == "2 T4 and 1 CPU at least; 14:00-18:00 add 2 T4; 18:00-00:00 add 1 CPU and 1 T4")
    #expect(d.scheduleLine(zone: .fixed(seconds: 5 * 3600 + 1800)).contains("19:30-23:30 add 2 T4"))
    #expect(d.scheduleLine(zone: .utc, limit: 1).hasSuffix("add 2 T4; and 1 more changes (see the replica timeline)"))
    #expect(d.marginText == "P99 300 ms against the 400 ms SLO (25% to spare), 0.10% of queries over (1% allowed)")
    var one = d
    one.runs = [runs[0]]
    #expect(one.scheduleLine(zone: .utc) == "the same all day")
    var missed = d
    missed.meetsSLO = false
    missed.missRate = 0.03
    #expect(missed.marginText.hasPrefix("misses the SLO: 3.00% of queries over (1% allowed)"))
  }

  @Test func clockTimesAreInTheReadersZone() throws {
    let winter: Int64 = 1_795_824_000 * 1_000_000_000 + 14 * 3600 * second  // 2026-11-28T14:00Z
    let summer: Int64 = 1_783_000_000 * 1_000_000_000  // 2026-07-02T13:46:40Z
    #expect(ClockText.time(winter, zone: .utc, relative: false) == "14:00")
    #expect(ClockText.time(winter, zone: .fixed(seconds: -8 * 3600), relative: false) == "06:00")
    let berlin = try #require(DefaultTimeZone(parsing: "Europe/Berlin"))
    #expect(ClockText.time(winter, zone: berlin, relative: false) == "15:00")  // CET
    #expect(ClockText.time(summer, zone: berlin, relative: false) == "15:46")  // CEST
    #expect(ClockText.span(0, 3600 * second, zone: berlin, relative: true) == "00:00-01:00")
    #expect(ClockText.time(26 * 3600 * second, zone: .utc, relative: true) == "26:00")
    #expect(ClockText.date(winter, zone: .utc) == "2026-11-28")
    #expect(ClockText.date(winter, zone: .fixed(seconds: -15 * 3600)) == "2026-11-27")  // 23:00 the day before
  }
}
