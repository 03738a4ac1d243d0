// (a module of its own, light: the validation worker threads import it without the pipeline)
import type { Diagnostic } from '@llavakit/diagnostics';
import type { RecordPlace } from '@llavakit/reader';

/**
 * The pointer into the record as written for a pointer into the canonical record decoded from it: turns of a
 * `messages` list (`/conversations/2/value` → `/messages/2/content`), the `images`/`videos` columns.
 */
export function sourcePointer(pointer: string, raw: unknown): string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return pointer;
  const v = raw as Record<string, unknown>;
  let out = pointer;
  if (!Array.isArray(v.conversations) && Array.isArray(v.messages)) {
    const roleKey = (v.messages[0] as { from?: unknown } | undefined)?.from !== undefined ? 'from' : 'role';
    const contentKey = roleKey === 'from' ? 'value' : 'content';
    out = out
      .replace(/^\/conversations\/(\d+)\/from$/, `/messages/$1/${roleKey}`)
      .replace(/^\/conversations\/(\d+)\/value$/, `/messages/$1/${contentKey}`)
      .replace(/^\/conversations(?=\/|$)/, '/messages');
  }
  if ('images' in v) out = out.replace(/^\/image(?=\/|$)/, '/images');
  if ('videos' in v) out = out.replace(/^\/video(?=\/|$)/, '/videos');
  return out;
}

/** A diagnostic of a record with the record's index and place when it lacks them (shared with the worker threads). */
export function withPlace(d: Diagnostic, place: RecordPlace): Diagnostic {
  if (d.place && d.recordIndex !== undefined) return d;
  return {
    ...d,
    recordIndex: d.recordIndex ?? place.index,
    ...(d.place || place.line <= 0
      ? {}
      : { place: { ...(place.offset >= 0 ? { offset: place.offset } : {}), line: place.line, column: place.column } }),
  };
}
