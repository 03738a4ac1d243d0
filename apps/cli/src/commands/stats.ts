import { computeStats, mergeStats, readStatsFiles, renderStatsSummary, writeStatsHtml } from '@llavakit/ops';
import { conversationTemplates } from '@llavakit/prompts';
import { Args, Command, Flags } from '@oclif/core';
import { imagesFlag, modelFlag, opsContext, opsFlags, runOp } from '../lib/ops.js';
import { planShard, shardFlag } from '../lib/shard-flags.js';
import { statsWorkersFlag } from '../lib/workers-flag.js';

export default class Stats extends Command {
  static override summary = 'Count what a dataset holds: sources, turns, images, duplicates and token lengths.';

  static override description =
    `Streams every input once (any size, constant memory) and prints records, text-only share, sources (data_source, else the image's first folder, else text-only), turns, <image> placement, images per record, duplicate ids and conversations, and token lengths: text with the real LLaMA/Vicuna tokenizer, image tokens by --model, plus the --template's overhead.

--json prints one mergeable object; --merge adds up such objects of shards (histograms merge exactly). --html writes a self-contained report with charts.

Worker threads parse, decode and count (--workers, default: the available parallelism for files of 8 MiB or more); the result is the same whatever the number, duplicates included (the main thread keeps one table of every record's 64-bit keys).

Exit codes: 0 success, 1 data errors (an input cannot be read, or holds elements that are no valid record: counted as invalid), 2 usage errors.`;

  static override examples = [
    '<%= config.bin %> stats llava_v1_5_mix665k.json --template v1',
    '<%= config.bin %> stats shard-*.json --json > stats.json',
    '<%= config.bin %> stats --merge a.stats.json b.stats.json --html report.html',
    '<%= config.bin %> stats llava_next.json --model llava-next-anyres --images /data/playground',
    '<%= config.bin %> stats llava_v1_5_mix665k.json --workers 4 --shard 0/2 --json > stats-0.json',
  ];

  static override strict = false;

  static override args = { inputs: Args.string({ description: 'Input files (or stats JSON files with --merge).' }) };

  static override flags = {
    from: opsFlags.from,
    model: modelFlag,
    template: Flags.option({
      options: conversationTemplates as string[],
      summary: 'Count the overhead of this LLaVA conversation template.',
    })(),
    tokens: Flags.boolean({ default: true, allowNo: true, summary: 'Count tokens (--no-tokens skips the tokenizer).' }),
    images: imagesFlag,
    shard: shardFlag,
    workers: statsWorkersFlag,
    merge: Flags.boolean({ summary: 'The inputs are `llava stats --json` results: merge them into one.' }),
    html: Flags.string({ summary: 'Also write a self-contained HTML report with charts to this file.' }),
    plugin: opsFlags.plugin,
    json: opsFlags.json,
    quiet: opsFlags.quiet,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stats);
    if (argv.length === 0) this.error('Give at least one input.', { exit: 2 });
    if (flags.shard && flags.merge) this.error('--shard and --merge do not go together.', { exit: 2 });
    const plan = await planShard(this, argv as string[], flags.shard);
    const inputs = plan.inputs;
    const context = await opsContext(this, this.config, flags, 'stats');
    const stats = await runOp(this, context, async () =>
      flags.merge
        ? mergeStats(await readStatsFiles(inputs))
        : computeStats({
            inputs,
            ...(plan.keepRecord ? { keepRecord: plan.keepRecord } : {}),
            registry: context.registry,
            ...(flags.from ? { from: flags.from } : {}),
            model: flags.model,
            ...(flags.template ? { template: flags.template } : {}),
            tokens: flags.tokens,
            ...(flags.images ? { images: flags.images } : {}),
            ...(flags.workers ? { workers: flags.workers } : {}),
            onFallback: (reason) =>
              this.logToStderr(`note: --workers ${flags.workers}: counting in one thread (${reason}).`),
            onProgress: context.onProgress,
            signal: context.signal,
          }),
    );
    if (flags.html) await writeStatsHtml(flags.html, stats, `llavakit stats: ${inputs.join(', ')}`);
    if (stats.invalid > 0) process.exitCode = 1;
    if (flags.json) this.log(JSON.stringify(stats, null, 2));
    else if (!flags.quiet) this.logToStderr(renderStatsSummary(stats, flags.html));
  }
}
