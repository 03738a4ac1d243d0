/**
 * The per-record half of a validation, over one batch of element bytes: parse (and decode, for a format that is not
 * LLaVA) each element and run the per-record rules on it, exactly as `readForValidation` and `llava validate` do
 * record by record. A worker thread runs it (`validate-worker.ts`), and so does a validation in one thread
 * (`validate.ts`): the cross-record half runs on the results in input order.
 */
import type { Diagnostic } from '@llavakit/diagnostics';
import type { FormatPlugin, RecordContext } from '@llavakit/format';
import type { ReadItem } from '@llavakit/reader';
import { imageHash } from '@llavakit/schema/facts';
import { recordIdOf } from '../../formats/shared/record-id.js';
import { sourcePointer, withPlace } from '../validate-places.js';
import type { ElementReading } from './feed.js';
import { PlainReader, plainString } from './plain.js';
import {
  type BatchMessage,
  type CheckedRecord,
  elementPlace,
  type PlainFacts,
  type ValidationSetup,
} from './protocol.js';

type Full = typeof import('./validate-full.js');

/**
 * The checked records of a batch (a plain record's facts alone), or null (another run's record, or after a fatal
 * error), and the fatal error.
 */
export interface CheckedBatch {
  readonly records: (CheckedRecord | PlainFacts | null)[];
  /** The fatal error that ended the read at element `fatalAt` (-1: none). */
  readonly fatalAt: number;
  readonly fatal?: Diagnostic;
}

/** The batch checker of a validation: `decode` is the format's, when records are decoded before they are checked. */
export function createBatchChecker(
  setup: ValidationSetup,
  decode: FormatPlugin<object>['decode'] | undefined,
): (
  batch: Pick<BatchMessage, 'buffer' | 'starts' | 'ends' | 'places' | 'keep' | 'rejected' | 'known'>,
) => Promise<CheckedBatch> {
  const file = setup.file;
  // The parser and the rules, loaded with the first record that is not plain.
  let full: Full | undefined;
  let check: ReturnType<Full['createRecordValidator']> | undefined;
  const load = async () => {
    full = await import('./validate-full.js');
    check = full.createRecordValidator({ file, kind: setup.kind, ignore: setup.ignore });
    return full;
  };
  const context: RecordContext<object> & { index: number } = {
    options: setup.formatOptions,
    file,
    index: 0,
    report: () => undefined,
    count: () => undefined,
    images: { rewrite: (path) => path, readBytes: async () => undefined },
  };

  // Plain records (./plain.ts) have no per-record findings: only their facts are sent, without parsing them. For
  // LLaVA records checked as they are (not decoded by another format).
  const plain = !decode && setup.kind === 'llava' ? new PlainReader() : undefined;

  return async (batch) => {
    const bytes = Buffer.from(batch.buffer);
    const n = batch.ends.length;
    const records: (CheckedRecord | PlainFacts | null)[] = new Array(n).fill(null);
    for (let k = 0; k < n; k++) {
      const start = batch.starts[k]!;
      const end = batch.ends[k]!;
      const place = elementPlace(batch.places, k, end - start);
      const rejected = batch.rejected?.find((r) => r.k === k);
      // (read already when the scanner's element reader took it: see `plainValidation`)
      const known = batch.known?.[k] as PlainFacts | undefined;
      if (known || (plain && !rejected && plain.read(bytes, start, end))) {
        if (batch.keep && batch.keep[k] === 0) continue;
        records[k] = known ?? plainFactsOf(plain!, bytes, start, place.index);
        continue;
      }
      const f = full ?? (await load());
      let item: ReadItem;
      let value: unknown;
      let failed: CheckedRecord | undefined;
      try {
        item = rejected
          ? { ok: false, diagnostic: rejected.diagnostic, place: { ...place, length: rejected.length }, text: '' }
          : f.parseElement(bytes.subarray(start, end), place, file);
        if (!item.ok) failed = { i: place.index, d: [withPlace(item.diagnostic, place)] };
        else if (decode) {
          context.index = place.index;
          const result = decode(item.value, context);
          if (result.ok) value = result.record;
          else {
            const id = recordIdOf(item.value);
            failed = {
              i: place.index,
              d: result.diagnostics.map((d) =>
                withPlace({ ...d, ...(id !== undefined && d.recordId === undefined ? { recordId: id } : {}) }, place),
              ),
            };
          }
        } else value = item.value;
      } catch (error) {
        if (!f.DiagnosticError.is(error)) throw error;
        return { records, fatalAt: k, fatal: error.diagnostic };
      }
      if (batch.keep && batch.keep[k] === 0) continue;
      if (failed) {
        records[k] = failed;
        continue;
      }
      const { diagnostics, facts } = check!(value, place, decode ? undefined : item!.text);
      const raw = item!.ok ? item!.value : undefined;
      const d = decode
        ? diagnostics.map((x) => {
            const pointer = x.pointer !== undefined ? sourcePointer(x.pointer, raw) : x.pointer;
            return pointer === x.pointer ? x : { ...x, ...(pointer !== undefined ? { pointer } : {}) };
          })
        : diagnostics;
      records[k] = { i: place.index, ...(d.length > 0 ? { d } : {}), ...(facts ? { f: facts } : {}) };
    }
    return { records, fatalAt: -1 };
  };
}

/** The facts of the plain record `plain` just read from `bytes` (the element starting at `start`, record `index`). */
export function plainFactsOf(plain: PlainReader, bytes: Buffer, start: number, index: number): PlainFacts {
  const id =
    plain.idKind === 1
      ? plainString(bytes, plain.idStart, plain.idEnd)
      : Number(bytes.toString('latin1', plain.idStart, plain.idEnd));
  if (plain.imageStart < 0) return [index, id, 0, plain.idEnd - start];
  const image = plainString(bytes, plain.imageStart, plain.imageEnd);
  return [index, id, imageHash(image), plain.imageEnd - start, image];
}

/**
 * For a validation in this thread of LLaVA records checked as they are: the scanner reads plain records itself (the
 * in-thread runner's `known`), so their bytes are gone through once, not scanned and then read; the batch checker
 * takes their facts as they are. Their bytes stay in the batch: the places of the cross-record rules are read there.
 */
export function plainValidation(): ElementReading {
  const reader = new PlainReader();
  return { reader, bytes: true, make: (bytes, start, _end, index) => plainFactsOf(reader, bytes, start, index) };
}
