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

/**
 * Positioned reads through one reused 1 MiB window: sequential lookups (both files in the same order) cost one read
 * per MiB. The returned bytes are valid until the next call.
 */
class WindowReader {
  private buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private size = 0;
  constructor(private readonly fh: FileHandle) {}
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.start && offset + length <= this.start + this.size) {
      return this.buf.subarray(offset - this.start, offset - this.start + length);
    }
    if (length > this.buf.length) this.buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, offset);
    this.start = offset;
    this.size = bytesRead;
    return this.buf.subarray(0, Math.min(length, bytesRead));
  }
}

function grow<T extends Uint32Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** Columns of the metadata index: image hash, byte span and record index of each metadata record. */
class MetaIndex {
  hashes = new Uint32Array(4096);
  offsets = new Float64Array(4096);
  lengths = new Uint32Array(4096);
  indexes = new Uint32Array(4096);
  size = 0;
  /** Span numbers sorted by hash (then file order), after {@link MetaIndex.seal}. */
  order = new Uint32Array(0);
  add(hash: number, offset: number, length: number, index: number): void {
    if (this.size === this.hashes.length) {
      this.hashes = grow(this.hashes);
      this.offsets = grow(this.offsets);
      this.lengths = grow(this.lengths);
      this.indexes = grow(this.indexes);
    }
    this.hashes[this.size] = hash;
    this.offsets[this.size] = offset;
    this.lengths[this.size] = length;
    this.indexes[this.size] = index;
    this.size++;
  }
  seal(): void {
    const n = this.size;
    this.hashes = this.hashes.slice(0, n);
    this.offsets = this.offsets.slice(0, n);
    this.lengths = this.lengths.slice(0, n);
    this.indexes = this.indexes.slice(0, n);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const h = this.hashes;
    order.sort((a, b) => h[a]! - h[b]! || a - b);
    this.order = order;
  }
  /** Positions in `order` of the spans with this hash: [from, to). */
  range(hash: number): [number, number] {
    const { order, hashes } = this;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[order[mid]!]! < hash) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < order.length && hashes[order[end]!] === hash) end++;
    return [lo, end];
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
  // Pass 1: per metadata record only a 30-bit hash of its image, its byte span and index, in typed-array columns
  // (24 bytes a record), sorted by hash afterwards. Candidates are verified against the image on lookup.
  const index = new MetaIndex();
  let fh: FileHandle | undefined;
  let reader: WindowReader | undefined;
  const readMeta = async (span: number): Promise<Record<string, unknown>> => {
    if (!reader) {
      try {
        fh = await open(metaPath, 'r');
      } catch (e) {
        throw ioError(e, metaFile);
      }
      reader = new WindowReader(fh);
    }
    const bytes = await reader.read(index.offsets[span]!, index.lengths[span]!);
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  };
  try {
    for await (const item of readRecords(metaPath, { file: metaFile, signal })) {
      if (!item.ok) {
        onDiagnostic?.(item.diagnostic);
        continue;
      }
      if (!isObject(item.value) || typeof item.value.image !== 'string') continue;
      index.add(hash30(item.value.image), item.place.offset, item.place.length, item.place.index);
    }
    index.seal();
    // Runs of equal hashes are duplicates or (rarely) collisions: tell them apart by reading the records.
    const { order, hashes } = index;
    for (let i = 1; i < order.length; i++) {
      if (hashes[order[i]!] !== hashes[order[i - 1]!]) continue;
      const [from, to] = index.range(hashes[order[i]!]!);
      const seen = new Set<string>();
      for (let k = from; k < to; k++) {
        const span = order[k]!;
        const image = String((await readMeta(span)).image);
        if (seen.has(image)) {
          onDiagnostic?.(
            diagnose(readerRules.joinDuplicateKey, {
              message: `The metadata lists image ${JSON.stringify(image)} more than once.`,
              file: metaFile,
              recordIndex: index.indexes[span],
              place: { offset: index.offsets[span]! },
              source: 'reader/join',
            }),
          );
        }
        seen.add(image);
      }
      i = to - 1;
    }
    yield* attach();
  } finally {
    await fh?.close();
  }

  async function* attach(): AsyncGenerator<JoinedItem> {
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
      const [from, to] = image === undefined ? [0, 0] : index.range(hash30(image));
      let found: Record<string, unknown> | undefined;
      let mismatch: string | number | undefined;
      let sameImage = 0;
      const chatId = idOf(rec);
      for (let k = from; k < to; k++) {
        const meta = await readMeta(index.order[k]!);
        if (meta.image !== image) continue; // hash collision
        sameImage++;
        const metaId = idOf(meta);
        if (!matchIds || chatId === undefined || metaId === undefined || String(chatId) === String(metaId)) {
          found = meta;
          break;
        }
        mismatch ??= metaId;
      }
      if (image === undefined || sameImage === 0) {
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
  }
}

/** FNV-1a over UTF-16 code units, folded to 30 bits (a V8 small integer). Exported for tests. */
export function hash30(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}
