import type { Diagnostic } from '@llavakit/diagnostics';

/** A record-level `decode`, bound to its format and options: value and its index in its file → canonical record. */
export type RecordDecoder = (
  value: unknown,
  index: number,
  file: string,
) =>
  | { readonly ok: true; readonly record: unknown }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** The rule of a decode that threw or answered something that is not a decode result. */
export const DECODE_FAILED = 'view/decode-failed';

/**
 * Decode one value behind a wall: whatever `decode` does (throws, answers garbage), the result is a record or
 * diagnostics.
 */
export function decodeSafely(
  decode: RecordDecoder,
  value: unknown,
  index: number,
  file: string,
): { ok: true; record: Record<string, unknown> } | { ok: false; diagnostics: readonly Diagnostic[] } {
  const failed = (why: string) => ({
    ok: false as const,
    diagnostics: [
      {
        ruleId: DECODE_FAILED,
        severity: 'error' as const,
        message: `The format's decode failed on record ${index}: ${why}`,
        source: 'view',
        file,
        recordIndex: index,
      },
    ],
  });
  try {
    const out = decode(value, index, file) as unknown;
    const result = (out ?? {}) as { ok?: unknown; record?: unknown; diagnostics?: unknown };
    if (result.ok === true && typeof result.record === 'object' && result.record && !Array.isArray(result.record)) {
      return { ok: true, record: result.record as Record<string, unknown> };
    }
    if (result.ok === false && Array.isArray(result.diagnostics) && result.diagnostics.length > 0) {
      return { ok: false, diagnostics: result.diagnostics as Diagnostic[] };
    }
    return failed('it answered something that is not { ok: true, record } or { ok: false, diagnostics }');
  } catch (error) {
    let why: string;
    try {
      why = error instanceof Error ? error.message : String(error);
    } catch {
      why = 'an unprintable error';
    }
    return failed(why);
  }
}
