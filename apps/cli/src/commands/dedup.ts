import { type DedupBy, dedupRecords } from '@llavakit/ops';
import { Args, Command, Flags } from '@oclif/core';
import { imagesFlag, opsContext, opsFlags, reportOp, runOp } from '../lib/ops.js';

export default class Dedup extends Command {
  static override summary = 'Remove exact duplicates by conversation text and/or image content.';

  static override description =
    `One streaming pass: each record is hashed (normalised conversation text; image bytes read through --images, so one image under two names is one); the first record of each group is written, the others are rejected (dedup/duplicate), each rejection naming the kept record's file, index and id.

--by conversation: same text; --by image: same image bytes; --by both (default): same text about the same image. Exit codes: 0 success, 1 data errors, 2 usage errors.`;

  static override examples = [
    '<%= config.bin %> dedup llava_v1_5_mix665k.json -o unique.json --by conversation --rejects dups.jsonl',
    '<%= config.bin %> dedup a.json b.json -o ab.json --by image --images /data/playground',
  ];

  static override strict = false;

  static override args = { inputs: Args.string({ description: 'Input files.', required: true }) };

  static override flags = {
    output: Flags.string({ char: 'o', summary: 'Output file; - for standard output.', required: true }),
    by: Flags.option({
      options: ['conversation', 'image', 'both'] as const,
      default: 'both' as const,
      summary: 'What makes two records duplicates.',
    })(),
    images: imagesFlag,
    groups: Flags.integer({ default: 10, summary: 'List this many of the largest groups.' }),
    ...opsFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Dedup);
    const context = await opsContext(this, this.config, flags, 'dedup');
    const summary = await runOp(this, context, () =>
      dedupRecords({
        ...context.common,
        inputs: argv as string[],
        output: flags.output,
        by: flags.by as DedupBy,
        maxGroups: flags.groups,
        ...(flags.images ? { images: flags.images } : {}),
      }),
    );
    const extra = [`  ${summary.groups} duplicate groups (by ${summary.by})`];
    if (summary.unreadableImages)
      extra.push(`  ${summary.unreadableImages} images could not be read and were compared by path`);
    for (const g of summary.largest) {
      extra.push(
        `    kept ${g.keptFile} #${g.keptIndex}${g.keptId !== undefined ? ` (id ${JSON.stringify(g.keptId)})` : ''}: ${g.removed} removed`,
      );
    }
    reportOp(this, summary, flags, 'Deduplicated', extra);
  }
}
