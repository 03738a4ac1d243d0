import { open } from 'node:fs/promises';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { type DetectProbe, type FormatPlugin, formatRules } from '@llavakit/format';
import { type InputSource, readRecords } from '@llavakit/reader';
import type { ConvertOptions } from './convert-options.js';
import { isStreamPath, refuseWrappedRecords, sourceOfPath } from './input.js';
import { namedFormat } from './preflight.js';
import { writerRules } from './rules.js';

/**
 * True when a stream-level format reads this path itself although it is not a plain file (a Hub folder of Parquet
 * shards, a glob): the format named by `from`, or the one that detection picks from the path alone.
 */
export async function claimedAsContainer(
  file: string,
  options: Pick<ConvertOptions, 'from' | 'registry'>,
): Promise<boolean> {
  if (file === '-') return false;
  const byName = options.from ? options.registry.get(options.from)?.format : undefined;
  if (byName) return typeof byName.read === 'function';
  const ranked = options.registry.scores({ path: file, head: '', values: [] });
  const best = ranked[0];
  return best !== undefined && best.score > 0 && typeof best.entry.format.read === 'function';
}

/** A format's detection score for an input. */
export interface FormatScore {
  readonly format: string;
  readonly score: number;
}

/** How an input format was chosen. */
export interface ChosenFormat {
  readonly format: FormatPlugin<object>;
  /** `from`: named by `--from`; `detected`: the only best score; `default`: standard input or an input with no records. */
  readonly by: 'from' | 'detected' | 'default';
  /** Every readable format's score, highest first (when detected). */
  readonly scores: readonly FormatScore[];
}

/**
 * Choose the format of an input: `--from` when given, else the formats' `detect()` scores over its first records
 * (never its name). Standard input and inputs without records default to `llava`. When no format scores above 0, or
 * two share the best score, the choice is the user's: a `format/ambiguous` error names the first record and every
 * candidate with its score. A pretraining metadata file (CC-3M `metadata.json`, `_meta.json`: `image` with
 * captions or URLs, no conversations) that no format claims is an `input/metadata-file` error saying how to attach it.
 */
export async function chooseInputFormat(
  file: string,
  options: Pick<ConvertOptions, 'from' | 'registry'>,
  given?: DetectProbe,
): Promise<ChosenFormat> {
  const { registry } = options;
  if (options.from) return { format: namedFormat(registry, options.from, 'read', file), by: 'from', scores: [] };
  const llava = registry.get('llava');
  if (file === '-' && llava) return { format: llava.format, by: 'default', scores: [] };
  const probe = given ?? (await probeFile(file));
  const ranked = registry.scores(probe);
  const scores = ranked.map((r) => ({ format: r.entry.format.name, score: r.score }));
  const best = ranked[0];
  if (best && best.score > 0 && !(ranked[1] && ranked[1].score === best.score)) {
    return { format: best.entry.format, by: 'detected', scores };
  }
  // No records could be parsed and no format claims the bytes (a container such as Parquet would): the LLaVA
  // reader reads it and reports exactly what is wrong (empty, not JSON, cut off…).
  if (probe.values.length === 0 && llava) return { format: llava.format, by: 'default', scores: [] };
  const first = probe.values[0];
  // Records wrapped in one object (`{"data": […]}`) say so, rather than "no format recognises them".
  if (!best || best.score === 0) refuseWrappedRecords(first, file, firstValuePlace(probe.head));
  const shown = excerptOf(first);
  if ((!best || best.score === 0) && isMetadataRecord(first)) {
    throw new DiagnosticError(
      diagnose(writerRules.metadataInput, {
        message: `${file} holds metadata records (image, captions, URL; no conversations), e.g. ${shown}. It is not a dataset to convert.`,
        hint: `Attach it to its chat file: llava convert chat.json --metadata ${file} --to <format> -o out.json (library: convert({ metadata: { path } })).`,
        file,
        recordIndex: 0,
      }),
    );
  }
  const list = scores.map((s) => `${s.format} ${s.score.toFixed(2)}`).join(', ');
  const tie = best && best.score > 0;
  throw new DiagnosticError(
    diagnose(formatRules.ambiguousFormat, {
      message: `${
        tie
          ? `The records look equally like ${ranked
              .filter((r) => r.score === best.score)
              .map((r) => r.entry.format.name)
              .join(' and ')}`
          : 'No known format recognises these records'
      }. First record: ${shown}. Scores: ${list}.`,
      hint: `Name the input format with --from (${scores.map((s) => s.format).join(', ')}).`,
      file,
      recordIndex: 0,
      data: { scores },
    }),
  );
}

/** A record of a pretraining metadata file: an `image` path with captions or a URL, and no turns. */
function isMetadataRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  if ('conversations' in v || 'messages' in v) return false;
  return typeof v.image === 'string' && ['caption', 'blip_caption', 'url'].some((k) => k in v);
}

/** A short JSON excerpt of a value for a message (at most 160 characters). */
function excerptOf(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

/**
 * Choose the format of one input path ({@link chooseInputFormat}) and give the source to read it from: the path for
 * a regular file; for a FIFO, `<(…)` process substitution or a device, the stream opened once, its head (read for
 * detection) replayed before the rest, so detection never consumes bytes the reader needs and the input is never
 * opened twice. `'-'` is read from `stdin` (default `process.stdin`).
 *
 * @example
 * ```ts
 * const { format, input } = await openInputFormat('<(zcat mix.json.gz)', { registry });
 * for await (const item of readRecords(input)) …
 * ```
 */
export async function openInputFormat(
  file: string,
  options: Pick<ConvertOptions, 'from' | 'registry'> & { readonly stdin?: InputSource },
): Promise<ChosenFormat & { readonly input: InputSource }> {
  const { input, probe } = await sourceOfPath(file, { stdin: options.stdin, peek: !options.from });
  return { ...(await chooseInputFormat(file, options, probe)), input };
}

/** Read the head of a file and its first records, for format detection. */
export async function probeFile(file: string): Promise<DetectProbe> {
  let head = '';
  // A FIFO, pipe or device is never opened to be probed: that would consume what its writer sent (and the real read
  // would wait for a writer that is gone). Stream inputs are probed from the bytes they are read with (`peekInput`).
  if (await isStreamPath(file)) return { path: file, head: '', values: [] };
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    // The reader reports unreadable inputs with a proper diagnostic later.
    return { path: file, head: '', values: [] };
  }
  const values: unknown[] = [];
  try {
    for await (const item of readRecords(file, { file })) {
      if (item.ok) values.push(item.value);
      if (values.length >= 5 || item.place.index >= 20) break;
    }
  } catch {
    // Syntax errors are reported when the input is actually read.
  }
  return { path: file, head, values };
}

/** Where the first JSON value of a probed head starts (the first character that is not white space or a BOM). */
function firstValuePlace(head: string): {
  index: number;
  offset: number;
  line: number;
  column: number;
  length: number;
} {
  const at = head.search(/[^\s\uFEFF]/);
  const before = at === -1 ? '' : head.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1) + 1;
  return { index: 0, offset: Buffer.byteLength(before, 'utf8'), line, column, length: -1 };
}
