import { readFile } from 'node:fs/promises';
import { type Diagnostic, DiagnosticError, renderReport, type Severity } from '@llavakit/diagnostics';
import {
  createImageChecker,
  createImageResolver,
  formatImageSource,
  type ImageCheckSummary,
  type ImageSource,
  imageRefsOfRecord,
  type PrefixReport,
  parseImageSourceSpec,
} from '@llavakit/images';
import { readRecordBatches } from '@llavakit/reader';
import { checkRunPaths, writeTextFile } from '@llavakit/writer';
import { Args, Command, Flags } from '@oclif/core';
import { createProgress } from '../../lib/progress.js';
import { finishShard, planShard, shardFlag, skipFinishedShard } from '../../lib/shard-flags.js';

/** Read the data in small chunks: fewer parsed records alive at once, so they die young (less GC work). */
const CHUNK_BYTES = 64 * 1024;

/** What `llava images check --json` prints. */
export interface ImagesCheckResult {
  readonly inputs: readonly string[];
  readonly sources: readonly string[];
  readonly seconds: number;
  readonly ok: boolean;
  readonly total: ImageCheckSummary['total'];
  readonly byPrefix: ImageCheckSummary['byPrefix'];
  readonly problems: ImageCheckSummary['problems'];
  readonly counts: Record<'error' | 'warning' | 'info', number>;
  readonly diagnostics: readonly Diagnostic[];
}

export default class ImagesCheck extends Command {
  static override summary = 'Check that every image a dataset references exists and is a sound image.';

  static override description =
    `For every image path in the inputs: is it in one of the --images sources, is it a real image (magic bytes), does its real format match its extension, is it truncated (JPEG end marker, PNG IEND, GIF trailer, WEBP/BMP size), and what are its dimensions. Only the head and tail of each file are read; each folder is listed once and each zip archive's central directory is read once.

--images takes a folder, a zip archive (read in place, never extracted), or PREFIX=PATH to serve only refs under PREFIX (the prefix is cut off before the lookup). Repeat it; sources are tried in the order given. Bare file names (000000033471.jpg) are also looked up in prefixed sources. Paths with "..", absolute paths, symlinks leading out of a source and unsafe zip entry names are refused.

Exit codes: 0 all images sound, 1 problems found (warnings such as format mismatches only with --strict), 2 usage errors.`;

  static override examples = [
    {
      description: 'The LLaVA-1.5 mix against its playground folder',
      command: '<%= config.bin %> images check llava_v1_5_mix665k.json --images ./playground/data',
    },
    {
      description: 'Bare COCO names against the COCO folder, missing files listed for re-download',
      command:
        '<%= config.bin %> images check llava_instruct_150k.json --images /data/coco/train2017 --list-missing missing.tsv',
    },
    {
      description: 'CC-3M chat against its images.zip, read in place',
      command: '<%= config.bin %> images check chat.json --images /data/cc3m/images.zip',
    },
    {
      description: 'One folder per prefix, JSON report',
      command:
        '<%= config.bin %> images check mix.json --images coco/train2017=/data/coco/train2017 --images gqa/images=/data/gqa --json',
    },
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    inputs: Args.string({ description: 'Data files (JSON array or JSONL); - for standard input.', required: true }),
  };

  static override flags = {
    images: Flags.string({
      char: 'i',
      multiple: true,
      required: true,
      summary: 'Image source: FOLDER, ARCHIVE.zip or PREFIX=PATH (repeatable, tried in order).',
    }),
    shard: shardFlag,
    summary: Flags.string({
      summary:
        'Also write the --json result to this file ({shard}/{shards} expanded; with --shard it gets a done marker and a rerun skips the finished shard).',
    }),
    'list-missing': Flags.string({
      summary: 'Write every missing or broken image to this file, one per line: path<TAB>status<TAB>references.',
    }),
    concurrency: Flags.integer({
      summary: 'Images read at once (zip entries, and files with --io async).',
      default: 64,
      min: 1,
      max: 4096,
    }),
    io: Flags.option({
      options: ['sync', 'async'] as const,
      default: 'sync' as const,
      summary: 'sync: blocking reads, fastest on local disks; async: thread pool, better on network file systems.',
    })(),
    workers: Flags.integer({
      summary:
        'Worker threads that list folders, open zip archives and read images while records are parsed (0: all in one thread).',
      default: 1,
      min: 0,
      max: 16,
    }),
    'max-image-bytes': Flags.integer({
      summary:
        'Largest zip entry inflated to check it, in bytes (default 64 MiB); larger entries, and entries that inflate past their declared size, are reported as images/too-large.',
      min: 1,
    }),
    strict: Flags.boolean({ summary: 'Also fail on warnings (format mismatches, unsafe zip entries).' }),
    'max-per-rule': Flags.integer({
      summary: 'Show at most this many problems per rule (0: all).',
      default: 20,
      min: 0,
    }),
  };

  async run(): Promise<ImagesCheckResult | undefined> {
    const { argv, flags } = await this.parse(ImagesCheck);
    const plan = await planShard(
      this,
      argv as string[],
      flags.shard,
      flags.summary ? { path: flags.summary } : undefined,
      [flags['list-missing']],
    );
    if (await skipFinishedShard(plan, false)) {
      // the finished shard's summary (its diagnostics were counted, not kept)
      return { ...(JSON.parse(await readFile(plan.output!, 'utf8')) as ImagesCheckResult), diagnostics: [] };
    }
    const inputs = plan.inputs;
    // --list-missing names this shard's file ({shard} expanded): the code below reads the flag
    if (flags['list-missing']) flags['list-missing'] = plan.other(flags['list-missing']);
    let sources: ImageSource[];
    try {
      sources = flags.images.map((spec) => parseImageSourceSpec(spec));
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
    if (flags['list-missing']) {
      try {
        await checkRunPaths({
          inputs: inputs.map((path) => ({ flag: 'input', path })),
          outputs: [{ flag: '--list-missing', path: flags['list-missing'] }],
        });
      } catch (error) {
        if (!DiagnosticError.is(error)) throw error;
        this.error(error.diagnostic.message, { exit: 2 });
      }
    }
    const resolver = createImageResolver(sources, {
      io: flags.io,
      ...(flags['max-image-bytes'] ? { maxImageBytes: flags['max-image-bytes'] } : {}),
    });
    const json = this.jsonEnabled();
    const progress = createProgress({ label: 'images', enabled: json ? false : undefined });
    const readProblems: Diagnostic[] = [];
    let bytes = 0;
    let totalBytes: number | undefined;
    let current = '';

    const started = performance.now();
    const checker = createImageChecker(resolver, {
      concurrency: flags.concurrency,
      workers: flags.workers,
      onProgress: (p) => {
        progress.update(
          bytes,
          totalBytes,
          `${current} · ${p.checked.toLocaleString('en-US')} images, ${p.problems} problems`,
        );
      },
    });
    let summary: ImageCheckSummary;
    try {
      for (const input of inputs) {
        current = input;
        const batches = readRecordBatches(input, {
          file: input,
          chunkSize: CHUNK_BYTES,
          onProgress: (done, total) => {
            bytes = done;
            totalBytes = total;
          },
        });
        let index = 0;
        try {
          for await (const batch of batches) {
            for (const record of batch) {
              const recordIndex = record.place?.index ?? index;
              index = recordIndex + 1;
              if (plan.keepRecord && !plan.keepRecord(recordIndex)) continue;
              if (!record.ok) readProblems.push(record.diagnostic);
              for (const ref of imageRefsOfRecord(record, input, recordIndex)) {
                const wait = checker.add(ref);
                if (wait) await wait;
              }
            }
          }
        } catch (error) {
          if (!DiagnosticError.is(error)) throw error;
          readProblems.push(error.diagnostic);
        }
      }
      summary = await checker.finish();
    } finally {
      progress.stop();
      await checker.close();
      await resolver.close();
    }
    const seconds = (performance.now() - started) / 1000;
    // Counts per rule without building every diagnostic: a text report shows only the first few of each rule.
    const ruleCounts: Record<string, Partial<Record<Severity, number>>> = {};
    for (const [ruleId, counts] of Object.entries(summary.ruleCounts)) ruleCounts[ruleId] = { ...counts };
    for (const d of readProblems) {
      const counts = (ruleCounts[d.ruleId] ??= {});
      counts[d.severity] = (counts[d.severity] ?? 0) + 1;
    }
    const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
    for (const byRule of Object.values(ruleCounts)) {
      for (const [severity, n] of Object.entries(byRule) as [Severity, number][]) counts[severity] += n;
    }
    const failed = counts.error > 0 || (flags.strict && counts.warning > 0);
    if (failed) process.exitCode = 1;
    const maxPerRule = flags['max-per-rule'];
    // A text report shows only the first diagnostics of each rule (renderReport cuts each rule's list there).
    const diagnostics = [
      ...readProblems,
      ...(json || maxPerRule === 0 ? summary.diagnostics : summary.firstDiagnostics(maxPerRule)),
    ];

    let listFailed = false;
    if (flags['list-missing']) {
      try {
        await writeTextFile(
          flags['list-missing'],
          summary.problems.map((p) => `${p.ref}\t${p.status}\t${p.references}\n`),
        );
      } catch (error) {
        if (!DiagnosticError.is(error)) throw error;
        diagnostics.push(error.diagnostic);
        counts.error++;
        listFailed = true;
        process.exitCode = 1;
        this.logToStderr(`${error.diagnostic.message} [${error.diagnostic.ruleId}]`);
      }
    }
    const result: ImagesCheckResult = {
      inputs,
      sources: sources.map(formatImageSource),
      seconds: Math.round(seconds * 1000) / 1000,
      ok: !failed && !listFailed,
      total: summary.total,
      byPrefix: summary.byPrefix,
      problems: summary.problems,
      counts,
      diagnostics,
    };
    if (plan.output) {
      // the --json result without its diagnostics list (counts bound its size; the list may hold 100,000s)
      const { diagnostics: _listed, ...shardSummary } = result;
      await writeTextFile(plan.output, [`${JSON.stringify(shardSummary, null, 2)}\n`]);
      // a failed shard is checked again on a rerun
      if (shardSummary.ok) await finishShard(plan, shardSummary);
    }
    if (!json) {
      this.printReport(result, ruleCounts, maxPerRule, flags['list-missing']);
      return result;
    }
    // Streamed, not handed to oclif: one JSON text of hundreds of thousands of diagnostics would not fit in a string.
    await writeJsonStreamed(result);
    return undefined;
  }

  private printReport(
    result: ImagesCheckResult,
    ruleCounts: Record<string, Partial<Record<Severity, number>>>,
    maxPerRule: number,
    listFile: string | undefined,
  ): void {
    const { total } = result;
    const n = (v: number) => v.toLocaleString('en-US');
    this.log(
      `Checked ${n(total.references)} image references (${n(total.distinct)} distinct) from ${result.inputs.length} file${result.inputs.length === 1 ? '' : 's'} in ${result.seconds.toFixed(1)} s.`,
    );
    this.log('');
    const header = [
      'prefix',
      'refs',
      'distinct',
      'ok',
      'missing',
      'not-image',
      'mismatch',
      'truncated',
      'refused',
      'unreadable',
      'formats',
      'width',
      'height',
    ];
    const rows: string[][] = [header];
    const row = (name: string, r: PrefixReport | (typeof total & Partial<PrefixReport>)) => [
      name,
      n(r.references),
      n(r.distinct),
      n(r.ok),
      n(r.missing),
      n(r.notImage),
      n(r.formatMismatch),
      n(r.truncated),
      n(r.refused),
      n(r.unreadable),
      r.formats
        ? Object.entries(r.formats)
            .map(([f, c]) => `${f} ${n(c ?? 0)}`)
            .join(', ')
        : '',
      range(r.width),
      range(r.height),
    ];
    for (const [name, report] of Object.entries(result.byPrefix)) rows.push(row(name, report));
    if (Object.keys(result.byPrefix).length !== 1) rows.push(row('total', total));
    const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) {
      this.log(
        r
          .map((cell, c) => (c === 0 || c >= 10 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
          .join('  ')
          .trimEnd(),
      );
    }
    this.log('');
    if (result.diagnostics.length > 0) {
      this.log(renderReport(result.diagnostics, maxPerRule > 0 ? { maxPerRule, counts: ruleCounts } : {}).trimEnd());
      this.log('');
    }
    const { error, warning } = result.counts;
    this.log(
      result.diagnostics.length === 0
        ? 'All images found and sound.'
        : `${n(error)} error${error === 1 ? '' : 's'}, ${n(warning)} warning${warning === 1 ? '' : 's'} in ${n(result.problems.length)} image${result.problems.length === 1 ? '' : 's'}.${listFile ? ` List written to ${listFile}.` : ''}`,
    );
  }
}

function range(r: { min: number; max: number } | undefined): string {
  if (!r) return '';
  return r.min === r.max ? String(r.min) : `${r.min}–${r.max}`;
}

/**
 * Print the `--json` result on standard output as pretty JSON, the `diagnostics` list one element at a time with
 * back-pressure, so that its size is bounded by the objects, never by one string (a `JSON.stringify` of 300,000
 * diagnostics runs out of memory).
 */
async function writeJsonStreamed(result: ImagesCheckResult): Promise<void> {
  const { diagnostics, ...rest } = result;
  let pending = '';
  const flush = async () => {
    const text = pending;
    pending = '';
    if (text && !process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  };
  const push = async (text: string) => {
    pending += text;
    if (pending.length >= 1 << 16) await flush();
  };
  await push('{\n');
  for (const [key, value] of Object.entries(rest)) {
    await push(`  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')},\n`);
  }
  await push('  "diagnostics": [');
  for (let i = 0; i < diagnostics.length; i++) {
    await push(`${i === 0 ? '' : ','}\n    ${JSON.stringify(diagnostics[i], null, 2).replaceAll('\n', '\n    ')}`);
  }
  await push(diagnostics.length > 0 ? '\n  ]\n}\n' : ']\n}\n');
  await flush();
}
