import {
  expandInputs,
  formatShard,
  parseShard,
  type Shard,
  type ShardMarker,
  selectShard,
  shardOutput,
} from './shard.js';

/** What a sharded run reads and writes (see {@link planShardRun}). */
export interface ShardRunPlan {
  readonly shard?: Shard;
  readonly inputs: string[];
  /** The records of this shard, by 0-based index (one input split by records). */
  readonly keepRecord?: (index: number) => boolean;
  /** The shard's output (placeholders expanded), when the run writes one. */
  readonly output?: string;
  /** The done marker of this shard (absent for standard output). */
  readonly marker?: ShardMarker;
  /** The shard's file name for another output (e.g. --rejects): placeholders expanded (same rule as the output). */
  readonly other: (path: string | undefined) => string | undefined;
}

/**
 * Turn `--shard k/n` into the shard's inputs, record filter and output names. Without a shard, the inputs and
 * output are returned as given. `otherOutputs` (--rejects, …) need `{shard}` too when n > 1. A bad `k/n`, a glob
 * matching nothing or an output without `{shard}` throws a usage `DiagnosticError` (`usage/shard*`).
 */
export async function planShardRun(
  inputs: readonly string[],
  shardText: string | undefined,
  output?: { readonly path: string; readonly folderFormat?: boolean; readonly split?: string },
  otherOutputs: readonly (string | undefined)[] = [],
): Promise<ShardRunPlan> {
  if (shardText === undefined) {
    return { inputs: [...inputs], ...(output ? { output: output.path } : {}), other: (path) => path };
  }
  const shard = parseShard(shardText);
  const all = await expandInputs(inputs);
  const selection = selectShard(all, shard);
  const others = new Map<string, string>();
  const other = (given: string | undefined) => (given === undefined ? undefined : others.get(given));
  for (const given of otherOutputs) if (given !== undefined) others.set(given, shardOutput(given, shard));
  const path = output
    ? shardOutput(output.path, shard, {
        ...(output.folderFormat ? { folderFormat: true } : {}),
        ...(output.split ? { split: output.split } : {}),
      })
    : undefined;
  return {
    shard,
    inputs: selection.inputs,
    other,
    ...(selection.keepRecord ? { keepRecord: selection.keepRecord } : {}),
    ...(path !== undefined ? { output: path } : {}),
    ...(path !== undefined && path !== '-'
      ? { marker: { shard: formatShard(shard), inputs: selection.inputs, output: path } }
      : {}),
  };
}
