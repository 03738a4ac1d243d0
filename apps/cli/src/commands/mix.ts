import { mixRecipe } from '@llavakit/ops';
import { Args, Command, Flags } from '@oclif/core';
import { opsContext, opsFlags, reportOp, runOp } from '../lib/ops.js';

export default class Mix extends Command {
  static override summary = 'Build a training mixture from a LLaVA-NeXT YAML recipe, with a manifest to reproduce it.';

  static override description = `Reads a recipe as LLaVA-NeXT's users write it:

  seed: 42
  datasets:
    - json_path: llava_v1_5_mix665k.json
      sampling_strategy: "random:10%"
    - json_path: sharegpt4v.json
      sampling_strategy: "first:5000"
      images_folder: sharegpt4v

Strategies: all, first:N, end:N, random:N; N may be a percentage (ceil(N × count / 100), as LLaVA-NeXT computes it). Inputs in any readable format. Writes the mixture (atomically) and <output>.manifest.json (inputs with size and sha256, strategy, counts taken, seed, llavakit version).

Exit codes: 0 success, 1 data errors (a dataset file missing or unreadable), 2 usage errors (a recipe that is not valid YAML, a bad strategy, a percentage over 100).`;

  static override examples = [
    '<%= config.bin %> mix recipe.yaml -o mix.json',
    '<%= config.bin %> mix recipe.yaml -o mix.jsonl --seed 7 --json',
  ];

  static override args = { recipe: Args.string({ description: 'Recipe YAML file.', required: true }) };

  static override flags = {
    output: Flags.string({ char: 'o', summary: 'Output file.', required: true }),
    seed: Flags.string({ summary: "Seed (overrides the recipe's)." }),
    ...opsFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Mix);
    const context = await opsContext(this, this.config, flags, 'mix');
    const summary = await runOp(this, context, () =>
      mixRecipe({
        ...context.common,
        recipe: args.recipe,
        output: flags.output,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      }),
    );
    const extra = (summary.manifest?.inputs ?? []).map(
      (i) => `  ${i.json_path} (${i.sampling_strategy}): ${i.taken} of ${i.records}`,
    );
    if (summary.manifestPath && !summary.failed) extra.push(`  manifest: ${summary.manifestPath}`);
    reportOp(this, summary, flags, 'Mixed', extra);
  }
}
