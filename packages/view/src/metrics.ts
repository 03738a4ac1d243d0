import { type RecordSummary, summarizeRecord } from './summary.js';
import { createLlamaTokenCounter, type TokenCounter } from './tokens.js';

export { imagePaths, type RecordSummary, sourceOf, summarizeRecord } from './summary.js';

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

/**
 * The default metrics: turns, images and source from the record, text tokens counted with the real LLaMA vocabulary
 * (`llama-tokenizer-js`, see {@link createLlamaTokenCounter}).
 */
export function createDefaultMetrics(counter?: TokenCounter): RecordMetrics {
  const metrics = defaultMetricsWith(counter ?? createLlamaTokenCounter());
  if (!counter) llamaMetrics.add(metrics);
  return metrics;
}

/** Metrics made by `createDefaultMetrics()` with its own LLaMA counter (a worker thread can make the same ones). */
const llamaMetrics = new WeakSet<RecordMetrics>();

/** True for metrics made by `createDefaultMetrics()` without a counter of the caller's: a worker can count them. */
export function isLlamaMetrics(metrics: RecordMetrics): boolean {
  return llamaMetrics.has(metrics);
}

function defaultMetricsWith(counter: TokenCounter): RecordMetrics {
  return {
    tokenizer: counter.name,
    summarize: summarizeRecord,
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
