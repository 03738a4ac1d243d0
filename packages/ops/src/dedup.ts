import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { imagesOf, type RecordId } from '@llavakit/schema';
import { Accounting } from './accounting.js';
import { conversationKey, type Key64, KeyTable, textKey } from './hash.js';
import { ImageHasher, openResolver } from './images.js';
import { locate, usageError } from './op-diagnostics.js';
import type { InputOptions, OpItem, OpSummary, OutputOptions } from './op-types.js';
import { forEachItem } from './read-inputs.js';
import { RecordOutput } from './record-output.js';
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
 * Remove exact duplicates, keeping the first record of each group, in one streaming pass. Memory per distinct
 * record: a 64-bit key and a 32-bit offset in the hash table (11–21 bytes) and the kept record's place and id in an
 * arena (9 bytes + the id), so each rejection names the kept record's file, index and id; plus one entry per
 * group for the report.
 *
 * @example
 * ```ts
 * const s = await dedupRecords({ inputs: ['a.json', 'b.json'], registry, output: 'unique.json', by: 'conversation', rejects: 'dups.jsonl' });
 * console.log(s.rejectedByRule['dedup/duplicate'], s.groups);
 * ```
 */
export async function dedupRecords(options: DedupOptions): Promise<DedupSummary> {
  const by = options.by ?? 'both';
  if (!['conversation', 'image', 'both'].includes(by))
    throw usageError(`--by must be conversation, image or both, not ${by}.`);
  const resolver = by === 'conversation' ? undefined : await openResolver(options.images);
  const hasher = new ImageHasher(resolver);
  const table = new KeyTable();
  // The kept record of each key: its input, index and id, packed in an arena (the table holds the offset).
  const kept = new KeptArena();
  let unreadable = 0;
  const unreadableNotes: Diagnostic[] = [];
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
  const accounting = new Accounting(options.rejects);
  const groups = new Map<number, DuplicateGroup>();
  try {
    const output = accounting.output(RecordOutput.open(options.output, { ...options }));
    const visit = async (item: OpItem, input: number) => {
      if (!item.ok) return accounting.reject(item, item.diagnostics);
      const key = await keyOf(item);
      if (key) {
        const offset = table.putIfAbsent(key, kept.nextOffset);
        if (offset !== undefined) return rejectDuplicate(item, offset);
        kept.add(input, item.index, item.record.id);
      }
      await accounting.write(output, item);
    };
    const rejectDuplicate = async (item: Extract<OpItem, { ok: true }>, offset: number) => {
      let group = groups.get(offset);
      if (!group) {
        const k = kept.read(offset);
        group = {
          keptFile: options.inputs[k.input]!,
          keptIndex: k.index,
          ...(k.id !== undefined ? { keptId: k.id } : {}),
          removed: 0,
        };
        groups.set(offset, group);
      }
      group.removed++;
      const name = `record #${group.keptIndex}${group.keptId !== undefined ? ` (id ${JSON.stringify(group.keptId)})` : ''}${group.keptFile !== item.file ? ` of ${group.keptFile}` : ''}`;
      await accounting.reject(item, [
        locate(
          item,
          diagnose(opsRules.duplicate, {
            message: `Duplicate (by ${by}) of ${name}, which is kept.`,
            source: 'dedup',
            data: {
              keptFile: group.keptFile,
              keptIndex: group.keptIndex,
              ...(group.keptId !== undefined ? { keptId: group.keptId } : {}),
              by,
            },
          }),
        ),
      ]);
    };
    await forEachItem(options, accounting, visit, { pass: 'dedup' });
  } catch (error) {
    await resolver?.close();
    const summary = await accounting.fail(error);
    return { ...summary, by, groups: groups.size, largest: [], unreadableImages: unreadable };
  }
  await resolver?.close();
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

/**
 * The kept records' places and ids, packed: per record 1 + 4 + 4 bytes plus the id (a tag byte, then the UTF-8 of
 * a string or 8 bytes of a number). One pass can then name the kept record of every duplicate.
 */
class KeptArena {
  #buffer = Buffer.allocUnsafe(1 << 16);
  #used = 0;

  /** The offset the next {@link add} writes at. */
  get nextOffset(): number {
    return this.#used;
  }

  add(input: number, index: number, id: RecordId | undefined): void {
    const text = typeof id === 'string' ? id : '';
    const need = 9 + (typeof id === 'number' ? 8 : typeof id === 'string' ? 4 + Buffer.byteLength(text) : 0);
    if (this.#used + need > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#used + need));
      this.#buffer.copy(grown, 0, 0, this.#used);
      this.#buffer = grown;
    }
    const b = this.#buffer;
    let at = this.#used;
    b[at++] = typeof id === 'number' ? 2 : typeof id === 'string' ? 1 : 0;
    b.writeUInt32LE(input, at);
    b.writeUInt32LE(index, at + 4);
    at += 8;
    if (typeof id === 'number') {
      b.writeDoubleLE(id, at);
      at += 8;
    } else if (typeof id === 'string') {
      const n = b.write(text, at + 4, 'utf8');
      b.writeUInt32LE(n, at);
      at += 4 + n;
    }
    this.#used = at;
  }

  read(offset: number): { input: number; index: number; id?: RecordId } {
    const b = this.#buffer;
    const tag = b[offset]!;
    const input = b.readUInt32LE(offset + 1);
    const index = b.readUInt32LE(offset + 5);
    if (tag === 2) return { input, index, id: b.readDoubleLE(offset + 9) };
    if (tag === 1) {
      const n = b.readUInt32LE(offset + 9);
      return { input, index, id: b.toString('utf8', offset + 13, offset + 13 + n) };
    }
    return { input, index };
  }
}
