#!/usr/bin/env bash
# History benchmark (issue 32, budget proposals from history): what `report --history` adds to the 24-hour diurnal
# 200 q/s report of Benchmarks/report.sh (Benchmarks/four-stage.yaml, hourly windows). The history is 28 nights of
# report.json files, as a team's nightly runs leave them: that night's report moved back a day at a time, its
# traffic and cost scaled by a weekly pattern, 0.5% growth a day and 3% noise (seeded). Baseline in the same run:
# the same report without --history, alternating A B A B; wall time and peak memory of each.
set -euo pipefail
cd "$(dirname "$0")/.."
data=Benchmarks/data
mkdir -p "$data"
swift build -c release --product inferline >&2
bin="$(swift build -c release --show-bin-path)/inferline"
S=SampleTraces
common=(--hardware "$S/hardware/aws-2026.yaml" --profiles "$S/profiles/profiles-2026.csv")
day="$data/diurnal-200qps-24h.csv.gz"
if [ ! -f "$day" ]; then
  echo "generating $day" >&2
  "$bin" generate --process diurnal --rate 200 --peak-to-trough 4 --duration 1d --seed 21 --gzip --out "$day" >&2
fi
run() {  # run NAME [extra flags...]: prints "seconds peak-MB"
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$data/time.txt" "$bin" report "$day" --pipeline Benchmarks/four-stage.yaml \
    "${common[@]}" --window 1h --out "$data/history-$name" --quiet --timings "$@" > /dev/null 2> "$data/timings-$name.txt"
  read -r secs kb < "$data/time.txt"
  echo "$secs $((kb / 1024))"
}
echo "== the night without history (to build the history from)" >&2
run plain > /dev/null
history="$data/history-28-nights"
rm -rf "$history"
python3 - "$data/history-plain/report.json" "$history" <<'PY'
import json, math, os, random, sys
source, folder = sys.argv[1], sys.argv[2]
night = json.load(open(source))
random.seed(7)
weekly = [1.1, 1.1, 1.1, 1.05, 1.0, 0.85, 0.8]
day = 86_400_000_000_000
for k in range(1, 29):
    weekday = (int(night["workload"]["start"] // day) - k + 3) % 7
    scale = weekly[weekday] / weekly[(int(night["workload"]["start"] // day) + 3) % 7] * 1.005 ** (-k) \
        * math.exp(random.gauss(0, 0.03))
    n = json.loads(json.dumps(night))
    n["workload"]["start"] -= k * day
    n["workload"]["end"] -= k * day
    n["workload"]["queries"] = int(n["workload"]["queries"] * scale)
    for w in n["windows"]:
        w["queries"] = int(w["queries"] * scale)
    n["costPerDay"] *= scale
    os.makedirs(f"{folder}/night-{k:02d}", exist_ok=True)
    json.dump(n, open(f"{folder}/night-{k:02d}/report.json", "w"))
PY
echo "== 24-hour diurnal log, 4 stages, hourly windows: without and with a 28-night history (A B A B)"
for round in 1 2; do
  read -r a amb < <(run plain)
  read -r b bmb < <(run history --history "$history")
  echo "round $round: without ${a} s (${amb} MB), with --history ${b} s (${bmb} MB)"
  python3 -c "print('  with / without: %.3fx wall, %.3fx peak memory' % ($b / $a, $bmb / $amb))"
done
grep -E '^  (forecast|planning|replay)' "$data/timings-history.txt" || true
python3 -c "
import json; f = json.load(open('$data/history-history/report.json'))['forecast']
print('nights used', len(f['nights']), 'left out', len(f['leftOut']), '; queries:', f['queries']['method'], '; peak:', f['peakRate']['method'])
for m in f['months']:
    print('  days %d-%d:' % (m['firstDay'], m['lastDay']), ', '.join('%s \$%.2f' % (l['bound'], l.get('costPerMonth') or float('nan')) for l in m['lines']))
"
