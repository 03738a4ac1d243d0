import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { imagesOf, type RecordId } from '@llavakit/schema';
import { conversationKey, type Key64, KeyTable, textKey } from './hash.js';
import { ImageHasher, openResolver } from './images.js';
import {
  Accounting,
  forEachItem,
  type InputOptions,
  locate,
  needFiles,
  type OpItem,
  type OpSummary,
  type OutputOptions,
  RecordOutput,
  usageError,
} from './pipeline.js';
import { opsRules } from './rules.js';

/** What makes two records duplicates. */
export type DedupBy = 'conversation' | 'image' | 'both';

/** Options of {@link dedupRecords}. */
export interface DedupOptions extends InputOptions, OutputOptions {
  /**
   * `conversation`: the same normalised conversation text; `image`: the same image bytes (a record without image
   * is never an image duplicate); `both` (default): the same conversation about the same image bytes.
   */
  readonly by?: DedupBy;
  /** Image sources (`--images` specs): image bytes are hashed through them, so one image under two names is one. */
  readonly images?: readonly string[];
  /** How many groups to list in the summary (default 20). */
  readonly maxGroups?: number;
}

/** A group of duplicates: the kept record and how many were removed. */
export interface DuplicateGroup {
  readonly keptFile: string;
  readonly keptIndex: number;
  readonly keptId?: RecordId;
  removed: number;
}

/** What {@link dedupRecords} did. */
export interface DedupSummary extends OpSummary {
  readonly by: DedupBy;
  /** Groups with at least one removed record. */
  groups: number;
  /** The largest groups (at most `maxGroups`), largest first. */
  largest: DuplicateGroup[];
  /** Records whose image bytes could not be read (compared by path instead). */
  unreadableImages: number;
}

/**
 * Remove exact duplicates, keeping the first record of each group. Two passes (so the kept record's index and id
 * can be named in each rejection while memory stays bounded: a 64-bit key and a 32-bit index per distinct record,
 * plus one entry per group): the first hashes every record, the second writes.
 *
 * @example
 * ```ts
 * const s = await dedupRecords({ inputs: ['a.json', 'b.json'], registry, output: 'unique.json', by: 'conversation', rejects: 'dups.jsonl' });
 * console.log(s.rejectedByRule['dedup/duplicate'], s.groups);
 * ```
 */
export async function dedupRecords(options: DedupOptions): Promise<DedupSummary> {
  needFiles(options.inputs, 'dedup');
  const by = options.by ?? 'both';
  if (!['conversation', 'image', 'both'].includes(by))
    throw usageError(`--by must be conversation, image or both, not ${by}.`);
  const resolver = by === 'conversation' ? undefined : await openResolver(options.images);
  const hasher = new ImageHasher(resolver);
  const table = new KeyTable();
  // Pass 1: the global position of each record's first occurrence, and for each duplicate, its kept position.
  const duplicateOf = new Map<number, number>();
  const keptIds = new Map<number, { file: string; index: number; id?: RecordId }>();
  let unreadable = 0;
  const unreadableNotes: Diagnostic[] = [];
  let position = 0;
  const keyOf = async (item: Extract<OpItem, { ok: true }>): Promise<Key64 | undefined> => {
    const record = item.record;
    if (by === 'conversation') return conversationKey(record);
    let text = '';
    if (by === 'both') {
      const conversation = conversationKey(record);
      text = `${conversation.hi}.${conversation.lo}`;
    }
    const paths = imagesOf(record);
      if (paths.length === 0 && by === 'image') return undefined;
      const parts: string[] = [];
      for (const path of paths) {
        const key = await hasher.keyOf(path);
        if ('key' in key) parts.push(`${key.key.hi.toString(16)}.${key.key.lo.toString(16)}`);
        else {
          unreadable++;
          if (unreadableNotes.length < 5) {
            const why = typeof key.problem === 'string' ? key.problem : key.problem.message;
            unreadableNotes.push(
              locate(
                item,
                diagnose(opsRules.imageUnreadable, {
                  message: `Image "${path}": ${why}; compared by path.`,
                  source: 'dedup',
                }),
              ),
            );
          }
          parts.push(`path:${path}`);
        }
      }
    text += `\u0002${parts.join('\u0003')}`;
    return textKey(text);
  };
  try {
    await forEachItem(
      options,
      undefined,
      async (item) => {
        const at = position++;
        if (!item.ok) return;
        const key = await keyOf(item);
        if (!key) return;
        const kept = table.putIfAbsent(key, at);
        if (kept !== undefined) {
          duplicateOf.set(at, kept);
          if (!keptIds.has(kept)) keptIds.set(kept, { file: '', index: -1 });
        }
      },
      { pass: 'hash' },
    );
  } catch (error) {
    await resolver?.close();
    const summary = await new Accounting(undefined).fail(error);
    return { ...summary, by, groups: 0, largest: [], unreadableImages: unreadable };
  }
  await resolver?.close();
  // Pass 2: write the kept records, reject the duplicates naming their kept record.
  const accounting = new Accounting(options.rejects);
  const groups = new Map<number, DuplicateGroup>();
  position = 0;
  try {
    const output = accounting.output(RecordOutput.open(options.output, { ...options }));
    await forEachItem(
      options,
      accounting,
      async (item) => {
        const at = position++;
        if (!item.ok) return accounting.reject(item, item.diagnostics);
        const kept = duplicateOf.get(at);
        if (kept === undefined) {
          const slot = keptIds.get(at);
          if (slot)
            keptIds.set(at, {
              file: item.file,
              index: item.index,
              ...(item.record.id !== undefined ? { id: item.record.id } : {}),
            });
          await accounting.write(output, item);
          return;
        }
        const keptRecord = keptIds.get(kept)!;
        let group = groups.get(kept);
        if (!group) {
          group = {
            keptFile: keptRecord.file,
            keptIndex: keptRecord.index,
            ...(keptRecord.id !== undefined ? { keptId: keptRecord.id } : {}),
            removed: 0,
          };
          groups.set(kept, group);
        }
        group.removed++;
        const name = `record #${keptRecord.index}${keptRecord.id !== undefined ? ` (id ${JSON.stringify(keptRecord.id)})` : ''}${keptRecord.file !== item.file ? ` of ${keptRecord.file}` : ''}`;
        await accounting.reject(item, [
          locate(
            item,
            diagnose(opsRules.duplicate, {
              message: `Duplicate (by ${by}) of ${name}, which is kept.`,
              source: 'dedup',
              data: {
                keptFile: keptRecord.file,
                keptIndex: keptRecord.index,
                ...(keptRecord.id !== undefined ? { keptId: keptRecord.id } : {}),
                by,
              },
            }),
          ),
        ]);
      },
      { pass: 'write' },
    );
  } catch (error) {
    const summary = await accounting.fail(error);
    return { ...summary, by, groups: groups.size, largest: [], unreadableImages: unreadable };
  }
  const summary = await accounting.finish();
  const largest = [...groups.values()]
    .sort((a, b) => b.removed - a.removed || a.keptIndex - b.keptIndex)
    .slice(0, options.maxGroups ?? 20);
  return Object.assign(summary, {
    by,
    groups: groups.size,
    largest,
    unreadableImages: unreadable,
    notes: unreadableNotes,
  });
}
