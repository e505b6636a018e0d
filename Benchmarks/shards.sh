#!/usr/bin/env bash
# Scale-out benchmark (issue: scale-out): one night's report on one machine against the same report cut into N
# shards and merged (`report --shard K/N`, `report --merge`), in the same run, release build.
#   Benchmarks/shards.sh LOG "PIPELINE..." [N...]        (N default: 2 4)
# For each N it prints the CPU seconds (user + system) of the N shards and of the merge against the single run's
# (the overhead), the merge's own wall time, and, for N = 2, the wall time with both shards at once on this
# machine, then the merge; and it checks that the merged report.json equals the single run's but for timings.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:?usage: Benchmarks/shards.sh LOG "PIPELINE..." [N...]}
read -r -a pipelines <<<"${2:?give the pipeline files, space-separated}"
shift 2
counts=("${@:-2 4}")
read -r -a counts <<<"${counts[*]}"
swift build -c release --product inferline >&2
bin="$(swift build -c release --show-bin-path)/inferline"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(report "$log")
for p in "${pipelines[@]}"; do args+=(--pipeline "$p"); done
args+=(--hardware SampleTraces/hardware/aws-2026.yaml --profiles SampleTraces/profiles/profiles-2026.csv --quiet)

# timed LABEL CMD...: runs CMD, appends "LABEL wall cpu" to $work/times (seconds).
timed() {
  local label=$1
  shift
  /usr/bin/time -f "$label %e %U %S" -a -o "$work/times" "$@" >/dev/null 2>>"$work/stderr"
}
field() { awk -v l="$1" '$1 == l { printf "%.2f", ('"$2"') }' "$work/times"; }

timed single "$bin" "${args[@]}" --out "$work/single"
single_cpu=$(field single '$3 + $4')
single_wall=$(field single '$2')
echo "single machine: ${single_wall} s wall, ${single_cpu} CPU s"
for n in "${counts[@]}"; do
  parts=()
  for k in $(seq 0 $((n - 1))); do
    timed "shard-$n-$k" "$bin" "${args[@]}" --shard "$k/$n" --out "$work/parts-$n/$k"
    parts+=("$work/parts-$n/$k")
  done
  timed "merge-$n" "$bin" report --merge "${parts[@]}" --out "$work/merged-$n" --quiet
  shards_cpu=$(awk -v n="$n" '$1 ~ "^shard-" n "-" { s += $3 + $4 } END { printf "%.2f", s }' "$work/times")
  merge_cpu=$(field "merge-$n" '$3 + $4')
  merge_wall=$(field "merge-$n" '$2')
  python3 - "$work/single" "$work/merged-$n" <<'PY'
import json, os, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ("timings", "generatedAt")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
a, b = sys.argv[1], sys.argv[2]
for root, _, files in os.walk(a):
    for f in files:
        if f == "report.json":
            rel = os.path.relpath(os.path.join(root, f), a)
            if strip(json.load(open(os.path.join(a, rel)))) != strip(json.load(open(os.path.join(b, rel)))):
                sys.exit(f"merged {rel} differs from the single machine's")
PY
  echo "N = $n: shards $shards_cpu CPU s + merge $merge_cpu CPU s = $(echo "$shards_cpu + $merge_cpu" | bc) CPU s," \
    "overhead $(echo "scale=1; ($shards_cpu + $merge_cpu - $single_cpu) * 100 / $single_cpu" | bc)%;" \
    "merge ${merge_wall} s wall; merged report.json equals the single machine's"
done
# N = 2 at once on this machine: both shards in parallel, then the merge.
start=$(date +%s.%N)
"$bin" "${args[@]}" --shard 0/2 --out "$work/wall/0" >/dev/null 2>&1 &
"$bin" "${args[@]}" --shard 1/2 --out "$work/wall/1" >/dev/null 2>&1
wait
"$bin" report --merge "$work/wall/0" "$work/wall/1" --out "$work/wall/merged" --quiet >/dev/null 2>&1
end=$(date +%s.%N)
echo "N = 2 at once on this machine: $(echo "$end - $start" | bc | xargs printf '%.2f') s wall against ${single_wall} s"
