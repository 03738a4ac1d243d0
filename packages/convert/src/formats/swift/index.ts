import { defineFormat } from '@llavakit/format';
import type { LlavaRecord, Turn } from '@llavakit/schema';
import * as z from 'zod';
import { imageTokenOption } from '../../pipeline/image-policy.js';
import { beginChat, FROM_CHAT_ROLE, finishChat } from '../chat/index.js';
import {
  asObject,
  badPart,
  chatTurns,
  copyExtras,
  type DecodedWithoutMeta,
  decodedOrThrow,
  decodeWithMeta,
  imageValue,
  missingList,
  partTypes,
  plainId,
  scoreRecords,
  stringList,
  videoValue,
} from '../shared/index.js';
import { META_FIELD } from '../shared/meta.js';

/** Options of the ms-swift format. */
export const swiftOptionsSchema = z.object({
  imageToken: imageTokenOption(['keep', 'front', 'strip', 'per-token'], 'per-token'),
  idField: z
    .boolean()
    .default(true)
    .describe('Write the record id as a string `id` column (ms-swift ignores unknown columns; Arrow needs one type).'),
  meta: z
    .boolean()
    .default(true)
    .describe('Carry what ms-swift has no place for (ids, extra keys, …) in a JSON-string llava_meta column.'),
});

/** Options of the ms-swift format, parsed. */
export type SwiftOptions = z.output<typeof swiftOptionsSchema>;

/** Roles of ms-swift's standard format. LLaVA's `human`/`gpt` map to `user`/`assistant`. */
const SWIFT_ROLES = new Set(['system', 'user', 'assistant', 'tool_call', 'tool_response', 'tool']);
const KNOWN = new Set(['id', 'messages', 'images', 'videos']);
const TURN_KEYS = new Set(['role', 'content']);

/**
 * ms-swift's standard format: `messages` with `role`/`content` strings (`<image>` tokens in the text) and an
 * `images` list (one entry per token), the system prompt as a leading `system` message.
 */
export const swiftFormat = defineFormat({
  specVersion: 1,
  name: 'swift',
  description: "ms-swift's standard format: {messages[{role, content}], images}",
  extensions: ['.jsonl', '.json'],
  defaultContainer: 'jsonl',
  limitations: [
    'writes ids as strings in an extra `id` column; integer ids, extra keys and <image> placement changed by a policy are kept in the llava_meta column (-O meta=false drops them)',
  ],
  optionsSchema: swiftOptionsSchema,
  detect: (probe) =>
    scoreRecords(probe.values, (v) => {
      const turns = chatTurns(v.messages);
      if (!turns || !partTypes(turns).strings) return 0;
      return Array.isArray(v.images) || Array.isArray(v.videos) || META_FIELD in v ? 0.8 : 0.5;
    }),
  encode(record, context) {
    const options = context.options;
    const begun = beginChat(record, context, {
      source: 'swift',
      roles: {
        allowed: SWIFT_ROLES,
        takes: 'ms-swift takes human/user, gpt/assistant, a leading system, and tool roles',
        systemFirstOnly: true,
      },
      videos: 'slots',
      imageToken: options.imageToken,
    });
    if (!begun.ok) return begun;
    const { turns, roles, placement } = begun.draft;
    const messages: { role: string; content: string }[] = [];
    if (typeof record.system === 'string' && roles[0] !== 'system')
      messages.push({ role: 'system', content: record.system });
    for (let i = 0; i < turns.length; i++) messages.push({ role: roles[i]!, content: placement.texts[i]! });
    return finishChat(begun.draft, context, {
      idField: options.idField,
      fields: { messages },
      mediaColumns: 'always',
      meta: {
        decodeWithoutMeta: (v) => decodedOrThrow(plainSwift(v)),
        naturalSystem: 'turn',
        enabled: options.meta,
        skipPlain: true,
      },
    });
  },
  decode: (value, context) => decodeWithMeta(value, context, 'swift', plainSwift),
});

/** Decode a ms-swift record without its metadata. */
export function plainSwift(v: Record<string, unknown>): DecodedWithoutMeta {
  if (!Array.isArray(v.messages)) {
    return missingList('swift', '/messages', 'A ms-swift record needs a `messages` list.');
  }
  const record: Record<string, unknown> = {};
  const id = plainId(v.id);
  if (id !== undefined) record.id = id;
  const images = stringList(v.images);
  const image = imageValue(images);
  if (image !== undefined) record.image = image;
  const conversations: Turn[] = [];
  const list = v.messages as unknown[];
  for (let i = 0; i < list.length; i++) {
    const turn = asObject(list[i]);
    const role = String(turn.role ?? '');
    const content = turn.content;
    if (content != null && typeof content !== 'string') {
      return badPart(
        'swift',
        `/messages/${i}/content`,
        'A ms-swift message content must be a string (content parts are read with --from openai, messages or sharegpt).',
      );
    }
    const out: Turn = { from: FROM_CHAT_ROLE[role] ?? role, value: content ?? '' };
    copyExtras(turn, out, TURN_KEYS);
    conversations.push(out);
  }
  const video = videoValue(stringList(v.videos));
  if (video !== undefined) record.video = video;
  record.conversations = conversations;
  copyExtras(v, record, KNOWN);
  return { record: record as LlavaRecord };
}

export default swiftFormat;
