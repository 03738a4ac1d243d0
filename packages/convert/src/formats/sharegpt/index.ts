import { defineFormat, type RecordContext } from '@llavakit/format';
import { IMAGE_TOKEN, type LlavaRecord, type Turn, VIDEO_TOKEN } from '@llavakit/schema';
import * as z from 'zod';
import { imageTokenOption } from '../../pipeline/image-policy.js';
import { writerRules } from '../../pipeline/rules.js';
import { beginChat, FROM_CHAT_ROLE, finishChat, type RolesResult, splitSystem, TO_CHAT_ROLE } from '../chat/index.js';
import {
  asObject,
  badPart,
  chatTurns,
  copyExtras,
  type DecodedWithoutMeta,
  decodedOrThrow,
  decodeWithMeta,
  fail,
  imageValue,
  isFromValueList,
  missingList,
  partTypes,
  plainId,
  recordDiagnostic,
  scoreRecords,
  stringList,
  videoValue,
} from '../shared/index.js';
import { META_FIELD } from '../shared/meta.js';
import { formatWriterRules } from '../shared/rules.js';

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
const KNOWN = new Set(['id', 'conversations', 'messages', 'system', 'images', 'videos']);

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
  detect: (probe) =>
    scoreRecords(probe.values, (v) => {
      const marked =
        Array.isArray(v.images) || Array.isArray(v.videos) || typeof v.system === 'string' || META_FIELD in v;
      if (isFromValueList(v.conversations)) {
        if ('image' in v || 'video' in v) return 0;
        return marked ? 0.95 : 0.6;
      }
      const turns = chatTurns(v.messages);
      if (!turns) return 0;
      const { strings, parts } = partTypes(turns);
      // LLaMA-Factory v1 content blocks: {type, value}
      if (!strings)
        return parts.length > 0 && parts.every((p) => 'value' in p && typeof p.type === 'string') ? 0.95 : 0;
      return typeof v.system === 'string' ? 0.85 : marked ? 0.75 : 0;
    }),
  encode(record, context) {
    const options = context.options;
    const messages = options.layout === 'messages';
    const { system, turns, offset } = splitSystem(record);
    const begun = beginChat(record, context, {
      source: 'sharegpt',
      roles: () => shareGptRoles(record, turns, offset, context),
      videos: 'slots',
      imageToken: options.imageToken,
    });
    if (!begun.ok) return begun;
    const texts = begun.draft.placement.texts;
    const list = new Array(turns.length);
    for (let i = 0; i < turns.length; i++) {
      const from = turns[i]!.from;
      list[i] = messages ? { role: TO_CHAT_ROLE[from] ?? from, content: texts[i]! } : { from, value: texts[i]! };
    }
    const fields: Record<string, unknown> = { [messages ? 'messages' : 'conversations']: list };
    if (system !== undefined) fields.system = system;
    return finishChat(begun.draft, context, {
      idField: options.idField,
      fields,
      mediaColumns: 'when-present',
      meta: {
        decodeWithoutMeta: (v) => decodedOrThrow(plainShareGpt(v)),
        naturalSystem: 'key',
        enabled: options.meta,
        skipPlain: true,
      },
    });
  },
  decode: (value, context) => decodeWithMeta(value, context, 'sharegpt', plainShareGpt),
});

/**
 * The roles step of ShareGPT: LLaVA roles are kept (LLaMA-Factory's tags), those it has no tag for are refused, and
 * so is an order its converter would skip (with a log line only).
 */
function shareGptRoles(
  record: LlavaRecord,
  turns: readonly Turn[],
  offset: number,
  context: RecordContext<object>,
): RolesResult {
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
  const order = roleOrderProblem(turns);
  if (order !== undefined) {
    return fail(
      recordDiagnostic(formatWriterRules.roleOrder, context, 'sharegpt', {
        message: order.message,
        pointer: order.turn === undefined ? '/conversations' : `/conversations/${order.turn + offset}/from`,
        recordId: record.id,
      }),
    );
  }
  return { ok: true, turns, roles: turns.map((turn) => turn.from) };
}

const ODD = new Set(['human', 'observation']);
const EVEN = new Set(['gpt', 'function_call']);

/** Why LLaMA-Factory's ShareGPT converter would skip these turns (after the system prompt), if it would. */
function roleOrderProblem(turns: readonly Turn[]): { message: string; turn?: number } | undefined {
  for (let i = 0; i < turns.length; i++) {
    const from = turns[i]!.from;
    if (!(i % 2 === 0 ? ODD : EVEN).has(from)) {
      return {
        message: `Turn ${i} is ${from} where ${i % 2 === 0 ? 'human or observation' : 'gpt or function_call'} must be; LLaMA-Factory skips the example ("Invalid role tag").`,
        turn: i,
      };
    }
  }
  if (turns.length % 2 !== 0) {
    return {
      message: `The conversation has ${turns.length} turns; LLaMA-Factory skips an odd count ("Invalid message count").`,
    };
  }
  return undefined;
}

/**
 * Decode a ShareGPT record (either layout, or LLaMA-Factory's v1 content blocks) without its metadata. A v1 message
 * holds `content: [{type: "text" | "image_url" | "video_url", value}]`: the blocks are joined in order, images and
 * videos becoming `<image>`/`<video>` tokens and their paths the record's `image`/`video`. A block the reader cannot
 * take whole (a text block without a string `value`, a media block without a path, audio or tool calls) rejects
 * the record: nothing is dropped.
 */
function plainShareGpt(v: Record<string, unknown>): DecodedWithoutMeta {
  const list = Array.isArray(v.conversations) ? v.conversations : Array.isArray(v.messages) ? v.messages : undefined;
  if (!list) {
    return missingList('sharegpt', '/conversations', 'A ShareGPT record needs a `conversations` (or `messages`) list.');
  }
  const chat = !Array.isArray(v.conversations);
  const listKey = chat ? 'messages' : 'conversations';
  const record: Record<string, unknown> = {};
  const id = plainId(v.id);
  if (id !== undefined) record.id = id;
  const images = stringList(v.images);
  const videos = stringList(v.videos);
  const conversations: Turn[] = [];
  for (let i = 0; i < list.length; i++) {
    const turn = asObject(list[i]);
    const role = String(turn.from ?? turn.role ?? '');
    const from = chat ? (FROM_CHAT_ROLE[role] ?? role) : role;
    const content = turn.value ?? turn.content;
    let value: string;
    if (Array.isArray(content)) {
      const joined = joinBlocks(content, `/${listKey}/${i}/content`, images, videos);
      if (typeof joined !== 'string') return joined;
      value = joined;
    } else value = typeof content === 'string' ? content : content == null ? '' : String(content);
    const out: Turn = { from, value };
    copyExtras(turn, out, TURN_KEYS);
    conversations.push(out);
  }
  const image = imageValue(images);
  if (image !== undefined) record.image = image;
  const video = videoValue(videos);
  if (video !== undefined) record.video = video;
  record.conversations = conversations;
  if (typeof v.system === 'string') record.system = v.system;
  copyExtras(v, record, KNOWN);
  return { record: record as LlavaRecord };
}

/** Join LLaMA-Factory v1 content blocks into one LLaVA text; media paths are appended to `images`/`videos`. */
function joinBlocks(
  blocks: readonly unknown[],
  pointer: string,
  images: string[],
  videos: string[],
): string | DecodedWithoutMeta {
  let text = '';
  for (let j = 0; j < blocks.length; j++) {
    const block = asObject(blocks[j]);
    const at = `${pointer}/${j}`;
    const value = block.value ?? block.text;
    const type = block.type;
    if (type === 'text') {
      if (typeof value !== 'string') return badBlock(at, 'A text block has no string `value`.');
      text += value;
      continue;
    }
    if (type === 'image_url' || type === 'video_url') {
      const path = typeof value === 'string' ? value : asObject(value).url;
      if (typeof path !== 'string' || path === '') return badBlock(at, `An ${type} block has no path in \`value\`.`);
      (type === 'image_url' ? images : videos).push(path);
      text += type === 'image_url' ? IMAGE_TOKEN : VIDEO_TOKEN;
      continue;
    }
    return badBlock(
      at,
      `A content block of type ${JSON.stringify(type)} cannot be read into a LLaVA record (text, image_url and video_url can).`,
    );
  }
  return text;
}

function badBlock(pointer: string, message: string): DecodedWithoutMeta {
  return badPart('sharegpt', pointer, message);
}

const TURN_KEYS = new Set(['from', 'value', 'role', 'content']);

export default shareGptFormat;
