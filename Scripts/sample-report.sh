#!/usr/bin/env bash
# Produces Reports/sample/ from the sample traces with the given inferline binary: the fleet capacity report of a
# day of traffic through two pipelines, video-monitoring and social-media (SampleTraces/logs/fleet-day.csv.gz, a
# bursty diurnal day with three 15-minute spikes), against the 2026 AWS catalog.
# `inferline report` writes the folder under a temporary name and renames it into place, so a failed run keeps
# the previous report.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: Scripts/sample-report.sh PATH/TO/inferline}"
S=SampleTraces
"$bin" report "$S/logs/fleet-day.csv.gz" \
  --pipeline "$S/pipelines/video-monitoring.yaml" --pipeline "$S/pipelines/social-media.yaml" \
  --hardware "$S/hardware/aws-2026.yaml" \
  --profiles "$S/profiles/profiles-2026.csv" --window 1h --seed 1 --out Reports/sample --timings
echo "Open Reports/sample/index.html in a browser; summary.md is for the change ticket." >&2
