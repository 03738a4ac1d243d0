import { dirname, relative, resolve } from 'node:path';
import {
  type ConvertOptions,
  type ConvertSummary,
  datasetInfoRules,
  IMAGE_TOKEN_POLICIES,
  parseOptionArguments,
  writeDatasetInfo,
} from '@llavakit/convert';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { Flags } from '@oclif/core';

/**
 * Flags of `llava convert` that configure the built-in writers (`<image>` policy, dataset_info.json, …). Each maps
 * to a format option (see `llava formats <name>`); a flag wins over the same option given with `-O`.
 */
export const formatFlags = {
  'image-token': Flags.option({
    options: IMAGE_TOKEN_POLICIES,
    summary:
      '<image> policy: keep as written, move to the front ("<image>\\n"), strip into the images column, content parts, or one image entry per token.',
    description:
      'Defaults per target: sharegpt, swift, messages, openai: per-token; llava: keep (front with --normalize). A record whose token count and images disagree after the policy is rejected with image/count-mismatch.',
  })(),
  'embed-images': Flags.boolean({
    summary: 'openai: embed local images as base64 data: URLs (type and 10 MB limit checked).',
  }),
  normalize: Flags.boolean({
    summary: 'llava: string ids, one key order, <image> moved to the front, so Hugging Face datasets loads the file.',
  }),
  'extract-images': Flags.string({
    summary: 'Write images embedded in the input (Hugging Face Parquet) into this folder; records then point there.',
    description:
      'Names come from the embedded path, made safe (never outside the folder) and unique, with the extension of the real format. Paths in the output are relative to the output file. The new files appear only when the conversion succeeds.',
  }),
  'dataset-info': Flags.string({
    summary: "sharegpt: write or merge the output's entry into this LLaMA-Factory dataset_info.json.",
  }),
};

/** Map the parsed {@link formatFlags} into conversion options (mutates `options.formatOptions`). */
export function applyFormatFlags(
  flags: Record<string, unknown>,
  options: { formatOptions: Record<string, unknown> },
): Partial<ConvertOptions> {
  const formatOptions = options.formatOptions;
  if (typeof flags['image-token'] === 'string') formatOptions.imageToken = flags['image-token'];
  if (flags['embed-images'] === true) formatOptions.embedImages = true;
  if (flags.normalize === true) formatOptions.normalize = true;
  const extract = flags['extract-images'];
  const extractImages =
    typeof extract === 'string'
      ? {
          dir: extract,
          pathPrefix: relative(
            typeof flags.output === 'string' && flags.output !== '-' ? dirname(resolve(flags.output)) : process.cwd(),
            resolve(extract),
          ).replaceAll('\\', '/'),
        }
      : undefined;
  const datasetInfo = flags['dataset-info'];
  if (typeof datasetInfo === 'string') {
    if (flags.to !== 'sharegpt' || flags.output === '-' || flags.output === undefined) {
      throw new DiagnosticError(
        diagnose(datasetInfoRules.unsupported, {
          message:
            flags.to !== 'sharegpt'
              ? `--dataset-info describes LLaMA-Factory ShareGPT files; it needs --to sharegpt (not ${String(flags.to)}).`
              : '--dataset-info needs an output file (-o), not standard output.',
          file: datasetInfo,
        }),
      );
    }
  }
  return { formatOptions, ...(extractImages ? { extractImages } : {}) };
}

/**
 * Run after a conversion: with `--dataset-info`, write or merge the output's entry into LLaMA-Factory's
 * `dataset_info.json` (only when the conversion did not stop). The layout follows `-O layout=…`.
 */
export async function afterConvert(flags: Record<string, unknown>, summary: ConvertSummary): Promise<void> {
  const datasetInfo = flags['dataset-info'];
  if (typeof datasetInfo !== 'string' || summary.failed || summary.to !== 'sharegpt' || summary.output === '-') return;
  const options = parseOptionArguments(Array.isArray(flags.option) ? (flags.option as string[]) : []);
  const layout = options.findLast((o) => o.key === 'layout')?.raw.trim() === 'messages' ? 'messages' : 'conversations';
  const result = await writeDatasetInfo({ datasetInfo, output: summary.output, layout });
  if (flags.quiet !== true && flags.json !== true) {
    process.stderr.write(
      `  dataset_info: ${result.created ? 'created' : 'updated'} ${result.path} (entry "${result.name}", file_name ${result.entry.file_name})\n`,
    );
  }
}
