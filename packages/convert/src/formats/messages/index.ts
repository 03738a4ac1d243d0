import { defineFormat } from '@llavakit/format';
import { IMAGE_TOKEN, type LlavaRecord, type Turn, VIDEO_TOKEN } from '@llavakit/schema';
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
export type MessagePart = { type: 'image' } | { type: 'video' } | { type: 'text'; text: string };

const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const KNOWN = new Set(['id', 'messages', 'images', 'videos']);
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
  detect: (probe) =>
    scoreRecords(probe.values, (v) => {
      const turns = chatTurns(v.messages);
      if (!turns) return 0;
      const { parts } = partTypes(turns);
      if (parts.length === 0) return 0;
      for (const part of parts) {
        if (part.type === 'text' ? typeof part.text !== 'string' : part.type !== 'image' && part.type !== 'video')
          return 0;
      }
      return 0.95;
    }),
  encode(record, context) {
    const options = context.options;
    const policy = options.imageToken;
    const asParts = policy !== 'keep' && policy !== 'strip';
    const begun = beginChat(record, context, {
      source: 'messages',
      roles: {
        allowed: CHAT_ROLES,
        takes: 'chat templates take human/user, gpt/assistant, system and tool',
        systemFirstOnly: false,
      },
      videos: 'slots',
      imageToken: policy,
      parts: asParts,
    });
    if (!begun.ok) return begun;
    const { turns, roles, placement } = begun.draft;
    const texts = placement.texts;
    const messages: { role: string; content: string | MessagePart[] }[] = [];
    if (typeof record.system === 'string' && roles[0] !== 'system') {
      messages.push({ role: 'system', content: asParts ? [{ type: 'text', text: record.system }] : record.system });
    }
    for (let i = 0; i < turns.length; i++) {
      const text = texts[i]!;
      if (!asParts) {
        messages.push({ role: roles[i]!, content: text });
        continue;
      }
      const parts: MessagePart[] = [];
      for (const piece of mediaPieces(text)) {
        parts.push(
          piece === IMAGE_TOKEN
            ? { type: 'image' }
            : piece === VIDEO_TOKEN
              ? { type: 'video' }
              : { type: 'text', text: piece },
        );
      }
      messages.push({ role: roles[i]!, content: parts });
    }
    return finishChat(begun.draft, context, {
      idField: options.idField,
      fields: { messages },
      mediaColumns: 'always',
      meta: {
        decodeWithoutMeta: (v) => decodedOrThrow(plainMessages(v)),
        naturalSystem: 'turn',
        enabled: options.meta,
        skipPlain: true,
      },
    });
  },
  decode: (value, context) => decodeWithMeta(value, context, 'messages', plainMessages),
});

/**
 * Decode a TRL / transformers record without its metadata. Image and video parts become `<image>`/`<video>` tokens;
 * their paths come from the `images`/`videos` columns, or from the parts themselves (`url`, `path` or a string
 * `image`/`video`) when a column is absent. A part the reader cannot take whole (a text part without a string
 * `text`, a part of another type) rejects the record.
 */
export function plainMessages(v: Record<string, unknown>): DecodedWithoutMeta {
  if (!Array.isArray(v.messages)) {
    return missingList('messages', '/messages', 'A messages record needs a `messages` list.');
  }
  const record: Record<string, unknown> = {};
  const id = plainId(v.id);
  if (id !== undefined) record.id = id;
  const column = stringList(v.images);
  const videoColumn = stringList(v.videos);
  const inline: string[] = [];
  const inlineVideos: string[] = [];
  const conversations: Turn[] = [];
  const list = v.messages as unknown[];
  for (let i = 0; i < list.length; i++) {
    const turn = asObject(list[i]);
    const role = String(turn.role ?? '');
    const content = turn.content;
    let value: string;
    if (typeof content === 'string') value = content;
    else if (Array.isArray(content)) {
      value = '';
      for (let j = 0; j < content.length; j++) {
        const part = asObject(content[j]);
        if (part.type === 'image' || part.type === 'video') {
          value += part.type === 'image' ? IMAGE_TOKEN : VIDEO_TOKEN;
          const path = [part.path, part.url, part[part.type]].find((x): x is string => typeof x === 'string');
          if (path !== undefined) (part.type === 'image' ? inline : inlineVideos).push(path);
        } else if (part.type === 'text' && typeof part.text === 'string') value += part.text;
        else {
          return badPart(
            'messages',
            `/messages/${i}/content/${j}`,
            part.type === 'text'
              ? 'A text part has no string `text`.'
              : `A content part of type ${JSON.stringify(part.type)} cannot be read (text, image and video can).`,
          );
        }
      }
    } else value = content == null ? '' : String(content);
    const out: Turn = { from: FROM_CHAT_ROLE[role] ?? role, value };
    copyExtras(turn, out, TURN_KEYS);
    conversations.push(out);
  }
  const image = imageValue(column.length > 0 ? column : inline);
  if (image !== undefined) record.image = image;
  const video = videoValue(videoColumn.length > 0 ? videoColumn : inlineVideos);
  if (video !== undefined) record.video = video;
  record.conversations = conversations;
  copyExtras(v, record, KNOWN);
  return { record: record as LlavaRecord };
}

/** Split a text at its `<image>` and `<video>` tokens: text pieces (never empty) and the tokens themselves. */
function mediaPieces(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const i = text.indexOf(IMAGE_TOKEN, start);
    const v = text.indexOf(VIDEO_TOKEN, start);
    const at = i === -1 ? v : v === -1 ? i : Math.min(i, v);
    if (at === -1) break;
    if (at > start) out.push(text.slice(start, at));
    const token = at === i ? IMAGE_TOKEN : VIDEO_TOKEN;
    out.push(token);
    start = at + token.length;
  }
  if (start < text.length || out.length === 0) out.push(text.slice(start));
  return out;
}

export default messagesFormat;
