import { isAscii, isUtf8 } from 'node:buffer';
import { type Diagnostic, DiagnosticError, diagnose, excerpt, placeInText, type RuleMeta } from '@llavakit/diagnostics';
import { locateJsonError } from './locate.js';
import { readerRules } from './rules.js';
import type { ReadItem, RecordPlace } from './types.js';
import { firstInvalidUtf8 } from './utf8.js';

/** Options of {@link RecordScanner}. */
export interface ScannerOptions {
  /** Container format; `'auto'` decides from the first significant byte. */
  readonly container?: 'auto' | 'json' | 'jsonl';
  /** File name used in diagnostics. */
  readonly file?: string;
  /** Largest element accepted, in bytes (default 512 MiB). */
  readonly maxRecordBytes?: number;
  /** Deepest nesting accepted (default 1000). */
  readonly maxDepth?: number;
  /**
   * Hand out elements unparsed ({@link RawElement}: bytes and place, see {@link RecordScanner.pushRaw}) for another
   * thread to check and parse with {@link parseElement}. Places are the same as when parsing here.
   */
  readonly raw?: boolean;
  /**
   * Raw mode with a sink ({@link RecordScanner.pushTo}): a reader that recognizes whole elements of a known shape
   * from their bytes, tried on each element of a JSON array that starts with `{` and before which the scan would
   * otherwise pass every byte. An element it takes is not scanned: it goes to the sink with `known` set, while the
   * reader still holds what it read of it.
   */
  readonly elementReader?: ElementReader;
}

/**
 * Recognizes an element of a JSON array from its bytes ({@link ScannerOptions.elementReader}), or declines it.
 */
export interface ElementReader {
  /**
   * Read the element that starts at `start` (its `{`) and ends before `limit`: the index after its last byte, or -1
   * when it does not take it (not its shape, not certainly valid JSON, or not whole before `limit`): the scanner then
   * scans it. Once it took one, {@link ElementReader.newlines} and {@link ElementReader.lastNewline} describe it.
   */
  readElement(bytes: Uint8Array, start: number, limit: number): number;
  /** The raw newlines (`\n`) in the element last taken: between its tokens, never inside a string. */
  readonly newlines: number;
  /** The index of the last of them (-1: none). */
  readonly lastNewline: number;
}

/**
 * An element found by a scanner in raw mode: its bytes (a view valid only until the next `push`/`end`: copy what
 * outlives it) and its place. Not yet checked for UTF-8 or parsed: {@link parseElement} does that.
 */
export interface RawElement {
  readonly bytes: Buffer;
  readonly place: RecordPlace;
  /**
   * Set for an element the scanner rejected itself, whose bytes it did not keep (a JSON Lines line over
   * `maxRecordBytes`): the record's `{ ok: false }` diagnostic. `bytes` is then empty.
   */
  readonly rejected?: Diagnostic;
}

/**
 * Receives each element a scanner in raw mode finds ({@link RecordScanner.pushTo}): its bytes are `bytes[start…end]`
 * (a view valid only during the call: copy what outlives it), then its place. `rejected` is set as in
 * {@link RawElement.rejected}, with the length of the line skipped (`start === end` then). `known` is set when the
 * {@link ScannerOptions.elementReader} took the element (it still holds what it read of it).
 */
export type RawSink = (
  bytes: Buffer,
  start: number,
  end: number,
  index: number,
  offset: number,
  line: number,
  column: number,
  rejected?: { readonly diagnostic: Diagnostic; readonly length: number },
  known?: boolean,
) => void;

/** Strings up to this many bytes are skipped by a plain loop; longer ones by `indexOf` (a native call each). */
const SHORT_STRING = 24;

/** Default {@link ScannerOptions.maxRecordBytes}: 512 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 512 * 1024 * 1024;
/** Default {@link ScannerOptions.maxDepth}: 1000 levels. */
export const DEFAULT_MAX_DEPTH = 1000;

const EMPTY = Buffer.alloc(0);

// modes
const UNDECIDED = 0;
const JSON_ARRAY = 1;
const JSONL = 2;
// phases of JSON_ARRAY mode
const OPENED = 1; // after `[`: element or `]`
const EXPECT = 2; // after `,`: element
const IN_ELEMENT = 3;
const AFTER = 4; // after an element: `,` or `]`
const DONE = 5; // after the closing `]`

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function showByte(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `\`${String.fromCharCode(c)}\``;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * Scan a byte buffer for nesting, skipping strings. Returns the index where nesting first exceeds `maxDepth`
 * (or -1) and the depth at the end. Iterative: safe on any input.
 */
export function scanDepth(buf: Uint8Array, maxDepth: number): { tooDeepAt: number; depth: number } {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = b.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c === 0x22) {
      let j = i + 1;
      for (;;) {
        const q = b.indexOf(0x22, j);
        if (q === -1) return { tooDeepAt: -1, depth };
        let k = q - 1;
        while (k >= j && b[k] === 0x5c) k--;
        j = q + 1;
        if (((q - 1 - k) & 1) === 0) break;
      }
      i = j;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return { tooDeepAt: i, depth };
    } else if (c === 0x7d || c === 0x5d) depth--;
    i++;
  }
  return { tooDeepAt: -1, depth };
}

/**
 * The synchronous core of the fast engine: feed it chunks of a file with {@link RecordScanner.push} and it returns
 * the elements completed so far, with their places. Memory stays bounded by the largest element: only the bytes of the
 * element in progress are kept between chunks. A fatal problem is stored in {@link RecordScanner.error} (the elements
 * completed before it are still returned); after that the scanner ignores further input.
 */
export class RecordScanner {
  /** The fatal problem that ended the scan, if any. */
  error: DiagnosticError | undefined;
  /** The container found (`undefined` until the first significant byte). */
  container: 'json' | 'jsonl' | undefined;

  private readonly opt: 'auto' | 'json' | 'jsonl';
  private readonly file: string | undefined;
  private readonly maxRecordBytes: number;
  private readonly maxDepth: number;
  private readonly raw: boolean;
  private readonly reader: ElementReader | undefined;
  private out: ReadItem[] = [];
  private mode = UNDECIDED;
  private head: Buffer[] = [];
  private headBytes = 0;
  private phase = OPENED;
  private buf: Buffer = EMPTY;
  private base = 0; // absolute offset of buf[0]
  private total = 0;
  // line tracking
  private line = 1;
  private lineStart = 0;
  private lineAdj = 0; // bytes minus UTF-16 units of multi-byte text between lineStart and cursor
  private cursor = 0;
  private nextNl = -2; // absolute offset of the next newline in buf at/after cursor; -1 none; -2 unknown
  private nlAt = -2; // index in buf of a newline at/after where a string was last skipped; -1 none; -2 unknown
  private sink: RawSink | undefined;
  // element in progress
  private index = 0;
  private elemStart = 0;
  private elemLine = 1;
  private elemCol = 1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** JSON Lines: bytes of an over-long line skipped so far (-1: not skipping). Its bytes are never kept. */
  private skipBytes = -1;

  constructor(options: ScannerOptions = {}) {
    this.opt = options.container ?? 'auto';
    this.file = options.file;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.raw = options.raw === true;
    this.reader = this.raw ? options.elementReader : undefined;
  }

  /** {@link RecordScanner.push} of a scanner in raw mode: the elements completed, unparsed. */
  pushRaw(chunk: Uint8Array): RawElement[] {
    return this.push(chunk) as unknown as RawElement[];
  }

  /** {@link RecordScanner.end} of a scanner in raw mode. */
  endRaw(): RawElement[] {
    return this.end() as unknown as RawElement[];
  }

  /**
   * {@link RecordScanner.pushRaw} without an object per element: each element goes to `sink` as it is found (the
   * hot path of a parallel read, where the bytes are copied out at once).
   */
  pushTo(chunk: Uint8Array, sink: RawSink): void {
    this.sink = sink;
    try {
      this.push(chunk);
    } finally {
      this.sink = undefined;
    }
  }

  /** {@link RecordScanner.endRaw} with a {@link RawSink}. */
  endTo(sink: RawSink): void {
    this.sink = sink;
    try {
      this.end();
    } finally {
      this.sink = undefined;
    }
  }

  /** Feed the next chunk; returns the elements it completed. */
  push(chunk: Uint8Array): ReadItem[] {
    const out: ReadItem[] = [];
    if (this.error) return out;
    this.out = out;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      if (this.mode === UNDECIDED) this.decide(buf, false);
      else this.feed(buf, 0, this.total);
      this.total += buf.length;
    } catch (e) {
      if (!DiagnosticError.is(e)) throw e;
      this.error = e;
    }
    return out;
  }

  /** Signal the end of input; returns the last elements. A problem found here is stored in `error`. */
  end(): ReadItem[] {
    const out: ReadItem[] = [];
    if (this.error) return out;
    this.out = out;
    try {
      this.finish();
    } catch (e) {
      if (!DiagnosticError.is(e)) throw e;
      this.error = e;
    }
    return out;
  }

  private fatal(rule: RuleMeta, message: string, place: Diagnostic['place'], extra: Partial<Diagnostic> = {}): never {
    throw new DiagnosticError(diagnose(rule, { message, file: this.file, place, source: 'reader', ...extra }));
  }

  // ---------------------------------------------------------------- start: BOM, container
  private decide(chunk: Buffer, ended: boolean): void {
    // Chunks may be reused by the source once fed (see source.ts): keep copies of what outlives this call.
    this.head.push(Buffer.from(chunk));
    this.headBytes += chunk.length;
    const head = this.head.length === 1 ? chunk : Buffer.concat(this.head, this.headBytes);
    if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
      this.fatal(
        readerRules.encodingInvalidUtf8,
        'The file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8.',
        { offset: 0, line: 1, column: 1 },
        { hint: 'Re-encode the file as UTF-8 (e.g. `iconv -f utf-16 -t utf-8`).' },
      );
    }
    let bom = 0;
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) bom = 3;
    else if (!ended && head.length < 3 && head[0] === 0xef && (head.length < 2 || head[1] === 0xbb)) return;
    let i = bom;
    while (i < head.length && isWs(head[i]!)) i++;
    if (i >= head.length) {
      if (ended) {
        this.fatal(
          readerRules.inputEmpty,
          head.length === 0 ? 'The file is empty.' : 'The file contains only whitespace.',
          { offset: 0, line: 1, column: 1 },
        );
      }
      return;
    }
    this.head = [];
    const c = head[i]!;
    this.lineStart = this.cursor = bom;
    this.buf = head;
    this.base = 0;
    this.nextNl = -2;
    const scalarStart = c === 0x22 || c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e;
    if (this.opt === 'jsonl' || (this.opt === 'auto' && c === 0x7b)) {
      if (this.opt === 'auto' || c === 0x7b || c === 0x5b || scalarStart) {
        this.mode = JSONL;
        this.container = 'jsonl';
        this.elemStart = bom; // start of the current line's bytes
        this.feed(head, bom, 0);
        return;
      }
    } else if (c === 0x5b) {
      this.mode = JSON_ARRAY;
      this.container = 'json';
      this.phase = OPENED;
      this.feed(head, i + 1, 0);
      return;
    }
    const place = this.placeAt(i);
    if (c === 0x7b || scalarStart) {
      const what =
        c === 0x7b
          ? 'an object'
          : c === 0x22
            ? 'a string'
            : c === 0x74 || c === 0x66
              ? 'a boolean'
              : c === 0x6e
                ? 'null'
                : 'a number';
      this.fatal(readerRules.jsonNotArray, `The top-level value is ${what}, not an array of records.`, place);
    }
    this.fatal(readerRules.jsonSyntax, `The input is not JSON: it starts with ${showByte(c)}.`, place, {
      excerpt: excerpt(head.toString('utf8', i, Math.min(head.length, i + 80)), 60),
    });
  }

  private feed(buf: Buffer, from: number, base: number): void {
    this.buf = buf;
    this.base = base;
    this.nextNl = -2;
    this.nlAt = -2;
    if (this.mode === JSONL) this.feedJsonl(buf, from);
    else {
      // (the scan counts the newlines it passes: `cursor` is the end of the chunk unless it stopped early)
      this.feedJson(buf, from);
      if (this.cursor < base + buf.length) this.advance(base + buf.length);
    }
  }

  // ---------------------------------------------------------------- line/column tracking (array mode)
  /** Count newlines up to absolute offset `target` (inside the current chunk). */
  private advance(target: number): void {
    const buf = this.buf;
    const base = this.base;
    for (;;) {
      if (this.nextNl === -2) {
        const j = buf.indexOf(0x0a, this.cursor - base);
        this.nextNl = j === -1 ? -1 : base + j;
      }
      if (this.nextNl === -1 || this.nextNl >= target) break;
      this.line++;
      this.lineStart = this.cursor = this.nextNl + 1;
      this.lineAdj = 0;
      this.nextNl = -2;
    }
    this.cursor = target;
  }

  /** A newline at `i` in the current chunk, met by the scan (which then owns the line count up to where it is). */
  private newlineAt(i: number): void {
    this.line++;
    this.lineStart = this.base + i + 1;
    this.lineAdj = 0;
  }

  /** Count the newlines in `buf[from…to)` that the scan jumped over (inside a string: invalid JSON, but rare). */
  private newlinesIn(buf: Buffer, from: number, to: number): void {
    let nl = this.nlAt;
    if (nl === -2 || (nl !== -1 && nl < from)) nl = buf.indexOf(0x0a, from);
    while (nl !== -1 && nl < to) {
      this.newlineAt(nl);
      nl = buf.indexOf(0x0a, nl + 1);
    }
    this.nlAt = nl;
  }

  /**
   * Skip the rest of a string from `j` (after its opening quote, or at a chunk's start): the index after its closing
   * quote, or -1 when the chunk ends inside it (`escaped` then says whether its last byte escapes the next one).
   */
  private skipString(buf: Buffer, from: number): number {
    const n = buf.length;
    let j = from;
    // Short strings (keys, roles, ids) by a plain loop: cheaper than a native call.
    const stop = Math.min(j + SHORT_STRING, n);
    while (j < stop) {
      const c = buf[j]!;
      if (c === 0x22) return j + 1;
      if (c === 0x5c) {
        if (j + 1 >= n) {
          this.escaped = true;
          return -1;
        }
        if (buf[j + 1] === 0x0a) this.newlineAt(j + 1);
        j += 2;
        continue;
      }
      if (c === 0x0a) this.newlineAt(j);
      j++;
    }
    for (;;) {
      const q = j >= n ? -1 : buf.indexOf(0x22, j);
      this.newlinesIn(buf, j, q === -1 ? n : q);
      if (q === -1) {
        let k = n - 1;
        while (k >= j && buf[k] === 0x5c) k--;
        this.escaped = ((n - 1 - k) & 1) === 1;
        return -1;
      }
      let k = q - 1;
      while (k >= j && buf[k] === 0x5c) k--;
      if (((q - 1 - k) & 1) === 0) return q + 1;
      j = q + 1;
    }
  }

  /** Place of an absolute offset outside any element, in the current chunk. */
  private placeAt(offset: number): { offset: number; line: number; column: number } {
    this.advance(offset);
    return { offset, line: this.line, column: offset - this.lineStart - this.lineAdj + 1 };
  }

  // ---------------------------------------------------------------- JSON array mode
  private feedJson(buf: Buffer, from: number): void {
    const n = buf.length;
    let i = from;
    while (i < n) {
      if (this.phase === IN_ELEMENT) {
        i = this.scanElement(buf, i);
        continue;
      }
      const c = buf[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        if (c === 0x0a) this.newlineAt(i);
        i++;
        continue;
      }
      this.cursor = this.base + i;
      this.nextNl = -2;
      switch (this.phase) {
        case AFTER:
          if (c === 0x2c) this.phase = EXPECT;
          else if (c === 0x5d) this.phase = DONE;
          else {
            this.fatal(
              readerRules.jsonSyntax,
              `Expected \`,\` or \`]\` after record #${this.index - 1}, found ${showByte(c)} (a missing comma?).`,
              this.placeAt(this.base + i),
              { excerpt: excerpt(buf.toString('utf8', i, Math.min(n, i + 60)), 60) },
            );
          }
          i++;
          break;
        case OPENED:
        case EXPECT:
          if (c === 0x5d && this.phase === OPENED) {
            this.phase = DONE;
            i++;
            break;
          }
          if (c === 0x5d || c === 0x2c || c === 0x7d || c === 0x3a) {
            this.fatal(
              readerRules.jsonSyntax,
              c === 0x5d
                ? 'Unexpected `]` after `,`: a trailing comma at the end of the top-level array.'
                : `Unexpected ${showByte(c)} where record #${this.index} was expected.`,
              this.placeAt(this.base + i),
              c === 0x5d ? {} : { recordIndex: this.index },
            );
          }
          if (c === 0x7b && this.reader && this.sink) {
            const e = this.reader.readElement(buf, i, n);
            if (e > i && e - i <= this.maxRecordBytes) {
              this.knownElement(buf, i, e, this.reader);
              i = e;
              break;
            }
          }
          this.startElement(buf, i);
          break;
        default: // DONE
          this.fatal(
            readerRules.jsonSyntax,
            `Unexpected ${showByte(c)} after the end of the top-level array.`,
            this.placeAt(this.base + i),
            { excerpt: excerpt(buf.toString('utf8', i, Math.min(n, i + 60)), 60) },
          );
      }
    }
    this.cursor = this.base + n;
    this.nextNl = -2;
  }

  private startElement(buf: Buffer, i: number): void {
    const c = buf[i]!;
    const abs = this.base + i;
    const p = this.placeAt(abs);
    this.elemStart = abs;
    this.elemLine = p.line;
    this.elemCol = p.column;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.scalar = !(c === 0x7b || c === 0x5b || c === 0x22);
    this.pending = [];
    this.pendingBytes = 0;
    this.phase = IN_ELEMENT;
  }

  /** Continue the element in progress from `i`; returns where scanning stopped. */
  private scanElement(buf: Buffer, start: number): number {
    const n = buf.length;
    let i = start;
    if (this.scalar) {
      while (i < n) {
        const c = buf[i]!;
        if (c === 0x2c || c === 0x5d || c === 0x7d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
        i++;
      }
      if (i === n) {
        this.keepPartial(buf);
        return n;
      }
      this.finishElement(buf, i);
      return i;
    }
    let depth = this.depth;
    if (this.inString) {
      // a string that went on from the previous chunk
      if (this.escaped) {
        this.escaped = false;
        if (buf[i] === 0x0a) this.newlineAt(i);
        i++;
      }
      const r = i >= n ? -1 : this.skipString(buf, i);
      if (r === -1) {
        this.keepPartial(buf);
        return n;
      }
      this.inString = false;
      i = r;
      if (depth === 0) {
        this.finishElement(buf, i);
        return i;
      }
    }
    while (i < n) {
      const c = buf[i]!;
      if (c === 0x22) {
        const r = this.skipString(buf, i + 1);
        if (r === -1) {
          this.depth = depth;
          this.inString = true;
          this.keepPartial(buf);
          return n;
        }
        i = r;
        if (depth === 0) {
          this.finishElement(buf, i);
          return i;
        }
        continue;
      }
      if (c === 0x0a) {
        this.newlineAt(i);
        // the indentation after it, in one tight loop (pretty-printed files: most bytes between strings)
        i++;
        while (i < n && buf[i] === 0x20) i++;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (++depth > this.maxDepth) this.tooDeep(buf, i);
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          this.depth = 0;
          this.finishElement(buf, i + 1);
          return i + 1;
        }
      }
      i++;
    }
    this.depth = depth;
    this.inString = false;
    this.keepPartial(buf);
    return n;
  }

  /** An element the element reader took, `buf[i…e)`: counted and placed as `finishElement` would, never scanned. */
  private knownElement(buf: Buffer, i: number, e: number, reader: ElementReader): void {
    const abs = this.base + i;
    const p = this.placeAt(abs);
    const index = this.index++;
    this.phase = AFTER;
    const endAbs = this.base + e;
    if (reader.newlines > 0) {
      this.line += reader.newlines;
      this.lineStart = this.base + reader.lastNewline + 1;
    }
    this.cursor = endAbs;
    this.nextNl = -2;
    this.columnsAfter(buf, i, e, endAbs, reader.newlines > 0 ? reader.lastNewline + 1 : -1);
    this.sink!(buf, i, e, index, abs, p.line, p.column, undefined, true);
  }

  /**
   * The column bookkeeping the text would give after an element `src[s…e)` that ends at offset `endAbs`, from the
   * bytes: the UTF-16 units of its last line, which starts at `tail` (-1: the element holds no newline, and its line
   * goes on).
   */
  private columnsAfter(src: Buffer, s: number, e: number, endAbs: number, tail: number): void {
    if (tail >= 0) this.lineAdj = endAbs - this.lineStart - utf16Length(src, tail, e);
    else this.lineAdj += e - s - utf16Length(src, s, e);
  }

  private elemPlace(length: number): RecordPlace {
    return { index: this.index, offset: this.elemStart, line: this.elemLine, column: this.elemCol, length };
  }

  private keepPartial(buf: Buffer): void {
    const s = Math.max(0, this.elemStart - this.base);
    this.pending.push(Buffer.from(buf.subarray(s)));
    this.pendingBytes += buf.length - s;
    if (this.pendingBytes > this.maxRecordBytes) this.tooLarge(this.elemPlace(this.pendingBytes));
  }

  private tooLarge(place: RecordPlace): never {
    this.fatal(
      readerRules.jsonRecordTooLarge,
      `Record #${place.index} is larger than the limit of ${this.maxRecordBytes} bytes.`,
      { offset: place.offset, line: place.line, column: place.column },
      { recordIndex: place.index, data: { maxRecordBytes: this.maxRecordBytes } },
    );
  }

  private tooDeep(buf: Buffer, i: number): never {
    const s = Math.max(0, this.elemStart - this.base);
    const bytes = Buffer.concat([...this.pending, buf.subarray(s, i)]);
    const text = bytes.toString('utf8');
    this.fatal(
      readerRules.jsonTooDeep,
      `Record #${this.index} nests deeper than ${this.maxDepth} levels.`,
      placeInText(text, text.length, { offset: this.elemStart, line: this.elemLine, column: this.elemCol }),
      { recordIndex: this.index, data: { maxDepth: this.maxDepth } },
    );
  }

  private finishElement(buf: Buffer, end: number): void {
    // The element is `src[s…e)`: in this chunk, or its pieces joined.
    let src: Buffer;
    let s: number;
    const joined = this.pending.length > 0;
    if (joined) {
      this.pending.push(buf.subarray(0, end));
      src = Buffer.concat(this.pending, this.pendingBytes + end);
      s = 0;
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      src = buf;
      s = this.elemStart - this.base;
    }
    const e = s === 0 && src !== buf ? src.length : end;
    const length = e - s;
    const index = this.index;
    if (length > this.maxRecordBytes) this.tooLarge(this.elemPlace(length));
    const place = this.raw && this.sink ? undefined : this.elemPlace(length);
    this.phase = AFTER;
    this.index++;
    const endAbs = this.base + end;
    // The scan counted the element's newlines: the cursor is its end.
    this.cursor = endAbs;
    this.nextNl = -2;
    const spans = this.line !== this.elemLine;
    if (this.raw) {
      this.columnsAfter(src, s, e, endAbs, spans ? src.lastIndexOf(0x0a, e - 1) + 1 : -1);
      if (this.sink) {
        // An element joined from several chunks: the element reader, which only sees whole ones, may take it now.
        const known =
          joined && this.reader !== undefined && src[s] === 0x7b && this.reader.readElement(src, s, e) === e;
        this.sink(src, s, e, index, this.elemStart, this.elemLine, this.elemCol, undefined, known);
      } else this.out.push({ bytes: src.subarray(s, e), place: place! } as unknown as ReadItem);
      return;
    }
    const bytes = s === 0 && e === src.length ? src : src.subarray(s, e);
    this.emit(bytes, place!, () => {
      const text = bytes.toString('utf8');
      if (spans) {
        const tailUnits = text.length - text.lastIndexOf('\n') - 1;
        this.lineAdj = endAbs - this.lineStart - tailUnits;
      } else this.lineAdj += bytes.length - text.length;
      return text;
    });
  }

  /** Check, decode and parse one element's bytes, adding the item to the output (raw mode: the bytes). */
  private emit(bytes: Buffer, place: RecordPlace, decode: () => string): void {
    if (bytes.length > this.maxRecordBytes) this.tooLarge(place);
    if (!this.raw) this.out.push(parseElement(bytes, place, this.file, decode));
    else if (this.sink) this.sink(bytes, 0, bytes.length, place.index, place.offset, place.line, place.column);
    else this.out.push({ bytes, place } as unknown as ReadItem);
  }

  // ---------------------------------------------------------------- JSON Lines mode
  private feedJsonl(buf: Buffer, from: number): void {
    const n = buf.length;
    let i = from;
    while (i < n) {
      const j = buf.indexOf(0x0a, i);
      if (j === -1) {
        if (this.skipBytes >= 0) {
          this.skipBytes += n - i;
          return;
        }
        if (this.pending.length === 0) this.elemStart = this.base + i;
        this.pending.push(Buffer.from(buf.subarray(i)));
        this.pendingBytes += n - i;
        if (this.pendingBytes > this.maxRecordBytes) {
          // Too long to be a record: drop what was kept and skip to the next newline (bounded memory).
          this.skipBytes = this.pendingBytes;
          this.pending = [];
          this.pendingBytes = 0;
        }
        return;
      }
      if (this.skipBytes >= 0) {
        this.overlongLine(this.elemStart, this.skipBytes + j - i);
        this.skipBytes = -1;
        this.line++;
        i = j + 1;
        continue;
      }
      let lineBytes: Buffer;
      let lineAbs: number;
      if (this.pending.length) {
        this.pending.push(buf.subarray(i, j));
        lineBytes = Buffer.concat(this.pending, this.pendingBytes + j - i);
        lineAbs = this.elemStart;
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        lineBytes = buf.subarray(i, j);
        lineAbs = this.base + i;
      }
      this.jsonlLine(lineBytes, lineAbs);
      this.line++;
      i = j + 1;
    }
  }

  /**
   * A JSON Lines line longer than `maxRecordBytes`: a rejected record (`json/record-too-large`, with its place), not
   * the end of the read; its bytes were skipped without being kept.
   */
  private overlongLine(offset: number, length: number, column = 1): void {
    const place: RecordPlace = { index: this.index, offset, line: this.line, column, length };
    this.index++;
    const diagnostic = diagnose(readerRules.jsonRecordTooLarge, {
      message: `Record #${place.index} (line ${place.line}) has ${length} bytes, more than the limit of ${this.maxRecordBytes}; it was skipped to the next line.`,
      file: this.file,
      recordIndex: place.index,
      place: { offset, line: place.line, column },
      source: 'reader',
      data: { maxRecordBytes: this.maxRecordBytes, bytes: length },
    });
    if (this.sink) this.sink(EMPTY, 0, 0, place.index, offset, place.line, column, { diagnostic, length });
    else if (this.raw)
      this.out.push({ bytes: EMPTY, place, rejected: diagnostic } satisfies RawElement as unknown as ReadItem);
    else this.out.push({ ok: false, diagnostic, place, text: '' });
  }

  private jsonlLine(bytes: Buffer, abs: number, last = false): void {
    let s = 0;
    let e = bytes.length;
    while (s < e && isWs(bytes[s]!)) s++;
    while (e > s && isWs(bytes[e - 1]!)) e--;
    if (s === e) return;
    if (e - s > this.maxRecordBytes) {
      this.overlongLine(abs + s, e - s, s + 1);
      return;
    }
    const rec = bytes.subarray(s, e);
    const place: RecordPlace = { index: this.index, offset: abs + s, line: this.line, column: s + 1, length: e - s };
    const first = this.index === 0;
    this.index++;
    const { tooDeepAt, depth } = scanDepth(rec, this.maxDepth);
    if (tooDeepAt !== -1) {
      const text = rec.toString('utf8', 0, tooDeepAt);
      this.fatal(
        readerRules.jsonTooDeep,
        `Record #${place.index} nests deeper than ${this.maxDepth} levels.`,
        placeInText(text, text.length, place),
        { recordIndex: place.index, data: { maxDepth: this.maxDepth } },
      );
    }
    if (first && this.opt === 'auto' && depth > 0 && rec[0] === 0x7b) {
      // A `{` line that does not close: a pretty-printed single object, not JSON Lines.
      this.fatal(
        readerRules.jsonNotArray,
        'The top-level value is an object spread over several lines: neither an array of records nor JSON Lines.',
        { offset: place.offset, line: place.line, column: place.column },
      );
    }
    if (this.raw) {
      if (last) {
        // The last line is parsed here too, to tell a cut-off file from one bad record (before it is handed out).
        let item: ReadItem;
        try {
          item = parseElement(rec, place, this.file);
        } catch (error) {
          this.emit(rec, place, () => rec.toString('utf8'));
          throw error;
        }
        if (!item.ok) this.truncatedLast(item.text, place);
      }
      this.emit(rec, place, () => rec.toString('utf8'));
      return;
    }
    const before = this.out.length;
    this.emit(rec, place, () => rec.toString('utf8'));
    const item = this.out[before];
    if (last && item && !item.ok) {
      this.out.length = before;
      this.truncatedLast(item.text, place);
      this.out.push(item);
    }
  }

  /** A last line without a newline that stops mid-value: the file is cut off, not just one bad record. */
  private truncatedLast(text: string, place: RecordPlace): void {
    const spot = locateJsonError(text);
    if (spot && (spot.index >= text.length || spot.message.startsWith('unterminated string'))) {
      this.fatal(
        readerRules.jsonTruncated,
        `The file ends inside record #${place.index} (which starts here): the data is cut off.`,
        { offset: place.offset, line: place.line, column: place.column },
        { recordIndex: place.index, data: { fileBytes: this.total } },
      );
    }
  }

  // ---------------------------------------------------------------- end of input
  private finish(): void {
    if (this.mode === UNDECIDED) {
      const head = this.head;
      this.head = [];
      this.headBytes = 0;
      this.decide(Buffer.concat(head), true);
      if (this.mode === UNDECIDED) return;
    }
    if (this.mode === JSONL) {
      if (this.skipBytes >= 0) {
        this.overlongLine(this.elemStart, this.skipBytes);
        this.skipBytes = -1;
      }
      if (this.pending.length) {
        const bytes = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [];
        this.pendingBytes = 0;
        this.jsonlLine(bytes, this.elemStart, true);
      }
      if (this.index === 0) {
        this.fatal(readerRules.inputEmpty, 'The file contains only blank lines.', { offset: 0, line: 1, column: 1 });
      }
      return;
    }
    this.buf = EMPTY;
    this.base = this.total;
    this.nextNl = -1;
    if (this.phase === IN_ELEMENT && this.scalar) this.finishElement(EMPTY, 0);
    if (this.phase === DONE) return;
    if (this.phase === IN_ELEMENT) {
      this.fatal(
        readerRules.jsonTruncated,
        `The file ends inside record #${this.index} (which starts here): the data is cut off.`,
        { offset: this.elemStart, line: this.elemLine, column: this.elemCol },
        { recordIndex: this.index, data: { fileBytes: this.total } },
      );
    }
    this.fatal(
      readerRules.jsonTruncated,
      `The file ends before the top-level array is closed (${this.index} record${this.index === 1 ? '' : 's'} read; \`]\` missing).`,
      this.placeAt(this.total),
      { data: { fileBytes: this.total, records: this.index } },
    );
  }
}

/** UTF-16 code units of the UTF-8 text `bytes[from…to)` (as `toString('utf8').length`, without decoding ASCII). */
function utf16Length(bytes: Buffer, from: number, to: number): number {
  if (to - from <= 32) {
    // (a pretty-printed element's last line, `}`: no view, no native call)
    let k = from;
    while (k < to && bytes[k]! < 0x80) k++;
    if (k === to) return to - from;
  }
  const part = from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to);
  return isAscii(part) ? part.length : part.toString('utf8').length;
}

/**
 * Check and parse one element's bytes as the scanner does (the second half of its work, which a scanner in raw mode
 * leaves to the caller, e.g. a worker thread): broken JSON gives a `{ ok: false }` item with its `json/syntax`
 * diagnostic and exact place; invalid UTF-8 or nesting too deep to parse throws the fatal `DiagnosticError` that
 * ends a read. `decode` gives the text (default: the bytes as UTF-8).
 */
export function parseElement(
  bytes: Buffer,
  place: RecordPlace,
  file: string | undefined,
  decode?: () => string,
): ReadItem {
  if (!isUtf8(bytes)) {
    const bad = Math.max(0, firstInvalidUtf8(bytes));
    const text = bytes.toString('utf8', 0, bad);
    throw new DiagnosticError(
      diagnose(readerRules.encodingInvalidUtf8, {
        message: `Invalid UTF-8 byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} in record #${place.index}.`,
        file,
        place: placeInText(text, text.length, place),
        source: 'reader',
        recordIndex: place.index,
        data: { byte: bytes[bad] },
      }),
    );
  }
  const text = decode ? decode() : bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new DiagnosticError(
        diagnose(readerRules.jsonTooDeep, {
          message: `Record #${place.index} nests too deeply to parse.`,
          file,
          place,
          source: 'reader',
          recordIndex: place.index,
        }),
      );
    }
    return { ok: false, diagnostic: syntaxDiagnostic(text, place, e, file), place, text };
  }
  return { ok: true, value, place, text };
}

function syntaxDiagnostic(text: string, place: RecordPlace, error: unknown, file: string | undefined): Diagnostic {
  const spot = locateJsonError(text) ?? { index: 0, message: error instanceof Error ? error.message : String(error) };
  return diagnose(readerRules.jsonSyntax, {
    message: `Record #${place.index} is not valid JSON: ${spot.message}.`,
    file,
    recordIndex: place.index,
    place: placeInText(text, spot.index, place),
    excerpt: excerpt(text, 80, spot.index),
    source: 'reader',
    data: { recordOffset: place.offset, recordLine: place.line },
  });
}
