import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { diagnose } from '@llavakit/diagnostics';
import { defineFormat, type RecordContext } from '@llavakit/format';
import { formatOfExtension, sniffImage } from '@llavakit/images';
import { IMAGE_TOKEN, type LlavaRecord, type Turn, VIDEO_TOKEN } from '@llavakit/schema';
import * as z from 'zod';
import { imageTokenOption, segmentsOf } from '../../pipeline/image-policy.js';
import { writerRules } from '../../pipeline/rules.js';
import { beginChat, FROM_CHAT_ROLE, finishChat, type VideosResult } from '../chat/index.js';
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
  joinParts,
  missingList,
  partTypes,
  recordDiagnostic,
  scoreRecords,
} from '../shared/index.js';
import { formatWriterRules } from '../shared/rules.js';

/** OpenAI's fine-tuning limits for images (vision fine-tuning guide). */
export const OPENAI_LIMITS = {
  /** Images per example. */
  imagesPerExample: 10,
  /** Bytes per image. */
  bytesPerImage: 10 * 1024 * 1024,
  /** Examples that contain images, per training file. */
  examplesWithImagesPerFile: 50_000,
  /** Accepted image types. */
  types: ['jpeg', 'png', 'webp'] as readonly string[],
} as const;

/** Options of the OpenAI fine-tuning format. */
export const openAiOptionsSchema = z.object({
  imageToken: imageTokenOption(['per-token', 'parts', 'front', 'strip'], 'per-token'),
  embedImages: z
    .boolean()
    .default(false)
    .describe('Embed local images as base64 data: URLs (read through the image sources; size and type checked).'),
  imageDetail: z.enum(['low', 'high', 'auto']).optional().describe('The `detail` of every image_url part.'),
  maxImages: z.int().positive().default(OPENAI_LIMITS.imagesPerExample).describe('Images allowed per example.'),
  maxImageBytes: z.int().positive().default(OPENAI_LIMITS.bytesPerImage).describe('Bytes allowed per embedded image.'),
  meta: z
    .boolean()
    .default(false)
    .describe('Add a llava_meta column so reading back restores ids and extra keys (OpenAI may reject unknown keys).'),
});

/** Options of the OpenAI format, parsed. */
export type OpenAiOptions = z.output<typeof openAiOptionsSchema>;

/** A content part of an OpenAI chat message. */
export type OpenAiPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'low' | 'high' | 'auto' } };

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const KNOWN = new Set(['messages']);
const TURN_KEYS = new Set(['role', 'content']);
const REMOTE = /^(?:https?:|data:)/i;
const perFile = new WeakMap<object, number>();

/**
 * OpenAI chat fine-tuning JSONL: `messages` with `system`/`user`/`assistant` roles; user turns with images get
 * content parts (`text`, `image_url`). Images are written as file URLs, kept as http(s)/data URLs, or embedded as
 * base64 `data:` URLs (`embedImages`). OpenAI's limits are checked per record: at most 10 images, no images in
 * assistant turns, JPEG/PNG/WEBP only (by extension, or by content when embedding), 10 MB per embedded image.
 */
export const openAiFormat = defineFormat({
  specVersion: 1,
  name: 'openai',
  description: 'OpenAI chat fine-tuning JSONL: {messages[{role, content: string | [text, image_url]}]}',
  extensions: ['.jsonl'],
  defaultContainer: 'jsonl',
  limitations: [
    'has no record id and no place for extra keys (-O meta=true adds a llava_meta column, which OpenAI may reject)',
    'local image paths become absolute file: URLs (OpenAI itself fetches only https and data: URLs; use --embed-images)',
    'image sizes are checked only when embedding (--embed-images)',
  ],
  optionsSchema: openAiOptionsSchema,
  detect: (probe) =>
    scoreRecords(probe.values, (v) => {
      const turns = chatTurns(v.messages);
      if (!turns || 'images' in v || 'videos' in v) return 0;
      const { parts } = partTypes(turns);
      let score = 0.45;
      for (const part of parts) {
        if (part.type === 'text' && typeof part.text === 'string') continue;
        if (part.type !== 'image_url') return 0;
        const ref = part.image_url;
        const url = typeof ref === 'string' ? ref : asObject(ref).url;
        if (typeof url !== 'string') return 0;
        score = 0.95;
      }
      return score;
    }),
  async encode(record, context) {
    const options = context.options;
    const policy = options.imageToken;
    const begun = beginChat(record, context, {
      source: 'openai',
      roles: {
        allowed: ROLES,
        takes: 'OpenAI takes human/user, gpt/assistant, tool and a leading system',
        systemFirstOnly: true,
      },
      videos: refuseVideo,
      imageToken: policy,
      parts: true,
    });
    if (!begun.ok) return begun;
    const { turns, roles, placement } = begun.draft;
    const { texts, images } = placement;
    for (let i = 0; i < turns.length; i++) {
      if (roles[i] !== 'user' && texts[i]!.includes(IMAGE_TOKEN)) {
        return fail(
          recordDiagnostic(formatWriterRules.imageInAssistant, context, 'openai', {
            message: `Turn ${i} (${turns[i]!.from}) holds an ${IMAGE_TOKEN} token; OpenAI accepts images in user messages only.`,
            pointer: `/conversations/${i}/value`,
            recordId: record.id,
          }),
        );
      }
    }
    if (images.length > options.maxImages) {
      return fail(
        recordDiagnostic(formatWriterRules.tooManyImages, context, 'openai', {
          message: `The record has ${images.length} images; OpenAI takes at most ${options.maxImages} per example.`,
          pointer: '/image',
          recordId: record.id,
          data: { images: images.length, limit: options.maxImages },
        }),
      );
    }
    const urls: string[] = [];
    const seen = new Map<string, string>();
    for (let k = 0; k < images.length; k++) {
      const path = images[k]!;
      let url = seen.get(path);
      if (url === undefined) {
        const made = await imageUrl(path, options, context);
        if (typeof made !== 'string') {
          return fail(
            recordDiagnostic(made.rule, context, 'openai', {
              message: made.message,
              pointer: typeof record.image === 'string' ? '/image' : `/image/${k}`,
              recordId: record.id,
              data: { path },
            }),
          );
        }
        url = made;
        seen.set(path, url);
      }
      urls.push(url);
    }
    const part = (url: string): OpenAiPart => ({
      type: 'image_url',
      image_url: options.imageDetail ? { url, detail: options.imageDetail } : { url },
    });
    const messages: { role: string; content: string | OpenAiPart[] }[] = [];
    if (typeof record.system === 'string' && roles[0] !== 'system')
      messages.push({ role: 'system', content: record.system });
    let slot = 0;
    let stripped = policy === 'strip' && urls.length > 0;
    for (let i = 0; i < turns.length; i++) {
      const text = texts[i]!;
      if (stripped && roles[i] === 'user') {
        stripped = false;
        messages.push({ role: 'user', content: [...urls.map(part), { type: 'text', text }] });
        continue;
      }
      if (roles[i] !== 'user' || !text.includes(IMAGE_TOKEN)) {
        messages.push({ role: roles[i]!, content: text });
        continue;
      }
      const content: OpenAiPart[] = [];
      for (const segment of segmentsOf(text, slot)) {
        if (typeof segment === 'string') content.push({ type: 'text', text: segment });
        else {
          content.push(part(urls[segment.image]!));
          slot++;
        }
      }
      messages.push({ role: 'user', content });
    }
    if (stripped) {
      return fail(
        recordDiagnostic(writerRules.notRepresentable, context, 'openai', {
          message: 'The record has images but no user turn to carry them.',
          pointer: '/conversations',
          recordId: record.id,
        }),
      );
    }
    if (urls.length > 0) {
      const key = context.count;
      const n = (perFile.get(key) ?? 0) + 1;
      perFile.set(key, n);
      if (n === OPENAI_LIMITS.examplesWithImagesPerFile + 1) {
        context.report(
          diagnose(formatWriterRules.imagesPerFile, {
            message: `More than ${OPENAI_LIMITS.examplesWithImagesPerFile.toLocaleString('en')} examples contain images; OpenAI rejects such a training file.`,
            file: context.file,
            recordIndex: context.index,
            source: 'openai',
          }),
        );
      }
    }
    return finishChat(begun.draft, context, {
      fields: { messages },
      mediaColumns: 'none',
      meta: {
        decodeWithoutMeta: (v) => decodedOrThrow(plainOpenAi(v)),
        naturalSystem: 'turn',
        enabled: options.meta,
        skipPlain: false,
      },
    });
  },
  decode: (value, context) => decodeWithMeta(value, context, 'openai', plainOpenAi),
});

/** The videos step of OpenAI: chat fine-tuning has no place for video, so a record with one is refused. */
function refuseVideo(record: LlavaRecord, turns: readonly Turn[], context: RecordContext<object>): VideosResult {
  if (record.video !== undefined || turns.some((t) => t.value.includes(VIDEO_TOKEN))) {
    return fail(
      recordDiagnostic(formatWriterRules.video, context, 'openai', {
        message: 'The record holds a video (or a <video> token); OpenAI chat fine-tuning has no place for video.',
        pointer: record.video !== undefined ? '/video' : '/conversations',
        recordId: record.id,
      }),
    );
  }
  return { ok: true, turns, videos: [] };
}

type UrlProblem = { rule: (typeof formatWriterRules)[keyof typeof formatWriterRules]; message: string };

async function imageUrl(
  path: string,
  options: OpenAiOptions,
  context: Parameters<NonNullable<typeof openAiFormat.encode>>[1],
): Promise<string | UrlProblem> {
  const rewritten = context.images.rewrite(path);
  if (REMOTE.test(rewritten)) {
    const mime = /^data:image\/([a-z0-9.+-]+)[;,]/i.exec(rewritten)?.[1]?.toLowerCase();
    if (mime !== undefined && !OPENAI_LIMITS.types.includes(mime === 'jpg' ? 'jpeg' : mime)) {
      return {
        rule: formatWriterRules.imageType,
        message: `The data: URL holds image/${mime}; OpenAI takes JPEG, PNG and WEBP.`,
      };
    }
    return rewritten;
  }
  if (options.embedImages) {
    const bytes = await context.images.readBytes(path);
    if (!bytes)
      return { rule: formatWriterRules.imageUnreadable, message: `Image ${path} was not found in the image sources.` };
    if (bytes.length > options.maxImageBytes) {
      return {
        rule: formatWriterRules.imageTooLarge,
        message: `Image ${path} has ${bytes.length} bytes; OpenAI takes at most ${options.maxImageBytes}.`,
      };
    }
    const format = sniffImage(bytes).format;
    if (!OPENAI_LIMITS.types.includes(format)) {
      return {
        rule: formatWriterRules.imageType,
        message: `Image ${path} is ${format === 'unknown' ? 'not a recognised image' : format.toUpperCase()}; OpenAI takes JPEG, PNG and WEBP.`,
      };
    }
    context.count('openai:images-embedded');
    return `data:image/${format};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')}`;
  }
  const format = formatOfExtension(rewritten);
  if (format !== undefined && !OPENAI_LIMITS.types.includes(format)) {
    return {
      rule: formatWriterRules.imageType,
      message: `Image ${path} is ${format.toUpperCase()} by its extension; OpenAI takes JPEG, PNG and WEBP.`,
    };
  }
  const absolute = resolve(rewritten);
  return SAFE_PATH.test(absolute) ? `file://${absolute}` : pathToFileURL(absolute).href;
}

/** Absolute POSIX paths whose file URL is the path itself (no percent-encoding needed). */
const SAFE_PATH = /^\/[A-Za-z0-9_\-./]*$/;

/** The image path an OpenAI image URL stands for: file URLs become paths; other URLs stay as they are. */
export function pathOfImageUrl(url: string): string {
  if (!url.startsWith('file:')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

/** Decode an OpenAI fine-tuning example without its metadata. */
export function plainOpenAi(v: Record<string, unknown>): DecodedWithoutMeta {
  if (!Array.isArray(v.messages)) {
    return missingList('openai', '/messages', 'An OpenAI example needs a `messages` list.');
  }
  const record: Record<string, unknown> = {};
  const images: string[] = [];
  const conversations: Turn[] = [];
  const list = v.messages as unknown[];
  for (let i = 0; i < list.length; i++) {
    const turn = asObject(list[i]);
    const role = String(turn.role ?? '');
    const content = turn.content;
    let value: string;
    if (typeof content === 'string') value = content;
    else if (Array.isArray(content)) {
      const pieces: (string | null)[] = [];
      for (let j = 0; j < content.length; j++) {
        const part = asObject(content[j]);
        const pointer = `/messages/${i}/content/${j}`;
        if (part.type === 'image_url') {
          const ref = part.image_url;
          const url = typeof ref === 'string' ? ref : asObject(ref).url;
          if (typeof url !== 'string' || url === '') {
            return badPart('openai', pointer, 'An image_url part has no `image_url.url`.');
          }
          pieces.push(null);
          images.push(pathOfImageUrl(url));
        } else if (part.type === 'text' && typeof part.text === 'string') pieces.push(part.text);
        else {
          return badPart(
            'openai',
            pointer,
            part.type === 'text'
              ? 'A text part has no string `text`.'
              : `A content part of type ${JSON.stringify(part.type)} cannot be read (text and image_url can).`,
          );
        }
      }
      value = joinParts(pieces);
    } else value = content == null ? '' : String(content);
    const out: Turn = { from: FROM_CHAT_ROLE[role] ?? role, value };
    copyExtras(turn, out, TURN_KEYS);
    conversations.push(out);
  }
  const image = imageValue(images);
  if (image !== undefined) record.image = image;
  record.conversations = conversations;
  copyExtras(v, record, KNOWN);
  return { record: record as LlavaRecord };
}

export default openAiFormat;
