import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { conversationTemplates, renderRecords } from '@llavakit/prompts';
import { Args, Command, Flags } from '@oclif/core';
import { oneOf } from '../lib/one-of.js';
import { createProgress } from '../lib/progress.js';

export default class Render extends Command {
  static override summary = "Print records rendered with one of LLaVA's conversation templates, byte for byte.";

  static override description =
    `Renders each record as LLaVA's own code does (haotian-liu/LLaVA conversation.py and train.py): <image> is moved to the front of its turn for records with an image (wrapped as <Image><image></Image> for the mmtag templates), then the template is applied.

--mode train (default) reproduces what training with --version <template> builds, including the legacy "### Human: …" path of llava_v0 / v0_mmtag, the plain pretraining path, and --version v0 training with vicuna_v1. --mode inference reproduces the template's get_prompt(), and --generation ends the prompt with an empty assistant turn.

Templates: ${conversationTemplates.join(', ')}.

Records LLaVA could not render (an unknown role, broken alternation, a plain record without two turns) are reported and skipped. Exit codes: 0 success, 1 data errors, 2 usage errors.`;

  static override examples = [
    {
      description: 'How LLaVA-1.5 finetuning sees the first records',
      command: '<%= config.bin %> render llava_v1_5_mix665k.json --template v1 --limit 3',
    },
    {
      description: 'Generation prompts for evaluation, as JSON Lines',
      command: '<%= config.bin %> render questions.jsonl --template llava_v1 --mode inference --generation --json',
    },
  ];

  static override args = {
    input: Args.string({ description: 'Data file (JSON array or JSONL); - for standard input.', required: true }),
  };

  static override flags = {
    template: Flags.string({
      ...oneOf(conversationTemplates),
      char: 't',
      summary: 'Conversation template name.',
      required: true,
    }),
    mode: Flags.string({
      ...oneOf(['train', 'inference'] as const),
      default: 'train',
      summary: 'Training or inference rendering.',
    }),
    generation: Flags.boolean({
      summary: 'Inference: end with an empty assistant turn (a trailing gpt turn is removed).',
    }),
    'mm-use-im-start-end': Flags.boolean({
      summary: 'Wrap <image> as <im_start><image><im_end> (LLaVA --mm_use_im_start_end).',
    }),
    limit: Flags.integer({ min: 1, summary: 'Render only the first N records.' }),
    json: Flags.boolean({ summary: 'Print one JSON object per record: {"index", "id", "text"} (or "error").' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Render);
    if (flags.generation && flags.mode !== 'inference') this.error('--generation needs --mode inference', { exit: 2 });
    const progress = createProgress({ label: 'render', enabled: flags.json ? false : undefined });
    let failed = 0;
    const out: string[] = [];
    const flush = () => {
      if (out.length > 0) process.stdout.write(out.join(''));
      out.length = 0;
    };
    try {
      for await (const r of renderRecords(args.input, {
        template: flags.template,
        mode: flags.mode as 'train' | 'inference',
        generation: flags.generation,
        mmUseImStartEnd: flags['mm-use-im-start-end'],
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        onProgress: (done, total) => progress.update(done, total),
      })) {
        const id = r.id !== undefined ? { id: r.id } : {};
        if (!r.ok) {
          failed++;
          if (flags.json) out.push(`${JSON.stringify({ index: r.index, ...id, error: r.diagnostic })}\n`);
          else this.logToStderr(formatDiagnostic(r.diagnostic));
        } else if (flags.json) out.push(`${JSON.stringify({ index: r.index, ...id, text: r.text })}\n`);
        else out.push(`--- record ${r.index}${r.id !== undefined ? ` (id ${JSON.stringify(r.id)})` : ''}\n${r.text}\n`);
        if (out.length >= 256) flush();
      }
    } catch (error) {
      progress.stop();
      flush();
      if (DiagnosticError.is(error)) {
        this.logToStderr(formatDiagnostic(error.diagnostic));
        this.exit(1);
      }
      throw error;
    }
    progress.stop();
    flush();
    if (failed > 0) {
      if (!flags.json) this.logToStderr(`${failed} record(s) could not be rendered with ${flags.template}`);
      process.exitCode = 1;
    }
  }
}
