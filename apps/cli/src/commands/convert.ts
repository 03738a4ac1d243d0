import { type ConvertSummary, runConvert, trapInterrupts } from '@llavakit/convert';
import { type Diagnostic, formatDiagnostic } from '@llavakit/diagnostics';
import { Args, Command, Flags } from '@oclif/core';
import { formatFlags } from '../lib/format-flags.js';
import { builtinFormatOptionsHelp, loadFormats, pluginFlag, pluginTimeoutMs } from '../lib/formats.js';
import { imageAccessOptions, imageFlags } from '../lib/image-flags.js';
import { createProgress, formatCount } from '../lib/progress.js';
import { shardFlag } from '../lib/shard-flags.js';
import { workersFlag } from '../lib/workers-flag.js';

export default class Convert extends Command {
  static override summary = 'Convert LLaVA-family datasets to another training format, streaming.';

  static override description =
    `Reads each input (JSON array or JSONL, any size, in constant memory), checks every record, and writes the target format. Every input record is either written or rejected with a diagnostic (see --rejects): the closing summary always satisfies read = written + rejected.

The output file appears only when complete (it is written to a temporary file and renamed). Use - for standard input or output. The container (JSON array or JSONL) follows the output extension (.json / .jsonl), or --container.

Exit codes: 0 success, 1 data errors (a fatal input error, or a rejected record with --on-invalid fail), 2 usage errors.

${builtinFormatOptionsHelp()}`;

  static override examples = [
    {
      description: 'Convert the bundled sample to ShareGPT for LLaMA-Factory',
      command: '<%= config.bin %> convert examples/sample/llava_sample.json --to sharegpt -o sharegpt.json',
    },
    {
      description: 'JSON Lines output, image paths made absolute under the COCO folder, rejects kept aside',
      command:
        '<%= config.bin %> convert llava_instruct_150k.json --to sharegpt -o out.jsonl --image-root /data/coco/train2017 --rejects rejects.jsonl',
    },
    {
      description: 'Read from standard input, write to standard output',
      command: 'cat data.json | <%= config.bin %> convert - --to sharegpt > out.json',
    },
    {
      description: 'Shard 2 of 8 (0-based): files 2, 10, … of the sorted inputs, or records 2, 10, … of one file',
      command:
        "<%= config.bin %> convert 'data/*.jsonl' --to sharegpt -o out/part-{shard}-of-{shards}.jsonl --shard 2/8",
    },
    {
      description: 'Machine-readable summary',
      command: '<%= config.bin %> convert data.json --to sharegpt -o out.json --json',
    },
  ];

  static override strict = false;

  static override args = {
    inputs: Args.string({ description: 'Input files (JSON array or JSONL); - for standard input.', required: true }),
  };

  static override flags = {
    to: Flags.string({ char: 't', summary: 'Output format (see `llava formats`).', required: true }),
    from: Flags.string({
      char: 'f',
      summary: 'Input format; detected from its first records when omitted (exit 1 when none or two fit).',
    }),
    output: Flags.string({ char: 'o', summary: 'Output file; - for standard output.', default: '-' }),
    container: Flags.option({ options: ['json', 'jsonl'] as const, summary: 'JSON array or JSON Lines output.' })(),
    ...imageFlags,
    ...formatFlags,
    'on-invalid': Flags.option({
      options: ['skip', 'fail'] as const,
      default: 'skip' as const,
      summary: 'skip: reject the record and go on; fail: stop at the first invalid record and write nothing.',
    })(),
    rejects: Flags.string({ summary: 'Write every rejected record, with its diagnostics, to this JSONL file.' }),
    metadata: Flags.string({
      char: 'm',
      summary:
        'Attach records of a metadata file (CC-3M metadata.json, 558K _meta.json), matched by image, as `metadata`.',
    }),
    'metadata-key': Flags.string({ summary: 'Key under which --metadata records are attached.', default: 'metadata' }),
    'metadata-match-ids': Flags.boolean({
      summary: 'Also require equal ids when both records have one.',
      default: true,
      allowNo: true,
    }),
    validate: Flags.boolean({
      summary: 'Also apply every `llava validate` rule: errors reject the record, warnings are counted.',
    }),
    option: Flags.string({
      char: 'O',
      multiple: true,
      summary: 'Option of the output format as key=value (repeatable); see `llava formats <name>`.',
    }),
    'read-option': Flags.string({
      multiple: true,
      summary: 'Option of the input format as key=value (repeatable); checked by the reader, never the writer.',
    }),
    force: Flags.boolean({
      summary: 'Allow -o to be one of the inputs (it is replaced once the whole run is done; never with --rejects).',
    }),
    shard: shardFlag,
    workers: workersFlag,
    plugin: pluginFlag,
    json: Flags.boolean({ summary: 'Print the summary as JSON (on stdout, or on stderr when the output is stdout).' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Print no summary.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Convert);
    const trap = trapInterrupts();
    const progress = createProgress({ label: 'convert', enabled: flags.json || flags.quiet ? false : undefined });
    const notes: Diagnostic[] = [];
    const rejections: Diagnostic[] = [];
    const run = await runConvert({
      inputs: argv as string[],
      from: flags.from,
      to: flags.to,
      output: flags.output,
      container: flags.container,
      registry: async () => {
        const loaded = await loadFormats(this.config, { plugins: flags.plugin ?? [] });
        for (const d of loaded.diagnostics) this.logToStderr(formatDiagnostic(d));
        return loaded.registry;
      },
      images: imageAccessOptions(flags),
      imageToken: flags['image-token'],
      embedImages: flags['embed-images'],
      normalize: flags.normalize,
      extractImages: flags['extract-images'],
      datasetInfo: flags['dataset-info'],
      onInvalid: flags['on-invalid'],
      rejects: flags.rejects,
      ...(flags.metadata
        ? { metadata: { path: flags.metadata, key: flags['metadata-key'], matchIds: flags['metadata-match-ids'] } }
        : {}),
      validate: flags.validate,
      optionArguments: flags.option,
      readOptionArguments: flags['read-option'],
      allowInputOverwrite: flags.force,
      shard: flags.shard,
      workers: flags.workers,
      onNote: (message) => this.logToStderr(message),
      signal: trap.signal,
      ...(process.env.LLAVA_PLUGIN_TIMEOUT_MS ? { encodeTimeoutMs: pluginTimeoutMs() } : {}),
      onDiagnostic: (d) => {
        if (notes.length < 20) notes.push(d);
      },
      onReject: ({ diagnostics }) => {
        const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
        if (first && rejections.length < 10) rejections.push(first);
      },
      onProgress: (p) => progress.update(p.bytesRead, p.totalBytes, () => `${formatCount(p.records)} records`),
    });
    trap.dispose();
    progress.stop();
    if (run.status === 'skipped') {
      // (straight to stderr: oclif mutes logToStderr under --json, and this line must be seen)
      if (!flags.quiet) process.stderr.write(`shard ${run.shard} already done (${run.done}); skipped\n`);
      return;
    }
    if (run.status === 'refused') {
      this.logToStderr(formatDiagnostic(run.diagnostic));
      if (run.diagnostic.hint) this.logToStderr(`  hint: ${run.diagnostic.hint}`);
      this.exit(run.exitCode);
    }
    const info = run.datasetInfo;
    if (info && !flags.quiet && !flags.json) {
      process.stderr.write(
        `  dataset_info: ${info.created ? 'created' : 'updated'} ${info.path} (entry "${info.name}", file_name ${info.entry.file_name})\n`,
      );
    }
    this.report(run.summary, { ...flags, output: run.output, rejects: run.rejects }, notes, rejections, run.afterError);
    process.exitCode = trap.exitCode() ?? run.exitCode;
  }

  private report(
    summary: ConvertSummary,
    flags: { json: boolean; quiet: boolean; output: string; rejects?: string | undefined },
    notes: Diagnostic[],
    rejections: Diagnostic[],
    afterError: Diagnostic | undefined,
  ) {
    // The summary goes to stdout unless the records do (`-`, /dev/stdout).
    const toStdout = flags.output !== '-' && !/^\/(?:dev\/stdout|dev\/fd\/1|proc\/self\/fd\/1)$/.test(flags.output);
    if (afterError) {
      this.logToStderr(formatDiagnostic(afterError));
      if (afterError.hint) this.logToStderr(`  hint: ${afterError.hint}`);
    }
    if (flags.json) {
      const text = JSON.stringify(afterError ? { ...summary, errors: [afterError] } : summary, null, 2);
      if (toStdout) this.log(text);
      else this.logToStderr(text);
      return;
    }
    if (summary.fatal) {
      this.logToStderr(formatDiagnostic(summary.fatal));
      if (summary.fatal.hint) this.logToStderr(`  hint: ${summary.fatal.hint}`);
    }
    if (flags.quiet) return;
    for (const d of notes) this.logToStderr(formatDiagnostic(d));
    if (!summary.failed) for (const d of rejections) this.logToStderr(`rejected: ${formatDiagnostic(d)}`);
    if (summary.rejected > rejections.length && !summary.failed) {
      this.logToStderr(
        `… ${summary.rejected - rejections.length} more rejected${flags.rejects ? ` (all in ${flags.rejects})` : '; add --rejects <file> to keep them'}`,
      );
    }
    const seconds = (summary.durationMs / 1000).toFixed(2);
    const lines = [
      `${summary.failed ? 'Stopped' : 'Converted'} ${summary.from.join(', ') || '?'} → ${summary.to}${summary.failed ? '' : ` (${summary.output === '-' ? 'stdout' : summary.output}${summary.container ? `, ${summary.container}` : ''})`}`,
      `  read ${summary.read}, written ${summary.written}, rejected ${summary.rejected}${summary.discarded ? `, not written ${summary.discarded}` : ''} in ${seconds}s`,
    ];
    for (const [rule, n] of Object.entries(summary.rejectedByRule)) lines.push(`  rejected by ${rule}: ${n}`);
    for (const [event, n] of Object.entries(summary.counts)) lines.push(`  ${event}: ${n}`);
    for (const limitation of summary.limitations) lines.push(`  note: ${summary.to} ${limitation}`);
    if (summary.failed) {
      lines.push(summary.output === '-' ? '  the output on stdout is incomplete' : '  nothing was written');
    }
    this.logToStderr(lines.join('\n'));
  }
}
