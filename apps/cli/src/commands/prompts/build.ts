import { DiagnosticError, formatDiagnostic, isFailing } from '@llavakit/diagnostics';
import { type PromptsBuildSummary, runPromptsBuild } from '@llavakit/ops';
import {
  BATCH_MAX_BYTES,
  BATCH_MAX_REQUESTS,
  PromptFolderError,
  type PromptKind,
  promptKinds,
  renderBuildReport,
} from '@llavakit/prompts';
import { Command, Flags } from '@oclif/core';
import { oneOf } from '../../lib/one-of.js';
import { createProgress } from '../../lib/progress.js';

/** What `llava prompts build --json` prints (the summary of `runPromptsBuild`). */
export type BuildSummary = PromptsBuildSummary;

export default class PromptsBuild extends Command {
  static override summary = 'Build GPT-4 data-generation requests from COCO annotations and LLaVA prompt folders.';

  static override description =
    `Builds one chat request per image and prompt kind, assembled as in the LLaVA paper: the folder's system_message.txt, each few-shot pair (NNN_caps.txt as user, NNN_conv.txt as assistant) in number order, then the image's context — its captions, plus its object boxes as normalised [x1, y1, x2, y2] for detail and complex_reasoning.

Images come from COCO annotation files (--coco-captions, optionally --coco-instances; each is read whole) or from LLaVA's caps-and-boxes JSONL (--caps-boxes).

Without --base-url, writes OpenAI Batch input files (batch-0001.jsonl, …, at most --max-requests lines and --max-bytes bytes each) and manifest.jsonl into --out-dir. With --base-url, sends the requests to that OpenAI-compatible endpoint instead and writes output.jsonl and errors.jsonl in the Batch output shape (re-running resumes). Either way, \`llava prompts parse\` turns the results into LLaVA records.

Exit codes: 0 success, 1 data errors (bad prompt folder, bad input lines, failed requests), 2 usage errors.`;

  static override examples = [
    {
      description: 'Batch files for all three kinds from COCO train2017 annotations',
      command:
        '<%= config.bin %> prompts build --prompts playground/data/prompts --coco-captions annotations/captions_train2017.json --coco-instances annotations/instances_train2017.json --model gpt-4o -o requests/',
    },
    {
      description: 'Only detail descriptions, from caps-and-boxes JSONL, first 100 images',
      command:
        '<%= config.bin %> prompts build --prompts prompts/ --kind detail --caps-boxes caps.jsonl --limit 100 --model gpt-4o -o requests/',
    },
    {
      description: 'Call a local OpenAI-compatible server directly, 8 requests at a time',
      command:
        '<%= config.bin %> prompts build --prompts prompts/ --caps-boxes caps.jsonl --model local -o out/ --base-url http://127.0.0.1:8000/v1 --api-key-env MY_KEY --concurrency 8',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    prompts: Flags.string({
      summary: 'Prompts root (with conversation/, detail_description/, complex_reasoning/) or one kind folder.',
      required: true,
    }),
    kind: Flags.string({
      ...oneOf(promptKinds),
      multiple: true,
      summary: 'Kinds to build (default: every folder found).',
    }),
    'coco-captions': Flags.string({
      summary: 'COCO captions file (captions_*.json).',
      exactlyOne: ['coco-captions', 'caps-boxes'],
    }),
    'coco-instances': Flags.string({
      summary: 'COCO instances file (instances_*.json), for the boxes.',
      dependsOn: ['coco-captions'],
    }),
    'caps-boxes': Flags.string({
      summary: 'Caps-and-boxes JSONL ({"id", "image", "captions", "instances"} per line).',
    }),
    model: Flags.string({ char: 'm', summary: 'Model name put in every request body.', required: true }),
    'out-dir': Flags.string({
      char: 'o',
      summary: 'Folder for the batch files (or endpoint results) and manifest.jsonl.',
      required: true,
    }),
    limit: Flags.integer({ min: 1, summary: 'Use only the first N images.' }),
    temperature: Flags.string({ summary: 'Sampling temperature put in each body.' }),
    'max-tokens': Flags.integer({ min: 1, summary: 'max_tokens put in each body.' }),
    'max-requests': Flags.integer({ min: 1, default: BATCH_MAX_REQUESTS, summary: 'Requests per batch file.' }),
    'max-bytes': Flags.integer({ min: 1, default: BATCH_MAX_BYTES, summary: 'Bytes per batch file.' }),
    'base-url': Flags.string({
      summary: 'Call this OpenAI-compatible API (…/v1) directly instead of writing batch files.',
    }),
    'api-key-env': Flags.string({ default: 'OPENAI_API_KEY', summary: 'Environment variable holding the API key.' }),
    concurrency: Flags.integer({ min: 1, default: 4, summary: 'Requests in flight at once (with --base-url).' }),
    retries: Flags.integer({ min: 0, default: 5, summary: 'Retries per request on 429, 5xx and network errors.' }),
    resume: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Keep results already in output.jsonl and skip those requests.',
    }),
  };

  async run(): Promise<BuildSummary> {
    const { flags } = await this.parse(PromptsBuild);
    const temperature = flags.temperature === undefined ? undefined : Number(flags.temperature);
    if (temperature !== undefined && !Number.isFinite(temperature))
      this.error('--temperature must be a number', { exit: 2 });
    const progress = createProgress({ label: 'prompts', enabled: flags.json ? false : undefined });
    const summary = await runPromptsBuild({
      prompts: flags.prompts,
      ...(flags.kind ? { kinds: flags.kind as PromptKind[] } : {}),
      ...(flags['caps-boxes'] ? { capsBoxes: flags['caps-boxes'] } : {}),
      ...(flags['coco-captions'] ? { cocoCaptions: flags['coco-captions'] } : {}),
      ...(flags['coco-instances'] ? { cocoInstances: flags['coco-instances'] } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      model: flags.model,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(flags['max-tokens'] ? { maxTokens: flags['max-tokens'] } : {}),
      outDir: flags['out-dir'],
      maxRequests: flags['max-requests'],
      maxBytes: flags['max-bytes'],
      ...(flags['base-url']
        ? {
            endpoint: {
              baseUrl: flags['base-url'],
              apiKeyEnv: flags['api-key-env'],
              concurrency: flags.concurrency,
              retries: flags.retries,
              resume: flags.resume,
            },
          }
        : {}),
      onProgress: (done, total, text) => progress.update(done, total, text),
    })
      .catch((error: unknown) => this.failFolders(error))
      .finally(() => progress.stop());
    if (!this.jsonEnabled()) for (const line of renderBuildReport(summary)) this.logToStderr(line);
    if (summary.diagnostics.some((d) => isFailing(d))) process.exitCode = 1;
    return summary;
  }

  /** A prompt folder that is missing or broken, or an unreadable annotation file: its diagnostics, exit 1. */
  private failFolders(error: unknown): never {
    if (error instanceof PromptFolderError || DiagnosticError.is(error)) {
      const list = error instanceof PromptFolderError ? error.diagnostics : [error.diagnostic];
      for (const d of list) this.logToStderr(formatDiagnostic(d));
      this.exit(1);
    }
    if (error instanceof Error) this.error(error.message, { exit: 1 });
    throw error;
  }
}
