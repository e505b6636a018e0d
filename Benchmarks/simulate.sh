#!/usr/bin/env bash
# Simulator benchmark (issue: performance): `inferline simulate --timings` on 1 million Poisson queries through
# the 4-stage chain of Benchmarks/chain.yaml at 80% load per stage, deterministic service: the stage-by-stage
# simulator against the event-driven one (`--event-driven`) as the baseline, in the same run. Prints the whole
# process's wall time, the simulation's own time and stage visits per second for each, best of RUNS (default 5),
# and checks that both give the same percentiles and statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
data=Benchmarks/data
mkdir -p "$data"
swift build -c release --product inferline >&2
bin="$(swift build -c release --show-bin-path)/inferline"
log="$data/chain-1M.csv"
if [ ! -f "$log" ]; then
  "$bin" generate --process poisson --rate 177.8 --duration 5625s --seed 7 --out "$log" >&2
fi
args=(simulate --trace "$log" --pipeline Benchmarks/chain.yaml --config Benchmarks/chain.config.yaml
  --hardware SampleTraces/hardware/aws-2026.yaml --profiles SampleTraces/profiles/profiles-2026.csv --timings --json)
runs=${RUNS:-5}
# best LABEL [FLAGS...]: the fastest of $runs runs; its wall time on stdout, its JSON in $data/simulate-LABEL.json.
best() {
  local label=$1 bestwall=999999 bestline=""
  shift
  for _ in $(seq "$runs"); do
    local start end wall out
    start=$(date +%s.%N)
    out=$("$bin" "${args[@]}" "$@")
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc)
    if (($(echo "$wall < $bestwall" | bc))); then bestwall=$wall; bestline=$out; fi
  done
  echo "$bestline" > "$data/simulate-$label.json"
  echo "$bestwall"
}
fast_wall=$(best fast)
slow_wall=$(best slow --event-driven)
python3 - "$data/simulate-fast.json" "$data/simulate-slow.json" "$fast_wall" "$slow_wall" <<'PY'
import json, sys
fast, slow = (json.load(open(p)) for p in sys.argv[1:3])
fw, sw = float(sys.argv[3]), float(sys.argv[4])
same = {k: v for k, v in fast.items() if k != "timings"} == {k: v for k, v in slow.items() if k != "timings"}
print(f"simulate: {fast['queries']} queries, 4-stage chain, 80% per stage, {fast['stageVisits']} stage visits")
for name, r, w in (("stage by stage", fast, fw), ("event by event", slow, sw)):
    t = r["timings"]
    print(f"  {name}: whole process {w:.3f} s ({r['stageVisits'] / w / 1e6:.1f} M visits/s); reading and setting up "
          f"{t['parseSeconds']:.3f} s; simulating {t['simulationSeconds']:.4f} s = {t['visitsPerSecond'] / 1e6:.1f} M visits/s")
print(f"  ratio: simulating {slow['timings']['simulationSeconds'] / fast['timings']['simulationSeconds']:.1f}x, "
      f"whole process {sw / fw:.2f}x; identical results: {same}")
if not same:
    sys.exit("the two simulators disagree")
PY
