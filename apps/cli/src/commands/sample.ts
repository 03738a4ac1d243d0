import { sampleRecords } from '@llavakit/ops';
import { Args, Command, Flags } from '@oclif/core';
import { opsContext, opsFlags, reportOp, runOp } from '../lib/ops.js';

export default class Sample extends Command {
  static override summary = 'Draw a uniform, seeded random sample of records.';

  static override description =
    `Uniform and seeded: the same inputs and --seed draw the same records, written in input order. One pass draws them (-n: a reservoir of the drawn records' byte places; --fraction: the count and every record's byte place, 22 bytes per record), the second reads only the drawn records at their byte offsets. The others are counted as rejected by sample/not-selected; with --rejects they are written there too (the inputs are then read again in full, drawing the same records).

Exit codes: 0 success, 1 data errors, 2 usage errors.`;

  static override examples = [
    '<%= config.bin %> sample llava_v1_5_mix665k.json -n 1000 --seed 7 -o sample.json',
    '<%= config.bin %> sample a.json b.json --fraction 0.1 -o tenth.jsonl',
  ];

  static override strict = false;

  static override args = { inputs: Args.string({ description: 'Input files.', required: true }) };

  static override flags = {
    output: Flags.string({ char: 'o', summary: 'Output file; - for standard output.', required: true }),
    n: Flags.integer({ char: 'n', summary: 'Number of records to draw.', exactlyOne: ['n', 'fraction'] }),
    fraction: Flags.string({ summary: 'Share of records to draw (0–1).' }),
    seed: Flags.string({ default: '0', summary: 'Seed.' }),
    ...opsFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Sample);
    const fraction = flags.fraction === undefined ? undefined : Number(flags.fraction);
    if (fraction !== undefined && !Number.isFinite(fraction))
      this.error(`--fraction ${flags.fraction} is not a number.`, { exit: 2 });
    const context = await opsContext(this, this.config, flags, 'sample');
    const summary = await runOp(this, context, () =>
      sampleRecords({
        ...context.common,
        inputs: argv as string[],
        output: flags.output,
        seed: flags.seed,
        ...(flags.n !== undefined ? { n: flags.n } : {}),
        ...(fraction !== undefined ? { fraction } : {}),
      }),
    );
    reportOp(this, summary, flags, `Sampled ${summary.drawn} of ${summary.population}`);
  }
}
