/** Reading the inputs of an operation: format detection, decoding into canonical records, per-item iteration. */
import { open, stat } from 'node:fs/promises';
import { chooseInputFormat, openInputFormat, writerRules } from '@llavakit/convert';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { FormatPlugin, RecordContext, RecordPlace } from '@llavakit/format';
import { type InputSource, readRecordBatches } from '@llavakit/reader';
import type { Accounting } from './accounting.js';
import { NO_IMAGES, parseFormatOptions } from './format-context.js';
import type { InputOptions, OpItem } from './op-types.js';
import { opsRules } from './rules.js';

/** The context an input format decodes records in: its parsed options, no image access, quiet notes. */
export function decodeContext(
  format: FormatPlugin<object>,
  options: {
    readonly formatOptions?: Readonly<Record<string, unknown>> | undefined;
    readonly signal?: AbortSignal | undefined;
  },
  file: string,
): RecordContext<object> {
  return {
    options: parseFormatOptions(format, options.formatOptions),
    file,
    index: 0,
    report: () => {},
    count: () => {},
    images: NO_IMAGES,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** An input opened for reading, with its format chosen (by `from` or detected): see {@link openInput}. */
export interface OpenedInput {
  readonly format: FormatPlugin<object>;
  /** What to read the records from (a FIFO or `<(…)` replays the head read for detection). */
  readonly input: InputSource;
}

/** Open one input and choose its format (a fatal error, such as an unknown format, throws a `DiagnosticError`). */
export async function openInput(
  file: string,
  options: Pick<InputOptions, 'registry' | 'from' | 'stdin'>,
): Promise<OpenedInput> {
  // A FIFO or `<(…)` is opened once: its head is buffered for detection and replayed before the rest.
  const { format, input } = await openInputFormat(file, {
    registry: options.registry,
    ...(options.from ? { from: options.from } : {}),
    ...(options.stdin ? { stdin: options.stdin } : {}),
  });
  return { format, input };
}

/**
 * Read the records of one input in batches (one array per chunk read), with the format chosen by `from` or
 * detected, decoded to canonical records. Broken elements come as `ok: false` items; a fatal error (unreadable
 * file, not JSON) throws a `DiagnosticError`.
 */
export async function* readInputBatches(
  file: string,
  options: Omit<InputOptions, 'inputs'> & { readonly pass?: string; readonly onFormat?: (name: string) => void },
): AsyncGenerator<OpItem[]> {
  const opened = await openInput(file, options);
  options.onFormat?.(opened.format.name);
  yield* readOpenedBatches(file, opened, options);
}

/** {@link readInputBatches} of an input already opened with {@link openInput}. */
export async function* readOpenedBatches(
  file: string,
  opened: OpenedInput,
  options: Omit<InputOptions, 'inputs'> & { readonly pass?: string },
): AsyncGenerator<OpItem[]> {
  const { format, input } = opened;
  const context = decodeContext(format, options, file);
  let records = 0;
  const pass = options.pass ?? 'read';
  if (format.read) {
    let batch: OpItem[] = [];
    for await (const result of format.read(input, context)) {
      records++;
      batch.push(
        result.ok
          ? {
              ok: true,
              record: result.record,
              file,
              index: result.index,
              ...(result.place ? { place: result.place } : {}),
            }
          : {
              ok: false,
              file,
              index: result.index,
              diagnostics: result.diagnostics,
              ...(result.place ? { place: result.place } : {}),
              ...(result.text !== undefined ? { text: result.text } : {}),
            },
      );
      if (batch.length >= 256) {
        yield batch;
        batch = [];
        options.onProgress?.({ pass, file, bytesRead: 0, records });
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  for await (const items of readRecordBatches(input, {
    file,
    // Smaller chunks than the reader default keep fewer records alive across scavenges (lower peak RSS, same speed).
    chunkSize: 256 * 1024,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (bytesRead, totalBytes) =>
      options.onProgress?.({ pass, file, bytesRead, records, ...(totalBytes !== undefined ? { totalBytes } : {}) }),
  })) {
    const batch: OpItem[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      records++;
      if (!item.ok) {
        batch[i] = {
          ok: false,
          file,
          index: item.place.index,
          diagnostics: [item.diagnostic],
          place: item.place,
          text: item.text,
        };
        continue;
      }
      batch[i] = decodeItem(format, context, item.value, file, item.place, item.text);
    }
    yield batch;
  }
}

/** Decode one parsed value with a record-level format into an {@link OpItem} (a throwing plugin rejects it). */
export function decodeItem(
  format: FormatPlugin<object>,
  context: RecordContext<object>,
  value: unknown,
  file: string,
  place: RecordPlace,
  text: string | undefined,
): OpItem {
  (context as { index: number }).index = place.index;
  let decoded: ReturnType<NonNullable<FormatPlugin<object>['decode']>>;
  try {
    decoded = format.decode!(value, context);
  } catch (error) {
    decoded = {
      ok: false,
      diagnostics: [
        diagnose(writerRules.encodeFailed, {
          message: `Format "${format.name}" threw while reading: ${error instanceof Error ? error.message : String(error)}`,
          file,
          recordIndex: place.index,
          source: format.name,
          hint: 'This is a bug in the format plugin named in `source`; report it to its authors.',
        }),
      ],
    };
  }
  if (decoded.ok) {
    return {
      ok: true,
      record: decoded.record,
      file,
      index: place.index,
      place,
      format: format.name,
      ...(text !== undefined ? { text } : {}),
    };
  }
  return {
    ok: false,
    file,
    index: place.index,
    place,
    ...(text !== undefined ? { text } : {}),
    diagnostics: decoded.diagnostics.map((d) => ({
      ...d,
      place: d.place ?? { offset: place.offset, line: place.line, column: place.column },
    })),
  };
}

/**
 * Random access to the records of a file whose byte places are known (from a first pass): reads one element's
 * bytes and decodes it with the input's record-level format. `undefined` when the format reads whole streams.
 */
export async function openRecordAccess(
  file: string,
  options: Omit<InputOptions, 'inputs'>,
): Promise<{ read(place: RecordPlace): Promise<OpItem>; close(): Promise<void> } | undefined> {
  const { format } = await chooseInputFormat(file, {
    registry: options.registry,
    ...(options.from ? { from: options.from } : {}),
  });
  if (format.read || !format.decode || file === '-') return undefined;
  const context = decodeContext(format, { formatOptions: options.formatOptions }, file);
  const handle = await open(file, 'r');
  let buffer = Buffer.allocUnsafe(64 * 1024);
  return {
    async read(place) {
      if (buffer.length < place.length) buffer = Buffer.allocUnsafe(place.length);
      const { bytesRead } = await handle.read(buffer, 0, place.length, place.offset);
      const text = buffer.toString('utf8', 0, bytesRead);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new DiagnosticError(
          diagnose(opsRules.inputChanged, {
            message: `${file} changed between the two passes (record #${place.index} no longer parses: ${(error as Error).message}).`,
            file,
            recordIndex: place.index,
          }),
        );
      }
      return decodeItem(format, context, value, file, place, text);
    },
    close: () => handle.close(),
  };
}
/** Size of a file, or undefined. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * Run a callback over every item of every input, with the accounting's per-input bookkeeping. The callback decides
 * what happens to each item (write or reject); a `DiagnosticError` aborts every output.
 */
export async function forEachItem(
  options: InputOptions,
  accounting: Accounting | undefined,
  visit: (item: OpItem, inputIndex: number) => void | Promise<void>,
  hooks: { readonly pass?: string; readonly onInput?: (file: string, format: string, inputIndex: number) => void } = {},
): Promise<void> {
  for (let inputIndex = 0; inputIndex < options.inputs.length; inputIndex++) {
    const file = options.inputs[inputIndex]!;
    const count = accounting?.beginInput(file);
    for await (const batch of readInputBatches(file, {
      ...options,
      pass: hooks.pass ?? 'read',
      onFormat: (name) => {
        if (count) count.format = name;
        hooks.onInput?.(file, name, inputIndex);
      },
    })) {
      for (const item of batch) {
        if (options.keepRecord && !options.keepRecord(item.index)) continue;
        accounting?.read();
        const pending = visit(item, inputIndex);
        if (pending) await pending;
      }
    }
  }
}
