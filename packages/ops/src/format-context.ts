/** What a format plugin runs with in an operation: its parsed options, and no image access. */
import type { FormatPlugin, ImageAccess } from '@llavakit/format';
import { usageError } from './op-diagnostics.js';

/** The image access of a decode or encode that reads no images. */
export const NO_IMAGES: ImageAccess = { rewrite: (path) => path, readBytes: async () => undefined };

/** The options of `format` among `raw` (the -O values), parsed by its schema; an invalid one is a usage error. */
export function parseFormatOptions(
  format: FormatPlugin<object>,
  raw: Readonly<Record<string, unknown>> | undefined,
): object {
  if (!format.optionsSchema) return {};
  const shape = format.optionsSchema.shape as Record<string, unknown>;
  const relevant: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) if (raw?.[key] !== undefined) relevant[key] = raw[key];
  const parsed = format.optionsSchema.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw usageError(`Invalid option ${issue?.path.join('.') ?? ''} for format "${format.name}": ${issue?.message}`);
  }
  return parsed.data as object;
}
