/**
 * The cross-record rules of the validator: duplicate ids (with their compact hash table and the image hashes that
 * tell a repeated image from a clash), mixed id types and mixed image path forms, found as records stream by.
 */
import { type Diagnostic, diagnose, type Place } from '@llavakit/diagnostics';
import { pointerPlace, SOURCE, toDiagnostic } from './dressing.js';
import { imageHash, type RecordFacts } from './facts.js';
import type { Finding } from './finding.js';
import { validationRules as R } from './rules.js';
import type { ValidationPlace, ValidatorOptions } from './validation-types.js';

export { imageHash, type RecordFacts, recordFactsOf } from './facts.js';

export function duplicateOf(
  id: string | number,
  index: number,
  ids: IdTable,
  images: (first: number) => boolean,
): Finding | undefined {
  const isNumber = typeof id === 'number';
  const seen = ids.addOrGet(isNumber ? String(id) : id, index, isNumber);
  if (seen === undefined) return undefined;
  return duplicateFinding(id, seen, images(seen.index));
}

/** The finding of a repeated id, once the id table found it: `sameImage` says whether the first had this image. */
function duplicateFinding(
  id: string | number,
  seen: { index: number; isNumber: boolean },
  sameImageAsFirst: boolean,
): Finding {
  const isNumber = typeof id === 'number';
  const first = seen.index;
  const other = seen.isNumber === isNumber ? undefined : isNumber ? String(id) : Number(id);
  const sameImage = other === undefined && sameImageAsFirst;
  return {
    rule: R.idDuplicate,
    pointer: '/id',
    message:
      other !== undefined
        ? `Id ${JSON.stringify(id)} equals id ${JSON.stringify(other)} of record #${first} once ids are strings.`
        : sameImage
          ? `Id ${JSON.stringify(id)} repeats record #${first}, with the same image (another conversation about it).`
          : `Id ${JSON.stringify(id)} was already used by record #${first}.`,
    ...(sameImage ? { severity: 'info' as const } : {}),
    data: { firstIndex: first, sameImage },
  };
}

/**
 * The ids seen so far, compactly: an open-addressing table of two independent 32-bit hashes of the id text (64 bits:
 * a false match among a million ids has odds of about 1 in 10^7) and the first record index with its id type —
 * 12 bytes per slot instead of a string and a map entry (~60 bytes) per record.
 */
export class IdTable {
  private mask = (1 << 16) - 1;
  private h1 = new Int32Array(this.mask + 1);
  private h2 = new Int32Array(this.mask + 1);
  /** `index * 2 + (isNumber ? 1 : 0) + 1`; 0 = empty slot. */
  private slots = new Int32Array(this.mask + 1);
  private size = 0;

  /** Add an id; if it was there, return the first record that had it (and whether that id was an integer). */
  addOrGet(text: string, index: number, isNumber: boolean): { index: number; isNumber: boolean } | undefined {
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ text.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a |= 0;
    b |= 0;
    for (let slot = (a ^ (b >>> 7)) & this.mask; ; slot = (slot + 1) & this.mask) {
      const v = this.slots[slot]!;
      if (v === 0) {
        if (index < 0 || index > 0x3ffffffe) return undefined;
        this.h1[slot] = a;
        this.h2[slot] = b;
        this.slots[slot] = index * 2 + (isNumber ? 1 : 0) + 1;
        if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
        return undefined;
      }
      if (this.h1[slot] === a && this.h2[slot] === b) return { index: (v - 1) >>> 1, isNumber: ((v - 1) & 1) === 1 };
    }
  }

  private grow(): void {
    const { h1, h2, slots } = this;
    this.mask = this.mask * 2 + 1;
    this.h1 = new Int32Array(this.mask + 1);
    this.h2 = new Int32Array(this.mask + 1);
    this.slots = new Int32Array(this.mask + 1);
    for (let i = 0; i < slots.length; i++) {
      if (slots[i] === 0) continue;
      const a = h1[i]!;
      const b = h2[i]!;
      let slot = (a ^ (b >>> 7)) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.h1[slot] = a;
      this.h2[slot] = b;
      this.slots[slot] = slots[i]!;
    }
  }
}

/**
 * A 32-bit hash of each record's image, by record index (4 bytes per record), so that a repeated id can be told apart:
 * same image (several conversations about one image, as in LLaVA-Instruct-150K) or a real clash.
 */
export class ImageHashes {
  private hashes = new Int32Array(1024);

  /** Remember the image of record `index`; returns a test "does record `first` have the same (non-empty) image?". */
  note(index: number, image: unknown): (first: number) => boolean {
    return this.noteHash(index, imageHash(image));
  }

  /** {@link ImageHashes.note} with the hash already made ({@link RecordFacts.imageHash}). */
  noteHash(index: number, hash: number): (first: number) => boolean {
    this.set(index, hash);
    return (first) => this.same(first, hash);
  }

  /** Remember the image hash of record `index` (no function made: the hot path of a validation). */
  set(index: number, hash: number): void {
    if (index < 0) return;
    if (index >= this.hashes.length) {
      const grown = new Int32Array(Math.max(index + 1, this.hashes.length * 2));
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[index] = hash;
  }

  /** Whether record `first` has the (non-empty) image hash `hash`. */
  same(first: number, hash: number): boolean {
    return hash !== 0 && first >= 0 && first < this.hashes.length && this.hashes[first] === hash;
  }
}

/** Counts records of one id type and remembers the first. */
export class TypeTally {
  count = 0;
  first?: { index: number; place: Place | undefined; id: string | number };
  add(place: ValidationPlace, id: string | number, text: string | undefined): void {
    this.addAt(place.index, id, () => pointerPlace(place, '/id', text));
  }
  /** `at` gives the place of the id (asked for the first record only). */
  addAt(index: number, id: string | number, at: () => Place | undefined): void {
    if (this.count++ === 0) this.first = { index, place: at(), id };
  }
}

export function mixedIdTypes(
  types: { string: TypeTally; integer: TypeTally },
  file: string | undefined,
): Diagnostic | undefined {
  const { string: s, integer: n } = types;
  if (s.count === 0 || n.count === 0 || !s.first || !n.first) return undefined;
  const later = s.first.index > n.first.index ? s.first : n.first;
  return diagnose(R.idMixedTypes, {
    message: `Ids mix ${s.count} string(s) (first: record #${s.first.index}) and ${n.count} integer(s) (first: record #${n.first.index}); Hugging Face datasets/Arrow cannot load a column of mixed types.`,
    file,
    recordIndex: later.index,
    recordId: later.id,
    pointer: '/id',
    place: later.place,
    excerpt: JSON.stringify(later.id),
    source: SOURCE,
    data: {
      string: { count: s.count, firstIndex: s.first.index },
      integer: { count: n.count, firstIndex: n.first.index },
    },
  });
}

/** The form of an image path: how it must be joined to an image folder. */
export type PathForm = 'bare' | 'prefixed' | 'absolute' | 'url';

/**
 * Classify an image path: `url` (`scheme://…`), `absolute` (`/…`, `C:\…`, `\\server\…`), `prefixed` (a relative
 * path with a folder, e.g. `coco/train2017/1.jpg`, whose first segment is returned as `prefix`) or `bare` (a file
 * name alone).
 *
 * @example
 * ```ts
 * classifyPath('coco/train2017/000000033471.jpg'); // { form: 'prefixed', prefix: 'coco' }
 * ```
 */
export function classifyPath(path: string): { form: PathForm; prefix?: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return { form: 'url' };
  if (path.startsWith('/') || path.startsWith('\\') || /^[a-z]:[\\/]/i.test(path)) return { form: 'absolute' };
  const rel = path.startsWith('./') ? path.slice(2) : path;
  const sep = rel.search(/[\\/]/);
  if (sep === -1) return { form: 'bare' };
  return { form: 'prefixed', prefix: rel.slice(0, sep) };
}

const BARE: { readonly form: PathForm; readonly prefix?: string } = { form: 'bare' };

/** A path that {@link classifyPath} takes for `bare`, told without a regular expression. */
function isBareName(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f || c === 0x5c || c === 0x3a) return false; // / \ :
  }
  return path.length > 0;
}

interface PathExample {
  readonly path: string;
  readonly index: number;
  readonly pointer: string;
  readonly place: Place | undefined;
  readonly id: unknown;
}

const MAX_PREFIXES = 16;

export class PathForms {
  private readonly counts: Record<PathForm, number> = { bare: 0, prefixed: 0, absolute: 0, url: 0 };
  private readonly examples: Partial<Record<PathForm, PathExample>> = {};
  private readonly prefixes = new Map<string, number>();
  private firstForm: PathForm | undefined;
  private firstOther: PathExample | undefined;

  add(path: string, pointer: string, place: ValidationPlace, id: unknown, text: string | undefined): void {
    this.addAt(path, pointer, place.index, id, (at) => pointerPlace(place, at, text));
  }

  /** `placeOf` gives the place of a pointer in the record (asked for the first example of each form only). */
  addAt(
    path: string,
    pointer: string,
    index: number,
    id: unknown,
    placeOf: (pointer: string) => Place | undefined,
  ): void {
    if (path === '') return;
    // (a file name alone, most of LLaVA's: no object made for it)
    const { form, prefix } = isBareName(path) ? BARE : classifyPath(path);
    this.counts[form]++;
    if (prefix !== undefined && (this.prefixes.size < MAX_PREFIXES || this.prefixes.has(prefix))) {
      this.prefixes.set(prefix, (this.prefixes.get(prefix) ?? 0) + 1);
    }
    if (this.examples[form] === undefined) {
      const example = { path, index, pointer, place: placeOf(pointer), id };
      this.examples[form] = example;
      if (this.firstForm === undefined) this.firstForm = form;
      else if (this.firstOther === undefined && conflicts(this.firstForm, form)) this.firstOther = example;
    }
  }

  diagnostic(file: string | undefined): Diagnostic | undefined {
    const c = this.counts;
    const relative = c.bare + c.prefixed;
    const mixed = (c.bare > 0 && c.prefixed > 0) || (relative > 0 && c.absolute + c.url > 0);
    if (!mixed || !this.firstOther) return undefined;
    const parts: string[] = [];
    for (const form of ['bare', 'prefixed', 'absolute', 'url'] as const) {
      const example = this.examples[form];
      if (c[form] === 0 || !example) continue;
      let label: string = form;
      if (form === 'prefixed') {
        const top = [...this.prefixes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
        label = `prefixed (${top.map(([p, n]) => `${p}/ ${n}`).join(', ')}${this.prefixes.size > 3 ? ', …' : ''})`;
      }
      parts.push(`${c[form]} ${label}, e.g. ${JSON.stringify(example.path)} at #${example.index}`);
    }
    const at = this.firstOther;
    return diagnose(R.imagePathForms, {
      message: `Image paths mix forms: ${parts.join('; ')}.`,
      file,
      recordIndex: at.index,
      recordId: typeof at.id === 'string' || typeof at.id === 'number' ? at.id : undefined,
      pointer: at.pointer,
      place: at.place,
      excerpt: JSON.stringify(at.path),
      source: SOURCE,
      data: {
        counts: { ...c },
        prefixes: Object.fromEntries(this.prefixes),
        examples: Object.fromEntries(
          Object.entries(this.examples).map(([form, e]) => [form, { path: e.path, recordIndex: e.index }]),
        ),
      },
    });
  }
}

function conflicts(a: PathForm, b: PathForm): boolean {
  if (a === b) return false;
  const relative = (f: PathForm) => f === 'bare' || f === 'prefixed';
  return relative(a) !== relative(b) || (relative(a) && relative(b));
}

/** The cross-record half of a validator (see `createRecordValidator`). */
export interface CrossRecordValidator {
  /**
   * Take one record's facts, in input order; returns its duplicate-id diagnostic, if any. `text` gives the record's
   * JSON text when places inside it are wanted (asked for rarely: the first record of each id type and path form,
   * and duplicates), as `Validator.check`'s `text`.
   */
  add(facts: RecordFacts, place: ValidationPlace, text?: () => string | undefined): Diagnostic | undefined;
  /** The file-level rules, as `Validator.finish`. */
  finish(): Diagnostic[];
}

/**
 * Create the cross-record half of a validator of one file (duplicate and mixed-type ids, image path forms): fed the
 * {@link RecordFacts} of every record in input order, with `createRecordValidator`'s per-record diagnostics it gives
 * exactly `createValidator`'s.
 */
export function createCrossRecordValidator(options: ValidatorOptions = {}): CrossRecordValidator {
  const file = options.file;
  const ignore = options.ignore && options.ignore.length > 0 ? new Set(options.ignore) : undefined;
  const ids = new IdTable();
  const idTypes = { string: new TypeTally(), integer: new TypeTally() };
  const pathForms = new PathForms();
  const hashes = new ImageHashes();
  // The record being added, for the places asked of it (rarely: see `add`): no function is made per record.
  let place: ValidationPlace = { index: 0 };
  let text: (() => string | undefined) | undefined;
  let known: string | undefined;
  let decoded = false;
  const textOf = () => {
    if (!decoded) {
      decoded = true;
      known = text?.();
    }
    return known;
  };
  const placeOf = (pointer: string) => pointerPlace(place, pointer, textOf());
  const idPlace = () => placeOf('/id');
  return {
    add(facts, at, textOfRecord) {
      place = at;
      text = textOfRecord;
      known = undefined;
      decoded = false;
      let duplicate: Finding | undefined;
      const id = facts.id;
      if (id !== undefined) {
        const tally = typeof id === 'string' ? idTypes.string : idTypes.integer;
        if (tally.count === 0) tally.addAt(at.index, id, idPlace);
        else tally.count++;
        const hash = facts.imageHash;
        hashes.set(at.index, hash);
        const isNumber = typeof id === 'number';
        const seen = ids.addOrGet(isNumber ? String(id) : id, at.index, isNumber);
        if (seen) duplicate = duplicateFinding(id, seen, hashes.same(seen.index, hash));
      }
      const paths = facts.paths;
      for (let k = 0; k < paths.length; k++) {
        const [path, pointer] = paths[k]!;
        pathForms.addAt(path, pointer, at.index, facts.rawId, placeOf);
      }
      if (!duplicate || ignore?.has(duplicate.rule.id)) return undefined;
      return toDiagnostic(duplicate, { id }, at, textOf(), file);
    },
    finish() {
      const out: Diagnostic[] = [];
      const mixed = mixedIdTypes(idTypes, file);
      if (mixed) out.push(mixed);
      const forms = pathForms.diagnostic(file);
      if (forms) out.push(forms);
      return ignore ? out.filter((d) => !ignore.has(d.ruleId)) : out;
    },
  };
}
