// Performance harness for the engine. Each benchmark runs the optimised code and a plain baseline side by side
// in the same process, and prints both and their ratio. Build in release mode:
//   swift run -c release inferline-bench envelope [arrivals]
import Foundation
import InferLine

/// Wall time of `body`, best of `runs`, in seconds.
func best<T>(of runs: Int, _ body: () -> T) -> (Double, T) {
  var bestTime = Double.infinity
  var result: T? = nil
  for _ in 0..<runs {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = body()
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    if elapsed < bestTime {
      bestTime = elapsed
      result = value
    }
  }
  return (bestTime, result!)
}

/// The plain two-pointer alpha(D), one window size at a time: the baseline the figure is compared with.
func baselineMaxArrivals(_ t: [Int64], _ window: Int64) -> Int {
  var best = 0, j = 0
  for i in t.indices {
    if j < i { j = i }
    while j < t.count, t[j] < t[i] + window { j += 1 }
    best = max(best, j - i)
  }
  return best
}

/// Network calculus: 10 million arrivals, 20 window sizes, 8 token-bucket rates, single-threaded.
func envelopeBenchmark(arrivals count: Int) {
  let rate = 200.0
  let t = TraceGenerator.arrivals(.gamma(rate: rate, cv: 2), duration: Double(count) / rate, start: 0, seed: 1)
  let sizes = WindowSizes.logSpaced(from: 1_000_000, to: 60_000_000_000, count: 20)
  let rates = TokenBucketCurve.defaultRates(t, shortestWindow: sizes[0])
  print("envelope: \(t.count) arrivals, \(sizes.count) window sizes, \(rates.count) token-bucket rates, one thread")
  let (fast, alpha) = best(of: 3) { ArrivalEnvelope.maxArrivals(t, within: sizes, parallel: false) }
  let (plain, baseline) = best(of: 3) { sizes.map { baselineMaxArrivals(t, $0) } }
  precondition(alpha == baseline, "the two implementations disagree")
  let steps = Double(t.count * sizes.count)
  print(String(format: "  alpha(D)        %.3f s  %6.0f M arrival x window steps/s", fast, steps / fast / 1e6))
  print(String(format: "  baseline        %.3f s  %6.0f M steps/s  (plain two pointers, one size at a time)", plain, steps / plain / 1e6))
  print(String(format: "  speed-up        %.2fx", plain / fast))
  let (fits, _) = best(of: 3) { rates.map { TokenBucket.fit(t, rate: $0) } }
  let bucketSteps = Double(t.count * rates.count)
  print(String(format: "  sigma(rho)      %.3f s  %6.0f M arrival x rate steps/s", fits, bucketSteps / fits / 1e6))
  let (parallel, _) = best(of: 3) { ArrivalEnvelope.maxArrivals(t, within: sizes) }
  print(String(format: "  alpha(D), all cores %.3f s  %6.0f M steps/s", parallel, steps / parallel / 1e6))
  print(String(format: "  total (alpha + sigma, one thread) %.3f s", fast + fits))
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "envelope":
  envelopeBenchmark(arrivals: arguments.dropFirst().first.flatMap { Int($0) } ?? 10_000_000)
default:
  print("usage: inferline-bench envelope [arrivals]")
  exit(arguments.first == "--help" ? 0 : 64)
}
