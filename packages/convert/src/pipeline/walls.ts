import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { FormatPlugin, ReadResult, RecordContext, SourceRecord } from '@llavakit/format';
import type { ReadItem } from '@llavakit/reader';
import type { LlavaRecord } from '@llavakit/schema';
import { recordIdOf } from '../formats/llava/index.js';
import { diagnosticPlace } from './place.js';
import { writerRules } from './rules.js';
import { findLoneSurrogate, hasEscapedLoneSurrogate, hasLoneSurrogate } from './text.js';

// The walls between `convert()` and the formats it runs: whatever a format's encode/decode/read/write does (throw,
// return a non-result, never settle, produce text no UTF-8 reader can hold), one record is rejected or the run
// fails with a diagnostic naming the format — never a crash, a hang or a corrupt output.

/** Thrown to end a conversion that stops on the data (`onInvalid: 'fail'`); its summary is already filled in. */
export class StopConversion extends Error {}

/** Give diagnostics of a record the record's file, index, id and place when they lack them. */
export function withPlace(diagnostics: readonly Diagnostic[], source: SourceRecord): Diagnostic[] {
  const id = source.record?.id;
  return diagnostics.map((d) => ({
    ...d,
    file: d.file ?? source.file,
    recordIndex: d.recordIndex ?? source.index,
    ...(id !== undefined && d.recordId === undefined ? { recordId: id } : {}),
    ...(d.place === undefined && source.place ? { place: diagnosticPlace(source.place) } : {}),
  }));
}

type EncodeOutcome = { ok: true; json: string } | { ok: false; diagnostics: readonly Diagnostic[] };

/**
 * Encode one record behind a wall: a throw, a result that is not `{ok, value}` / `{ok: false, diagnostics}`, a value
 * JSON cannot hold, an encode that does not settle in time, or text with a lone surrogate rejects the record.
 */
export function encodeOne(
  format: FormatPlugin<object>,
  source: SourceRecord,
  context: RecordContext<object>,
  watch: EncodeWatch,
): EncodeOutcome | Promise<EncodeOutcome> {
  // Text no UTF-8 writer can hold is refused before any format sees it (a format could turn it into U+FFFD silently).
  if (hasLoneSurrogate(source.record)) {
    return { ok: false, diagnostics: [loneSurrogate(format.name, source, findLoneSurrogate(source.record))] };
  }
  let pending: unknown;
  try {
    pending = format.encode!(source.record, context);
  } catch (error) {
    return { ok: false, diagnostics: [encodeFailure(format.name, source, error)] };
  }
  // Synchronous formats stay synchronous (no promise per record); asynchronous ones get the time limit.
  if (!isThenable(pending)) return encoded(format, source, pending);
  return watch.wrap(pending).then(
    (result) => encoded(format, source, result),
    (error: unknown) => ({ ok: false, diagnostics: [encodeFailure(format.name, source, error)] }),
  );
}

/** Check an encode result (reading each property once: a getter may throw) and serialise its value. */
function encoded(format: FormatPlugin<object>, source: SourceRecord, result: unknown): EncodeOutcome {
  const fail = (reason: unknown, threw = false): EncodeOutcome => ({
    ok: false,
    diagnostics: [encodeFailure(format.name, source, reason, threw)],
  });
  if (typeof result !== 'object' || result === null) {
    return fail(`returned ${result === null ? 'null' : typeof result}, not a result object`);
  }
  let json: string | undefined;
  let value: unknown;
  try {
    const ok = (result as { ok?: unknown }).ok;
    if (ok === false) {
      const checked = checkResult(result, 'value');
      if (!checked.ok) return fail(checked.reason);
      return checked.result as EncodeOutcome;
    }
    if (ok !== true) return fail('returned an object without ok: true or ok: false');
    value = (result as { value?: unknown }).value;
  } catch (error) {
    return fail(`returned a result that throws when read: ${messageOf(error)}`);
  }
  try {
    json = JSON.stringify(value);
  } catch (error) {
    return fail(error, true);
  }
  if (typeof json !== 'string') return fail(`encode returned ${typeof value}, not JSON`);
  // The format itself made such text (the record had none).
  if (hasEscapedLoneSurrogate(json)) return { ok: false, diagnostics: [loneSurrogate(format.name, source, undefined)] };
  return { ok: true, json };
}

function loneSurrogate(
  format: string,
  source: SourceRecord,
  found: { pointer: string; codeUnit: string } | undefined,
): Diagnostic {
  return diagnose(writerRules.loneSurrogate, {
    message: found
      ? `A string at ${found.pointer} holds a lone UTF-16 surrogate (${found.codeUnit}); it is not text any UTF-8 reader or Python can encode.`
      : `Format "${format}" produced text with a lone UTF-16 surrogate; it is not text any UTF-8 reader or Python can encode.`,
    file: source.file,
    recordIndex: source.index,
    ...(found ? { pointer: found.pointer } : {}),
    source: format,
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

class TimeoutError extends Error {}

/**
 * The time limit of asynchronous encodes, with one timer for the whole run (not one per record): `wrap` arms it for
 * the encode in flight (convert awaits each record, so there is one at a time), a periodic check rejects it once
 * its deadline has passed. The timer keeps the process alive while an encode is pending, so a promise that never
 * settles cannot end the process early (exit 13); `stop` clears it.
 */
export class EncodeWatch {
  #deadline = 0;
  #reject: ((error: unknown) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    signal?: AbortSignal,
  ) {
    // An interruption does not wait for a stuck encode: the record in flight is abandoned at once.
    signal?.addEventListener(
      'abort',
      () => {
        const reject = this.#reject;
        this.#reject = undefined;
        reject?.(signal.reason);
      },
      { once: true },
    );
  }

  wrap<T>(pending: PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#deadline = performance.now() + this.ms;
      this.#reject = reject;
      this.#timer ??= setInterval(() => this.#check(), Math.max(5, Math.min(1000, this.ms / 4)));
      pending.then(
        (value) => {
          this.#reject = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#reject = undefined;
          reject(error);
        },
      );
    });
  }

  #check(): void {
    const reject = this.#reject;
    if (!reject || performance.now() < this.#deadline) return;
    this.#reject = undefined;
    reject(new TimeoutError(`did not settle within ${Math.round(this.ms / 100) / 10} s`));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

type CheckedResult<K extends 'value' | 'record'> =
  | {
      ok: true;
      result:
        | ({ ok: true } & { [key in K]: key extends 'record' ? LlavaRecord : unknown })
        | { ok: false; diagnostics: Diagnostic[] };
    }
  | { ok: false; reason: string };

/** Check a plugin's encode/decode result, reading each property once (a getter may throw). */
export function checkResult<K extends 'value' | 'record'>(result: unknown, key: K): CheckedResult<K> {
  if (typeof result !== 'object' || result === null) {
    return { ok: false, reason: `returned ${result === null ? 'null' : typeof result}, not a result object` };
  }
  try {
    const ok = (result as { ok?: unknown }).ok;
    if (ok === true) {
      const payload = (result as Record<string, unknown>)[key];
      if (key === 'record' && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) {
        return { ok: false, reason: 'returned ok without a record object' };
      }
      return { ok: true, result: { ok: true, [key]: payload } as never };
    }
    if (ok === false) {
      const list = (result as { diagnostics?: unknown }).diagnostics;
      if (!Array.isArray(list) || list.length === 0) {
        return { ok: false, reason: 'returned ok: false without diagnostics' };
      }
      const diagnostics = list.map((d) => sanitizeDiagnostic(d));
      return { ok: true, result: { ok: false, diagnostics } };
    }
    return { ok: false, reason: 'returned an object without ok: true or ok: false' };
  } catch (error) {
    return { ok: false, reason: `returned a result that throws when read: ${messageOf(error)}` };
  }
}

/** A plugin's diagnostic, made safe to count, print and serialise. */
function sanitizeDiagnostic(value: unknown): Diagnostic {
  if (typeof value !== 'object' || value === null) {
    return diagnose(writerRules.invalidRecord, { message: String(value) });
  }
  const d = value as Partial<Diagnostic>;
  const severity = d.severity === 'warning' || d.severity === 'info' ? d.severity : 'error';
  return {
    ...(JSON.parse(JSON.stringify(d)) as Diagnostic),
    ruleId: typeof d.ruleId === 'string' ? d.ruleId : 'format/encode-failed',
    severity,
    message: typeof d.message === 'string' ? d.message : 'The format rejected this record.',
  };
}

export function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}

/** Run a stream-level plugin function; anything it throws that is not a diagnostic becomes one naming it. */
export async function callPlugin<T>(name: string, what: 'read' | 'write', run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (DiagnosticError.is(error) || error instanceof StopConversion) throw error;
    if ((error as { name?: string } | undefined)?.name === 'AbortError') throw error;
    throw new DiagnosticError(
      diagnose(what === 'write' ? writerRules.encodeFailed : writerRules.decodeFailed, {
        message: `Format "${name}" failed in ${what}: ${messageOf(error)}`,
        source: name,
      }),
    );
  }
}

export type DecodeOutcome = { ok: true; record: LlavaRecord } | { ok: false; diagnostics: readonly Diagnostic[] };

export function decodeFailure(format: string, file: string, index: number, reason: string): Diagnostic {
  return diagnose(writerRules.decodeFailed, {
    message: `Format "${format}" failed to decode this record: ${reason}`,
    file,
    recordIndex: index,
    source: format,
  });
}

export function encodeFailure(format: string, source: SourceRecord, error: unknown, threw = true): Diagnostic {
  const id = source.record.id;
  const reason = error instanceof TimeoutError ? `encode ${error.message}` : messageOf(error);
  return diagnose(writerRules.encodeFailed, {
    message:
      error instanceof TimeoutError
        ? `Format "${format}": ${reason}; the record was rejected.`
        : `Format "${format}" ${threw ? 'threw' : 'failed'}: ${reason}`,
    file: source.file,
    recordIndex: source.index,
    source: format,
    ...(id !== undefined ? { recordId: id } : {}),
  });
}

/**
 * Decode one element read by the reader behind the wall (shared by the in-process path and the worker threads): a
 * decode that throws or returns a non-result rejects the record, with the record's place and id. The common case (a
 * plain `{ ok: true, record }`) is read once into locals, with no object made per record.
 */
export function decodeItem(
  format: FormatPlugin<object>,
  item: ReadItem,
  decodeContext: RecordContext<object>,
  file: string,
): ReadResult {
  if (!item.ok) {
    return { ok: false, index: item.place.index, place: item.place, diagnostics: [item.diagnostic], text: item.text };
  }
  const decode = format.decode!;
  let record: LlavaRecord | undefined;
  let decoded: DecodeOutcome | undefined;
  try {
    const raw = decode(item.value, decodeContext) as unknown;
    const ok = typeof raw === 'object' && raw !== null ? (raw as { ok?: unknown }).ok : undefined;
    const candidate = ok === true ? (raw as { record?: unknown }).record : undefined;
    if (typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate)) {
      record = candidate as LlavaRecord;
    } else {
      const checked = checkResult(raw, 'record');
      decoded = checked.ok
        ? checked.result
        : { ok: false, diagnostics: [decodeFailure(format.name, file, item.place.index, checked.reason)] };
    }
  } catch (error) {
    decoded = {
      ok: false,
      diagnostics: [decodeFailure(format.name, file, item.place.index, messageOf(error))],
    };
  }
  if (record) return { ok: true, record, index: item.place.index, place: item.place };
  if (decoded!.ok) return { ok: true, record: decoded!.record, index: item.place.index, place: item.place };
  const id = recordIdOf(item.value);
  return {
    ok: false,
    index: item.place.index,
    place: item.place,
    diagnostics: decoded!.diagnostics.map((d) => ({
      ...d,
      place: d.place ?? diagnosticPlace(item.place),
      ...(id !== undefined && d.recordId === undefined ? { recordId: id } : {}),
    })),
    text: item.text,
  };
}
