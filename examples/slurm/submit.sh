#!/usr/bin/env bash
# Queue the conversion as an array of SHARDS tasks and the merge step after all of them succeeded.
# Usage: SHARDS=8 INPUT='data/*.jsonl' OUT=out ./submit.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SHARDS="${SHARDS:-8}"
export SHARDS INPUT="${INPUT:-data/*.jsonl}" OUT="${OUT:-out}" TO="${TO:-sharegpt}" LLAVA="${LLAVA:-llava}"
job="$(sbatch --parsable --export=ALL --array="0-$((SHARDS - 1))" "$here/convert.sbatch")"
sbatch --export=ALL --dependency="afterok:${job%%;*}" "$here/merge.sbatch"
