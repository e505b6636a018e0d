"""Times DuckDB on the query a data engineer would run instead of inferline's ingestion.

Usage: python3 duckdb_count.py FILE [RUNS]  -> prints one line per run: seconds rows min max
The import and connection are outside the timing; each run is a fresh query on the same file.
"""
import sys
import time

import duckdb

path = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
con = duckdb.connect()
for _ in range(runs):
    start = time.perf_counter()
    rows, lo, hi = con.execute(
        "select count(*), min(timestamp), max(timestamp) from read_csv(?)", [path]
    ).fetchone()
    print(f"{time.perf_counter() - start:.4f} {rows} {lo} {hi}", flush=True)
