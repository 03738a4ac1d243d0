import { defineFormat } from '@llavakit/format';
import type { LlavaRecord, Turn } from '@llavakit/schema';
import * as z from 'zod';
import { imageTokenOption } from '../image-policy.js';
import { writerRules } from '../rules.js';
import {
  asObject,
  copyExtras,
  decodeWithMeta,
  FROM_CHAT_ROLE,
  fail,
  imageValue,
  missingList,
  outputWithId,
  type Plain,
  place,
  plainId,
  plainOrThrow,
  recordDiagnostic,
  splitSystem,
  stringList,
  TO_CHAT_ROLE,
  withMeta,
} from './common.js';
import { META_FIELD } from './meta.js';

/** Options of the ShareGPT format. */
export const shareGptOptionsSchema = z.object({
  imageToken: imageTokenOption(['keep', 'front', 'per-token'], 'per-token'),
  layout: z
    .enum(['conversations', 'messages'])
    .default('conversations')
    .describe(
      'conversations: LLaMA-Factory default tags (from/value, human/gpt); messages: role/content with user/assistant.',
    ),
  idField: z
    .boolean()
    .default(true)
    .describe('Write the record id as a string `id` column (LLaMA-Factory ignores it; Arrow needs one type).'),
  meta: z
    .boolean()
    .default(true)
    .describe('Carry what ShareGPT has no place for (integer ids, extra keys, …) in a JSON-string llava_meta column.'),
});

/** Options of the ShareGPT format, parsed. */
export type ShareGptOptions = z.output<typeof shareGptOptionsSchema>;

/** A ShareGPT record as LLaMA-Factory reads it with its default tags. */
export interface ShareGptRecord {
  id?: string;
  conversations: { from: string; value: string }[];
  system?: string;
  images?: string[];
  llava_meta?: string;
}

/** Roles LLaMA-Factory's ShareGPT reader takes besides the system prompt. */
const SHAREGPT_ROLES = new Set(['human', 'gpt', 'observation', 'function_call']);
const KNOWN = new Set(['id', 'conversations', 'messages', 'system', 'images']);

/**
 * ShareGPT as LLaMA-Factory reads it (`formatting: sharegpt`): `conversations` with `from`/`value`
 * (`human`/`gpt`), an `images` list with one entry per `<image>` token, and the system prompt in `system`. With
 * `layout: messages`, `messages` with `role`/`content` (`user`/`assistant`) instead. See {@link writeDatasetInfo} for
 * the matching `dataset_info.json` entry.
 */
export const shareGptFormat = defineFormat({
  specVersion: 1,
  name: 'sharegpt',
  description: 'ShareGPT as LLaMA-Factory reads it: {conversations[{from, value}], images, system}',
  extensions: ['.json', '.jsonl'],
  defaultContainer: 'json',
  limitations: [
    'writes ids as strings; integer ids, extra keys and <image> placement changed by a policy are kept in the llava_meta column (-O meta=false drops them)',
    'takes the roles human, gpt, observation and function_call (a leading system turn becomes `system`); other roles are rejected',
  ],
  optionsSchema: shareGptOptionsSchema,
  detect(probe) {
    let score = 0;
    for (const value of probe.values) {
      if (typeof value !== 'object' || value === null) return 0;
      const v = value as Record<string, unknown>;
      if (Array.isArray(v.conversations) && !('image' in v)) {
        if (Array.isArray(v.images) || typeof v.system === 'string' || META_FIELD in v) score = 0.95;
      } else if (Array.isArray(v.messages) && typeof v.system === 'string') {
        score = Math.max(score, 0.85);
      }
    }
    return score;
  },
  encode(record, context) {
    const options = context.options;
    const messages = options.layout === 'messages';
    const { system, turns, offset } = splitSystem(record);
    for (let i = 0; i < turns.length; i++) {
      const from = turns[i]!.from;
      if (!SHAREGPT_ROLES.has(from)) {
        return fail(
          recordDiagnostic(writerRules.unsupportedRole, context, 'sharegpt', {
            message: `Turn ${i + offset} has role "${from}"; ShareGPT (LLaMA-Factory tags) takes human, gpt, observation and function_call.`,
            pointer: `/conversations/${i + offset}/from`,
            recordId: record.id,
          }),
        );
      }
    }
    const placed = place(record, turns, options.imageToken, context, 'sharegpt');
    if (!placed.ok) return placed;
    const { texts, images } = placed.placement;
    const list = new Array(turns.length);
    for (let i = 0; i < turns.length; i++) {
      const from = turns[i]!.from;
      list[i] = messages ? { role: TO_CHAT_ROLE[from] ?? from, content: texts[i]! } : { from, value: texts[i]! };
    }
    const out = outputWithId(record, options.idField);
    out[messages ? 'messages' : 'conversations'] = list;
    if (system !== undefined) out.system = system;
    if (images.length > 0) out.images = images.map((path) => context.images.rewrite(path));
    return withMeta(
      record,
      out,
      (v) => plainOrThrow(plainShareGpt(v)),
      'key',
      options.meta,
      context,
      placed.placement,
      options.idField,
    );
  },
  decode: (value, context) => decodeWithMeta(value, context, 'sharegpt', plainShareGpt),
});

/** Decode a ShareGPT record (either layout) without its metadata. */
function plainShareGpt(v: Record<string, unknown>): Plain {
  const list = Array.isArray(v.conversations) ? v.conversations : Array.isArray(v.messages) ? v.messages : undefined;
  if (!list) {
    return missingList('sharegpt', '/conversations', 'A ShareGPT record needs a `conversations` (or `messages`) list.');
  }
  const chat = !Array.isArray(v.conversations);
  const record: Record<string, unknown> = {};
  const id = plainId(v.id);
  if (id !== undefined) record.id = id;
  const images = stringList(v.images);
  const image = imageValue(images);
  if (image !== undefined) record.image = image;
  const conversations: Turn[] = [];
  for (const raw of list) {
    const turn = asObject(raw);
    const role = String(turn.from ?? turn.role ?? '');
    const from = chat ? (FROM_CHAT_ROLE[role] ?? role) : role;
    const content = turn.value ?? turn.content;
    const out: Turn = { from, value: typeof content === 'string' ? content : content == null ? '' : String(content) };
    copyExtras(turn, out, TURN_KEYS);
    conversations.push(out);
  }
  record.conversations = conversations;
  if (typeof v.system === 'string') record.system = v.system;
  copyExtras(v, record, KNOWN);
  return { record: record as LlavaRecord };
}

const TURN_KEYS = new Set(['from', 'value', 'role', 'content']);
