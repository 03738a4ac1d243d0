import { type FileHandle, open } from 'node:fs/promises';
import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { readRecords } from './read.js';
import { readerRules } from './rules.js';
import { ioError } from './source.js';
import type { ReadItem } from './types.js';

/** Options of {@link joinMetadata}. */
export interface JoinOptions {
  /** Receives `join/*` findings (records without metadata, id mismatches, duplicate metadata) and broken meta records. */
  onDiagnostic?: (diagnostic: Diagnostic) => void;
  /** Name of the chat file, used in diagnostics about chat records. */
  file?: string;
  /** Name of the metadata file in diagnostics (default: `metaPath`). */
  metaFile?: string;
  /** When both records have an `id`, require them to be equal (default true). */
  matchIds?: boolean;
  /** Stop when aborted. */
  signal?: AbortSignal;
}

/** A chat item with the metadata record found for its image, if any. */
export interface JoinedItem {
  readonly item: ReadItem;
  readonly meta?: Record<string, unknown>;
}

const WINDOW = 1 << 20;

/** Positioned reads through a 1 MiB window: sequential lookups (both files in the same order) cost one read per MiB. */
class WindowReader {
  private window = Buffer.alloc(0);
  private start = 0;
  constructor(private readonly fh: FileHandle) {}
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.start && offset + length <= this.start + this.window.length) {
      return this.window.subarray(offset - this.start, offset - this.start + length);
    }
    const size = Math.max(length, WINDOW);
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await this.fh.read(buf, 0, size, offset);
    this.window = buf.subarray(0, bytesRead);
    this.start = offset;
    return this.window.subarray(0, Math.min(length, bytesRead));
  }
}

/** A growable pair of offset/length columns. */
class Spans {
  offsets = new Float64Array(1024);
  lengths = new Float64Array(1024);
  size = 0;
  add(offset: number, length: number): number {
    if (this.size === this.offsets.length) {
      const o = new Float64Array(this.size * 2);
      o.set(this.offsets);
      this.offsets = o;
      const l = new Float64Array(this.size * 2);
      l.set(this.lengths);
      this.lengths = l;
    }
    this.offsets[this.size] = offset;
    this.lengths[this.size] = length;
    return this.size++;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function idOf(v: Record<string, unknown>): string | number | undefined {
  return typeof v.id === 'string' || typeof v.id === 'number' ? v.id : undefined;
}

/**
 * Attach metadata records (CC3M `metadata.json`, 558K `_meta.json`: `caption`, `blip_caption`, `url`, … kept as
 * found) to chat records, matching by `image` and, when both have one, by `id`. Memory stays small on 595K records:
 * a first pass over the metadata file keeps only image → byte span; each match is then read back by a positioned
 * read (through a 1 MiB window, so files in the same order are read almost sequentially). Chat records with no
 * metadata are reported as `join/no-metadata` info diagnostics through `onDiagnostic` and still yielded.
 *
 * @example
 * ```ts
 * for await (const { item, meta } of joinMetadata(readRecords('chat.json'), 'metadata.json')) {
 *   if (item.ok && meta) console.log((item.value as { id: string }).id, meta.blip_caption);
 * }
 * ```
 */
export async function* joinMetadata(
  chat: AsyncIterable<ReadItem>,
  metaPath: string,
  options: JoinOptions = {},
): AsyncGenerator<JoinedItem> {
  const { onDiagnostic, signal } = options;
  const metaFile = options.metaFile ?? metaPath;
  const matchIds = options.matchIds ?? true;
  // Pass 1: image → first span; later spans of the same image in `more`.
  const first = new Map<string, number>();
  const more = new Map<string, number[]>();
  const spans = new Spans();
  for await (const item of readRecords(metaPath, { file: metaFile, signal })) {
    if (!item.ok) {
      onDiagnostic?.(item.diagnostic);
      continue;
    }
    if (!isObject(item.value) || typeof item.value.image !== 'string') continue;
    const key = item.value.image;
    const span = spans.add(item.place.offset, item.place.length);
    if (!first.has(key)) first.set(key, span);
    else {
      let list = more.get(key);
      if (!list) {
        more.set(key, (list = []));
        onDiagnostic?.(
          diagnose(readerRules.joinDuplicateKey, {
            message: `The metadata lists image ${JSON.stringify(key)} more than once.`,
            file: metaFile,
            recordIndex: item.place.index,
            place: { offset: item.place.offset, line: item.place.line, column: item.place.column },
            source: 'reader/join',
          }),
        );
      }
      list.push(span);
    }
  }
  let fh: FileHandle;
  try {
    fh = await open(metaPath, 'r');
  } catch (e) {
    throw ioError(e, metaFile);
  }
  const reader = new WindowReader(fh);
  const readMeta = async (span: number): Promise<Record<string, unknown>> => {
    const bytes = await reader.read(spans.offsets[span]!, spans.lengths[span]!);
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  };
  try {
    for await (const item of chat) {
      signal?.throwIfAborted();
      if (!item.ok || !isObject(item.value)) {
        yield { item };
        continue;
      }
      const rec = item.value;
      const image = typeof rec.image === 'string' ? rec.image : undefined;
      const where = {
        file: options.file,
        recordIndex: item.place.index,
        recordId: idOf(rec),
        place:
          item.place.offset >= 0
            ? { offset: item.place.offset, line: item.place.line, column: item.place.column }
            : undefined,
        source: 'reader/join',
      };
      const firstSpan = image === undefined ? undefined : first.get(image);
      if (image === undefined || firstSpan === undefined) {
        onDiagnostic?.(
          diagnose(readerRules.joinNoMetadata, {
            ...where,
            message:
              image === undefined
                ? 'The record has no single `image` to look up in the metadata.'
                : `No metadata record for image ${JSON.stringify(image)}.`,
            pointer: '/image',
          }),
        );
        yield { item };
        continue;
      }
      const chatId = idOf(rec);
      let found: Record<string, unknown> | undefined;
      let mismatch: string | number | undefined;
      for (const span of [firstSpan, ...(more.get(image) ?? [])]) {
        const meta = await readMeta(span);
        const metaId = idOf(meta);
        if (!matchIds || chatId === undefined || metaId === undefined || String(chatId) === String(metaId)) {
          found = meta;
          break;
        }
        mismatch ??= metaId;
      }
      if (!found) {
        onDiagnostic?.(
          diagnose(readerRules.joinIdMismatch, {
            ...where,
            message: `The metadata record for image ${JSON.stringify(image)} has id ${JSON.stringify(mismatch)}, not ${JSON.stringify(chatId)}.`,
            pointer: '/id',
            data: { metaId: mismatch },
          }),
        );
        yield { item };
        continue;
      }
      yield { item, meta: found };
    }
  } finally {
    await fh.close();
  }
}
