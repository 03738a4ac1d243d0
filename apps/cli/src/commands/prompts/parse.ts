import { checkRunPaths, writeTextFile } from '@llavakit/convert';
import { type Diagnostic, DiagnosticError, exitCodeOf, formatDiagnostic, isFailing } from '@llavakit/diagnostics';
import {
  type ImagePlacement,
  type PromptKind,
  parseBatchRun,
  parseOutputPaths,
  renderParseReport,
  serialiseRecords,
} from '@llavakit/prompts';
import { Args, Command, Flags } from '@oclif/core';
import { oneOf } from '../../lib/one-of.js';

/** What `llava prompts parse --json` prints. */
export interface ParseSummary {
  readonly results: number;
  readonly failed: number;
  readonly records: number;
  readonly rejected: number;
  readonly byKind: Partial<Record<PromptKind, number>>;
  readonly outputs: string[];
  readonly diagnostics: Diagnostic[];
}

export default class PromptsParse extends Command {
  static override summary = 'Turn GPT-4 responses (Batch output or endpoint results) into LLaVA records.';

  static override description =
    `Joins the Batch output file and its error file back by custom_id (lines may be in any order), then parses each response by its kind: conversation → alternating human/gpt turns; complex_reasoning → one question and answer; detail → the whole response answering a question drawn (seeded) from the 16 detail instructions of the LLaVA paper. <image> goes on the first human turn (--image-placement).

Malformed responses (no ===, a question without an answer, empty text), failed requests and requests without any result are reported with their custom_id and kept out of the output. The record id and image come from the manifest written by \`llava prompts build\` (or from the custom_id, image <id>.jpg).

The output is a JSON array (LLaVA's format) or JSON Lines when it ends in .jsonl; with --by-kind, --output is a folder that gets conversation.json, detail_description.json and complex_reasoning.json.

Exit codes: 0 success, 1 data errors (malformed responses, failed or missing requests), 2 usage errors.`;

  static override examples = [
    {
      description: 'Parse a finished batch',
      command:
        '<%= config.bin %> prompts parse batch_output.jsonl --errors batch_errors.jsonl --manifest requests/manifest.jsonl -o llava_instruct.json',
    },
    {
      description: 'Results of a direct endpoint run, one file per kind, <image> after the question',
      command:
        '<%= config.bin %> prompts parse out/output.jsonl --errors out/errors.jsonl --manifest out/manifest.jsonl --by-kind -o data/ --image-placement end',
    },
  ];

  static override enableJsonFlag = true;

  static override args = {
    output: Args.string({ description: 'Batch output file (or output.jsonl of a direct run).', required: true }),
  };

  static override flags = {
    errors: Flags.string({ char: 'e', summary: 'The Batch error file beside the output.' }),
    manifest: Flags.string({ summary: 'manifest.jsonl written by `llava prompts build`.' }),
    out: Flags.string({
      char: 'o',
      summary: 'Output file (.json or .jsonl), or folder with --by-kind.',
      required: true,
    }),
    'by-kind': Flags.boolean({ summary: 'Write one JSON file per kind into the --out folder.' }),
    'image-placement': Flags.string({
      ...oneOf(['front', 'end', 'random', 'none'] as const),
      default: 'front',
      summary: 'Where <image> goes on the first human turn.',
    }),
    seed: Flags.integer({ default: 0, summary: 'Seed of the detail question draw and of --image-placement random.' }),
    format: Flags.string({
      ...oneOf(['qa', 'jsonl'] as const),
      default: 'qa',
      summary: 'Response layout: qa (Question/===/Answer) or jsonl (the early conversation prompts).',
    }),
  };

  async run(): Promise<ParseSummary> {
    const { args, flags } = await this.parse(PromptsParse);
    try {
      await checkRunPaths({
        inputs: [
          { flag: 'input', path: args.output },
          ...(flags.errors ? [{ flag: '--errors', path: flags.errors }] : []),
          ...(flags.manifest ? [{ flag: '--manifest', path: flags.manifest }] : []),
        ],
        outputs: parseOutputPaths(flags.out, flags['by-kind']).map((path) => ({ flag: '-o', path })),
      });
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      this.error(error.diagnostic.message, { exit: 2 });
    }
    const run = await parseBatchRun({
      outputFile: args.output,
      ...(flags.errors ? { errorFile: flags.errors } : {}),
      ...(flags.manifest ? { manifestFile: flags.manifest } : {}),
      out: flags.out,
      byKind: flags['by-kind'],
      imagePlacement: flags['image-placement'] as ImagePlacement,
      seed: flags.seed,
      format: flags.format as 'qa' | 'jsonl',
    }).catch((error: unknown) => this.fail(error));
    const diagnostics = run.diagnostics;
    const outputs: string[] = [];
    for (const file of run.files) {
      try {
        await writeTextFile(file.path, serialiseRecords(file.records, file.path));
        outputs.push(file.path);
      } catch (error) {
        if (!DiagnosticError.is(error)) throw error;
        diagnostics.push(error.diagnostic);
      }
    }
    const { results, failed, records, rejected, byKind } = run;
    const summary: ParseSummary = { results, failed, records, rejected, byKind, outputs, diagnostics };
    if (!this.jsonEnabled()) for (const line of renderParseReport(run, diagnostics, outputs)) this.logToStderr(line);
    if (diagnostics.some((d) => isFailing(d))) process.exitCode = 1;
    return summary;
  }

  /** A file the run cannot read: its diagnostic and hint, exit by the rule's kind (others: their message, exit 1). */
  private fail(error: unknown): never {
    if (DiagnosticError.is(error)) {
      this.logToStderr(formatDiagnostic(error.diagnostic));
      if (error.diagnostic.hint) this.logToStderr(`  hint: ${error.diagnostic.hint}`);
      this.exit(exitCodeOf(error.diagnostic));
    }
    this.error((error as Error).message, { exit: 1 });
  }
}
