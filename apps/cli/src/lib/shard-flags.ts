import { isShardDone, planShardRun, type ShardRunPlan, shardResultPaths, writeShardResult } from '@llavakit/convert';
import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { type Command, Flags } from '@oclif/core';

/** How a user picks a shard; shared by every command with `--shard`. */
export const SHARD_HELP =
  'Run shard k of n (k from 0): the inputs (globs expanded) are sorted; with several files this shard reads files k, k+n, k+2n, …; with one file, the records whose 0-based index mod n is k.';

/** The `--shard k/n` flag. */
export const shardFlag = Flags.string({ summary: SHARD_HELP, helpValue: 'k/n' });

/** What a sharded command runs on (see `planShardRun` of @llavakit/convert). */
export type ShardPlan = ShardRunPlan;

/**
 * `planShardRun` for a command: a bad `k/n`, a glob matching nothing or an output without `{shard}` is printed and
 * exits 2 (usage).
 */
export async function planShard(
  command: Command,
  inputs: readonly string[],
  shardText: string | undefined,
  output?: { path: string; folderFormat?: boolean; split?: string },
  otherOutputs: readonly (string | undefined)[] = [],
): Promise<ShardPlan> {
  try {
    return await planShardRun(inputs, shardText, output, otherOutputs);
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    command.logToStderr(formatDiagnostic(error.diagnostic));
    if (error.diagnostic.hint) command.logToStderr(`  hint: ${error.diagnostic.hint}`);
    return command.exit(2);
  }
}

/** True (after saying so on stderr) when this shard of the same run already finished: the command does nothing. */
export async function skipFinishedShard(plan: ShardPlan, quiet: boolean): Promise<boolean> {
  if (!plan.marker || !plan.output || !(await isShardDone(plan.output, plan.marker))) return false;
  // (straight to stderr: oclif mutes logToStderr under --json, and this line must be seen)
  if (!quiet)
    process.stderr.write(`shard ${plan.marker.shard} already done (${shardResultPaths(plan.output).done}); skipped\n`);
  return true;
}

/** Write the shard's summary beside its output and its done marker (only for a successful shard). */
export async function finishShard(plan: ShardPlan, summary: unknown): Promise<void> {
  if (plan.marker && plan.output) await writeShardResult(plan.output, plan.marker, summary);
}
