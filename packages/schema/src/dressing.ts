/**
 * The record "dressing" of the validator: a finding of a rule becomes a diagnostic with the record's file, index,
 * id, the place of the value in the file (inside the record's text when it is known) and an excerpt.
 */
import { type Diagnostic, diagnose, excerpt, getAtPointer, type Place, placeInText } from '@llavakit/diagnostics';
import type { Finding } from './finding.js';
import { locatePointer } from './locate.js';
import type { RecordId } from './record.js';
import type { ValidationPlace } from './validation-types.js';

/** The `source` of every validation diagnostic. */
export const SOURCE = 'validate';

export function toDiagnostic(
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
export function pointerPlace(place: ValidationPlace, pointer: string, text: string | undefined): Place | undefined {
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
