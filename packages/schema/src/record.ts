import * as z from 'zod';

/**
 * A record id as found in LLaVA files: a string (`"000000033471"`, `"140031996X"`, `"wgByO4Y_0"`) or an
 * integer (the GQA part of `llava_v1_5_mix665k.json`). The JSON type is kept as read.
 */
export const recordIdSchema = z.union([z.string(), z.int()]);

/** One conversation turn: `from` (`human` / `gpt` in LLaVA files) and its text `value`. Unknown keys are kept. */
export const turnSchema = z.looseObject({
  from: z.string(),
  value: z.string(),
});

/**
 * The canonical llavakit record: a lossless superset of the LLaVA record.
 *
 * - `id` keeps its JSON type (string or integer) and may be absent (LLaVA-NeXT);
 * - `image` is a path, a list of paths (LLaVA-NeXT multi-image), or absent (text-only records);
 * - `video` is a path or a list of paths (LLaVA-Video, LLaVA-NeXT); its placeholder is `<video>`, or `<image>` as
 *   LLaVA-Video's own files write it;
 * - `conversations` keep their order and every key of every turn;
 * - unknown top-level keys (`model`, `data_source`, …) are kept, never stripped.
 *
 * Structural rules of LLaVA training (roles, alternation, `<image>` counts) are not part of the schema: they are
 * validation rules with their own ids, so a structurally valid but suspicious record still reads.
 */
export const llavaRecordSchema = z.looseObject({
  id: recordIdSchema.optional(),
  image: z.union([z.string(), z.array(z.string())]).optional(),
  video: z.union([z.string(), z.array(z.string())]).optional(),
  conversations: z.array(turnSchema),
});

/** A record id: string or integer. */
export type RecordId = z.infer<typeof recordIdSchema>;
/** One conversation turn. */
export type Turn = z.infer<typeof turnSchema>;
/** The canonical llavakit record (see {@link llavaRecordSchema}). */
export type LlavaRecord = z.infer<typeof llavaRecordSchema>;

/** The literal image placeholder of LLaVA (`DEFAULT_IMAGE_TOKEN`). */
export const IMAGE_TOKEN = '<image>';

const compiled = z.compile ? z.compile(llavaRecordSchema) : llavaRecordSchema;

/** One schema problem: a JSON pointer into the record and a message. */
export interface SchemaIssue {
  readonly pointer: string;
  readonly message: string;
  readonly code: string;
}

/** Result of {@link parseRecord}. */
export type ParseRecordResult =
  | { readonly ok: true; readonly record: LlavaRecord }
  | { readonly ok: false; readonly issues: readonly SchemaIssue[] };

/**
 * Check a parsed JSON value against the canonical record schema (fast path: a compiled zod schema). On success
 * the record is the same object, unchanged (keys and order kept).
 */
export function parseRecord(value: unknown): ParseRecordResult {
  const result = compiled.safeParse(value);
  if (result.success) return { ok: true, record: value as LlavaRecord };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({
      pointer: issue.path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join(''),
      message: issue.message,
      code: issue.code,
    })),
  };
}

/** True when the value has the canonical record shape. */
export function isLlavaRecord(value: unknown): value is LlavaRecord {
  return compiled.safeParse(value).success;
}

/** The image paths of a record, as a list (empty for text-only records). */
export function imagesOf(record: Pick<LlavaRecord, 'image'>): string[] {
  const image = record.image;
  if (image === undefined) return [];
  return typeof image === 'string' ? [image] : [...image];
}

/** The video placeholder (LLaMA-Factory's `VIDEO_PLACEHOLDER`, ms-swift's `<video>` tag). */
export const VIDEO_TOKEN = '<video>';

/** The video paths of a record, as a list (empty when it has none). */
export function videosOf(record: Pick<LlavaRecord, 'video'>): string[] {
  const video = record.video;
  if (video === undefined) return [];
  return typeof video === 'string' ? [video] : [...video];
}

/** Count occurrences of `<image>` in a text. */
export function countImageTokens(text: string, token = IMAGE_TOKEN): number {
  let count = 0;
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + token.length)) count++;
  return count;
}
