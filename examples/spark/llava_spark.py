#!/usr/bin/env python3
"""Run a llavakit command as one shard per Spark partition (`mapPartitionsWithIndex`), then merge the summaries.

    spark-submit llava_spark.py --shards 8 --merge /shared/out -- \
        convert '/shared/data/*.jsonl' --to sharegpt -o '/shared/out/part-{shard}-of-{shards}.jsonl'

Partition k of an n-partition RDD runs `llava <command> --shard k/n` on its executor; the outputs go to a file
system every executor sees. A rerun skips the shards that finished (their done marker), so a failed stage can be
resubmitted as is. `--engine local` runs the same command lines as local processes (no Spark needed);
`--print-commands` prints them, one JSON list per line.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def shard_command(llava, command, k, n):
    """The command line of shard k of n."""
    return [*llava, *command, "--shard", f"{k}/{n}"]


def run_shard(argv):
    """Run one shard; its exit code and the tail of its stderr come back to the driver."""
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return {"argv": argv, "code": done.returncode, "stderr": done.stderr[-4000:]}


def run_with_spark(llava, command, n):
    from pyspark.sql import SparkSession  # imported here so that --engine local works without Spark

    spark = SparkSession.builder.appName("llavakit-shards").getOrCreate()
    try:
        # n partitions holding nothing: the partition index is the shard, each partition runs one llava process.
        rdd = spark.sparkContext.parallelize(range(n), n)
        return rdd.mapPartitionsWithIndex(lambda k, _rows: [run_shard(shard_command(llava, command, k, n))]).collect()
    finally:
        spark.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, required=True, help="n: how many shards (partitions)")
    parser.add_argument("--llava", default=os.environ.get("LLAVA", "llava"), help="how to run llava (split like a shell)")
    parser.add_argument("--merge", help="folder of the shard outputs: merge their summaries at the end")
    parser.add_argument("--engine", choices=["spark", "local"], default="spark")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local processes at once (--engine local)")
    parser.add_argument("--print-commands", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the llava command without --shard")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.shards < 1 or not command:
        parser.error("give --shards n (n >= 1) and the llava command after --")
    llava = shlex.split(args.llava)
    commands = [shard_command(llava, command, k, args.shards) for k in range(args.shards)]
    if args.print_commands:
        for argv in commands:
            print(json.dumps(argv))
        return 0
    if args.engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            print("PySpark is not installed (pip install pyspark); use --engine local to run the shards here.", file=sys.stderr)
            return 2
        results = run_with_spark(llava, command, args.shards)
    else:
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(run_shard, commands))
    failed = [r for r in results if r["code"] != 0]
    for r in failed:
        print(f"shard failed (exit {r['code']}): {shlex.join(r['argv'])}\n{r['stderr']}", file=sys.stderr)
    if args.merge and not failed:
        merged = subprocess.run([*llava, "summaries", "merge", args.merge, "--json"], stdout=subprocess.PIPE, text=True)
        sys.stdout.write(merged.stdout)
        if merged.returncode != 0:
            return merged.returncode
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
