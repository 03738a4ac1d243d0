import { type DatasetIndex, NO_TOKENS } from './dataset.js';

/** What the table shows: every filter is optional; all given ones must hold. */
export interface RecordFilter {
  /** A rule id the record must have (`roles/alternation`, `images/missing`, …), or `any` for any diagnostic. */
  readonly rule?: string;
  /** A source label (see `RecordSummary.source`). */
  readonly source?: string;
  /** `true`: at least one image; `false`: text-only. */
  readonly hasImage?: boolean;
  /** Only records with a missing (or refused) image (needs image sources). */
  readonly missingImage?: boolean;
  /** Text tokens, inclusive bounds (records not counted yet do not match a length filter). */
  readonly minTokens?: number;
  readonly maxTokens?: number;
  /** Lowest severity of the record's worst diagnostic: `error`, `warning` or `info`. */
  readonly severity?: 'error' | 'warning' | 'info';
}

const SEVERITY_RANK = { info: 1, warning: 2, error: 3 } as const;
const MISSING_RULES = ['images/missing', 'images/outside-root', 'images/invalid-path'];

/** Parse a filter from URL query parameters (unknown or empty values are ignored). */
export function parseFilter(params: URLSearchParams): RecordFilter {
  const int = (name: string): number | undefined => {
    const v = params.get(name);
    if (v === null || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
  };
  const bool = (name: string): boolean | undefined => {
    const v = params.get(name);
    return v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : undefined;
  };
  const text = (name: string) => {
    const v = params.get(name);
    return v === null || v === '' ? undefined : v;
  };
  const severity = text('severity');
  const filter: Record<string, unknown> = {
    rule: text('rule'),
    source: text('source'),
    hasImage: bool('hasImage'),
    missingImage: bool('missing') === true ? true : undefined,
    minTokens: int('minTokens'),
    maxTokens: int('maxTokens'),
    severity: severity === 'error' || severity === 'warning' || severity === 'info' ? severity : undefined,
  };
  for (const k of Object.keys(filter)) if (filter[k] === undefined) delete filter[k];
  return filter as RecordFilter;
}

/** A stable key of a filter (for caching matches). */
export function filterKey(filter: RecordFilter): string {
  return JSON.stringify(Object.entries(filter).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The record numbers that pass a filter, in file order. Scans the typed columns only (a few milliseconds for 665K
 * records); no record is read.
 */
export function matchRecords(index: DatasetIndex, filter: RecordFilter): Uint32Array {
  const n = index.count;
  let ruleMask = 0;
  let ruleImpossible = false;
  if (filter.rule === 'any') ruleMask = 0xffffffff;
  else if (filter.rule !== undefined) {
    const bit = index.rules.indexOf(filter.rule);
    // rules beyond the 31st share bit 31: filtering by one of them shows the records of all of them
    if (bit >= 0) ruleMask = 1 << bit;
    else if (index.ruleRecords.has(filter.rule)) ruleMask = 1 << 31;
    else ruleImpossible = true;
  }
  let missingMask = 0;
  for (const id of MISSING_RULES) {
    const bit = index.rules.indexOf(id);
    if (bit >= 0) missingMask |= 1 << bit;
  }
  const sourceCode = filter.source === undefined ? -1 : index.sources.indexOf(filter.source);
  if (ruleImpossible || (filter.source !== undefined && sourceCode < 0) || (filter.missingImage && missingMask === 0)) {
    return new Uint32Array(0);
  }
  const minSeverity = filter.severity ? SEVERITY_RANK[filter.severity] : 0;
  const min = filter.minTokens;
  const max = filter.maxTokens;
  const out = new Uint32Array(n);
  let k = 0;
  const { ruleMask: masks, sourceCode: sources, images, tokens, worst } = index;
  for (let i = 0; i < n; i++) {
    if (ruleMask !== 0 && (masks[i]! & ruleMask) === 0) continue;
    if (sourceCode >= 0 && sources[i] !== sourceCode) continue;
    if (filter.hasImage !== undefined && images[i]! > 0 !== filter.hasImage) continue;
    if (filter.missingImage && (masks[i]! & missingMask) === 0) continue;
    if (minSeverity > 0 && worst[i]! < minSeverity) continue;
    if (min !== undefined || max !== undefined) {
      const t = tokens[i]!;
      if (t === NO_TOKENS) continue;
      if (min !== undefined && t < min) continue;
      if (max !== undefined && t > max) continue;
    }
    out[k++] = i;
  }
  return out.slice(0, k);
}

/** One bar of a histogram: `[from, to)` (to `null` for the last, open bucket) and its count. */
export interface Bucket {
  readonly from: number;
  readonly to: number | null;
  readonly count: number;
}

/** The numbers of the stats panel, over the records that pass the filter. */
export interface DatasetStats {
  readonly records: number;
  readonly withImages: number;
  readonly textOnly: number;
  readonly withDiagnostics: number;
  readonly bySource: readonly { source: string; records: number; images: number }[];
  readonly turns: readonly Bucket[];
  readonly tokens: readonly Bucket[];
  /** Records counted for the token histogram (less than `records` while counting runs). */
  readonly tokensCounted: number;
  readonly tokenSum: number;
  readonly byRule: readonly { ruleId: string; records: number }[];
}

const TURN_EDGES = [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 30, 40];
const TOKEN_EDGES = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

function histogram(edges: readonly number[]): { add(v: number): void; buckets(): Bucket[] } {
  const counts = new Float64Array(edges.length);
  return {
    add(v) {
      let lo = 0;
      let hi = edges.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (edges[mid]! <= v) lo = mid;
        else hi = mid - 1;
      }
      counts[lo]!++;
    },
    buckets: () => edges.map((from, i) => ({ from, to: edges[i + 1] ?? null, count: counts[i]! })),
  };
}

/** Compute the stats panel's numbers over some records (from {@link matchRecords}). */
export function computeStats(index: DatasetIndex, records: Uint32Array): DatasetStats {
  const perSource = new Float64Array(index.sources.length);
  const imagesPerSource = new Float64Array(index.sources.length);
  const perRule = new Float64Array(32);
  const turns = histogram(TURN_EDGES);
  const tokens = histogram(TOKEN_EDGES);
  let withImages = 0;
  let withDiagnostics = 0;
  let tokensCounted = 0;
  let tokenSum = 0;
  for (let k = 0; k < records.length; k++) {
    const i = records[k]!;
    const code = index.sourceCode[i]!;
    perSource[code]!++;
    imagesPerSource[code]! += index.images[i]!;
    if (index.images[i]! > 0) withImages++;
    turns.add(index.turns[i]!);
    const t = index.tokens[i]!;
    if (t !== NO_TOKENS) {
      tokens.add(t);
      tokensCounted++;
      tokenSum += t;
    }
    let mask = index.ruleMask[i]!;
    if (mask !== 0) {
      withDiagnostics++;
      for (let b = 0; mask !== 0; b++, mask >>>= 1) if (mask & 1) perRule[b]!++;
    }
  }
  const bySource = index.sources
    .map((source, code) => ({ source, records: perSource[code]!, images: imagesPerSource[code]! }))
    .filter((s) => s.records > 0)
    .sort((a, b) => b.records - a.records);
  const byRule = [...index.rules, '(other)']
    .map((ruleId, b) => ({ ruleId, records: perRule[b === index.rules.length ? 31 : b]! }))
    .filter((r) => r.records > 0)
    .sort((a, b) => b.records - a.records);
  return {
    records: records.length,
    withImages,
    textOnly: records.length - withImages,
    withDiagnostics,
    bySource,
    turns: turns.buckets(),
    tokens: tokens.buckets(),
    tokensCounted,
    tokenSum,
    byRule,
  };
}
