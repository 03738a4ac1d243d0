import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { type ImagesReport, renderImagesReport, writeImagesReportJson } from '@llavakit/images';
import { type ImagesCheckRun, runImagesCheck } from '@llavakit/ops';
import { Args, Command, Flags } from '@oclif/core';
import { createProgress } from '../../lib/progress.js';
import { shardFlag } from '../../lib/shard-flags.js';

/** What `llava images check --json` prints (the report of `checkImageFiles`). */
export type ImagesCheckResult = ImagesReport;

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
    const json = this.jsonEnabled();
    const maxPerRule = flags['max-per-rule'];
    const progress = createProgress({ label: 'images', enabled: json ? false : undefined });
    let run: ImagesCheckRun;
    try {
      run = await runImagesCheck({
        inputs: argv as string[],
        images: flags.images,
        ...(flags.shard !== undefined ? { shard: flags.shard } : {}),
        ...(flags.summary ? { summaryFile: flags.summary } : {}),
        ...(flags['list-missing'] ? { listMissing: flags['list-missing'] } : {}),
        io: flags.io,
        ...(flags['max-image-bytes'] ? { maxImageBytes: flags['max-image-bytes'] } : {}),
        concurrency: flags.concurrency,
        workers: flags.workers,
        strict: flags.strict,
        // a text report shows only the first diagnostics of each rule
        maxPerRule: json ? 0 : maxPerRule,
        onProgress: (p) =>
          progress.update(
            p.bytesRead,
            p.totalBytes,
            `${p.input} · ${p.checked.toLocaleString('en-US')} images, ${p.problems} problems`,
          ),
      });
    } catch (error) {
      progress.stop();
      return this.failUsage(error);
    } finally {
      progress.stop();
    }
    if (run.skipped) {
      // (straight to stderr: oclif mutes logToStderr under --json, and this line must be seen)
      process.stderr.write(`shard ${run.shard} already done (${run.doneFile}); skipped\n`);
      return run.report;
    }
    const result = run.report;
    if (run.listFailure) this.logToStderr(`${run.listFailure.message} [${run.listFailure.ruleId}]`);
    if (!result.ok) process.exitCode = 1;
    if (!json) {
      const text = renderImagesReport(result, {
        ruleCounts: run.ruleCounts,
        maxPerRule,
        ...(run.listFile ? { listFile: run.listFile } : {}),
      });
      this.log(text.slice(0, -1));
      return result;
    }
    // Streamed, not handed to oclif: one JSON text of hundreds of thousands of diagnostics would not fit in a string.
    await writeImagesReportJson(result, process.stdout);
    return undefined;
  }

  /** Usage errors exit 2: a bad --shard as its diagnostic and hint, a bad source or a conflicting path as its message. */
  private failUsage(error: unknown): never {
    if (DiagnosticError.is(error) && error.diagnostic.ruleId.startsWith('usage/shard')) {
      this.logToStderr(formatDiagnostic(error.diagnostic));
      if (error.diagnostic.hint) this.logToStderr(`  hint: ${error.diagnostic.hint}`);
      return this.exit(2);
    }
    if (DiagnosticError.is(error) && error.diagnostic.ruleId === 'usage/output-conflict')
      this.error(error.diagnostic.message, { exit: 2 });
    if (error instanceof TypeError) this.error(error.message, { exit: 2 });
    throw error;
  }
}
