/**
 * The per-record counting of `computeStats`, shared by the main thread and the worker threads of a parallel run: a
 * {@link StatsCounter} counts records (or a batch of them, in a worker), {@link StatsCounter.part} sends what it
 * counted as plain data and {@link StatsCounter.merge} adds such a part, exactly (counts add, histograms merge).
 * Duplicates are not counted here: each record's 64-bit keys go to a {@link KeySink}, and the main thread keeps the
 * one table of the whole run, so duplicates stay global across inputs, batches and workers.
 */
import { IMAGE_TOKEN, imagesOf, type LlavaRecord } from '@llavakit/schema';
import { conversationKey, type Key64, textKey } from './hash.js';
import { Histogram } from './histogram.js';
import type { RecordLength, Unmeasurable } from './length.js';
import type { OpItem } from './op-types.js';
import { isTextOnly, sourceOf } from './source.js';

/** Per-source counts. */
export interface SourceCounts {
  records: number;
  textOnly: number;
  images: number;
}

/** Where `<image>` sits (see `StatsResult.imagePlacement`). */
export interface PlacementCounts {
  start: number;
  end: number;
  middle: number;
  none: number;
  mismatch: number;
}

/** Exact counts per value of a histogram (`Histogram.toCounts`). */
export type Counts = Record<string, number>;

/** What a {@link StatsCounter} counted, as plain data (structured-cloneable, JSON-able). */
export interface StatsPart {
  /** Items visited (records and invalid elements). */
  read: number;
  invalid: number;
  invalidByRule: Record<string, number>;
  records: number;
  textOnly: number;
  images: number;
  sources: Record<string, SourceCounts>;
  imagesPerRecord: Record<string, number>;
  placement: PlacementCounts;
  turns: Counts;
  unmeasurable: number;
  total: Counts;
  text: Counts;
  image: Counts;
  overhead: Counts;
}

/** Where the duplicate keys of each counted record go: its id's key (absent without id) and its conversation's. */
export type KeySink = (id: Key64 | undefined, conversation: Key64) => void;

/** Measures a record's tokens (absent: no token counting). */
export type Measure = (record: LlavaRecord) => RecordLength | Unmeasurable;

/** Counts records; see the module comment. */
export class StatsCounter {
  read = 0;
  invalid = 0;
  invalidByRule: Record<string, number> = {};
  records = 0;
  textOnly = 0;
  images = 0;
  sources: Record<string, SourceCounts> = {};
  imagesPerRecord: Record<string, number> = {};
  placement: PlacementCounts = { start: 0, end: 0, middle: 0, none: 0, mismatch: 0 };
  turns = new Histogram();
  unmeasurable = 0;
  total = new Histogram();
  text = new Histogram();
  image = new Histogram();
  overhead = new Histogram();

  constructor(readonly keys: KeySink) {}

  /** Count an element that is no valid record, by the rule of its first diagnostic. */
  invalidItem(item: Extract<OpItem, { ok: false }>): void {
    this.read++;
    this.invalid++;
    const rule = item.diagnostics[0]?.ruleId ?? 'unknown';
    this.invalidByRule[rule] = (this.invalidByRule[rule] ?? 0) + 1;
  }

  /** Count a record (everything but its tokens: see {@link StatsCounter.length}); returns its image paths. */
  record(record: LlavaRecord): readonly string[] {
    this.read++;
    this.records++;
    const source = sourceOf(record);
    const perSource = (this.sources[source] ??= { records: 0, textOnly: 0, images: 0 });
    perSource.records++;
    const paths = imagesOf(record);
    perSource.images += paths.length;
    this.images += paths.length;
    this.imagesPerRecord[paths.length] = (this.imagesPerRecord[paths.length] ?? 0) + 1;
    if (isTextOnly(record)) {
      this.textOnly++;
      perSource.textOnly++;
    }
    this.turns.add(record.conversations.length);
    countPlacement(record.conversations, paths.length, this.placement);
    this.keys(
      record.id !== undefined ? textKey(`${typeof record.id}:${record.id}`) : undefined,
      conversationKey(record),
    );
    return paths;
  }

  /** Count a record's measured length. */
  length(length: RecordLength | Unmeasurable): void {
    if ('unmeasurable' in length) {
      this.unmeasurable++;
      return;
    }
    this.total.add(length.total);
    this.text.add(length.text);
    this.image.add(length.image);
    this.overhead.add(length.overhead);
  }

  /** What was counted, as plain data. */
  part(): StatsPart {
    return {
      read: this.read,
      invalid: this.invalid,
      invalidByRule: this.invalidByRule,
      records: this.records,
      textOnly: this.textOnly,
      images: this.images,
      sources: this.sources,
      imagesPerRecord: this.imagesPerRecord,
      placement: this.placement,
      turns: this.turns.toCounts(),
      unmeasurable: this.unmeasurable,
      total: this.total.toCounts(),
      text: this.text.toCounts(),
      image: this.image.toCounts(),
      overhead: this.overhead.toCounts(),
    };
  }

  /**
   * Add what another counter counted. Parts merged in input order give the same result, key order included (a
   * source or rule first seen in an earlier part comes first), as counting every record here.
   */
  merge(part: StatsPart): void {
    this.read += part.read;
    this.invalid += part.invalid;
    addCounts(this.invalidByRule, part.invalidByRule);
    this.records += part.records;
    this.textOnly += part.textOnly;
    this.images += part.images;
    for (const [name, s] of Object.entries(part.sources)) {
      const t = (this.sources[name] ??= { records: 0, textOnly: 0, images: 0 });
      t.records += s.records;
      t.textOnly += s.textOnly;
      t.images += s.images;
    }
    addCounts(this.imagesPerRecord, part.imagesPerRecord);
    for (const key of Object.keys(this.placement) as (keyof PlacementCounts)[])
      this.placement[key] += part.placement[key];
    this.turns.merge({ counts: part.turns });
    this.unmeasurable += part.unmeasurable;
    this.total.merge({ counts: part.total });
    this.text.merge({ counts: part.text });
    this.image.merge({ counts: part.image });
    this.overhead.merge({ counts: part.overhead });
  }
}

/** Add counts by key (keys new to `into` are appended in the order of `from`). */
export function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

function countPlacement(turns: readonly { value?: unknown }[], images: number, placement: PlacementCounts): void {
  let tokens = 0;
  for (const turn of turns) {
    const value = typeof turn.value === 'string' ? turn.value : '';
    const at = value.indexOf(IMAGE_TOKEN);
    if (at === -1) continue;
    for (let i = at; i !== -1; i = value.indexOf(IMAGE_TOKEN, i + IMAGE_TOKEN.length)) tokens++;
    const trimmed = value.trim();
    if (trimmed.startsWith(IMAGE_TOKEN)) placement.start++;
    else if (trimmed.endsWith(IMAGE_TOKEN)) placement.end++;
    else placement.middle++;
  }
  if (images > 0 && tokens === 0) placement.none++;
  if (tokens !== images && !(images > 0 && tokens === 0)) placement.mismatch++;
}
