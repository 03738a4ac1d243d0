/**
 * The dataset kinds and the streaming file generator.
 */
import { rename } from 'node:fs/promises';
import {
  blipChatRecord,
  blipMetaRecord,
  cc3mChatRecord,
  cc3mMetaRecord,
  complexRecord,
  conversationRecord,
  detailRecord,
  instruct80kRecord,
  instructRecord,
  MIX_SOURCES,
  type MixQuirks,
  type MixSource,
  mixRecord,
  nextRecord,
} from './records.js';
import { permute, type Rng, rngFor } from './rng.js';
import { arrayFrame, asciiEscape, element, type Layout, pyCompact } from './serialize.js';
import { TextSink } from './sink.js';

/** Names of the generated dataset kinds. */
export const KIND_NAMES = [
  'instruct150k',
  'instruct80k',
  'conversation58k',
  'detail23k',
  'complex77k',
  'mix665k',
  'cc3m-chat',
  'cc3m-meta',
  'blip558k-chat',
  'blip558k-meta',
  'llava-next',
] as const;

/** One dataset kind. */
export type KindName = (typeof KIND_NAMES)[number];

/** Static facts about a kind. */
export interface KindInfo {
  /** Name of the real file it imitates. */
  file: string;
  /** Full-size record count. */
  records: number;
  /** Byte size of the real file, when known (the generator aims at it with the default layout). */
  realBytes?: number;
  /** `json` = one JSON array, `jsonl` = one record per line. */
  container: 'json' | 'jsonl';
  /** Stream name for per-record generators; kinds with equal salts draw identical random numbers per index. */
  salt: string;
}

/** Full-size facts per kind (formats.md §1.0; HF listing sizes in MB are 10^6 bytes). */
export const KINDS: Record<KindName, KindInfo> = {
  instruct150k: {
    file: 'llava_instruct_150k.json',
    records: 157712,
    realBytes: 228941895,
    container: 'json',
    salt: 'instruct150k',
  },
  instruct80k: {
    file: 'llava_instruct_80k.json',
    records: 80000,
    realBytes: 130697744,
    container: 'json',
    salt: 'instruct80k',
  },
  conversation58k: {
    file: 'conversation_58k.json',
    records: 58000,
    realBytes: 126088572,
    container: 'json',
    salt: 'conversation58k',
  },
  detail23k: { file: 'detail_23k.json', records: 23000, realBytes: 20524987, container: 'json', salt: 'detail23k' },
  complex77k: {
    file: 'complex_reasoning_77k.json',
    records: 76712,
    realBytes: 79619894,
    container: 'json',
    salt: 'complex77k',
  },
  mix665k: {
    file: 'llava_v1_5_mix665k.json',
    records: 665298,
    realBytes: 1029887963,
    container: 'json',
    salt: 'mix665k',
  },
  'cc3m-chat': { file: 'chat.json', records: 595375, realBytes: 211000000, container: 'json', salt: 'cc3m' },
  'cc3m-meta': { file: 'metadata.json', records: 595375, realBytes: 199000000, container: 'json', salt: 'cc3m' },
  'blip558k-chat': {
    file: 'blip_laion_cc_sbu_558k.json',
    records: 558128,
    realBytes: 181000000,
    container: 'json',
    salt: 'blip558k',
  },
  'blip558k-meta': {
    file: 'blip_laion_cc_sbu_558k_meta.json',
    records: 558128,
    realBytes: 147000000,
    container: 'json',
    salt: 'blip558k',
  },
  'llava-next': { file: 'llava_next_mix.jsonl', records: 779289, container: 'jsonl', salt: 'llava-next' },
};

/** True when `name` is a known kind. */
export function isKind(name: string): name is KindName {
  return (KIND_NAMES as readonly string[]).includes(name);
}

/** Section `[start, end)` of the 665K mix for one source. */
export interface MixSection {
  source: MixSource;
  start: number;
  end: number;
}

/** Layout of a (possibly scaled) 665K mix: sections in file order and the record indices carrying quirks. */
export interface MixPlan {
  sections: MixSection[];
  untrimmed: Set<number>;
  extraTurnKeys: number;
  noModel: number;
}

/**
 * Splits `total` records into the mix sources in the real proportions (largest-remainder rounding; every source gets
 * at least one record when `total >= 10`) and picks the quirk records: 673/665,298 with untrimmed whitespace (at
 * least 1), one ShareGPT record with extra `text`/`markdown` turn keys, one ShareGPT record without `model`.
 */
export function mixPlan(total: number, seed = 0): MixPlan {
  const full = MIX_SOURCES.reduce((a, s) => a + s.count, 0);
  const raw = MIX_SOURCES.map((s) => (s.count * total) / full);
  const counts = raw.map(Math.floor);
  if (total >= MIX_SOURCES.length) for (let i = 0; i < counts.length; i++) counts[i] = Math.max(1, counts[i]!);
  let diff = total - counts.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; diff !== 0; k = (k + 1) % order.length) {
    const i = order[k]![1];
    if (diff > 0) {
      counts[i]!++;
      diff--;
    } else if (counts[i]! > 1) {
      counts[i]!--;
      diff++;
    }
  }
  const sections: MixSection[] = [];
  let at = 0;
  MIX_SOURCES.forEach((s, i) => {
    sections.push({ source: s.source, start: at, end: at + counts[i]! });
    at += counts[i]!;
  });
  const untrimmed = new Set<number>();
  const nUntrimmed = total === 0 ? 0 : Math.max(1, Math.round((673 * total) / full));
  for (let k = 0; k < nUntrimmed; k++) untrimmed.add(permute(k, total, seed ^ 0x5eed));
  const sg = sections.find((s) => s.source === 'sharegpt')!;
  const sgLen = sg.end - sg.start;
  return {
    sections,
    untrimmed,
    extraTurnKeys: sgLen > 0 ? sg.start + Math.floor(sgLen / 2) : -1,
    noModel: sgLen > 1 ? sg.start + Math.floor(sgLen / 3) : -1,
  };
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Output file path (written to `<out>.partial` first, then renamed). */
  out: string;
  /** Record count; default: the kind's full size. */
  records?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Shorthand: `true` = `layout: 'pretty'`, `false` = `layout: 'lines'`. */
  pretty?: boolean;
  /** Array layout for JSON kinds; default `'pretty'` (Python `indent=2`, as in the real 558K excerpt). */
  layout?: Layout;
  /** Escape non-ASCII as `\uXXXX` (Python's default `ensure_ascii=True`); default false (raw UTF-8). */
  ascii?: boolean;
  /** Called every 65,536 records with the count written so far. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link generate} wrote. */
export interface GenerateResult {
  kind: KindName;
  out: string;
  records: number;
  bytes: number;
  seed: number;
  layout: Layout | 'jsonl';
  ms: number;
}

/** A function producing record `index` of a kind of `total` records from its generator. */
export type RecordMaker = (rng: Rng, index: number) => unknown;

/** Returns the record factory of a kind for a file of `total` records and a seed. */
export function recordMaker(kind: KindName, total: number, seed: number): RecordMaker {
  switch (kind) {
    case 'instruct150k':
      return instructRecord;
    case 'instruct80k':
      return instruct80kRecord;
    case 'conversation58k':
      return conversationRecord;
    case 'detail23k':
      return detailRecord;
    case 'complex77k':
      return complexRecord;
    case 'cc3m-chat':
      return (rng, i) => cc3mChatRecord(rng, i, seed);
    case 'cc3m-meta':
      return (rng, i) => cc3mMetaRecord(rng, i, seed);
    case 'blip558k-chat':
      return (rng, i) => blipChatRecord(rng, i, seed);
    case 'blip558k-meta':
      return (rng, i) => blipMetaRecord(rng, i, seed);
    case 'llava-next':
      return nextRecord;
    case 'mix665k': {
      const plan = mixPlan(total, seed);
      let s = 0;
      return (rng, i) => {
        while (s > 0 && i < plan.sections[s]!.start) s--;
        while (i >= plan.sections[s]!.end && s < plan.sections.length - 1) s++;
        const quirks: MixQuirks = {};
        if (plan.untrimmed.has(i)) quirks.untrimmed = true;
        if (i === plan.extraTurnKeys) quirks.extraTurnKeys = true;
        if (i === plan.noModel) quirks.noModel = true;
        return mixRecord(rng, plan.sections[s]!.source, i, quirks);
      };
    }
  }
}

/** Generates the records of a kind in memory (for tests and small fixtures). */
export function generateRecords(kind: KindName, records: number, seed = 1): unknown[] {
  const make = recordMaker(kind, records, seed);
  const out: unknown[] = [];
  for (let i = 0; i < records; i++) out.push(make(rngFor(seed, KINDS[kind].salt, i), i));
  return out;
}

/**
 * Writes a full-size (or `records`-sized) file of a kind, streaming record by record through a large buffer with
 * backpressure; memory use does not grow with the file size. Output is identical for equal kind, records, seed
 * and layout.
 *
 * @example
 * await generate('mix665k', { out: 'mix.json', records: 1000, seed: 7 });
 */
export async function generate(kind: KindName, options: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const info = KINDS[kind];
  const total = options.records ?? info.records;
  const seed = options.seed ?? 1;
  const layout: Layout = options.layout ?? (options.pretty === false ? 'lines' : 'pretty');
  const make = recordMaker(kind, total, seed);
  const partial = `${options.out}.partial`;
  const sink = new TextSink(partial);
  const esc = options.ascii ? asciiEscape : (s: string) => s;
  try {
    if (info.container === 'jsonl') {
      for (let i = 0; i < total; i++) {
        await sink.write(`${esc(pyCompact(make(rngFor(seed, info.salt, i), i)))}\n`);
        if (options.onProgress && (i & 0xffff) === 0xffff) options.onProgress(i + 1, total);
      }
    } else {
      const frame = arrayFrame(layout);
      if (total === 0) await sink.write(frame.empty);
      for (let i = 0; i < total; i++) {
        const text = esc(element(make(rngFor(seed, info.salt, i), i), layout));
        await sink.write((i === 0 ? frame.open : frame.sep) + text);
        if (options.onProgress && (i & 0xffff) === 0xffff) options.onProgress(i + 1, total);
      }
      if (total > 0) await sink.write(frame.close);
    }
    await sink.close();
  } catch (err) {
    sink.destroy();
    throw err;
  }
  await rename(partial, options.out);
  return {
    kind,
    out: options.out,
    records: total,
    bytes: sink.bytes,
    seed,
    layout: info.container === 'jsonl' ? 'jsonl' : layout,
    ms: Math.round(performance.now() - t0),
  };
}
