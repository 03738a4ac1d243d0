import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One non-blank line of a JSONL file: its 1-based line number and text. */
export interface JsonlLine {
  readonly line: number;
  readonly text: string;
}

/** Read a text file line by line (LF or CRLF), skipping blank lines. */
export async function* readLines(path: string): AsyncGenerator<JsonlLine> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() !== '') yield { line, text };
  }
}
