import { imagesOf, type LlavaRecord } from '@llavakit/schema';
import { Accounting } from './accounting.js';
import { conversationKey, keyHex } from './hash.js';
import { needFiles, usageError } from './op-diagnostics.js';
import type { InputOptions, OpSummary, OutputOptions } from './op-types.js';
import { seededUnit } from './random.js';
import { forEachItem } from './read-inputs.js';
import { RecordOutput } from './record-output.js';
import { sourceOf } from './source.js';

/** Options of {@link splitRecords}. */
export interface SplitOptions extends InputOptions, Omit<OutputOptions, 'output'> {
  /** The train output. */
  readonly output: string;
  /** The eval output. */
  readonly evalOutput: string;
  /** Eval share: a fraction in (0, 1), or a whole number of records (≥ 1). */
  readonly eval: number;
  /** Stratify: the same share of every source (see `sourceOf`). */
  readonly by?: 'source';
  /** Seed of the hash that decides each record's side (default 0). */
  readonly seed?: number | string;
}

/** What {@link splitRecords} did. */
export interface SplitSummary extends OpSummary {
  readonly train: number;
  readonly eval: number;
  /** Eval records per source (with `by: 'source'`). */
  readonly evalBySource?: Record<string, number>;
}

/** The text a record's side is decided by: its id and its content (so records without id still split stably). */
export function splitKey(record: LlavaRecord): string {
  const id = record.id === undefined ? '' : `${typeof record.id}:${record.id}`;
  return `${id}\u0000${keyHex(conversationKey(record))}\u0000${imagesOf(record).join('\u0001')}`;
}

/**
 * Split records into train and eval by a seeded hash of each record's id and content: a record's side does not
 * depend on the other records, so with a fraction (and no stratification) a file that grows keeps every earlier
 * record on its side, in one pass. A whole number of eval records, or `by: 'source'` (exactly round(share × n)
 * per source), takes the records with the smallest hashes: a first pass collects the hashes (8 bytes per record).
 *
 * @example
 * ```ts
 * await splitRecords({ inputs: ['data.json'], registry, output: 'train.json', evalOutput: 'eval.json', eval: 0.01, seed: 1 });
 * ```
 */
export async function splitRecords(options: SplitOptions): Promise<SplitSummary> {
  const share = options.eval;
  if (!(share > 0) || (share >= 1 && !Number.isInteger(share))) {
    throw usageError('--eval is a fraction between 0 and 1 (0.01) or a whole number of records (500).');
  }
  if (options.output === options.evalOutput) throw usageError('The train and eval outputs must differ.');
  const seed = options.seed ?? 0;
  const exact = share >= 1 || options.by === 'source';
  const thresholds = new Map<string, { value: number; ties: number }>();
  if (exact) {
    await needFiles(options.inputs, 'split with a count or --by source');
    const hashes = new Map<string, { values: Float64Array; n: number }>();
    try {
      await forEachItem(
        options,
        undefined,
        (item) => {
          if (!item.ok) return;
          const stratum = options.by === 'source' ? sourceOf(item.record) : '';
          let bucket = hashes.get(stratum);
          if (!bucket) hashes.set(stratum, (bucket = { values: new Float64Array(1024), n: 0 }));
          if (bucket.n === bucket.values.length) {
            const grown = new Float64Array(bucket.values.length * 2);
            grown.set(bucket.values);
            bucket.values = grown;
          }
          bucket.values[bucket.n++] = seededUnit(seed, splitKey(item.record));
        },
        { pass: 'hash' },
      );
    } catch (error) {
      const failed = await new Accounting(undefined).fail(error);
      return { ...failed, train: 0, eval: 0 };
    }
    const total = [...hashes.values()].reduce((a, b) => a + b.n, 0);
    const quotas = quotasOf(hashes, share >= 1 ? Math.min(share, total) : share * total, total);
    for (const [stratum, bucket] of hashes) {
      const k = quotas.get(stratum) ?? 0;
      const sorted = bucket.values.subarray(0, bucket.n).sort();
      if (k === 0) thresholds.set(stratum, { value: -1, ties: 0 });
      else {
        const value = sorted[k - 1]!;
        let below = 0;
        while (below < k && sorted[below]! < value) below++;
        thresholds.set(stratum, { value, ties: k - below });
      }
      bucket.values = new Float64Array(0);
    }
  }
  const accounting = new Accounting(options.rejects);
  const evalBySource: Record<string, number> = {};
  try {
    const train = accounting.output(RecordOutput.open(options.output, options));
    const evalOut = accounting.output(RecordOutput.open(options.evalOutput, options));
    await forEachItem(
      options,
      accounting,
      async (item) => {
        if (!item.ok) return accounting.reject(item, item.diagnostics);
        const u = seededUnit(seed, splitKey(item.record));
        let toEval: boolean;
        const stratum = options.by === 'source' ? sourceOf(item.record) : '';
        if (!exact) toEval = u < share;
        else {
          const t = thresholds.get(stratum)!;
          if (u < t.value) toEval = true;
          else if (u === t.value && t.ties > 0) {
            t.ties--;
            toEval = true;
          } else toEval = false;
        }
        const written = await accounting.write(toEval ? evalOut : train, item);
        if (written && toEval && options.by === 'source') evalBySource[stratum] = (evalBySource[stratum] ?? 0) + 1;
      },
      { pass: 'write' },
    );
  } catch (error) {
    const failed = await accounting.fail(error);
    return { ...failed, train: 0, eval: 0 };
  }
  const summary = await accounting.finish();
  return Object.assign(summary, {
    train: summary.outputs[options.output] ?? 0,
    eval: summary.outputs[options.evalOutput] ?? 0,
    ...(options.by === 'source' ? { evalBySource } : {}),
  });
}

/** Eval quota per stratum: round(wanted × n_s / total), the remainder by largest fraction, summing to round(wanted). */
function quotasOf(strata: Map<string, { n: number }>, wanted: number, total: number): Map<string, number> {
  const target = Math.round(wanted);
  const out = new Map<string, number>();
  if (total === 0) return out;
  const parts = [...strata].map(([name, { n }]) => {
    const exact = (target * n) / total;
    return { name, floor: Math.floor(exact), rest: exact - Math.floor(exact), n };
  });
  let left = target - parts.reduce((a, p) => a + p.floor, 0);
  parts.sort((a, b) => b.rest - a.rest || (a.name < b.name ? -1 : 1));
  for (const p of parts) {
    const extra = left > 0 && p.floor < p.n ? 1 : 0;
    left -= extra;
    out.set(p.name, p.floor + extra);
  }
  return out;
}
