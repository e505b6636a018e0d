#!/usr/bin/env bash
# Produces Reports/sample/ from the logs in SampleTraces/logs with the given inferline binary.
#
# Until the `report` command exists (the report issue), this runs the most complete end-to-end path there is,
# and says so: every sample log inspected, every sample pipeline validated against both catalogs, a day of
# video-monitoring traffic planned hour by hour (greedy, exact gap, CG baselines) and simulated as configured.
# The folder is built under a temporary name and renamed into place, so a failed run keeps the previous one.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: Scripts/sample-report.sh PATH/TO/inferline}"
out=Reports/sample
work="$(mktemp -d Reports/.sample.XXXXXX)"
trap 'rm -rf "$work"' EXIT

logs=(SampleTraces/logs/*)
{
  echo "# inferline sample run"
  echo
  echo "Made by \`make report\` with inferline $("$bin" --version) on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
  echo "The full HTML capacity report is not built yet; this run covers ingestion and workload inspection."
  echo
} > "$work/README.md"

for log in "${logs[@]}"; do
  name="$(basename "$log")"
  name="${name%%.*}"
  echo "inspecting $log" >&2
  "$bin" inspect "$log" > "$work/$name.txt"
  "$bin" inspect "$log" --json > "$work/$name.json"
  echo "- \`$log\` → \`$name.txt\`, \`$name.json\`" >> "$work/README.md"
done

S=SampleTraces
for pipeline in "$S"/pipelines/*.yaml; do
  case "$pipeline" in *.config.yaml) continue ;; esac
  name="$(basename "$pipeline" .yaml)"
  for era in 2026 2019; do
    echo "validating $pipeline against the $era catalog" >&2
    "$bin" validate "$pipeline" --hardware "$S/hardware/aws-$era.yaml" --profiles "$S/profiles/profiles-$era.csv" \
      > "$work/validate-$name-$era.txt" 2>&1
  done
done
echo "- every pipeline in \`$S/pipelines\` validated: \`validate-*.txt\`" >> "$work/README.md"

echo "planning video-monitoring for each hour of $S/logs/video-day.csv.gz" >&2
common=(--pipeline "$S/pipelines/video-monitoring.yaml" --hardware "$S/hardware/aws-2026.yaml" --profiles "$S/profiles/profiles-2026.csv")
"$bin" plan --trace "$S/logs/video-day.csv.gz" "${common[@]}" --window 1h --exact --baselines > "$work/plan-video-monitoring.txt"
"$bin" plan --trace "$S/logs/video-day.csv.gz" "${common[@]}" --window 1h --exact --baselines --json > "$work/plan-video-monitoring.json" 2>/dev/null
"$bin" simulate --trace "$S/logs/video-day.csv.gz" "${common[@]}" --config "$S/pipelines/video-monitoring.config.yaml" \
  > "$work/simulate-video-monitoring.txt" 2>/dev/null
"$bin" replay --trace "$S/logs/video-day.csv.gz" "${common[@]}" --policy all > "$work/replay-video-monitoring.txt" 2>/dev/null
echo "- video-monitoring replayed under every autoscaler (\`replay-video-monitoring.txt\`)" >> "$work/README.md"
echo "- video-monitoring planned per hour (\`plan-video-monitoring.txt\`, \`.json\`) and simulated as configured in \`$S/pipelines/video-monitoring.config.yaml\` (\`simulate-video-monitoring.txt\`)" >> "$work/README.md"

rm -rf "$out.previous"
[ -d "$out" ] && mv "$out" "$out.previous"
mv "$work" "$out"
rm -rf "$out.previous"
trap - EXIT

cat "$out/plan-video-monitoring.txt" "$out/simulate-video-monitoring.txt" "$out/replay-video-monitoring.txt"
echo
echo "Wrote $out/: inspection of ${#logs[@]} sample logs, validation of the sample pipelines, an hourly plan, a" >&2
echo "simulation and an autoscaler replay of the video-monitoring day. The HTML report arrives with the report issue." >&2
