import type { Place } from '@llavakit/diagnostics';
import type { RecordPlace } from '@llavakit/reader';

/**
 * The place of a diagnostic about a record: where the record starts in its file (byte offset, line, column), from
 * the place the reader gave it (which also holds its index and length).
 */
export function diagnosticPlace(place: Pick<RecordPlace, 'offset' | 'line' | 'column'>): Place {
  return { offset: place.offset, line: place.line, column: place.column };
}
