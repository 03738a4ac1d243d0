import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import {
  type FormatContext,
  type FormatPlugin,
  formatRules,
  type ReadResult,
  type RecordContext,
} from '@llavakit/format';
import { type InputSource, joinMetadata, type ReadItem, readRecords } from '@llavakit/reader';
import { unknownOptionArguments } from '../plugins/options.js';
import type { ConvertOptions } from './convert-options.js';
import { refuseWrappedRecords } from './input.js';
import { parseOptions } from './preflight.js';
import { callPlugin, decodeItem } from './walls.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Read one input with its format: a stream-level `read`, or the reader (with `--metadata` attached) and the
 * format's `decode` behind the wall. Yields every record, decoded or not, with its place.
 */
export async function* readInput(
  format: FormatPlugin<object>,
  input: InputSource,
  context: FormatContext<object>,
  options: ConvertOptions,
): AsyncGenerator<ReadResult> {
  if (format.read) {
    const iterator = format.read(input, context)[Symbol.asyncIterator]();
    for (;;) {
      const step = await callPlugin(format.name, 'read', () => iterator.next());
      if (step.done) return;
      yield step.value;
    }
  }
  const decodeContext: Mutable<RecordContext<object>> = { ...context, index: 0 };
  let records = 0;
  const items = readRecords(input, {
    file: context.file,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress
      ? {
          onProgress: (bytesRead: number, totalBytes?: number) =>
            options.onProgress?.({
              file: context.file,
              bytesRead,
              records,
              ...(totalBytes !== undefined ? { totalBytes } : {}),
            }),
        }
      : {}),
  });
  for await (const item of options.metadata ? withMetadata(items, options.metadata, context) : items) {
    records++;
    if (records === 1 && item.ok) refuseWrappedRecords(item.value, context.file, item.place);
    decodeContext.index = item.place.index;
    yield decodeItem(format, item, decodeContext, context.file);
  }
}

/** Attach the `--metadata` records to the records read, matched by image. */
async function* withMetadata(
  items: AsyncIterable<ReadItem>,
  metadata: NonNullable<ConvertOptions['metadata']>,
  context: FormatContext<object>,
): AsyncGenerator<ReadItem> {
  const key = metadata.key ?? 'metadata';
  for await (const { item, meta } of joinMetadata(items, metadata.path, {
    file: context.file,
    ...(metadata.matchIds !== undefined ? { matchIds: metadata.matchIds } : {}),
    onDiagnostic: (d) => context.report(d),
    ...(context.signal ? { signal: context.signal } : {}),
  })) {
    if (!item.ok || typeof item.value !== 'object' || item.value === null || Array.isArray(item.value)) {
      yield item;
      continue;
    }
    if (meta) {
      context.count('metadata:attached');
      yield { ...item, value: { ...(item.value as Record<string, unknown>), [key]: meta } };
    } else {
      context.count('metadata:missing');
      yield item;
    }
  }
}

/**
 * The options of an input format: `readOptions` values and `--read-option` arguments, parsed by the reader's own
 * schema. A read-option name the reader does not know is a usage error (`options/unknown`), as `-O` is for the target.
 */
export function readerOptions(format: FormatPlugin<object>, options: ConvertOptions): object {
  const args = options.readOptionArguments ?? [];
  const unknown = args.length > 0 ? unknownOptionArguments(args, [format]) : undefined;
  if (unknown) {
    throw new DiagnosticError(
      diagnose(formatRules.unknownOption, {
        message: `${unknown} (the input format is "${format.name}"; its options go in --read-option)`,
        hint: `Run \`llava formats ${format.name}\` to see its options.`,
      }),
    );
  }
  return parseOptions(format, options.readOptions, args, 'input');
}
