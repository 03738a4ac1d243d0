import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { createValidator } from '@llavakit/schema';
import type { DatasetIndex } from './dataset.js';
import { decodeSafely } from './decode.js';

/**
 * A record as the viewer shows it, whatever its source (one code path for JSON, decoded formats and Parquet): the
 * JSON text shown as its raw JSON, its value (the canonical record for Parquet and decoded formats), and its
 * embedded images.
 */
export interface Shown {
  readonly text: string;
  readonly parsed: { ok: true; value: unknown } | { ok: false; error: string };
  /** True when the value is a canonical record made from the file's row or value (Parquet, a `decode`). */
  readonly converted: boolean;
  readonly embedded?: ReadonlyMap<string, Uint8Array>;
}

function parse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** {@link Shown} of a JSON record from its text as in the file (decoded when the index has a `decode`). */
export function shownOfText(index: DatasetIndex, n: number, text: string): Shown {
  const parsed = parse(text);
  if (!parsed.ok || !index.decode) return { text, parsed, converted: false };
  const place = index.placeOf(n);
  const decoded = decodeSafely(index.decode, parsed.value, place.index, place.file.name);
  if (!decoded.ok) {
    return { text, parsed: { ok: false, error: decoded.diagnostics[0]!.message }, converted: false };
  }
  return { text: JSON.stringify(decoded.record), parsed: { ok: true, value: decoded.record }, converted: true };
}

/** {@link Shown} of any record. */
export async function shownRecord(index: DatasetIndex, n: number): Promise<Shown> {
  if (!index.isParquet(n)) return shownOfText(index, n, await index.readText(n));
  const one = await index.readParquet(n);
  return {
    text: one.text,
    parsed: one.record ? { ok: true, value: one.record } : { ok: false, error: one.invalid?.message ?? 'not a record' },
    converted: true,
    ...(one.embedded ? { embedded: one.embedded } : {}),
  };
}

/** The place the validator is given for a shown record: a converted record's text is not the file's (no offsets). */
export function validationPlaceOf(index: DatasetIndex, n: number, shown: Shown): { index: number; offset?: number } {
  const place = index.placeOf(n);
  return shown.converted ? { index: place.index } : { index: place.index, offset: place.offset };
}

/**
 * The duplicate-id diagnostics of record `n`, replayed: the index keeps only which earlier record has the same id
 * (a typed column, instead of ~100K diagnostic objects for mix665k), and the validator of `@llavakit/schema` checks
 * that record and this one again — the same rule, message and data as the full pass found.
 */
export async function duplicateDiagnostics(index: DatasetIndex, n: number, shown: Shown): Promise<Diagnostic[]> {
  const repeats = index.duplicateOf[n] ?? 0;
  if (repeats === 0 || !shown.parsed.ok) return [];
  const firstNo = repeats - 1;
  let first: Shown;
  try {
    first = await shownRecord(index, firstNo);
  } catch (error) {
    if (DiagnosticError.is(error)) return [];
    throw error;
  }
  if (!first.parsed.ok) return [];
  const place = index.placeOf(n);
  const validator = createValidator({ file: place.file.name, kind: place.file.kind });
  const text = (s: Shown) => (s.converted ? undefined : s.text);
  validator.check(first.parsed.value, validationPlaceOf(index, firstNo, first), text(first));
  return validator
    .check(shown.parsed.value, validationPlaceOf(index, n, shown), text(shown))
    .filter((d) => d.ruleId.startsWith('id/'));
}
