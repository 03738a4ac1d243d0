import { filterRecords, type ModelPreset } from '@llavakit/ops';
import { conversationTemplates } from '@llavakit/prompts';
import { Args, Command, Flags } from '@oclif/core';
import { imagesFlag, modelFlag, opsContext, opsFlags, reportOp, runOp } from '../lib/ops.js';
import { finishShard, planShard, shardFlag, skipFinishedShard } from '../lib/shard-flags.js';

export default class Filter extends Command {
  static override summary = 'Keep the records that fit: by token length, turns, images and source.';

  static override description =
    `Streams the inputs and writes the records that pass every rule; every other record is rejected (to --rejects) with its rule: length/over-max (with the measured length), filter/min-turns, filter/has-image, filter/text-only, filter/source. The length is text tokens (LLaMA tokenizer) + image tokens by --model + the --template overhead.

The output appears atomically when complete. Exit codes: 0 success, 1 data errors, 2 usage errors.`;

  static override examples = [
    '<%= config.bin %> filter llava_v1_5_mix665k.json -o fit.json --max-tokens 2048 --template v1 --rejects too-long.jsonl',
    '<%= config.bin %> filter data.json -o coco.json --source coco --has-image',
  ];

  static override strict = false;

  static override args = { inputs: Args.string({ description: 'Input files; - for standard input.', required: true }) };

  static override flags = {
    output: Flags.string({ char: 'o', summary: 'Output file; - for standard output.', required: true }),
    'max-tokens': Flags.integer({ summary: 'Reject records longer than this many tokens (length/over-max).' }),
    model: modelFlag,
    template: Flags.option({
      options: conversationTemplates as string[],
      summary: 'Measure the prompt rendered with this LLaVA template.',
    })(),
    'min-turns': Flags.integer({ summary: 'Reject records with fewer turns.' }),
    'has-image': Flags.boolean({ summary: 'Keep only records with an image.', exclusive: ['text-only'] }),
    'text-only': Flags.boolean({ summary: 'Keep only text-only records.' }),
    source: Flags.string({ multiple: true, summary: 'Keep only records of these sources (see `llava stats`).' }),
    images: imagesFlag,
    shard: shardFlag,
    ...opsFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Filter);
    const plan = await planShard(this, argv as string[], flags.shard, { path: flags.output }, [flags.rejects]);
    if (await skipFinishedShard(plan, flags.quiet)) return;
    const rejects = plan.other(flags.rejects);
    const context = await opsContext(this, this.config, flags, 'filter');
    const summary = await runOp(this, context, () =>
      filterRecords({
        ...context.common,
        ...(rejects ? { rejects } : {}),
        inputs: plan.inputs,
        ...(plan.keepRecord ? { keepRecord: plan.keepRecord } : {}),
        output: plan.output ?? flags.output,
        model: flags.model as ModelPreset,
        ...(flags['max-tokens'] !== undefined ? { maxTokens: flags['max-tokens'] } : {}),
        ...(flags.template ? { template: flags.template } : {}),
        ...(flags['min-turns'] !== undefined ? { minTurns: flags['min-turns'] } : {}),
        hasImage: flags['has-image'],
        textOnly: flags['text-only'],
        ...(flags.source ? { sources: flags.source } : {}),
        ...(flags.images ? { images: flags.images } : {}),
      }),
    );
    if (!summary.failed) await finishShard(plan, summary);
    reportOp(this, summary, flags, 'Filtered');
  }
}
