/**
 * The per-record rules of the validator, one function each, in the order their findings are reported:
 * {@link RECORD_RULES} run on the whole record, {@link TURN_RULES} on each turn (from the `turns` step). The facts
 * several rules need (how many images, `<image>` tokens so far, …) are gathered once in a {@link RecordContext}.
 */
import type { RuleMeta } from '@llavakit/diagnostics';
import type { Finding } from './finding.js';
import { IMAGE_TOKEN, parseRecord } from './record.js';
import {
  checkMetadata,
  countFrom,
  countVideoTokens,
  describe,
  emptyImageMessage,
  firstTokenIndex,
  isSpace,
  schemaFinding,
  tokenIndex,
} from './record-helpers.js';
import { validationRules as R } from './rules.js';
import type { ValidationKind } from './validation-types.js';

/** What the rules of one record share: the record, and the facts found so far. */
export interface RecordContext {
  record: Record<string, unknown>;
  kind: ValidationKind;
  /** Run the schema step (records that are already canonical skip it). */
  schemaStep: boolean;
  /** The findings so far (`undefined` until the first). */
  out: Finding[] | undefined;
  /** Images the record has (videos too, when LLaVA-Video's `<image>` stands for their frames). */
  images: number;
  videos: number;
  /** `<video>` tokens in the turns that are not gpt answers. */
  videoTokens: number;
  /** The record has videos, no `image` key and no `<video>` token: its `<image>` tokens stand for the videos. */
  videoAsImage: boolean;
  /** A visual the trainer loads (an `image` or `video` of the right type); tokens are checked against it. */
  hasImageKey: boolean;
  /** No visual key at all: LLaVA treats the record as text-only. */
  textOnly: boolean;
  /** The conversations, once known to be a non-empty array. */
  turns: unknown[];
  /** Facts of the turns seen so far. */
  unknownRole: boolean;
  firstHuman: number;
  humanTokens: number;
  gptTokens: number;
  firstTokenTurn: number;
  extraTokenTurn: number;
  /** Turns with leading or trailing whitespace, and the first of them. */
  whitespaceTurns: number;
  firstWhitespace: number;
}

/** One turn, as the turn rules see it. */
export interface TurnFacts {
  i: number;
  from: unknown;
  /** The value, when it is a string. */
  text: string | undefined;
  /** The value is an empty or whitespace-only string. */
  blank: boolean;
  /** Index of the first `<image>` in the value (-1: none), and how many there are. */
  at: number;
  count: number;
}

/** A per-record rule: the rules it can raise, and its check (`true`: the later rules do not apply). */
export interface RecordRule {
  readonly name: string;
  readonly raises: readonly RuleMeta[];
  readonly check: (ctx: RecordContext) => boolean | undefined;
}

/** A per-turn rule: the rules it can raise, and its check of one turn. */
export interface TurnRule {
  readonly name: string;
  readonly raises: readonly RuleMeta[];
  readonly check: (ctx: RecordContext, turn: TurnFacts) => void;
}

/** Add a finding of the record. */
function report(ctx: RecordContext, finding: Finding): void {
  if (ctx.out === undefined) ctx.out = [finding];
  else ctx.out.push(finding);
}

/** `schema/required`, `schema/type`: the record's shape (zod schema). */
function schemaShape(ctx: RecordContext): undefined {
  if (!ctx.schemaStep) return undefined;
  const parsed = parseRecord(ctx.record);
  if (!parsed.ok) for (const issue of parsed.issues) report(ctx, schemaFinding(ctx.record, issue.pointer));
  return undefined;
}

/** `value/empty` for image paths, `image/list` (a list where LLaVA v1/v1.5 needs one path). */
function imagePaths(ctx: RecordContext): undefined {
  const image = ctx.record.image;
  if (typeof image === 'string') {
    if (image.trim() === '')
      report(ctx, { rule: R.valueEmpty, severity: 'error', pointer: '/image', message: emptyImageMessage(image) });
  } else if (Array.isArray(image)) {
    if (ctx.kind === 'llava') {
      report(ctx, {
        rule: R.imageList,
        pointer: '/image',
        message: `\`image\` is a list of ${image.length} path(s); LLaVA v1/v1.5 needs one path string.`,
      });
    }
    for (let k = 0; k < image.length; k++) {
      const path = image[k];
      if (typeof path === 'string' && path.trim() === '') {
        report(ctx, {
          rule: R.valueEmpty,
          severity: 'error',
          pointer: `/image/${k}`,
          message: emptyImageMessage(path),
        });
      }
    }
    if (image.length === 0) {
      report(ctx, {
        rule: R.valueEmpty,
        pointer: '/image',
        message: '`image` is an empty list: the record is treated as having images but has none.',
      });
    }
  }
  return undefined;
}

/** `video/token-count`: one `<video>` token per video (unless `<image>` stands for the frames). */
function videoTokenCount(ctx: RecordContext): undefined {
  const { videos, videoTokens } = ctx;
  if (!ctx.videoAsImage && videoTokens !== videos) {
    report(ctx, {
      rule: R.videoTokenCount,
      pointer: videos === 0 ? '/conversations' : '/video',
      message:
        videos === 0
          ? `The record has no \`video\` but ${videoTokens} \`<video>\` token(s); loaders that count them (LLaMA-Factory) fail.`
          : `The record has ${videos} video(s) but ${videoTokens} \`<video>\` token(s); there must be one per video.`,
      data: { videos, tokens: videoTokens },
    });
  }
  return undefined;
}

/** `conversations/empty`; the rules after it need a non-empty list of turns. */
function conversationsPresent(ctx: RecordContext): boolean {
  const turns = ctx.record.conversations;
  if (!Array.isArray(turns)) return true;
  if (turns.length === 0) {
    report(ctx, {
      rule: R.conversationsEmpty,
      pointer: '/conversations',
      message: '`conversations` is an empty list.',
    });
    return true;
  }
  ctx.turns = turns;
  return false;
}

/** Run the {@link TURN_RULES} on every turn, gathering the token facts the later rules need. */
function eachTurn(ctx: RecordContext): undefined {
  const { turns } = ctx;
  const facts = FACTS;
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i] as Record<string, unknown> | null;
    if (turn === null || typeof turn !== 'object') continue;
    const from = turn.from;
    const value = turn.value;
    facts.i = i;
    facts.from = from;
    facts.text = typeof value === 'string' ? value : undefined;
    facts.blank = facts.text !== undefined && isBlank(facts.text);
    facts.at = facts.text !== undefined && !facts.blank ? facts.text.indexOf(IMAGE_TOKEN) : -1;
    facts.count = facts.at === -1 ? 0 : countFrom(facts.text!, facts.at);
    if (typeof from === 'string' && from !== 'human' && from !== 'gpt') ctx.unknownRole = true;
    if (from === 'human' && ctx.firstHuman === -1) ctx.firstHuman = i;
    if (facts.text !== undefined && !facts.blank) {
      const text = facts.text;
      if ((isSpace(text.charCodeAt(0)) || isSpace(text.charCodeAt(text.length - 1))) && ctx.whitespaceTurns++ === 0) {
        ctx.firstWhitespace = i;
      }
    }
    if (facts.at !== -1) {
      if (from === 'gpt') ctx.gptTokens += facts.count;
      else {
        if (ctx.firstTokenTurn === -1) ctx.firstTokenTurn = i;
        if (ctx.humanTokens + facts.count > ctx.images && ctx.extraTokenTurn === -1) ctx.extraTokenTurn = i;
        ctx.humanTokens += facts.count;
      }
    }
    for (let r = 0; r < TURN_CHECKS.length; r++) TURN_CHECKS[r]!(ctx, facts);
  }
  return undefined;
}

function isBlank(text: string): boolean {
  return text.length === 0 || (isSpace(text.charCodeAt(0)) && text.trim() === '');
}

/** `roles/unknown`: a role other than human and gpt. */
function roleKnown(ctx: RecordContext, t: TurnFacts): void {
  if (typeof t.from === 'string' && t.from !== 'human' && t.from !== 'gpt') {
    report(ctx, {
      rule: R.rolesUnknown,
      pointer: `/conversations/${t.i}/from`,
      message: `Turn ${t.i} has role ${JSON.stringify(t.from)}; LLaVA knows only "human" and "gpt".`,
    });
  }
}

/** `value/empty` for a turn's value. */
function turnValueEmpty(ctx: RecordContext, t: TurnFacts): void {
  if (!t.blank) return;
  report(ctx, {
    rule: R.valueEmpty,
    pointer: `/conversations/${t.i}/value`,
    message: `Turn ${t.i} (${typeof t.from === 'string' ? t.from : '?'}) has ${t.text!.length === 0 ? 'an empty' : 'a whitespace-only'} value.`,
  });
}

/** `image/token-in-gpt`: an `<image>` token in an answer of a record with an image. */
function imageTokenInGpt(ctx: RecordContext, t: TurnFacts): void {
  if (t.at === -1 || t.from !== 'gpt' || !ctx.hasImageKey) return;
  report(ctx, {
    rule: R.imageTokenInGpt,
    pointer: `/conversations/${t.i}/value`,
    message: `Turn ${t.i} (gpt) contains ${t.count === 1 ? 'an `<image>` token' : `${t.count} \`<image>\` tokens`}.`,
    at: t.at,
  });
}

/** `image/placement`: the one `<image>` of a one-image record at the start or end of the first human turn. */
function imagePlacement(ctx: RecordContext, t: TurnFacts): void {
  if (t.at === -1 || t.from === 'gpt') return;
  if (!(ctx.images === 1 && t.count === 1 && ctx.hasImageKey && ctx.humanTokens === t.count)) return;
  const text = t.text!;
  const first = ctx.firstHuman;
  const placed = t.i === first && (text === IMAGE_TOKEN || text.startsWith('<image>\n') || text.endsWith('\n<image>'));
  if (placed) return;
  report(ctx, {
    rule: R.imagePlacement,
    pointer: `/conversations/${t.i}/value`,
    message:
      t.i !== first
        ? `\`<image>\` is in human turn ${t.i}, not the first human turn (${first}).`
        : '`<image>` is inside the text, not as "<image>\\n…" or "…\\n<image>"; LLaVA moves it to the front.',
    at: t.at,
  });
}

/** `value/whitespace`: turns with leading or trailing whitespace, reported once per record. */
function valueWhitespace(ctx: RecordContext): undefined {
  const count = ctx.whitespaceTurns;
  const first = ctx.firstWhitespace;
  if (count === 0) return undefined;
  report(ctx, {
    rule: R.valueWhitespace,
    pointer: `/conversations/${first}/value`,
    message:
      count === 1
        ? `Turn ${first} has leading or trailing whitespace.`
        : `${count} turns have leading or trailing whitespace (first: turn ${first}).`,
    data: { turns: count },
  });
  return undefined;
}

/** `roles/leading-gpt`, `roles/alternation`, `roles/trailing-human`: LLaVA drops one leading gpt turn, then asserts strict alternation. */
function roleOrder(ctx: RecordContext): undefined {
  if (ctx.unknownRole) return undefined;
  const { turns } = ctx;
  const roleOf = (i: number): unknown => {
    const turn = turns[i] as Record<string, unknown> | null;
    return turn !== null && typeof turn === 'object' ? turn.from : undefined;
  };
  let start = 0;
  if (roleOf(0) === 'gpt') {
    report(ctx, {
      rule: R.rolesLeadingGpt,
      pointer: '/conversations/0/from',
      message: 'The conversation starts with a gpt turn; LLaVA drops it.',
    });
    start = 1;
  }
  let last: unknown;
  for (let i = start; i < turns.length; i++) {
    const role = roleOf(i);
    if (typeof role !== 'string') return undefined;
    const expected = (i - start) % 2 === 0 ? 'human' : 'gpt';
    if (role !== expected) {
      report(ctx, {
        rule: R.rolesAlternation,
        pointer: `/conversations/${i}/from`,
        message: `Turn ${i} is ${role} where ${expected} is expected (${i > start ? `after ${String(roleOf(i - 1))}` : 'first turn'}).`,
      });
      return undefined;
    }
    last = role;
  }
  if (last === 'human') {
    report(ctx, {
      rule: R.rolesTrailingHuman,
      pointer: `/conversations/${turns.length - 1}/from`,
      message: 'The conversation ends with a human turn that has no gpt answer.',
    });
  }
  return undefined;
}

/** `image/token-count` (one `<image>` per image in the human turns), `image/token-text-only` (tokens, no image). */
function imageTokenCount(ctx: RecordContext): undefined {
  const { images, humanTokens, gptTokens, turns } = ctx;
  if (images > 0 && ctx.hasImageKey) {
    if (humanTokens === images) return undefined;
    const what = ctx.videoAsImage
      ? images === 1
        ? 'one video'
        : `${images} videos`
      : images === 1
        ? 'one image'
        : `${images} images`;
    if (humanTokens === 0) {
      report(ctx, {
        rule: R.imageTokenCount,
        pointer: ctx.videoAsImage ? '/video' : '/image',
        message: ctx.videoAsImage
          ? `The record has ${what} but no \`<video>\` (or LLaVA-Video's \`<image>\`) token in its human turns: the video is ignored.`
          : `The record has ${what} but no \`<image>\` token in its human turns: LLaVA silently ignores the image.`,
        data: { images, tokens: 0 },
      });
      return undefined;
    }
    const turn = humanTokens > images ? ctx.extraTokenTurn : ctx.firstTokenTurn;
    report(ctx, {
      rule: R.imageTokenCount,
      pointer: `/conversations/${turn}/value`,
      message: `The human turns have ${humanTokens} \`<image>\` tokens for ${what}; there must be exactly one per image.`,
      data: { images, tokens: humanTokens },
      at: tokenIndex(turns, turn),
    });
  } else if (ctx.textOnly && humanTokens + gptTokens > 0) {
    const turn = firstTokenIndex(turns);
    report(ctx, {
      rule: R.imageTokenTextOnly,
      pointer: `/conversations/${turn}/value`,
      message: `The record has no \`image\` but ${humanTokens + gptTokens === 1 ? 'an `<image>` token' : `${humanTokens + gptTokens} \`<image>\` tokens`}; LLaVA keeps it as literal text.`,
      at: tokenIndex(turns, turn),
    });
  }
  return undefined;
}

/** The per-turn rules, in the order their findings are reported for each turn. */
export const TURN_RULES: readonly TurnRule[] = [
  { name: 'roleKnown', raises: [R.rolesUnknown], check: roleKnown },
  { name: 'turnValueEmpty', raises: [R.valueEmpty], check: turnValueEmpty },
  { name: 'imageTokenInGpt', raises: [R.imageTokenInGpt], check: imageTokenInGpt },
  { name: 'imagePlacement', raises: [R.imagePlacement], check: imagePlacement },
];

/** The per-record rules of LLaVA records, in the order their findings are reported. */
export const RECORD_RULES: readonly RecordRule[] = [
  { name: 'schemaShape', raises: [R.schemaRequired, R.schemaType], check: schemaShape },
  { name: 'imagePaths', raises: [R.valueEmpty, R.imageList], check: imagePaths },
  { name: 'videoTokenCount', raises: [R.videoTokenCount], check: videoTokenCount },
  { name: 'conversationsPresent', raises: [R.conversationsEmpty], check: conversationsPresent },
  { name: 'eachTurn', raises: TURN_RULES.flatMap((r) => r.raises), check: eachTurn },
  { name: 'valueWhitespace', raises: [R.valueWhitespace], check: valueWhitespace },
  { name: 'roleOrder', raises: [R.rolesLeadingGpt, R.rolesAlternation, R.rolesTrailingHuman], check: roleOrder },
  { name: 'imageTokenCount', raises: [R.imageTokenCount, R.imageTokenTextOnly], check: imageTokenCount },
];

const TURN_CHECKS = TURN_RULES.map((rule) => rule.check);
const RECORD_CHECKS = RECORD_RULES.map((rule) => rule.check);
const NO_TURNS: unknown[] = [];
const NO_RECORD: Record<string, unknown> = {};
/** One context and one turn for every check: the checks are synchronous, so they are reused (no allocation). */
const FACTS: TurnFacts = { i: 0, from: undefined, text: undefined, blank: false, at: -1, count: 0 };
const CTX: RecordContext = {
  record: NO_RECORD,
  kind: 'llava',
  schemaStep: true,
  out: undefined,
  images: 0,
  videos: 0,
  videoTokens: 0,
  videoAsImage: false,
  hasImageKey: false,
  textOnly: false,
  turns: NO_TURNS,
  unknownRole: false,
  firstHuman: -1,
  humanTokens: 0,
  gptTokens: 0,
  firstTokenTurn: -1,
  extraTokenTurn: -1,
  whitespaceTurns: 0,
  firstWhitespace: -1,
};

/** Run the per-record rules on one value; `undefined` when nothing was found (the common case). */
export function checkValue(value: unknown, kind: ValidationKind, schemaStep: boolean): Finding[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ rule: R.schemaType, pointer: '', message: `The record is ${describe(value)}, not an object.` }];
  }
  const record = value as Record<string, unknown>;
  if (kind === 'metadata') return checkMetadata(record);
  const image = record.image;
  const video = record.video;
  const imageKey = typeof image === 'string' || Array.isArray(image);
  const videos = typeof video === 'string' ? 1 : Array.isArray(video) ? video.length : 0;
  // `<video>` tokens (LLaMA-Factory, ms-swift) are counted against the videos; without any, and without an image
  // key, LLaVA-Video's own placeholder `<image>` stands for the video frames and is counted against the videos.
  const videoTokens = countVideoTokens(record.conversations);
  const videoAsImage = videos > 0 && videoTokens === 0 && !imageKey;
  const ctx = CTX;
  ctx.record = record;
  ctx.kind = kind;
  ctx.schemaStep = schemaStep;
  ctx.out = undefined;
  ctx.images = (typeof image === 'string' ? 1 : Array.isArray(image) ? image.length : 0) + (videoAsImage ? videos : 0);
  ctx.videos = videos;
  ctx.videoTokens = videoTokens;
  ctx.videoAsImage = videoAsImage;
  ctx.hasImageKey = imageKey || videoAsImage;
  ctx.textOnly = image === undefined && video === undefined;
  ctx.turns = NO_TURNS;
  ctx.unknownRole = false;
  ctx.firstHuman = -1;
  ctx.humanTokens = 0;
  ctx.gptTokens = 0;
  ctx.firstTokenTurn = -1;
  ctx.extraTokenTurn = -1;
  ctx.whitespaceTurns = 0;
  ctx.firstWhitespace = -1;
  for (let r = 0; r < RECORD_CHECKS.length; r++) if (RECORD_CHECKS[r]!(ctx)) break;
  const out = ctx.out;
  ctx.out = undefined;
  ctx.record = NO_RECORD;
  ctx.turns = NO_TURNS;
  return out;
}
