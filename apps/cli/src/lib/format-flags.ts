import type { ConvertOptions } from '@llavakit/writer';

/**
 * Flags of `llava convert` that configure the built-in writers (`<image>` policy, dataset_info.json, …).
 * Owned by the writers work: add flags here and map them into the conversion options in {@link applyFormatFlags}.
 */
export const formatFlags = {};

/** Map the parsed {@link formatFlags} into conversion options (mutates `options.formatOptions`). */
export function applyFormatFlags(
  _flags: Record<string, unknown>,
  options: { formatOptions: Record<string, unknown> },
): Partial<ConvertOptions> {
  return { formatOptions: options.formatOptions };
}
