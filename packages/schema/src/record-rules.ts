/**
 * The per-record rules of the validator: the schema step, then the image, video, conversation, role and `<image>`
 * token rules, each finding a {@link Finding} for the dressing to turn into a diagnostic.
 */
import { getAtPointer } from '@llavakit/diagnostics';
import type { Finding } from './finding.js';
import { IMAGE_TOKEN, parseRecord, VIDEO_TOKEN } from './record.js';
import { validationRules as R } from './rules.js';
import type { ValidationKind } from './validation-types.js';

export function checkValue(value: unknown, kind: ValidationKind, schemaStep: boolean): Finding[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ rule: R.schemaType, pointer: '', message: `The record is ${describe(value)}, not an object.` }];
  }
  let out: Finding[] | undefined;
  const push = (f: Finding) => {
    (out === undefined ? (out = []) : out).push(f);
  };
  const record = value as Record<string, unknown>;
  if (kind === 'metadata') return checkMetadata(record);
  if (schemaStep) {
    const parsed = parseRecord(value);
    if (!parsed.ok) for (const issue of parsed.issues) push(schemaFinding(record, issue.pointer));
  }

  // Images.
  const image = record.image;
  let images = 0;
  if (typeof image === 'string') {
    images = 1;
    if (image.trim() === '')
      push({ rule: R.valueEmpty, severity: 'error', pointer: '/image', message: emptyImageMessage(image) });
  } else if (Array.isArray(image)) {
    images = image.length;
    if (kind === 'llava') {
      push({
        rule: R.imageList,
        pointer: '/image',
        message: `\`image\` is a list of ${image.length} path(s); LLaVA v1/v1.5 needs one path string.`,
      });
    }
    for (let k = 0; k < image.length; k++) {
      const path = image[k];
      if (typeof path === 'string' && path.trim() === '') {
        push({ rule: R.valueEmpty, severity: 'error', pointer: `/image/${k}`, message: emptyImageMessage(path) });
      }
    }
    if (image.length === 0) {
      push({
        rule: R.valueEmpty,
        pointer: '/image',
        message: '`image` is an empty list: the record is treated as having images but has none.',
      });
    }
  }
  const video = record.video;
  const videos = typeof video === 'string' ? 1 : Array.isArray(video) ? video.length : 0;
  const imageKey = typeof image === 'string' || Array.isArray(image);
  // `<video>` tokens (LLaMA-Factory, ms-swift) are counted against the videos; without any, and without an image
  // key, LLaVA-Video's own placeholder `<image>` stands for the video frames and is counted against the videos.
  const videoTokens = countVideoTokens(record.conversations);
  const videoAsImage = videos > 0 && videoTokens === 0 && !imageKey;
  if (videoAsImage) images += videos;
  // a visual the trainer loads (an `image` or `video` of the right type); tokens are checked against it
  const hasImageKey = imageKey || videoAsImage;
  // no visual key at all: LLaVA treats the record as text-only
  const textOnly = image === undefined && video === undefined;
  if (!videoAsImage && videoTokens !== videos) {
    push({
      rule: R.videoTokenCount,
      pointer: videos === 0 ? '/conversations' : '/video',
      message:
        videos === 0
          ? `The record has no \`video\` but ${videoTokens} \`<video>\` token(s); loaders that count them (LLaMA-Factory) fail.`
          : `The record has ${videos} video(s) but ${videoTokens} \`<video>\` token(s); there must be one per video.`,
      data: { videos, tokens: videoTokens },
    });
  }

  // Conversations.
  const turns = record.conversations;
  if (!Array.isArray(turns)) return out;
  if (turns.length === 0) {
    push({ rule: R.conversationsEmpty, pointer: '/conversations', message: '`conversations` is an empty list.' });
    return out;
  }
  let unknownRole = false;
  let humanTokens = 0;
  let gptTokens = 0;
  let firstTokenTurn = -1;
  let extraTokenTurn = -1;
  let firstHuman = -1;
  let whitespaceTurns = 0;
  let firstWhitespace = -1;
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i] as Record<string, unknown> | null;
    if (turn === null || typeof turn !== 'object') continue;
    const from = turn.from;
    const text = turn.value;
    if (typeof from === 'string' && from !== 'human' && from !== 'gpt') {
      unknownRole = true;
      push({
        rule: R.rolesUnknown,
        pointer: `/conversations/${i}/from`,
        message: `Turn ${i} has role ${JSON.stringify(from)}; LLaVA knows only "human" and "gpt".`,
      });
    }
    if (from === 'human' && firstHuman === -1) firstHuman = i;
    if (typeof text !== 'string') continue;
    const len = text.length;
    if (len === 0 || (isSpace(text.charCodeAt(0)) && text.trim() === '')) {
      push({
        rule: R.valueEmpty,
        pointer: `/conversations/${i}/value`,
        message: `Turn ${i} (${typeof from === 'string' ? from : '?'}) has ${len === 0 ? 'an empty' : 'a whitespace-only'} value.`,
      });
      continue;
    }
    if (isSpace(text.charCodeAt(0)) || isSpace(text.charCodeAt(len - 1))) {
      whitespaceTurns++;
      if (firstWhitespace === -1) firstWhitespace = i;
    }
    const at = text.indexOf(IMAGE_TOKEN);
    if (at === -1) continue;
    const count = countFrom(text, at);
    if (from === 'gpt') {
      gptTokens += count;
      if (hasImageKey) {
        push({
          rule: R.imageTokenInGpt,
          pointer: `/conversations/${i}/value`,
          message: `Turn ${i} (gpt) contains ${count === 1 ? 'an `<image>` token' : `${count} \`<image>\` tokens`}.`,
          at,
        });
      }
      continue;
    }
    if (firstTokenTurn === -1) firstTokenTurn = i;
    if (humanTokens + count > images && extraTokenTurn === -1) extraTokenTurn = i;
    humanTokens += count;
    if (images === 1 && count === 1 && hasImageKey && humanTokens === count) {
      const placed =
        i === firstHuman && (text === IMAGE_TOKEN || text.startsWith('<image>\n') || text.endsWith('\n<image>'));
      if (!placed) {
        push({
          rule: R.imagePlacement,
          pointer: `/conversations/${i}/value`,
          message:
            i !== firstHuman
              ? `\`<image>\` is in human turn ${i}, not the first human turn (${firstHuman}).`
              : '`<image>` is inside the text, not as "<image>\\n…" or "…\\n<image>"; LLaVA moves it to the front.',
          at,
        });
      }
    }
  }
  if (whitespaceTurns > 0) {
    push({
      rule: R.valueWhitespace,
      pointer: `/conversations/${firstWhitespace}/value`,
      message:
        whitespaceTurns === 1
          ? `Turn ${firstWhitespace} has leading or trailing whitespace.`
          : `${whitespaceTurns} turns have leading or trailing whitespace (first: turn ${firstWhitespace}).`,
      data: { turns: whitespaceTurns },
    });
  }

  // Roles: LLaVA drops one leading non-human turn, then asserts strict alternation.
  if (!unknownRole) roleFindings(turns, push);

  // <image> tokens vs images.
  if (images > 0 && hasImageKey) {
    if (humanTokens !== images) {
      const what = videoAsImage
        ? images === 1
          ? 'one video'
          : `${images} videos`
        : images === 1
          ? 'one image'
          : `${images} images`;
      if (humanTokens === 0) {
        push({
          rule: R.imageTokenCount,
          pointer: videoAsImage ? '/video' : '/image',
          message: videoAsImage
            ? `The record has ${what} but no \`<video>\` (or LLaVA-Video's \`<image>\`) token in its human turns: the video is ignored.`
            : `The record has ${what} but no \`<image>\` token in its human turns: LLaVA silently ignores the image.`,
          data: { images, tokens: 0 },
        });
      } else {
        const turn = humanTokens > images ? extraTokenTurn : firstTokenTurn;
        push({
          rule: R.imageTokenCount,
          pointer: `/conversations/${turn}/value`,
          message: `The human turns have ${humanTokens} \`<image>\` tokens for ${what}; there must be exactly one per image.`,
          data: { images, tokens: humanTokens },
          at: tokenIndex(turns, turn),
        });
      }
    }
  } else if (textOnly && humanTokens + gptTokens > 0) {
    const turn = firstTokenIndex(turns);
    push({
      rule: R.imageTokenTextOnly,
      pointer: `/conversations/${turn}/value`,
      message: `The record has no \`image\` but ${humanTokens + gptTokens === 1 ? 'an `<image>` token' : `${humanTokens + gptTokens} \`<image>\` tokens`}; LLaVA keeps it as literal text.`,
      at: tokenIndex(turns, turn),
    });
  }
  return out;
}

function roleFindings(turns: unknown[], push: (f: Finding) => void): void {
  const roleOf = (i: number): unknown => {
    const turn = turns[i] as Record<string, unknown> | null;
    return turn !== null && typeof turn === 'object' ? turn.from : undefined;
  };
  let start = 0;
  if (roleOf(0) === 'gpt') {
    push({
      rule: R.rolesLeadingGpt,
      pointer: '/conversations/0/from',
      message: 'The conversation starts with a gpt turn; LLaVA drops it.',
    });
    start = 1;
  }
  let last: unknown;
  for (let i = start; i < turns.length; i++) {
    const role = roleOf(i);
    if (typeof role !== 'string') return;
    const expected = (i - start) % 2 === 0 ? 'human' : 'gpt';
    if (role !== expected) {
      push({
        rule: R.rolesAlternation,
        pointer: `/conversations/${i}/from`,
        message: `Turn ${i} is ${role} where ${expected} is expected (${i > start ? `after ${String(roleOf(i - 1))}` : 'first turn'}).`,
      });
      return;
    }
    last = role;
  }
  if (last === 'human') {
    push({
      rule: R.rolesTrailingHuman,
      pointer: `/conversations/${turns.length - 1}/from`,
      message: 'The conversation ends with a human turn that has no gpt answer.',
    });
  }
}

/** A metadata record: an object with a non-empty `image` path; an `id`, when present, a string or an integer. */
function checkMetadata(record: Record<string, unknown>): Finding[] | undefined {
  let out: Finding[] | undefined;
  const push = (f: Finding) => {
    (out === undefined ? (out = []) : out).push(f);
  };
  const image = record.image;
  if (!Object.hasOwn(record, 'image')) push(schemaFinding(record, '/image'));
  else if (typeof image !== 'string') push(schemaFinding(record, '/image'));
  else if (image.trim() === '') {
    push({ rule: R.valueEmpty, severity: 'error', pointer: '/image', message: emptyImageMessage(image) });
  }
  const id = record.id;
  if (id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isInteger(id))) {
    push(schemaFinding(record, '/id'));
  }
  return out;
}

function schemaFinding(record: Record<string, unknown>, pointer: string): Finding {
  const slash = pointer.lastIndexOf('/');
  const parent = slash <= 0 ? record : getAtPointer(record, pointer.slice(0, slash));
  const key = pointer
    .slice(slash + 1)
    .replaceAll('~1', '/')
    .replaceAll('~0', '~');
  const missing = parent !== null && typeof parent === 'object' && !Object.hasOwn(parent, key);
  if (missing) {
    const turn = /^\/conversations\/(\d+)\/[^/]+$/.exec(pointer);
    return {
      rule: R.schemaRequired,
      pointer,
      message: `${turn ? `Turn ${turn[1]}` : 'The record'} has no \`${key}\`.`,
    };
  }
  const actual = describe(getAtPointer(record, pointer));
  return {
    rule: R.schemaType,
    pointer,
    message: `\`${pointer.slice(1)}\` is ${actual}; expected ${expectedAt(pointer)}.`,
  };
}

function expectedAt(pointer: string): string {
  if (pointer === '/id') return 'a string or an integer';
  if (pointer === '/image') return 'a path string (or, for LLaVA-NeXT, a list of path strings)';
  if (/^\/image\/\d+$/.test(pointer)) return 'a path string';
  if (pointer === '/video') return 'a path string or a list of path strings';
  if (/^\/video\/\d+$/.test(pointer)) return 'a path string';
  if (pointer === '/conversations') return 'an array of {from, value} turns';
  if (/^\/conversations\/\d+$/.test(pointer)) return 'an object {from, value}';
  if (/^\/conversations\/\d+\/(from|value)$/.test(pointer)) return 'a string';
  return 'another type';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the non-integer ${value}`;
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (value === undefined) return 'missing';
  return `an ${typeof value}`;
}

function emptyImageMessage(path: string): string {
  return `The image path is ${path === '' ? 'empty' : 'whitespace only'}; LLaVA tests key presence and would open the image folder itself.`;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xa0 || c === 0x3000;
}

/** `<video>` tokens in the turns that are not gpt answers. */
function countVideoTokens(turns: unknown): number {
  if (!Array.isArray(turns)) return 0;
  let count = 0;
  for (const turn of turns) {
    const text = (turn as { value?: unknown } | null)?.value;
    if (typeof text !== 'string' || !text.includes(VIDEO_TOKEN)) continue;
    for (let i = text.indexOf(VIDEO_TOKEN); i !== -1; i = text.indexOf(VIDEO_TOKEN, i + VIDEO_TOKEN.length)) count++;
  }
  return count;
}

function countFrom(text: string, at: number): number {
  let count = 0;
  for (let i = at; i !== -1; i = text.indexOf(IMAGE_TOKEN, i + IMAGE_TOKEN.length)) count++;
  return count;
}

function valueOfTurn(turns: unknown[], i: number): string | undefined {
  const turn = turns[i] as Record<string, unknown> | null | undefined;
  const v = turn !== null && typeof turn === 'object' ? turn.value : undefined;
  return typeof v === 'string' ? v : undefined;
}

function tokenIndex(turns: unknown[], i: number): number {
  const v = valueOfTurn(turns, i);
  if (v === undefined) return 0;
  // for an extra token, centre on the last token of the turn
  const last = v.lastIndexOf(IMAGE_TOKEN);
  return last === -1 ? 0 : last;
}

function firstTokenIndex(turns: unknown[]): number {
  for (let i = 0; i < turns.length; i++) if (valueOfTurn(turns, i)?.includes(IMAGE_TOKEN)) return i;
  return 0;
}
