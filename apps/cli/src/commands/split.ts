import { splitRecords } from '@llavakit/ops';
import { Args, Command, Flags } from '@oclif/core';
import { opsContext, opsFlags, reportOp, runOp } from '../lib/ops.js';

export default class Split extends Command {
  static override summary = 'Hold out an eval split, decided per record by a seeded hash (stable as the file grows).';

  static override description =
    `Each record's side is decided by a seeded hash of its id and content, so it does not depend on the other records: with a fraction, a file that grows keeps every earlier record on its side (one pass). A whole number (--eval 500) or --by source (the same share of every source, exactly) takes the records with the smallest hashes (two passes).

Both outputs appear atomically. Exit codes: 0 success, 1 data errors, 2 usage errors.`;

  static override examples = [
    '<%= config.bin %> split data.json --eval 0.01 --seed 1 -o train.json --eval-output eval.json',
    '<%= config.bin %> split llava_v1_5_mix665k.json --eval 2000 --by source -o train.json --eval-output eval.json',
  ];

  static override args = { input: Args.string({ description: 'Input file.', required: true }) };

  static override flags = {
    output: Flags.string({ char: 'o', summary: 'Train output file.', required: true }),
    'eval-output': Flags.string({ summary: 'Eval output file.', required: true }),
    eval: Flags.string({ summary: 'Eval share: a fraction (0.01) or a number of records (500).', required: true }),
    by: Flags.option({ options: ['source'] as const, summary: 'Stratify: the same share of every source.' })(),
    seed: Flags.string({ default: '0', summary: 'Seed of the hash.' }),
    ...opsFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Split);
    const share = Number(flags.eval);
    if (!Number.isFinite(share)) this.error(`--eval ${flags.eval} is not a number.`, { exit: 2 });
    const context = await opsContext(this, this.config, flags, 'split');
    const summary = await runOp(this, context, () =>
      splitRecords({
        ...context.common,
        inputs: [args.input],
        output: flags.output,
        evalOutput: flags['eval-output'],
        eval: share,
        seed: flags.seed,
        ...(flags.by ? { by: flags.by } : {}),
      }),
    );
    const extra = summary.evalBySource
      ? Object.entries(summary.evalBySource).map(([s, n]) => `  eval from ${s}: ${n}`)
      : [];
    reportOp(this, summary, flags, `Split: ${summary.train} train, ${summary.eval} eval`, extra);
  }
}
