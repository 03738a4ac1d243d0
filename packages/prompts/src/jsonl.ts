import { type Diagnostic, diagnose, excerpt } from '@llavakit/diagnostics';
import { openStreamPath } from '@llavakit/reader';
import { promptRules } from './rules.js';

/** One non-blank line of a JSONL file: its 1-based line number and text. */
export interface JsonlLine {
  readonly line: number;
  readonly text: string;
  readonly overlong?: undefined;
}

/**
 * A line longer than the limit: skipped without keeping its bytes (reading goes on at the next newline). `bytes` is
 * its length without the newline.
 */
export interface OverlongLine {
  readonly line: number;
  readonly overlong: true;
  readonly bytes: number;
  /** Its byte offset in the file. */
  readonly offset: number;
}

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** The longest line kept, in bytes (default {@link DEFAULT_MAX_LINE_BYTES}); longer ones are skipped and reported. */
  readonly maxLineBytes?: number;
  /** Bytes read at a time (default 1 MiB). */
  readonly chunkBytes?: number;
}

/** Default {@link ReadLinesOptions.maxLineBytes}: 64 MiB, far above any real response or manifest line. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * Read a text file line by line (LF or CRLF), skipping blank lines, in bounded memory: a line longer than
 * `maxLineBytes` (a 2 GB line, a file of zeros without a newline) is not kept — its bytes are counted and dropped up
 * to the next newline, and it comes out as an {@link OverlongLine} (report it with {@link overlongLineDiagnostic}).
 * Invalid UTF-8 becomes U+FFFD. Errors opening or reading the file (ENOENT, EISDIR) are thrown.
 */
export async function* readLines(
  path: string,
  options: ReadLinesOptions = {},
): AsyncGenerator<JsonlLine | OverlongLine> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new TextDecoder('utf-8');
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = false;
  let line = 0;
  let offset = 0; // of the current line's start
  let position = 0; // of the current chunk's start
  const finish = (last: Buffer): JsonlLine | OverlongLine | undefined => {
    line++;
    if (skipping) return { line, overlong: true, bytes: partBytes + last.length, offset };
    const bytes = parts.length === 0 ? last : Buffer.concat([...parts, last], partBytes + last.length);
    let text = decoder.decode(bytes);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return text.trim() === '' ? undefined : { line, text };
  };
  const reset = (next: number) => {
    parts = [];
    partBytes = 0;
    skipping = false;
    offset = next;
  };
  // A FIFO or `<(…)` is read through the event loop, so Ctrl-C never waits on an idle writer (see openStreamPath).
  for await (const chunk of openStreamPath(path, {
    chunkSize: options.chunkBytes ?? 1024 * 1024,
  }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(NEWLINE, from); nl >= 0; nl = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, nl);
      if (!skipping && partBytes + piece.length > max) skipping = true;
      const out = finish(skipping ? Buffer.alloc(0) : piece);
      if (out?.overlong) yield { ...out, bytes: out.bytes + piece.length };
      else if (out) yield out;
      reset(position + nl + 1);
      from = nl + 1;
    }
    const rest = chunk.subarray(from);
    if (!skipping && partBytes + rest.length > max) {
      skipping = true;
      parts = [];
    }
    if (!skipping) parts.push(Buffer.from(rest)); // a copy: the chunk's memory is not pinned by a short tail
    partBytes += rest.length;
    position += chunk.length;
  }
  if (partBytes > 0 || skipping) {
    const out = finish(Buffer.alloc(0));
    if (out) yield out;
  }
}

/** The `prompts/line-too-long` diagnostic of an {@link OverlongLine} of `file`. */
export function overlongLineDiagnostic(file: string, overlong: OverlongLine, maxLineBytes?: number): Diagnostic {
  const max = maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  return diagnose(promptRules.lineTooLong, {
    message: `Line ${overlong.line} has ${overlong.bytes} bytes, more than the limit of ${max}; it was skipped.`,
    file,
    place: { line: overlong.line, column: 1, offset: overlong.offset },
    source: 'prompts',
    data: { bytes: overlong.bytes, maxLineBytes: max },
  });
}

/** The value of a JSON text, or undefined when it is not JSON. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A `prompts/bad-line` diagnostic for line `line` of `file`, with an excerpt of its text. */
export function badLine(file: string, line: number, text: string, message: string): Diagnostic {
  return diagnose(promptRules.badLine, {
    message,
    file,
    place: { line, column: 1 },
    excerpt: excerpt(text, 100),
    source: 'prompts',
  });
}
