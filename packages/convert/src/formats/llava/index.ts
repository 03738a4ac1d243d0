import { diagnose } from '@llavakit/diagnostics';
import { defineFormat } from '@llavakit/format';
import { type LlavaRecord, parseRecord, type Turn } from '@llavakit/schema';
import * as z from 'zod';
import { writerRules } from '../../pipeline/rules.js';
import { isFromValueList, placeImageTokens, scoreRecords } from '../shared/index.js';
import { META_FIELD } from '../shared/meta.js';
import { recordIdOf } from '../shared/record-id.js';

export { recordIdOf };

/** Check a parsed value against the canonical record schema, as a `decode` result with located diagnostics. */
export function decodeLlava(value: unknown, file: string, index: number) {
  const parsed = parseRecord(value);
  if (parsed.ok) return { ok: true as const, record: parsed.record };
  const id = recordIdOf(value);
  return {
    ok: false as const,
    diagnostics: parsed.issues.map((issue) =>
      diagnose(writerRules.invalidRecord, {
        message: `${issue.pointer || 'record'}: ${issue.message}`,
        file,
        recordIndex: index,
        pointer: issue.pointer,
        source: 'llava',
        ...(id !== undefined ? { recordId: id } : {}),
      }),
    ),
  };
}

/** Options of the LLaVA format. */
export const llavaOptionsSchema = z.object({
  imageToken: z
    .enum(['keep', 'front', 'per-token'])
    .optional()
    .describe('<image> policy: keep | front | per-token (default keep; front with normalize).'),
  normalize: z
    .boolean()
    .default(false)
    .describe(
      'Make the file loadable by Hugging Face datasets: string ids, keys in one order (id, image, video, conversations, …; turns from, value, …), <image> moved to the front as LLaVA trains.',
    ),
});

/** Options of the LLaVA format, parsed. */
export type LlavaOptions = z.output<typeof llavaOptionsSchema>;

const FIRST_KEYS = ['id', 'image', 'video', 'conversations'] as const;

/**
 * LLaVA's own format: a JSON array (or JSONL) of `{id, image, conversations: [{from, value}]}` records, the
 * canonical form of llavakit. Reading checks the record shape; writing is lossless unless `normalize` or a policy
 * other than `keep` is asked for.
 */
export const llavaFormat = defineFormat({
  specVersion: 1,
  name: 'llava',
  description: 'LLaVA records {id, image, conversations[{from, value}]} (LLaVA, LLaVA-1.5, LLaVA-NeXT)',
  extensions: ['.json', '.jsonl'],
  defaultContainer: 'json',
  limitations: ['with -O normalize=true (--normalize), integer ids become strings and <image> moves to the front'],
  limitationsFor: (options) =>
    options.normalize
      ? [
          `--normalize writes ids as strings${(options.imageToken ?? 'front') === 'front' ? ' and moves <image> to the front of its turn' : ''}`,
        ]
      : [],
  optionsSchema: llavaOptionsSchema,
  detect: (probe) =>
    scoreRecords(probe.values, (v) => {
      if (META_FIELD in v || 'images' in v || 'videos' in v) return 0;
      // a record with a broken `conversations` is still LLaVA-shaped: reading it reports exactly what is wrong
      if (!isFromValueList(v.conversations)) return 'conversations' in v ? 0.3 : 0;
      return 'image' in v || 'video' in v ? 0.9 : 0.7;
    }),
  decode: (value, context) => decodeLlava(value, context.file, context.index),
  encode(record: LlavaRecord, context) {
    const { normalize } = context.options;
    const policy = context.options.imageToken ?? (normalize ? 'front' : 'keep');
    if (policy === 'keep' && !normalize) return { ok: true, value: record };
    let turns: readonly Turn[] = record.conversations;
    let image = record.image;
    if (policy !== 'keep') {
      const placed = placeImageTokens(record, turns, policy, context, 'llava', false);
      if (!placed.ok) return placed;
      const { texts, changed, images } = placed.placement;
      if (changed.includes(true)) turns = turns.map((turn, i) => (changed[i] ? { ...turn, value: texts[i]! } : turn));
      if (images.length !== (typeof image === 'string' ? 1 : (image?.length ?? 0))) image = [...images];
    }
    if (!normalize) return { ok: true, value: { ...record, image, conversations: turns } };
    const out: Record<string, unknown> = {};
    if (record.id !== undefined) {
      out.id = String(record.id);
      if (typeof record.id === 'number') context.count('normalize:id-stringified');
    }
    if (image !== undefined) out.image = image;
    if (record.video !== undefined) out.video = record.video;
    out.conversations = turns.map(({ from, value, ...rest }) => ({ from, value, ...rest }));
    for (const key of Object.keys(record)) if (!(FIRST_KEYS as readonly string[]).includes(key)) out[key] = record[key];
    return { ok: true, value: out };
  },
});

export default llavaFormat;
