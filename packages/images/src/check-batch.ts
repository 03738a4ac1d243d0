/**
 * Checking a batch of refs in one go, with compact, transferable results: the work a check worker thread does (see
 * `check-pool.ts`), also callable in-thread. Internal; not exported from the package index.
 */
import { readFileHeadTailSync } from './headtail.js';
import { resolverSetup } from './resolver.js';
import type { ImageResolver, Resolution } from './resolver-types.js';
import { imageRules } from './rules.js';
import {
  formatOfExtension,
  type ImageFormat,
  type ImageInfo,
  SNIFF_HEAD_BYTES,
  SNIFF_TAIL_BYTES,
  sniffImage,
} from './sniff.js';
import { IMAGE_STATUSES, type ImageStatus } from './status.js';
import {
  DeferredMiss,
  type Finding,
  OK,
  type Outcome,
  verdictOfImage,
  verdictOfReadError,
  verdictOfUnfound,
} from './verdict.js';

const STATUSES = IMAGE_STATUSES;
const STATUS_CODE = new Map<ImageStatus, number>(STATUSES.map((s, i) => [s, i]));
/** Status code of a {@link DeferredMiss}: missing, explained by the checking thread when needed. */
const DEFERRED_MISS = STATUSES.length;
const FORMATS: readonly ImageFormat[] = ['unknown', 'jpeg', 'png', 'gif', 'webp', 'bmp', 'tiff'];
const FORMAT_CODE = new Map<ImageFormat, number>(FORMATS.map((f, i) => [f, i]));
const RULES = new Map<string, Finding['rule']>(Object.values(imageRules).map((rule) => [rule.id, rule]));
/** Numbers per ref: status code, format code (-1: not read), width and height (NaN unless both are known). */
const FIELDS = 4;

/** A finding as sent between threads: the rule by id. */
interface WireFinding {
  readonly ruleId: string;
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

/** The verdicts for a batch of refs: four numbers per ref, plus the findings of refs with a problem. */
export interface CheckBatch {
  readonly values: Float64Array;
  /** `[index, findings]` for every ref with a problem other than a deferred miss, in index order. */
  readonly problems: [number, WireFinding[]][];
  /** The top folders of the zip sources the checking resolver has loaded (to explain deferred misses in zips). */
  zipTops?: Record<number, string | null>;
}

/** The verdict for one ref of a batch, and what was sniffed (to count formats and dimensions). */
export interface BatchVerdict {
  readonly outcome: Outcome;
  /** Set when the image was read and has a known format. */
  readonly info?: ImageInfo;
}

/**
 * Resolve, read and verdictOfImage each ref (each once: the caller sends distinct refs). Clean refs in listed folders take a
 * lean path: a found file is read at once, and a miss with nothing to note is sent as a bare code.
 */
export async function checkBatch(
  resolver: ImageResolver,
  refs: readonly string[],
  buffer = new Uint8Array(SNIFF_HEAD_BYTES),
): Promise<CheckBatch> {
  const values = new Float64Array(refs.length * FIELDS);
  const problems: CheckBatch['problems'] = [];
  const setup = resolverSetup(resolver);
  const quick = resolver.io === 'sync' ? setup?.filePathNow : undefined;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    const at = i * FIELDS;
    values[at + 1] = -1;
    values[at + 2] = Number.NaN;
    values[at + 3] = Number.NaN;
    let outcome: Outcome;
    let resolution: Resolution | undefined;
    const file = quick?.(ref);
    if (typeof file === 'string') {
      // Found in a listed folder: read it; only a problem needs the full resolution (for the messages).
      let info: ImageInfo | undefined;
      try {
        const ht = readFileHeadTailSync(file, buffer, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, setup!.anyRoot);
        info = sniffImage(ht.head, { tail: ht.tail, size: ht.size });
      } catch {
        resolution = setup?.foundNow(ref); // read again below, to report the error in full
      }
      if (info) {
        setInfo(values, at, info);
        if (
          !info.truncated &&
          info.badDimensions === undefined &&
          info.format !== 'unknown' &&
          formatOfExtension(ref) === info.format
        ) {
          values[at] = 0; // ok
          continue;
        }
        resolution = setup?.foundNow(ref) ?? resolver.resolveNow(ref);
        if (resolution?.status === 'found') {
          outcome = verdictOfImage(resolution, info);
          values[at] = STATUS_CODE.get(outcome.status) ?? 0;
          if (outcome !== OK) problems.push([i, wire(outcome)]);
          continue;
        }
      }
    } else if (file === null) {
      resolution = resolver.resolveNow(ref);
      if (setup!.isDeferrableMiss(ref, resolution)) {
        values[at] = DEFERRED_MISS;
        continue;
      }
    }
    resolution ??= resolver.resolveNow(ref) ?? (await resolver.resolve(ref));
    if (resolution.status !== 'found') outcome = verdictOfUnfound(resolution);
    else {
      let info: ImageInfo | undefined;
      try {
        const ht =
          resolver.readHeadTailSync(resolution, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer) ??
          (await resolver.readHeadTail(resolution, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer));
        info = sniffImage(ht.head, { tail: ht.tail, size: ht.size });
      } catch (error) {
        outcome = verdictOfReadError(resolution, error);
      }
      if (info) {
        outcome = verdictOfImage(resolution, info);
        setInfo(values, at, info);
      }
    }
    values[at] = STATUS_CODE.get(outcome!.status) ?? 0;
    if (outcome! !== OK) problems.push([i, wire(outcome!)]);
  }
  const batch: CheckBatch = { values, problems };
  const tops = setup?.zipTops();
  if (tops) batch.zipTops = tops;
  return batch;
}

function setInfo(values: Float64Array, at: number, info: ImageInfo): void {
  if (info.format === 'unknown') return;
  values[at + 1] = FORMAT_CODE.get(info.format) ?? -1;
  if (info.width !== undefined && info.height !== undefined && info.badDimensions === undefined) {
    values[at + 2] = info.width;
    values[at + 3] = info.height;
  }
}

function wire(outcome: Outcome): WireFinding[] {
  return outcome.findings.map((f) => ({ ruleId: f.rule.id, message: f.message, data: f.data }));
}

/**
 * Decode the verdict of ref `index` of a batch. `problemAt` walks `batch.problems` in order: pass the same cursor
 * object for the refs of one batch, visited in index order.
 */
export function decodeVerdict(batch: CheckBatch, index: number, cursor: { next: number }): BatchVerdict {
  const at = index * FIELDS;
  const code = batch.values[at]!;
  if (code === DEFERRED_MISS) return { outcome: new DeferredMiss() };
  const status = STATUSES[code] ?? 'ok';
  const format = batch.values[at + 1]!;
  let info: ImageInfo | undefined;
  if (format >= 0) {
    const width = batch.values[at + 2]!;
    const height = batch.values[at + 3]!;
    info = Number.isNaN(width)
      ? { format: FORMATS[format]!, truncated: false }
      : { format: FORMATS[format]!, truncated: false, width, height };
  }
  if (status === 'ok') return info ? { outcome: OK, info } : { outcome: OK };
  let entry = batch.problems[cursor.next];
  while (entry && entry[0] < index) entry = batch.problems[++cursor.next];
  const findings: Finding[] = (entry && entry[0] === index ? entry[1] : []).map((f) => ({
    rule: RULES.get(f.ruleId)!,
    message: f.message,
    ...(f.data !== undefined ? { data: f.data } : {}),
  }));
  const outcome: Outcome = { status, findings };
  return info ? { outcome, info } : { outcome };
}
