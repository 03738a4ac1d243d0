/** Helpers of the per-record rules: the metadata check, schema findings, value descriptions, token counts. */
import { getAtPointer } from '@llavakit/diagnostics';
import type { Finding } from './finding.js';
import { IMAGE_TOKEN, VIDEO_TOKEN } from './record.js';
import { validationRules as R } from './rules.js';

/** A metadata record: an object with a non-empty `image` path; an `id`, when present, a string or an integer. */
export function checkMetadata(record: Record<string, unknown>): Finding[] | undefined {
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

export function schemaFinding(record: Record<string, unknown>, pointer: string): Finding {
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

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the non-integer ${value}`;
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (value === undefined) return 'missing';
  return `an ${typeof value}`;
}

export function emptyImageMessage(path: string): string {
  return `The image path is ${path === '' ? 'empty' : 'whitespace only'}; LLaVA tests key presence and would open the image folder itself.`;
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xa0 || c === 0x3000;
}

/** `<video>` tokens in the turns that are not gpt answers. */
export function countVideoTokens(turns: unknown): number {
  if (!Array.isArray(turns)) return 0;
  let count = 0;
  for (const turn of turns) {
    const text = (turn as { value?: unknown } | null)?.value;
    if (typeof text !== 'string' || !text.includes(VIDEO_TOKEN)) continue;
    for (let i = text.indexOf(VIDEO_TOKEN); i !== -1; i = text.indexOf(VIDEO_TOKEN, i + VIDEO_TOKEN.length)) count++;
  }
  return count;
}

export function countFrom(text: string, at: number): number {
  let count = 0;
  for (let i = at; i !== -1; i = text.indexOf(IMAGE_TOKEN, i + IMAGE_TOKEN.length)) count++;
  return count;
}

function valueOfTurn(turns: unknown[], i: number): string | undefined {
  const turn = turns[i] as Record<string, unknown> | null | undefined;
  const v = turn !== null && typeof turn === 'object' ? turn.value : undefined;
  return typeof v === 'string' ? v : undefined;
}

export function tokenIndex(turns: unknown[], i: number): number {
  const v = valueOfTurn(turns, i);
  if (v === undefined) return 0;
  // for an extra token, centre on the last token of the turn
  const last = v.lastIndexOf(IMAGE_TOKEN);
  return last === -1 ? 0 : last;
}

export function firstTokenIndex(turns: unknown[]): number {
  for (let i = 0; i < turns.length; i++) if (valueOfTurn(turns, i)?.includes(IMAGE_TOKEN)) return i;
  return 0;
}
