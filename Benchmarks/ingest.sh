#!/usr/bin/env bash
# Ingestion benchmark (issue: foundation): 10 million lines of epoch-millisecond CSV and the same of ISO-8601,
# read by `inferline inspect` and by DuckDB (`select count(*), min(ts), max(ts) from read_csv(...)`) in the
# same run, on the same files, best of RUNS. Reports MB/s, lines/s, the ratio, and inferline's peak memory.
#
#   Benchmarks/ingest.sh            (LINES=10000000 RUNS=3 by default)
#   LINES=1000000 Benchmarks/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LINES="${LINES:-10000000}"
RUNS="${RUNS:-5}"
data=Benchmarks/data
mkdir -p "$data"

swift build -c release --product inferline >&2
bin="$(swift build -c release --show-bin-path)/inferline"
python3 -c "import duckdb" 2>/dev/null || pip install --quiet duckdb >&2

# Poisson at 200 q/s gives LINES queries in LINES / 200 seconds.
seconds=$(( LINES / 200 ))
for form in epoch-ms iso8601; do
  file="$data/$form-$LINES.csv"
  if [ ! -f "$file" ]; then
    echo "generating $file" >&2
    "$bin" generate --process poisson --rate 200 --duration "${seconds}s" --seed 42 --pipeline video \
      --with-latency --time-format "$form" --out "$file" >&2
  fi
done

printf '%-28s %9s %12s %10s %12s %12s\n' "file" "MB" "tool" "seconds" "MB/s" "lines/s"
for form in epoch-ms iso8601; do
  file="$data/$form-$LINES.csv"
  mb=$(python3 -c "import os; print(os.path.getsize('$file') / 1e6)")
  lines=$(( $(wc -l < "$file") - 1 ))
  best_il=999999; best_ingest=999999; peak_kb=0
  best_db=999999
  for _ in $(seq "$RUNS"); do
    # inferline: wall time and peak resident memory of the whole command (start-up, ingestion, statistics,
    # output), and the ingestion phase alone as --timings prints it.
    /usr/bin/time -f '%e %M' -o "$data/time.txt" "$bin" inspect "$file" --json --timings \
      > "$data/inspect.json" 2> "$data/timings.txt"
    read -r secs kb < "$data/time.txt"
    ingest=$(sed -n 's/.*ingest \([0-9.]*\) s.*/\1/p' "$data/timings.txt")
    best_il=$(python3 -c "print(min($best_il, $secs))")
    best_ingest=$(python3 -c "print(min($best_ingest, $ingest))")
    peak_kb=$(( kb > peak_kb ? kb : peak_kb ))
    # DuckDB: query time only (import and connection excluded), default threads (= cores).
    secs=$(python3 Benchmarks/duckdb_count.py "$file" 1 | awk '{print $1}')
    best_db=$(python3 -c "print(min($best_db, $secs))")
  done
  queries=$(python3 -c "import json; print(json.load(open('$data/inspect.json'))['files'][0]['queries'])")
  [ "$queries" -eq "$lines" ] || { echo "inferline read $queries queries, the file has $lines lines" >&2; exit 1; }
  for tool in "inferline" "  (ingest)" duckdb; do
    case "$tool" in
      inferline) secs=$best_il ;;
      duckdb) secs=$best_db ;;
      *) secs=$best_ingest ;;
    esac
    python3 -c "print('%-28s %9.1f %12s %10.3f %12.1f %12.0f' % ('$(basename "$file")', $mb, '$tool', $secs, $mb / $secs, $lines / $secs))"
  done
  python3 -c "print('  inferline / duckdb wall time: whole command %.2fx, ingestion %.2fx (below 1 is faster); inferline peak RSS %.1f MB = %.1f bytes per arrival' % ($best_il / $best_db, $best_ingest / $best_db, $peak_kb / 1024, $peak_kb * 1024 / $lines))"
done
