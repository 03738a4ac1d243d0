import { mergeSummaryFiles } from '@llavakit/convert';
import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { Args, Command, Flags } from '@oclif/core';

export default class SummariesMerge extends Command {
  static override summary = 'Combine the summaries of a sharded run into one report.';

  static override description =
    `Reads the summaries that \`--shard k/n\` runs leave beside their outputs (.<output>.summary.json; a folder stands for every one under it) or the --json output of convert, validate or images check, and adds them up: read, written, rejected, rejected by rule, diagnostics and counts are summed, inputs listed, failed is true when any shard failed. (\`llava stats --merge\` merges stats results.)

Exit codes: 0 merged, 1 when a merged shard failed or rejected records with --fail-on-rejects, 2 usage errors (a file that is missing or not JSON).`;

  static override examples = [
    {
      description: 'Merge the shards of a convert run written to out/',
      command: '<%= config.bin %> summaries merge out/',
    },
    {
      description: 'Merge chosen summaries, as JSON',
      command:
        '<%= config.bin %> summaries merge out/.part-00000-of-00002.jsonl.summary.json out/.part-00001-of-00002.jsonl.summary.json --json',
    },
  ];

  static override strict = false;

  static override args = {
    summaries: Args.string({ description: 'Summary JSON files, or folders holding shard summaries.', required: true }),
  };

  static override flags = {
    json: Flags.boolean({ summary: 'Print the merged report as JSON.' }),
    'fail-on-rejects': Flags.boolean({ summary: 'Exit 1 when a shard rejected records.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(SummariesMerge);
    let merged: Awaited<ReturnType<typeof mergeSummaryFiles>>;
    try {
      merged = await mergeSummaryFiles(argv as string[]);
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      this.logToStderr(formatDiagnostic(error.diagnostic));
      if (error.diagnostic.hint) this.logToStderr(`  hint: ${error.diagnostic.hint}`);
      return this.exit(2);
    }
    if (flags.json) this.log(JSON.stringify(merged, null, 2));
    else {
      const num = (key: string) => (typeof merged[key] === 'number' ? (merged[key] as number) : undefined);
      const lines = [
        `Merged ${merged.merged} summar${merged.merged === 1 ? 'y' : 'ies'}${merged.failed ? ' (a shard failed)' : ''}`,
      ];
      const totals = ['read', 'written', 'rejected', 'discarded', 'records', 'files']
        .filter((k) => num(k) !== undefined)
        .map((k) => `${k} ${num(k)}`);
      if (totals.length > 0) lines.push(`  ${totals.join(', ')}`);
      for (const key of ['rejectedByRule', 'diagnostics', 'counts']) {
        const value = merged[key];
        if (value && typeof value === 'object' && !Array.isArray(value)) {
          for (const [name, n] of Object.entries(value))
            if (typeof n === 'number')
              lines.push(
                `  ${key === 'rejectedByRule' ? 'rejected by ' : key === 'diagnostics' ? 'diagnostics ' : ''}${name}: ${n}`,
              );
        }
      }
      this.log(lines.join('\n'));
    }
    const rejected = typeof merged.rejected === 'number' ? merged.rejected : 0;
    process.exitCode = merged.failed === true || (flags['fail-on-rejects'] && rejected > 0) ? 1 : 0;
  }
}
