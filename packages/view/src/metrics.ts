import { createLlamaTokenCounter, type TokenCounter } from './tokens.js';

/** The summary of one record the table, the filters and the stats panel use. */
export interface RecordSummary {
  /** `data_source`, else the first folder of the first image, `(bare)` for a bare file name, else `text-only`. */
  readonly source: string;
  /** Number of turns (`conversations` items); 0 when the record has none. */
  readonly turns: number;
  /** Number of image paths. */
  readonly images: number;
}

/**
 * The per-record numbers of the viewer, behind one small interface so that another implementation (for example the
 * one of `llava stats`) can take its place. `summarize` is cheap and runs while the index is built; `tokens` is
 * costly and runs afterwards, in the background, and for the rows shown on a page.
 */
export interface RecordMetrics {
  /** The tokenizer's name, shown in the page. */
  readonly tokenizer: string;
  summarize(value: unknown): RecordSummary;
  /** Text tokens of all turns, without the `<image>` / `<video>` placeholders (the model puts image features there). */
  tokens(value: unknown): number;
}

const PLACEHOLDERS = /<image>|<video>/g;

/** The image paths of a value that may not be a valid record. */
export function imagePaths(value: Record<string, unknown>): string[] {
  const image = value.image;
  if (typeof image === 'string') return [image];
  if (Array.isArray(image)) return image.filter((p): p is string => typeof p === 'string');
  return [];
}

/** The source label of a record (see {@link RecordSummary.source}). */
export function sourceOf(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'text-only';
  const record = value as Record<string, unknown>;
  const declared = record.data_source;
  if (typeof declared === 'string' && declared.trim() !== '') return declared.trim();
  const first = imagePaths(record)[0];
  if (first === undefined) return 'text-only';
  const clean = first.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  const slash = clean.indexOf('/');
  return slash > 0 ? clean.slice(0, slash) : '(bare)';
}

/**
 * The default metrics: turns, images and source from the record, text tokens counted with the real LLaMA vocabulary
 * (`llama-tokenizer-js`, see {@link createLlamaTokenCounter}).
 */
export function createDefaultMetrics(counter: TokenCounter = createLlamaTokenCounter()): RecordMetrics {
  return {
    tokenizer: counter.name,
    summarize(value) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return { source: 'text-only', turns: 0, images: 0 };
      }
      const record = value as Record<string, unknown>;
      const turns = Array.isArray(record.conversations) ? record.conversations.length : 0;
      return { source: sourceOf(record), turns, images: imagePaths(record).length };
    },
    tokens(value) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return 0;
      const turns = (value as Record<string, unknown>).conversations;
      if (!Array.isArray(turns)) return 0;
      let n = 0;
      for (const turn of turns) {
        const text = (turn as { value?: unknown } | null)?.value;
        if (typeof text === 'string') n += counter.count(text.replace(PLACEHOLDERS, ''));
      }
      return n;
    },
  };
}
