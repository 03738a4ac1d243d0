import { once } from 'node:events';
import { builtinFormats, unknownValidationSource, type ValidatedFile, validateFiles } from '@llavakit/convert';
import { type Diagnostic, renderReport, type Severity } from '@llavakit/diagnostics';
import { validationKinds } from '@llavakit/schema';
import { Args, Command, Flags } from '@oclif/core';
import { loadFormats, pluginFlag } from '../lib/formats.js';
import { createProgress, formatCount } from '../lib/progress.js';
import { planShard, shardFlag, skipFinishedShard } from '../lib/shard-flags.js';
import { validateWorkersFlag } from '../lib/workers-flag.js';

/** What `--from` takes: every readable built-in format, and the LLaVA kinds that are not formats. */
const FROM_CHOICES = [
  ...builtinFormats.filter((f) => f.decode || f.read).map((f) => f.name),
  ...validationKinds.filter((k) => !builtinFormats.some((f) => f.name === k)),
];

/** Diagnostics kept per rule for the human report when --max-per-rule is not given. */
const DEFAULT_SHOWN = 10;

export default class Validate extends Command {
  static override summary = 'Check every record of LLaVA-family datasets against the validation rules.';

  static override description =
    `Reads each input completely (JSON array or JSONL, any size, in constant memory) and checks every record — never a sample — against the rule catalog (docs/rules.md): schema, roles and alternation, empty values, <image> tokens vs images and their placement, duplicate and mixed-type ids, image path forms, and JSON syntax. Every diagnostic names its rule, file, record index and id, JSON pointer, byte offset and line:column.

Any readable format is checked (ShareGPT, ms-swift, TRL messages, OpenAI chat, plugins): its records are decoded into canonical LLaVA records and checked by the rules that apply to that format, with pointers into the file as written. The format and kind detected are printed first (and are in the --json summary).

The report, grouped by rule with counts, goes to standard output; with --json, one JSON object per diagnostic per line, streamed as found, then {"summary": …}.

Exit codes: 0 no errors (warnings allowed unless --strict), 1 errors found (or warnings with --strict), 2 usage errors.`;

  static override examples = [
    {
      description: 'Check a file',
      command: '<%= config.bin %> validate llava_v1_5_mix665k.json',
    },
    {
      description: 'Machine-readable diagnostics, at most 100 per rule',
      command: '<%= config.bin %> validate data.json --json --max-per-rule 100 > diagnostics.jsonl',
    },
    {
      description: 'Fail on warnings too (CI)',
      command: '<%= config.bin %> validate train.json --strict --quiet',
    },
    {
      description: 'A LLaVA-NeXT file with image lists, from standard input',
      command: 'cat next.jsonl | <%= config.bin %> validate - --from llava-next',
    },
  ];

  static override strict = false;

  static override args = {
    inputs: Args.string({ description: 'Input files (JSON array or JSONL); - for standard input.', required: true }),
  };

  static override flags = {
    from: Flags.string({
      char: 'f',
      summary: `What the file is: a readable format (${FROM_CHOICES.join(', ')}, or a plugin's), where llava is LLaVA v1/v1.5 (one image path per record), llava-next LLaVA-NeXT (image lists, video) and metadata a CC-3M metadata.json / 558K _meta.json. Detected from the first records when omitted.`,
    }),
    plugin: pluginFlag,
    json: Flags.boolean({ summary: 'One JSON object per diagnostic per line on stdout, then a {"summary": …} line.' }),
    'max-per-rule': Flags.integer({
      min: 0,
      summary: `Show at most N diagnostics per rule (counts still cover all). Default: ${DEFAULT_SHOWN} in the report, all with --json.`,
    }),
    strict: Flags.boolean({ summary: 'Warnings fail too (exit 1).' }),
    shard: shardFlag,
    workers: validateWorkersFlag,
    summary: Flags.string({
      summary:
        'Also write the summary as JSON to this file ({shard}/{shards} expanded; with --shard it gets a done marker and a rerun skips the finished shard).',
    }),
    quiet: Flags.boolean({ char: 'q', summary: 'Print only the closing summary.' }),
  };

  async run(): Promise<void> {
    // every parse problem (bad option value, bad number, missing input) is a usage error: exit 2
    const { argv, flags } = await this.parse(Validate).catch((error: Error) => this.error(error.message, { exit: 2 }));
    const unknown = (argv as string[]).find((a) => a.startsWith('-') && a !== '-');
    if (unknown)
      this.error(`Unknown flag ${unknown} (a file whose name starts with - can be given as ./${unknown}).`, {
        exit: 2,
      });
    const plan0 = await planShard(
      this,
      argv as string[],
      flags.shard,
      flags.summary ? { path: flags.summary } : undefined,
    );
    if (await skipFinishedShard(plan0, flags.quiet)) return;
    const { registry } = await loadFormats(this.config, { plugins: flags.plugin ?? [] });
    const unknownFrom = unknownValidationSource(registry, flags.from);
    if (unknownFrom) this.error(unknownFrom, { exit: 2 });
    const json = flags.json;
    const maxPerRule = flags['max-per-rule'] ?? (json ? undefined : DEFAULT_SHOWN);
    const out = new LineWriter(process.stdout);
    const progress = createProgress({ label: 'validate', enabled: flags.quiet ? false : undefined });
    const kept: Diagnostic[] = [];
    let result: Awaited<ReturnType<typeof validateFiles>>;
    try {
      result = await validateFiles({
        inputs: plan0.inputs,
        from: flags.from,
        registry,
        strict: flags.strict,
        keepRecord: plan0.keepRecord,
        workers: flags.workers,
        onNote: (message) => this.logToStderr(message),
        ...(plan0.output ? { summaryFile: { path: plan0.output, marker: plan0.marker } } : {}),
        // --json caps per rule (in file order); the report keeps up to N per rule and severity, to show the worst first
        onDiagnostic: async (d, before) => {
          const seen = json ? before.rule : before.ruleAndSeverity;
          if (flags.quiet || (maxPerRule !== undefined && seen >= maxPerRule)) return;
          if (json) await out.write(`${JSON.stringify(d)}\n`);
          else kept.push(d);
        },
        onFile: async (input, plan) => {
          if (json || flags.quiet) return;
          const what = plan.kind === 'metadata' ? 'metadata' : plan.format.name;
          const how = plan.by === 'from' ? ' (--from)' : plan.by === 'detected' ? ' (detected)' : '';
          await out.write(`${input}: ${what} records, checked as ${plan.kind}${how}\n`);
        },
        onProgress: (done, total, records) => progress.update(done, total, () => `${formatCount(records)} records`),
      });
    } finally {
      progress.stop();
    }
    const { summary: closing, counts, hints } = result;
    if (json) {
      await out.write(`${JSON.stringify({ summary: closing })}\n`);
    } else {
      const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
      if (kept.length > 0 || Object.keys(counts).length > 0) {
        if (!flags.quiet) await out.write(`${renderReport(kept, { maxPerRule, counts, hints, color })}\n`);
      }
      await out.write(`${closingLine(closing.records, closing.files, closing.diagnostics, closing.failed)}\n`);
    }
    await out.end();
    if (closing.failed) process.exitCode = 1;
  }
}

/** The one-line verdict closing the human report. */
function closingLine(
  records: number,
  files: readonly ValidatedFile[],
  totals: Record<Severity, number>,
  failed: boolean,
): string {
  const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
  const what = `${plural(records, 'record')} in ${plural(files.length, 'file')}`;
  const stopped = files.filter((f) => f.stopped).map((f) => `${f.file} (${f.stopped})`);
  const found = `${plural(totals.error, 'error')}, ${plural(totals.warning, 'warning')}, ${plural(totals.info, 'info')}`;
  const verdict = failed ? (totals.error > 0 ? 'FAIL' : 'FAIL (--strict: warnings fail)') : 'OK';
  const notes = stopped.length > 0 ? `; reading stopped early in ${stopped.join(', ')}` : '';
  return `${verdict}: checked ${what}: ${found}${notes}.`;
}

/** Buffered line output that respects back-pressure, so millions of diagnostics stream in constant memory. */
class LineWriter {
  private buffer = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}

  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= 65536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    await this.flush();
  }
}
