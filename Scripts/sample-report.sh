#!/usr/bin/env bash
# Produces Reports/sample/ from the logs in SampleTraces/logs with the given inferline binary.
#
# Until the `report` command exists (the report issue), this runs the most complete end-to-end path there is:
# ingestion of every sample log and `inferline inspect` (tables and JSON), and says so.
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

rm -rf "$out.previous"
[ -d "$out" ] && mv "$out" "$out.previous"
mv "$work" "$out"
rm -rf "$out.previous"
trap - EXIT

cat "$out"/*.txt
echo
echo "Wrote $out/ (inspection of ${#logs[@]} sample logs). The HTML report arrives with the report issue." >&2
