import { IMAGE_TOKEN_POLICIES } from '@llavakit/convert';
import { Flags } from '@oclif/core';

/**
 * Flags of `llava convert` that configure the built-in writers (`<image>` policy, dataset_info.json, …). Each maps
 * to a format option (see `llava formats <name>`); a flag wins over the same option given with `-O` (`runConvert`
 * of @llavakit/convert applies them).
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
