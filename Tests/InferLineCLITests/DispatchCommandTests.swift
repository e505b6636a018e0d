import Foundation
import Testing

/// `simulate --dispatch`: the sample video day under each balancer.
extension CommandLineTests {
  @Test func simulateUnderEachDispatchPolicy() throws {
    let s = Self.samples
    func p99(_ dispatch: String) throws -> Double {
      let r = try run(
        ["simulate", "--trace", "\(s)/logs/video-day.csv.gz"] + Self.sampleInputs("video-monitoring") + [
          "--config",
          "\(s)/pipelines/video-monitoring.config.yaml", "--dispatch", dispatch, "--json",
        ])
      #expect(r.status == 0, "\(r.stderr)")
      let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
      return (json["latencyMs"] as! [String: Double])["p99"]!
    }
    let central = try p99("central"), random = try p99("random"), two = try p99("power-of-2")
    // Random dispatch leaves replicas idle while others queue: its tail is the worst; two choices recover most.
    #expect(random > two && two > central, "central \(central), power-of-2 \(two), random \(random) ms")
    let bad = try run(["simulate", "--trace", "x", "--dispatch", "power-of-0"])
    #expect(bad.status == 64)
  }
}
