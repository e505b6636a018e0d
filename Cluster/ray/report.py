#!/usr/bin/env python3
"""Runs a sharded `inferline report` on a Ray cluster: the N shards as Ray tasks, then the merge.

  python3 Cluster/ray/report.py --shards N --parts DIR --out DIR [--address ADDRESS] [--inferline PATH] \\
      -- LOGS... --pipeline FILE --hardware FILE --profiles FILE [report options]

Everything after `--` is what `inferline report` takes (without --out). Shard K runs
`inferline report ... --shard K/N --out DIR/K` as one Ray task; Ray retries a task whose process fails
(`max_retries`), and the script stops, naming the shard, when one keeps failing. Once every shard has written its
part, the merge runs on the driver: `inferline report --merge DIR/0 ... DIR/N-1 --out OUT`.

--address is a running cluster's (`ray start --head` prints it; the default, `auto`, finds the local one). On a
real cluster the inferline binary, the inputs and DIR must be at the same paths on every node (a shared volume, or
the image of Cluster/Dockerfile): every path is made absolute here, so the tasks do not depend on their working
directory.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import ray


@ray.remote(max_retries=3, retry_exceptions=True)
def shard(inferline, report_args, k, n, parts):
    """One shard: its part at parts/k. Raises (and Ray retries) when the process fails."""
    out = os.path.join(parts, str(k))
    started = time.time()
    done = subprocess.run(
        [inferline, "report", *report_args, "--shard", f"{k}/{n}", "--out", out, "--quiet"],
        capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"shard {k} of {n} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return k, time.time() - started, done.stdout.strip()


def absolute(args):
    """The report's arguments with every existing file made absolute (logs, pipelines, catalog, profiles)."""
    return [os.path.abspath(a) if not a.startswith("-") and os.path.exists(a) else a for a in args]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, required=True, help="N, the number of shards")
    parser.add_argument("--parts", required=True, help="folder for the shards' parts (one sub-folder each)")
    parser.add_argument("--out", required=True, help="the report folder the merge writes")
    parser.add_argument("--address", default="auto", help="the Ray cluster's address (default: auto)")
    parser.add_argument("--inferline", default=shutil.which("inferline") or "inferline",
                        help="the inferline binary, at the same path on every node")
    parser.add_argument("report", nargs=argparse.REMAINDER, help="-- then the arguments of `inferline report`")
    a = parser.parse_args()
    report_args = a.report[1:] if a.report[:1] == ["--"] else a.report
    if a.shards < 1 or not report_args:
        parser.error("give --shards N (1 or more) and, after --, the report's logs and options")
    inferline = os.path.abspath(a.inferline) if os.path.exists(a.inferline) else a.inferline
    parts = os.path.abspath(a.parts)
    report_args = absolute(report_args)

    ray.init(address=a.address, logging_level="ERROR", log_to_driver=False)
    started = time.time()
    pending = [shard.remote(inferline, report_args, k, a.shards, parts) for k in range(a.shards)]
    finished = 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        try:
            k, seconds, line = ray.get(ready[0])
        except Exception as e:  # the task failed every retry
            print(f"report.py: {e}", file=sys.stderr)
            return 1
        finished += 1
        print(f"shard {k} of {a.shards} done in {seconds:.1f} s ({finished}/{a.shards}): {line}", file=sys.stderr)
    merge = subprocess.run(
        [inferline, "report", "--merge", *[os.path.join(parts, str(k)) for k in range(a.shards)], "--out",
         os.path.abspath(a.out), "--quiet"])
    print(f"report.py: {a.shards} shards and the merge in {time.time() - started:.1f} s", file=sys.stderr)
    return merge.returncode


if __name__ == "__main__":
    sys.exit(main())
