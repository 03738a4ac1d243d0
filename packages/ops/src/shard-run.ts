/**
 * The `--shard k/n` plumbing of a run that writes a JSON summary: plan the shard, skip a shard that already finished,
 * run, write the summary and (for a passing shard) its done marker. Commands call it through their run function.
 */
import { readFile } from 'node:fs/promises';
import {
  isShardDone,
  planShardRun,
  type ShardRunPlan,
  shardResultPaths,
  writeShardResult,
  writeTextFile,
} from '@llavakit/convert';

/** Options of {@link runShard}. */
export interface RunShardOptions<T> {
  /** The inputs (globs are expanded with a shard). */
  readonly inputs: readonly string[];
  /** `k/n`, or absent for a run over every input. */
  readonly shard?: string;
  /** The file that gets the run's summary (`{shard}`, `{shards}` expanded); with a shard also its done marker. */
  readonly summaryFile?: string;
  /** Other files the run writes (`--list-missing`, …): they need `{shard}` too when n > 1. */
  readonly otherOutputs?: readonly (string | undefined)[];
  /** Do the run on the shard's inputs and records. */
  readonly run: (plan: ShardRunPlan) => Promise<T>;
  /** What goes into the summary file, and whether the run passed (only a passing shard is marked done). */
  readonly summarise: (result: T) => { readonly summary: object; readonly ok: boolean };
}

/** What {@link runShard} did: ran (with its result), or skipped a shard finished by an earlier run. */
export type ShardOutcome<T> =
  | { readonly skipped: false; readonly plan: ShardRunPlan; readonly result: T }
  | {
      readonly skipped: true;
      readonly plan: ShardRunPlan;
      /** The finished shard's summary, as its summary file holds it. */
      readonly summary: unknown;
      /** `k/n` of the shard, and its done marker file. */
      readonly shard: string;
      readonly doneFile: string;
    };

/**
 * Run one shard of a sharded run: `planShardRun`, then — unless this shard of the same run already finished (its done
 * marker matches) — `run`, the summary written atomically to the summary file, and the done marker when `summarise`
 * says the run passed (a failed shard runs again next time). A bad `k/n`, a glob matching nothing or a summary file
 * without `{shard}` throws the usage `DiagnosticError` of `planShardRun`.
 *
 * @example
 * ```ts
 * const outcome = await runShard({ inputs: ['a.json', 'b.json'], shard: '0/2', summaryFile: 's-{shard}.json',
 *   run: (plan) => check(plan.inputs), summarise: (r) => ({ summary: r, ok: r.ok }) });
 * ```
 */
export async function runShard<T>(options: RunShardOptions<T>): Promise<ShardOutcome<T>> {
  const plan = await planShardRun(
    options.inputs,
    options.shard,
    options.summaryFile ? { path: options.summaryFile } : undefined,
    options.otherOutputs ?? [],
  );
  if (plan.marker && plan.output && (await isShardDone(plan.output, plan.marker))) {
    return {
      skipped: true,
      plan,
      summary: JSON.parse(await readFile(plan.output, 'utf8')),
      shard: plan.marker.shard,
      doneFile: shardResultPaths(plan.output).done,
    };
  }
  const result = await options.run(plan);
  if (plan.output) {
    const { summary, ok } = options.summarise(result);
    await writeTextFile(plan.output, [`${JSON.stringify(summary, null, 2)}\n`]);
    if (ok && plan.marker) await writeShardResult(plan.output, plan.marker, summary);
  }
  return { skipped: false, plan, result };
}
