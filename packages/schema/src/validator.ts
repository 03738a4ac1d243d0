import {
  type Diagnostic,
  diagnose,
  excerpt,
  getAtPointer,
  type Place,
  placeInText,
  type RuleMeta,
} from '@llavakit/diagnostics';
import { locatePointer } from './locate.js';
import { IMAGE_TOKEN, type LlavaRecord, parseRecord, type RecordId, VIDEO_TOKEN } from './record.js';
import { validationRules as R } from './rules.js';

/**
 * Which trainer the data is meant for. `llava` (default): LLaVA v1/v1.5 — `image` is one path string. `llava-next`:
 * LLaVA-NeXT/OneVision — `image` may also be a list of paths (one `<image>` per path).
 */
export type ValidationKind = 'llava' | 'llava-next' | 'metadata';

/**
 * The kinds {@link createValidator} understands. `metadata`: a pretraining metadata file (CC-3M `metadata.json`,
 * `blip_laion_cc_sbu_558k_meta.json`): records with an `image` path (and usually `id`, captions, URL), no
 * conversations; other keys are free.
 */
export const validationKinds: readonly ValidationKind[] = ['llava', 'llava-next', 'metadata'];

/**
 * Where a record is in its file: the reader's `RecordPlace` fits (index, byte offset, 1-based line and column of the
 * record's first byte; `-1`/`0` mean unknown).
 */
export interface ValidationPlace {
  readonly index: number;
  readonly offset?: number;
  readonly line?: number;
  readonly column?: number;
}

/** Options of {@link createValidator} and {@link createRecordChecker}. */
export interface ValidatorOptions {
  /** The file name put in diagnostics (as the user named it). */
  readonly file?: string;
  /** The trainer the data targets (default `llava`). */
  readonly kind?: ValidationKind;
  /**
   * Rule ids not applied (e.g. `image/placement` for a format whose trainer takes `<image>` anywhere). Only
   * {@link createValidator} honours it.
   */
  readonly ignore?: readonly string[];
}

/** A validator of one file: per-record rules in {@link Validator.check}, cross-record rules in {@link Validator.finish}. */
export interface Validator {
  /**
   * Check one record (a parsed JSON value) against the per-record rules and the streaming cross-record ones
   * (duplicate ids). `text`, the record's raw JSON, lets diagnostics point at the offending line. Returns the
   * diagnostics found, in record order (a shared empty array when there are none: do not mutate it).
   */
  check(value: unknown, place: ValidationPlace, text?: string): readonly Diagnostic[];
  /** Run the file-level rules (mixed id types, image path forms) once every record was checked. */
  finish(): Diagnostic[];
  /** Records checked so far. */
  readonly records: number;
}

/** The record a `convert` check receives (`SourceRecord` of @llavakit/format fits). */
export interface CheckSource {
  readonly record: LlavaRecord;
  readonly index: number;
  readonly file: string;
  readonly place?: ValidationPlace;
}

const NONE: readonly Diagnostic[] = Object.freeze([]);
const SOURCE = 'validate';

/**
 * Create the validator of one file. `check` is allocation-light on clean records (it is on the hot path of
 * `convert`); ids are kept (one map entry per record) to find duplicates as they appear.
 *
 * @example
 * ```ts
 * const validator = createValidator({ file: 'data.json' });
 * for await (const item of readRecords('data.json')) {
 *   if (item.ok) for (const d of validator.check(item.value, item.place, item.text)) console.log(formatDiagnostic(d));
 * }
 * for (const d of validator.finish()) console.log(formatDiagnostic(d));
 * ```
 */
export function createValidator(options: ValidatorOptions = {}): Validator {
  const kind = options.kind ?? 'llava';
  const file = options.file;
  const ignore = options.ignore && options.ignore.length > 0 ? new Set(options.ignore) : undefined;
  const ids = new IdTable();
  const idTypes = { string: new TypeTally(), integer: new TypeTally() };
  const pathForms = new PathForms();
  const images = new ImageHashes();
  let records = 0;

  return {
    get records() {
      return records;
    },
    check(value, place, text) {
      records++;
      let found = checkValue(value, kind, true);
      const record = value as Record<string, unknown> | null;
      if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
        const id = record.id;
        if (typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) {
          (typeof id === 'string' ? idTypes.string : idTypes.integer).add(place, id, text);
          const duplicate = duplicateOf(id, place.index, ids, images.note(place.index, record.image));
          if (duplicate) (found === undefined ? (found = []) : found).push(duplicate);
        }
        const image = record.image;
        if (typeof image === 'string') pathForms.add(image, '/image', place, id, text);
        else if (Array.isArray(image)) {
          for (let k = 0; k < image.length; k++) {
            const path = image[k];
            if (typeof path === 'string') pathForms.add(path, `/image/${k}`, place, id, text);
          }
        }
      }
      if (found !== undefined && ignore) found = found.filter((f) => !ignore.has(f.rule.id));
      if (found === undefined || found.length === 0) return NONE;
      return found.map((f) => toDiagnostic(f, value, place, text, file));
    },
    finish() {
      const out: Diagnostic[] = [];
      const mixed = mixedIdTypes(idTypes, file);
      if (mixed) out.push(mixed);
      const forms = pathForms.diagnostic(file);
      if (forms) out.push(forms);
      return ignore ? out.filter((d) => !ignore.has(d.ruleId)) : out;
    },
  };
}

/**
 * Create the per-record check `convert` runs before encoding (`ConvertOptions.check`): the per-record rules only
 * (no duplicate ids or file-level rules). Errors reject the record; warnings and infos are notes. The schema step is
 * skipped: the records it receives are already canonical.
 *
 * @example
 * ```ts
 * await convert({ inputs, to: 'sharegpt', output, registry, check: createRecordChecker() });
 * ```
 */
export function createRecordChecker(
  options: Pick<ValidatorOptions, 'kind'> = {},
): (source: CheckSource) => readonly Diagnostic[] {
  const kind = options.kind ?? 'llava';
  return (source) => {
    const found = checkValue(source.record, kind, false);
    if (found === undefined) return NONE;
    const place = source.place ?? { index: source.index };
    return found.map((f) => toDiagnostic(f, source.record, place, undefined, source.file));
  };
}

/**
 * Check one record value against the per-record rules and return the diagnostics (no file-level rules).
 *
 * @example
 * ```ts
 * checkRecord({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] });
 * // [{ ruleId: 'image/token-count', severity: 'error', … }]
 * ```
 */
export function checkRecord(
  value: unknown,
  options: ValidatorOptions & { readonly place?: ValidationPlace; readonly text?: string } = {},
): readonly Diagnostic[] {
  const found = checkValue(value, options.kind ?? 'llava', true);
  if (found === undefined) return NONE;
  const place = options.place ?? { index: 0 };
  return found.map((f) => toDiagnostic(f, value, place, options.text, options.file));
}

// ---------------------------------------------------------------------------------------------------- per-record

/** A finding before it is dressed as a diagnostic (kept small: findings are rare). */
interface Finding {
  readonly rule: RuleMeta;
  readonly pointer: string;
  readonly message: string;
  readonly data?: Record<string, unknown>;
  /** Character index inside the string at the pointer to centre the excerpt on. */
  readonly at?: number;
  /** Overrides the rule's default severity. */
  readonly severity?: Diagnostic['severity'];
}

function checkValue(value: unknown, kind: ValidationKind, schemaStep: boolean): Finding[] | undefined {
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

// ---------------------------------------------------------------------------------------------------- dressing

function toDiagnostic(
  f: Finding,
  value: unknown,
  place: ValidationPlace,
  text: string | undefined,
  file: string | undefined,
): Diagnostic {
  const where = pointerPlace(place, f.pointer, text);
  return diagnose(f.rule, {
    message: f.message,
    severity: f.severity,
    file,
    recordIndex: place.index,
    recordId: idOf(value),
    pointer: f.pointer,
    place: where,
    excerpt: excerptAt(value, f.pointer, f.at),
    source: SOURCE,
    data: f.data,
  });
}

/** The place of the value at `pointer`, inside the record's text when it is known, else the record's own place. */
function pointerPlace(place: ValidationPlace, pointer: string, text: string | undefined): Place | undefined {
  const base = recordPlace(place);
  if (text === undefined || base === undefined || pointer === '') return base;
  const index = locatePointer(text, pointer);
  return index > 0 ? placeInText(text, index, base) : base;
}

function recordPlace(place: ValidationPlace): Place | undefined {
  const out: { offset?: number; line?: number; column?: number } = {};
  if (place.offset !== undefined && place.offset >= 0) out.offset = place.offset;
  if (place.line !== undefined && place.line > 0) {
    out.line = place.line;
    out.column = place.column !== undefined && place.column > 0 ? place.column : 1;
  }
  return out.offset === undefined && out.line === undefined ? undefined : out;
}

function idOf(value: unknown): RecordId | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const id = (value as Record<string, unknown>).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : undefined;
}

const EXCERPT = 80;

function excerptAt(value: unknown, pointer: string, at = 0): string | undefined {
  const target = pointer === '' ? value : getAtPointer(value, pointer);
  if (typeof target === 'string') return `"${excerpt(target, EXCERPT, at)}"`;
  if (target === undefined) {
    // a missing key: show the record around it
    const slash = pointer.lastIndexOf('/');
    const parent = slash <= 0 ? value : getAtPointer(value, pointer.slice(0, slash));
    return parent === undefined ? undefined : jsonExcerpt(parent);
  }
  return jsonExcerpt(target);
}

function jsonExcerpt(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > EXCERPT ? `${json.slice(0, EXCERPT)}…` : json;
}

// ---------------------------------------------------------------------------------------------------- cross-record

function duplicateOf(
  id: string | number,
  index: number,
  ids: IdTable,
  images: (first: number) => boolean,
): Finding | undefined {
  const isNumber = typeof id === 'number';
  const seen = ids.addOrGet(isNumber ? String(id) : id, index, isNumber);
  if (seen === undefined) return undefined;
  const first = seen.index;
  const other = seen.isNumber === isNumber ? undefined : isNumber ? String(id) : Number(id);
  const sameImage = other === undefined && images(first);
  return {
    rule: R.idDuplicate,
    pointer: '/id',
    message:
      other !== undefined
        ? `Id ${JSON.stringify(id)} equals id ${JSON.stringify(other)} of record #${first} once ids are strings.`
        : sameImage
          ? `Id ${JSON.stringify(id)} repeats record #${first}, with the same image (another conversation about it).`
          : `Id ${JSON.stringify(id)} was already used by record #${first}.`,
    ...(sameImage ? { severity: 'info' as const } : {}),
    data: { firstIndex: first, sameImage },
  };
}

/**
 * The ids seen so far, compactly: an open-addressing table of two independent 32-bit hashes of the id text (64 bits:
 * a false match among a million ids has odds of about 1 in 10^7) and the first record index with its id type —
 * 12 bytes per slot instead of a string and a map entry (~60 bytes) per record.
 */
class IdTable {
  private mask = (1 << 16) - 1;
  private h1 = new Int32Array(this.mask + 1);
  private h2 = new Int32Array(this.mask + 1);
  /** `index * 2 + (isNumber ? 1 : 0) + 1`; 0 = empty slot. */
  private slots = new Int32Array(this.mask + 1);
  private size = 0;

  /** Add an id; if it was there, return the first record that had it (and whether that id was an integer). */
  addOrGet(text: string, index: number, isNumber: boolean): { index: number; isNumber: boolean } | undefined {
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ text.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a |= 0;
    b |= 0;
    for (let slot = (a ^ (b >>> 7)) & this.mask; ; slot = (slot + 1) & this.mask) {
      const v = this.slots[slot]!;
      if (v === 0) {
        if (index < 0 || index > 0x3ffffffe) return undefined;
        this.h1[slot] = a;
        this.h2[slot] = b;
        this.slots[slot] = index * 2 + (isNumber ? 1 : 0) + 1;
        if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
        return undefined;
      }
      if (this.h1[slot] === a && this.h2[slot] === b) return { index: (v - 1) >>> 1, isNumber: ((v - 1) & 1) === 1 };
    }
  }

  private grow(): void {
    const { h1, h2, slots } = this;
    this.mask = this.mask * 2 + 1;
    this.h1 = new Int32Array(this.mask + 1);
    this.h2 = new Int32Array(this.mask + 1);
    this.slots = new Int32Array(this.mask + 1);
    for (let i = 0; i < slots.length; i++) {
      if (slots[i] === 0) continue;
      const a = h1[i]!;
      const b = h2[i]!;
      let slot = (a ^ (b >>> 7)) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.h1[slot] = a;
      this.h2[slot] = b;
      this.slots[slot] = slots[i]!;
    }
  }
}

/**
 * A 32-bit hash of each record's image, by record index (4 bytes per record), so that a repeated id can be told apart:
 * same image (several conversations about one image, as in LLaVA-Instruct-150K) or a real clash.
 */
class ImageHashes {
  private hashes = new Int32Array(1024);

  /** Remember the image of record `index`; returns a test "does record `first` have the same (non-empty) image?". */
  note(index: number, image: unknown): (first: number) => boolean {
    const hash = imageHash(image);
    if (index >= 0) {
      if (index >= this.hashes.length) {
        const grown = new Int32Array(Math.max(index + 1, this.hashes.length * 2));
        grown.set(this.hashes);
        this.hashes = grown;
      }
      this.hashes[index] = hash;
    }
    return (first) => hash !== 0 && first >= 0 && first < this.hashes.length && this.hashes[first] === hash;
  }
}

function imageHash(image: unknown): number {
  if (typeof image === 'string') return fnv(image, 0x811c9dc5) || 1;
  if (Array.isArray(image)) {
    let h = 0x811c9dc5;
    for (const path of image) h = fnv(typeof path === 'string' ? `${path}\u0000` : '\u0001', h);
    return h || 1;
  }
  return 0;
}

function fnv(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Counts records of one id type and remembers the first. */
class TypeTally {
  count = 0;
  first?: { index: number; place: Place | undefined; id: string | number };
  add(place: ValidationPlace, id: string | number, text: string | undefined): void {
    if (this.count++ === 0) this.first = { index: place.index, place: pointerPlace(place, '/id', text), id };
  }
}

function mixedIdTypes(
  types: { string: TypeTally; integer: TypeTally },
  file: string | undefined,
): Diagnostic | undefined {
  const { string: s, integer: n } = types;
  if (s.count === 0 || n.count === 0 || !s.first || !n.first) return undefined;
  const later = s.first.index > n.first.index ? s.first : n.first;
  return diagnose(R.idMixedTypes, {
    message: `Ids mix ${s.count} string(s) (first: record #${s.first.index}) and ${n.count} integer(s) (first: record #${n.first.index}); Hugging Face datasets/Arrow cannot load a column of mixed types.`,
    file,
    recordIndex: later.index,
    recordId: later.id,
    pointer: '/id',
    place: later.place,
    excerpt: JSON.stringify(later.id),
    source: SOURCE,
    data: {
      string: { count: s.count, firstIndex: s.first.index },
      integer: { count: n.count, firstIndex: n.first.index },
    },
  });
}

/** The form of an image path: how it must be joined to an image folder. */
export type PathForm = 'bare' | 'prefixed' | 'absolute' | 'url';

/**
 * Classify an image path: `url` (`scheme://…`), `absolute` (`/…`, `C:\…`, `\\server\…`), `prefixed` (a relative
 * path with a folder, e.g. `coco/train2017/1.jpg`, whose first segment is returned as `prefix`) or `bare` (a file
 * name alone).
 *
 * @example
 * ```ts
 * classifyPath('coco/train2017/000000033471.jpg'); // { form: 'prefixed', prefix: 'coco' }
 * ```
 */
export function classifyPath(path: string): { form: PathForm; prefix?: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return { form: 'url' };
  if (path.startsWith('/') || path.startsWith('\\') || /^[a-z]:[\\/]/i.test(path)) return { form: 'absolute' };
  const rel = path.startsWith('./') ? path.slice(2) : path;
  const sep = rel.search(/[\\/]/);
  if (sep === -1) return { form: 'bare' };
  return { form: 'prefixed', prefix: rel.slice(0, sep) };
}

interface PathExample {
  readonly path: string;
  readonly index: number;
  readonly pointer: string;
  readonly place: Place | undefined;
  readonly id: unknown;
}

const MAX_PREFIXES = 16;

class PathForms {
  private readonly counts: Record<PathForm, number> = { bare: 0, prefixed: 0, absolute: 0, url: 0 };
  private readonly examples: Partial<Record<PathForm, PathExample>> = {};
  private readonly prefixes = new Map<string, number>();
  private firstForm: PathForm | undefined;
  private firstOther: PathExample | undefined;

  add(path: string, pointer: string, place: ValidationPlace, id: unknown, text: string | undefined): void {
    if (path === '') return;
    const { form, prefix } = classifyPath(path);
    this.counts[form]++;
    if (prefix !== undefined && (this.prefixes.size < MAX_PREFIXES || this.prefixes.has(prefix))) {
      this.prefixes.set(prefix, (this.prefixes.get(prefix) ?? 0) + 1);
    }
    if (this.examples[form] === undefined) {
      const example = { path, index: place.index, pointer, place: pointerPlace(place, pointer, text), id };
      this.examples[form] = example;
      if (this.firstForm === undefined) this.firstForm = form;
      else if (this.firstOther === undefined && conflicts(this.firstForm, form)) this.firstOther = example;
    }
  }

  diagnostic(file: string | undefined): Diagnostic | undefined {
    const c = this.counts;
    const relative = c.bare + c.prefixed;
    const mixed = (c.bare > 0 && c.prefixed > 0) || (relative > 0 && c.absolute + c.url > 0);
    if (!mixed || !this.firstOther) return undefined;
    const parts: string[] = [];
    for (const form of ['bare', 'prefixed', 'absolute', 'url'] as const) {
      const example = this.examples[form];
      if (c[form] === 0 || !example) continue;
      let label: string = form;
      if (form === 'prefixed') {
        const top = [...this.prefixes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
        label = `prefixed (${top.map(([p, n]) => `${p}/ ${n}`).join(', ')}${this.prefixes.size > 3 ? ', …' : ''})`;
      }
      parts.push(`${c[form]} ${label}, e.g. ${JSON.stringify(example.path)} at #${example.index}`);
    }
    const at = this.firstOther;
    return diagnose(R.imagePathForms, {
      message: `Image paths mix forms: ${parts.join('; ')}.`,
      file,
      recordIndex: at.index,
      recordId: typeof at.id === 'string' || typeof at.id === 'number' ? at.id : undefined,
      pointer: at.pointer,
      place: at.place,
      excerpt: JSON.stringify(at.path),
      source: SOURCE,
      data: {
        counts: { ...c },
        prefixes: Object.fromEntries(this.prefixes),
        examples: Object.fromEntries(
          Object.entries(this.examples).map(([form, e]) => [form, { path: e.path, recordIndex: e.index }]),
        ),
      },
    });
  }
}

function conflicts(a: PathForm, b: PathForm): boolean {
  if (a === b) return false;
  const relative = (f: PathForm) => f === 'bare' || f === 'prefixed';
  return relative(a) !== relative(b) || (relative(a) && relative(b));
}
