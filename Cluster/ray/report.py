#!/usr/bin/env python3
"""Runs a sharded `inferline report` on a Ray cluster: the N shards as Ray tasks, then the merge.

  python3 Cluster/ray/report.py --shards N --parts DIR --out DIR [--address ADDRESS] [--inferline PATH] \\
      -- LOGS... --pipeline FILE --hardware FILE --profiles FILE [report options]

Everything after `--` is what `inferline report` takes (without --out). Shard K runs
`inferline report ... --shard K/N --out DIR/K` as one Ray task; Ray retries a task whose process fails
when it can succeed on a second try (a killed worker, a full disk: `max_retries`), never when inferline refused
its arguments or inputs (exit 64 or 65: the same inputs fail the same way), and the script stops, naming the
shard, when one fails for good. Once every shard has written its
part, the merge runs on the driver: `inferline report --merge DIR/0 ... DIR/N-1 --out OUT`.

--address is a running cluster's (`ray start --head` prints it; the default, `auto`, finds the local one). On a
real cluster the inferline binary, the inputs and DIR must be at the same paths on every node (a shared volume, or
the image of Cluster/Dockerfile): the arguments that are paths (the logs, --pipeline, --hardware, --profiles,
--previous, --calibrate, --templates, --config) are made absolute here, so the tasks do not depend on their working
directory; no other argument is touched (`--window 1h` stays `1h` even where a file named `1h` exists).

"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import ray


# inferline's exit codes for arguments (64) and inputs (65) it refused: running again cannot help.
DETERMINISTIC = {64, 65}
# The report options whose values are files or folders.
PATH_OPTIONS = {"--config", "--pipeline", "--hardware", "--profiles", "--previous", "--calibrate", "--templates"}


class ShardMayRecover(RuntimeError):
    """A shard failed in a way another try may not (killed, out of memory or disk): Ray retries it."""


class ShardRefused(RuntimeError):
    """inferline refused the shard's arguments or inputs: every try would fail alike, so none is made."""


@ray.remote(max_retries=3, retry_exceptions=[ShardMayRecover])
def shard(inferline, report_args, k, n, parts):
    """One shard: its part at parts/k. Raises ShardMayRecover (retried) or ShardRefused (not) when it fails."""
    out = os.path.join(parts, str(k))
    started = time.time()
    done = subprocess.run(
        [inferline, "report", *report_args, "--shard", f"{k}/{n}", "--out", out, "--quiet"],
        capture_output=True, text=True)
    if done.returncode != 0:
        kind = ShardRefused if done.returncode in DETERMINISTIC else ShardMayRecover
        raise kind(f"shard {k} of {n} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return k, time.time() - started, done.stdout.strip()


def report_arguments(inferline):
    """The names of `inferline report`'s options that take a value, and of its flags, from inferline itself."""
    dump = subprocess.run([inferline, "report", "--experimental-dump-help"], capture_output=True, text=True,
                          check=True).stdout
    options, flags = set(), set()
    for argument in json.loads(dump)["command"]["arguments"]:
        names = {("--" if n["kind"] == "long" else "-") + n["name"] for n in argument.get("names", [])}
        if argument["kind"] == "option":
            options |= names
        elif argument["kind"] == "flag":
            flags |= names
    return options, flags


def absolute(args, options, flags):
    """The report's arguments with the paths among them made absolute: the positional ones (the logs) and the
    values of PATH_OPTIONS, in both `--pipeline FILE` and `--pipeline=FILE` forms. Nothing else is changed."""
    result, i = [], 0
    while i < len(args):
        a = args[i]
        if a == "--":
            result += [a] + [os.path.abspath(x) for x in args[i + 1:]]
            break
        name, equals, value = a.partition("=")
        if a.startswith("--") and equals and name in options:
            result.append(name + "=" + (os.path.abspath(value) if name in PATH_OPTIONS else value))
        elif a in options and i + 1 < len(args):
            result += [a, os.path.abspath(args[i + 1]) if a in PATH_OPTIONS else args[i + 1]]
            i += 1
        elif a.startswith("-"):
            result.append(a)  # a flag, or something inferline will name in its own error
        else:
            result.append(os.path.abspath(a))  # a log
        i += 1
    return result


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
    try:
        options, flags = report_arguments(inferline)
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        print(f"report.py: cannot ask {inferline} for its report options: {e}", file=sys.stderr)
        return 2
    report_args = absolute(report_args, options, flags)

    ray.init(address=a.address, logging_level="ERROR", log_to_driver=False)
    started = time.time()
    pending = [shard.remote(inferline, report_args, k, a.shards, parts) for k in range(a.shards)]
    finished = 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        try:
            k, seconds, line = ray.get(ready[0])
        except ShardRefused as e:  # bad arguments or inputs: not retried
            print(f"report.py: {e}", file=sys.stderr)
            return 1
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
