#!/usr/bin/env bash
# Report benchmark (issue: the report): `inferline report` end to end on
#   1. the sample report (the two-pipeline fleet of SampleTraces/logs/fleet-day.csv.gz): wall time and peak memory;
#   2. a 24-hour diurnal log averaging 200 q/s (~17 million lines, gzip) through Benchmarks/four-stage.yaml with
#      hourly windows (target: under 5 minutes on 2 cores), with the time per phase (--timings).
# Baseline in the same run: `inferline inspect` of the same log (reading it, the least any report must do).
set -euo pipefail
cd "$(dirname "$0")/.."
data=Benchmarks/data
mkdir -p "$data"
swift build -c release --product inferline >&2
bin="$(swift build -c release --show-bin-path)/inferline"
S=SampleTraces
common=(--hardware "$S/hardware/aws-2026.yaml" --profiles "$S/profiles/profiles-2026.csv")

echo "== sample report"
/usr/bin/time -f '%e %M' -o "$data/time.txt" "$bin" report "$S/logs/fleet-day.csv.gz" \
  --pipeline "$S/pipelines/video-monitoring.yaml" --pipeline "$S/pipelines/social-media.yaml" \
  "${common[@]}" --out "$data/sample-report" --quiet > /dev/null
read -r secs kb < "$data/time.txt"
echo "sample report: ${secs} s wall, peak RSS $((kb / 1024)) MB"

day="$data/diurnal-200qps-24h.csv.gz"
if [ ! -f "$day" ]; then
  echo "generating $day" >&2
  "$bin" generate --process diurnal --rate 200 --peak-to-trough 4 --duration 1d --seed 21 --gzip --out "$day" >&2
fi
echo "== 24-hour diurnal log, 4 stages, hourly windows"
/usr/bin/time -f '%e %M' -o "$data/time.txt" "$bin" inspect "$day" --json > /dev/null
read -r base basekb < "$data/time.txt"
/usr/bin/time -f '%e %M' -o "$data/time.txt" "$bin" report "$day" --pipeline Benchmarks/four-stage.yaml "${common[@]}" \
  --window 1h --out "$data/day-report" --quiet --timings > /dev/null 2> "$data/timings.txt"
read -r secs kb < "$data/time.txt"
grep -E '^  ' "$data/timings.txt" || true
echo "report: ${secs} s wall, peak RSS $((kb / 1024)) MB; inspect alone (baseline): ${base} s, $((basekb / 1024)) MB"
python3 -c "print('report / inspect wall time: %.1fx' % ($secs / $base))"
