#!/usr/bin/env python3
"""Fan a llavakit command out as Ray tasks, one per shard (`--shard k/n`), then merge the shard summaries.

    python3 llava_ray.py --shards 8 --merge out -- \
        convert 'data/*.jsonl' --to sharegpt -o 'out/part-{shard}-of-{shards}.jsonl'

Every task runs `llava <command> --shard k/n` on whichever node Ray gives it; the shards share nothing but the
file system, and a rerun skips the shards that finished (their done marker). `--engine local` runs the same
command lines as local processes (no Ray needed); `--print-commands` prints them, one JSON list per line.
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


def run_with_ray(commands, cpus_per_task):
    import ray  # imported here so that --engine local and --print-commands work without Ray

    # Connects to the cluster named by RAY_ADDRESS (e.g. inside `ray job submit`), else starts a local one.
    ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
    try:
        task = ray.remote(num_cpus=cpus_per_task)(run_shard)
        return ray.get([task.remote(argv) for argv in commands])
    finally:
        ray.shutdown()


def run_locally(commands, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_shard, commands))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, required=True, help="n: how many shards (tasks)")
    parser.add_argument("--llava", default=os.environ.get("LLAVA", "llava"), help="how to run llava (split like a shell)")
    parser.add_argument("--merge", help="folder of the shard outputs: merge their summaries at the end")
    parser.add_argument("--engine", choices=["ray", "local"], default="ray")
    parser.add_argument("--cpus-per-task", type=float, default=1)
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
    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            print("Ray is not installed (pip install 'ray[default]'); use --engine local to run the shards here.", file=sys.stderr)
            return 2
        results = run_with_ray(commands, args.cpus_per_task)
    else:
        results = run_locally(commands, args.workers)
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
