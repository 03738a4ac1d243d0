/** One bar of a bucketed histogram: values in [from, to). */
export interface HistogramBucket {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/** The JSON form of a {@link Histogram}: summary numbers, display buckets, and the exact counts (for merging). */
export interface HistogramJson {
  readonly count: number;
  readonly sum: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  /** Display buckets (about 30, of a round width). */
  readonly histogram: readonly HistogramBucket[];
  /** Exact counts per value: `{ "value": count }`. */
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * Exact counts of non-negative integer values (token lengths, turns): memory grows with the number of distinct
 * values, not with the number of records, so percentiles are exact at any size and two histograms merge exactly.
 */
export class Histogram {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #sum = 0;

  /** Add one value (rounded to an integer), `times` times. */
  add(value: number, times = 1): void {
    const v = Math.round(value);
    this.#counts.set(v, (this.#counts.get(v) ?? 0) + times);
    this.#count += times;
    this.#sum += v * times;
  }

  /** Values added. */
  get count(): number {
    return this.#count;
  }

  /** Add every value of another histogram (or of its JSON form). */
  merge(other: Histogram | Pick<HistogramJson, 'counts'>): void {
    const entries =
      other instanceof Histogram
        ? other.#counts.entries()
        : Object.entries(other.counts).map(([k, n]) => [Number(k), n] as const);
    for (const [value, n] of entries) this.add(value, n);
  }

  /** The exact q-quantile (0 ≤ q ≤ 1), nearest-rank: the smallest value with at least q × count values ≤ it. */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (const value of this.#sorted()) {
      seen += this.#counts.get(value)!;
      if (seen >= rank) return value;
    }
    return this.max;
  }

  /** Largest value. */
  get max(): number | undefined {
    let max: number | undefined;
    for (const value of this.#counts.keys()) if (max === undefined || value > max) max = value;
    return max;
  }

  /** Smallest value. */
  get min(): number | undefined {
    let min: number | undefined;
    for (const value of this.#counts.keys()) if (min === undefined || value < min) min = value;
    return min;
  }

  /** Count of one value. */
  countOf(value: number): number {
    return this.#counts.get(value) ?? 0;
  }

  /** Buckets of a round width covering [min, max] in about `target` bars (width 1 for small ranges). */
  buckets(target = 30): HistogramBucket[] {
    const min = this.min;
    const max = this.max;
    if (min === undefined || max === undefined) return [];
    const width = niceWidth((max - min + 1) / target);
    const start = Math.floor(min / width) * width;
    const bars = new Map<number, number>();
    for (const [value, n] of this.#counts) {
      const from = start + Math.floor((value - start) / width) * width;
      bars.set(from, (bars.get(from) ?? 0) + n);
    }
    const out: HistogramBucket[] = [];
    for (let from = start; from <= max; from += width) out.push({ from, to: from + width, count: bars.get(from) ?? 0 });
    return out;
  }

  /** The JSON form. */
  toJSON(): HistogramJson {
    const counts: Record<string, number> = {};
    for (const value of this.#sorted()) counts[String(value)] = this.#counts.get(value)!;
    return {
      count: this.#count,
      sum: this.#sum,
      min: this.min ?? null,
      max: this.max ?? null,
      mean: this.#count ? Math.round((this.#sum / this.#count) * 100) / 100 : null,
      p50: this.quantile(0.5) ?? null,
      p90: this.quantile(0.9) ?? null,
      p99: this.quantile(0.99) ?? null,
      histogram: this.buckets(),
      counts,
    };
  }

  /** The exact counts alone (`HistogramJson.counts`, in no particular order): what {@link Histogram.merge} needs. */
  toCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [value, n] of this.#counts) counts[value] = n;
    return counts;
  }

  /** Rebuild from the JSON form. */
  static fromJSON(json: Pick<HistogramJson, 'counts'>): Histogram {
    const h = new Histogram();
    h.merge(json);
    return h;
  }

  #sorted(): number[] {
    return [...this.#counts.keys()].sort((a, b) => a - b);
  }
}

function niceWidth(raw: number): number {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 5, 10]) if (raw <= step * power) return step * power;
  return 10 * power;
}
