import { defineFormat } from '@llavakit/format';
import type { LlavaRecord, Turn } from '@llavakit/schema';
import * as z from 'zod';
import { imageTokenOption, segmentsOf } from '../image-policy.js';
import {
  asObject,
  chatRolesOf,
  copyExtras,
  decodeWithMeta,
  FROM_CHAT_ROLE,
  imageValue,
  joinParts,
  missingList,
  outputWithId,
  type Plain,
  place,
  plainId,
  plainOrThrow,
  stringList,
  withMeta,
} from './common.js';

/** Options of the TRL / transformers `messages` format. */
export const messagesOptionsSchema = z.object({
  imageToken: imageTokenOption(['per-token', 'parts', 'keep', 'front', 'strip'], 'per-token'),
  idField: z.boolean().default(true).describe('Write the record id as a string `id` column (Arrow needs one type).'),
  meta: z
    .boolean()
    .default(true)
    .describe(
      'Carry what the format has no place for (integer ids, extra keys, …) in a JSON-string llava_meta column.',
    ),
});

/** Options of the `messages` format, parsed. */
export type MessagesOptions = z.output<typeof messagesOptionsSchema>;

/** One content part of a TRL message. */
export type MessagePart = { type: 'image' } | { type: 'text'; text: string };

const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const KNOWN = new Set(['id', 'messages', 'images']);
const TURN_KEYS = new Set(['role', 'content']);

/**
 * Hugging Face TRL / transformers conversational layout: `messages` with `role` and `content` parts
 * (`{"type": "image"}`, `{"type": "text", "text": …}`), an `images` column and a string `id`. Every message of a
 * file has the same content type (parts, or strings with `keep`/`strip`), so Arrow-based loaders accept it.
 */
export const messagesFormat = defineFormat({
  specVersion: 1,
  name: 'messages',
  description:
    'Hugging Face TRL / transformers: {id, messages[{role, content[{type: image}|{type: text, text}]}], images}',
  extensions: ['.jsonl', '.json'],
  defaultContainer: 'jsonl',
  limitations: [
    'writes ids as strings; integer ids, extra keys and <image> placement changed by a policy are kept in the llava_meta column (-O meta=false drops them)',
  ],
  optionsSchema: messagesOptionsSchema,
  detect(probe) {
    let score = 0;
    for (const value of probe.values) {
      if (typeof value !== 'object' || value === null) return 0;
      const messages = (value as { messages?: unknown }).messages;
      if (!Array.isArray(messages)) return 0;
      for (const m of messages) {
        const content = (m as { content?: unknown } | null)?.content;
        if (!Array.isArray(content)) continue;
        for (const part of content) {
          const type = (part as { type?: unknown } | null)?.type;
          if (type === 'image_url') return 0;
          if (type === 'image' || type === 'text') score = 0.95;
        }
      }
    }
    return score;
  },
  encode(record, context) {
    const options = context.options;
    const turns = record.conversations;
    const mapped = chatRolesOf(
      record,
      CHAT_ROLES,
      context,
      'messages',
      'chat templates take human/user, gpt/assistant, system and tool',
      false,
    );
    if (!mapped.ok) return mapped;
    const roles = mapped.roles;
    const policy = options.imageToken;
    const asParts = policy !== 'keep' && policy !== 'strip';
    const placed = place(record, turns, policy, context, 'messages', true, asParts);
    if (!placed.ok) return placed;
    const { texts, images } = placed.placement;
    const messages: { role: string; content: string | MessagePart[] }[] = [];
    if (typeof record.system === 'string' && roles[0] !== 'system') {
      messages.push({ role: 'system', content: asParts ? [{ type: 'text', text: record.system }] : record.system });
    }
    let slot = 0;
    for (let i = 0; i < turns.length; i++) {
      const text = texts[i]!;
      if (!asParts) {
        messages.push({ role: roles[i]!, content: text });
        continue;
      }
      const segments = segmentsOf(text, slot);
      const parts: MessagePart[] = new Array(segments.length);
      for (let s = 0; s < segments.length; s++) {
        const segment = segments[s]!;
        if (typeof segment === 'string') parts[s] = { type: 'text', text: segment };
        else {
          parts[s] = { type: 'image' };
          slot++;
        }
      }
      messages.push({ role: roles[i]!, content: parts });
    }
    const out = outputWithId(record, options.idField);
    out.messages = messages;
    out.images = images.map((path) => context.images.rewrite(path));
    return withMeta(
      record,
      out,
      (v) => plainOrThrow(plainMessages(v)),
      'turn',
      options.meta,
      context,
      placed.placement,
      options.idField,
    );
  },
  decode: (value, context) => decodeWithMeta(value, context, 'messages', plainMessages),
});

/**
 * Decode a TRL / transformers record without its metadata. Image parts become `<image>` tokens; their paths come
 * from the `images` column, or from the parts themselves (`url`, `path` or a string `image`) when it is absent.
 */
export function plainMessages(v: Record<string, unknown>): Plain {
  if (!Array.isArray(v.messages)) {
    return missingList('messages', '/messages', 'A messages record needs a `messages` list.');
  }
  const record: Record<string, unknown> = {};
  const id = plainId(v.id);
  if (id !== undefined) record.id = id;
  const column = stringList(v.images);
  const inline: string[] = [];
  const conversations: Turn[] = [];
  for (const raw of v.messages as unknown[]) {
    const turn = asObject(raw);
    const role = String(turn.role ?? '');
    const content = turn.content;
    let value: string;
    if (typeof content === 'string') value = content;
    else if (Array.isArray(content)) {
      const pieces: (string | null)[] = [];
      for (const p of content) {
        const part = asObject(p);
        if (part.type === 'image') {
          pieces.push(null);
          const path = [part.path, part.url, part.image].find((x): x is string => typeof x === 'string');
          if (path !== undefined) inline.push(path);
        } else if (typeof part.text === 'string') pieces.push(part.text);
      }
      value = joinParts(pieces);
    } else value = content == null ? '' : String(content);
    const out: Turn = { from: FROM_CHAT_ROLE[role] ?? role, value };
    copyExtras(turn, out, TURN_KEYS);
    conversations.push(out);
  }
  const image = imageValue(column.length > 0 ? column : inline);
  if (image !== undefined) record.image = image;
  record.conversations = conversations;
  copyExtras(v, record, KNOWN);
  return { record: record as LlavaRecord };
}
