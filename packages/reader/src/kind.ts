import type { ValidationKind } from '@llavakit/schema';
import { RecordScanner } from './scanner.js';
import type { ReadItem } from './types.js';

/**
 * Which LLaVA-family data file something is:
 * - `llava-instruct`: LLaVA-Instruct-150K and its parts (COCO 12-digit ids, bare `000000033471.jpg` names);
 * - `llava-mix665k`: the LLaVA-1.5 mix (`coco/train2017/…`, `gqa/images/…` … paths, integer GQA ids);
 * - `cc3m-chat` / `cc3m-meta`: LLaVA-CC3M-Pretrain-595K `chat.json` / `metadata.json` (`GCC_train_…jpg`);
 * - `blip558k-chat` / `blip558k-meta`: LLaVA-Pretrain 558K chat / `_meta` files (`00453/004539375.jpg`);
 * - `llava-next`: LLaVA-NeXT/OneVision/Video records (image lists, `video`, `data_source`);
 * - `llava`: other files with LLaVA `conversations` records;
 * - `unknown`: none of these.
 */
export type DatasetKind =
  | 'llava-instruct'
  | 'llava-mix665k'
  | 'cc3m-chat'
  | 'cc3m-meta'
  | 'blip558k-chat'
  | 'blip558k-meta'
  | 'llava-next'
  | 'llava'
  | 'unknown';

const COCO_BARE = /^\d{12}\.jpg$/;
const MIX_PREFIX = /^(?:coco\/train2017|gqa\/images|ocr_vqa\/images|textvqa\/train_images|vg\/VG_100K(?:_2)?)\//;
const GCC = /(?:^|\/)GCC_train_\d+\.jpg$/;
const BLIP = /(?:^|\/)\d{5}\/\d{9}\.jpg$/;
const META_KEYS = ['caption', 'blip_caption', 'url'];

/** The kind one record points to, or undefined when it says nothing (text-only record, not an object). */
function classify(value: unknown): DatasetKind | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const rec = value as Record<string, unknown>;
  if (Object.hasOwn(rec, 'video') || Array.isArray(rec.image) || Object.hasOwn(rec, 'data_source')) return 'llava-next';
  const image = typeof rec.image === 'string' ? rec.image : undefined;
  if (Array.isArray(rec.conversations)) {
    if (typeof rec.id === 'number') return 'llava-mix665k';
    if (image === undefined) return undefined;
    if (MIX_PREFIX.test(image)) return 'llava-mix665k';
    if (COCO_BARE.test(image)) return 'llava-instruct';
    if (GCC.test(image)) return 'cc3m-chat';
    if (BLIP.test(image)) return 'blip558k-chat';
    return 'llava';
  }
  if (image !== undefined && META_KEYS.some((k) => Object.hasOwn(rec, k))) {
    if (GCC.test(image)) return 'cc3m-meta';
    if (BLIP.test(image)) return 'blip558k-meta';
  }
  return undefined;
}

/** What the file name alone suggests. */
function kindFromName(fileName: string): DatasetKind | undefined {
  const name = fileName.replaceAll('\\', '/').toLowerCase();
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (base.includes('mix665k')) return 'llava-mix665k';
  if (/llava_instruct_(?:150k|80k)|conversation_58k|detail_23k|complex_reasoning_77k/.test(base))
    return 'llava-instruct';
  if (base.includes('558k')) return base.includes('meta') ? 'blip558k-meta' : 'blip558k-chat';
  if (/cc3m|595k/.test(name)) {
    if (base.startsWith('metadata')) return 'cc3m-meta';
    if (base.startsWith('chat')) return 'cc3m-chat';
  }
  if (/llava[-_]?next|onevision|llava[-_]?video/.test(name)) return 'llava-next';
  return undefined;
}

function headItems(head: string): ReadItem[] {
  const scanner = new RecordScanner({ container: 'auto' });
  const items = scanner.push(Buffer.from(head, 'utf8'));
  // The head is usually cut inside a record: that is expected, only complete records count.
  if (!scanner.error) items.push(...scanner.end());
  return items;
}

/**
 * Tell which LLaVA-family file this is, from its first records (a head of the file as text, or items already read)
 * and, when the records do not decide, its name (a name never overrules the records: a file of chat records is not
 * taken as metadata because it is called `metadata.json`, nor metadata records as chat). Records vote: any NeXT-style record (image list, `video`,
 * `data_source`) makes it `llava-next`; any mix-style path or integer id makes it `llava-mix665k`; otherwise the most
 * common kind wins.
 *
 * @example
 * ```ts
 * detectKind('[{"id": "000000033471", "image": "000000033471.jpg", "conversations": []}]'); // 'llava-instruct'
 * detectKind([], 'blip_laion_cc_sbu_558k_meta.json'); // 'blip558k-meta'
 * ```
 */
export function detectKind(head: string | readonly ReadItem[], fileName?: string): DatasetKind {
  const items = typeof head === 'string' ? headItems(head) : head;
  const votes = new Map<DatasetKind, number>();
  let chatRecords = 0;
  let metadataRecords = 0;
  for (const item of items) {
    if (!item.ok) continue;
    const v = item.value as Record<string, unknown> | null;
    if (v !== null && typeof v === 'object' && Array.isArray(v.conversations)) chatRecords++;
    else if (v !== null && typeof v === 'object' && typeof v.image === 'string' && META_KEYS.some((k) => k in v)) {
      metadataRecords++;
    }
    const kind = classify(item.value);
    if (kind) votes.set(kind, (votes.get(kind) ?? 0) + 1);
  }
  if (votes.has('llava-next')) return 'llava-next';
  if (votes.has('llava-mix665k')) return 'llava-mix665k';
  let best: DatasetKind | undefined;
  let bestCount = 0;
  for (const [kind, count] of votes) {
    if (count > bestCount || (count === bestCount && kind !== 'llava')) {
      best = kind;
      bestCount = count;
    }
  }
  let byName = fileName ? kindFromName(fileName) : undefined;
  if (best && best !== 'llava') return best;
  // a name never overrules what the records are: chat records are not metadata, metadata records are not chat
  const metaName = byName === 'cc3m-meta' || byName === 'blip558k-meta';
  if (byName && (metaName ? chatRecords > 0 : metadataRecords > 0 && chatRecords === 0)) byName = undefined;
  if (byName) return byName;
  if (best || chatRecords > 0) return 'llava';
  return 'unknown';
}

const VALIDATION_KIND: Record<DatasetKind, ValidationKind> = {
  'llava-instruct': 'llava',
  'llava-mix665k': 'llava',
  'cc3m-chat': 'llava',
  'blip558k-chat': 'llava',
  llava: 'llava',
  unknown: 'llava',
  'llava-next': 'llava-next',
  'cc3m-meta': 'metadata',
  'blip558k-meta': 'metadata',
};

/**
 * The validator kind (`createValidator({ kind })` of `@llavakit/schema`) that checks a dataset kind: chat files are
 * checked as `llava`, LLaVA-NeXT files as `llava-next`, pretraining metadata files as `metadata`.
 */
export function validationKindOf(kind: DatasetKind): ValidationKind {
  return VALIDATION_KIND[kind];
}
