import type { Diagnostic } from '@llavakit/diagnostics';
import {
  duplicateOf,
  IdTable,
  ImageHashes,
  mixedIdTypes,
  PathForms,
  type RecordFacts,
  recordFactsOf,
  TypeTally,
} from './cross-record.js';
import { toDiagnostic } from './dressing.js';
import type { LlavaRecord } from './record.js';
import { checkValue } from './record-rules.js';
import type { ValidationPlace, ValidatorOptions } from './validation-types.js';

export type { ValidatorOptions } from './validation-types.js';

export { type ValidationKind, type ValidationPlace, validationKinds } from './validation-types.js';

/** A validator of one file: per-record rules in {@link Validator.check}, cross-record rules in {@link Validator.finish}. */
export interface Validator {
  /**
   * Check one record (a parsed JSON value) against the per-record rules and the streaming cross-record ones
   * (duplicate ids). `text`, the record's raw JSON, lets diagnostics point at the offending line. Returns the
   * diagnostics found, in record order (a shared empty array when there are none: do not mutate it).
   */
  check(value: unknown, place: ValidationPlace, text?: string): readonly Diagnostic[];
  /** Run the file-level rules (mixed id types, image path forms) once every record was checked. */
  finish(): Diagnostic[];
  /** Records checked so far. */
  readonly records: number;
}

/** The record a `convert` check receives (`SourceRecord` of @llavakit/format fits). */
export interface CheckSource {
  readonly record: LlavaRecord;
  readonly index: number;
  readonly file: string;
  readonly place?: ValidationPlace;
}

const NONE: readonly Diagnostic[] = Object.freeze([]);

/**
 * Create the validator of one file. `check` is allocation-light on clean records (it is on the hot path of
 * `convert`); ids are kept (one map entry per record) to find duplicates as they appear.
 *
 * @example
 * ```ts
 * const validator = createValidator({ file: 'data.json' });
 * for await (const item of readRecords('data.json')) {
 *   if (item.ok) for (const d of validator.check(item.value, item.place, item.text)) console.log(formatDiagnostic(d));
 * }
 * for (const d of validator.finish()) console.log(formatDiagnostic(d));
 * ```
 */
export function createValidator(options: ValidatorOptions = {}): Validator {
  const kind = options.kind ?? 'llava';
  const file = options.file;
  const ignore = options.ignore && options.ignore.length > 0 ? new Set(options.ignore) : undefined;
  const ids = new IdTable();
  const idTypes = { string: new TypeTally(), integer: new TypeTally() };
  const pathForms = new PathForms();
  const images = new ImageHashes();
  let records = 0;

  return {
    get records() {
      return records;
    },
    check(value, place, text) {
      records++;
      let found = checkValue(value, kind, true);
      const record = value as Record<string, unknown> | null;
      if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
        const id = record.id;
        if (typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) {
          (typeof id === 'string' ? idTypes.string : idTypes.integer).add(place, id, text);
          const duplicate = duplicateOf(id, place.index, ids, images.note(place.index, record.image));
          if (duplicate) (found === undefined ? (found = []) : found).push(duplicate);
        }
        const image = record.image;
        if (typeof image === 'string') pathForms.add(image, '/image', place, id, text);
        else if (Array.isArray(image)) {
          for (let k = 0; k < image.length; k++) {
            const path = image[k];
            if (typeof path === 'string') pathForms.add(path, `/image/${k}`, place, id, text);
          }
        }
      }
      if (found !== undefined && ignore) found = found.filter((f) => !ignore.has(f.rule.id));
      if (found === undefined || found.length === 0) return NONE;
      return found.map((f) => toDiagnostic(f, value, place, text, file));
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

/**
 * The per-record half of {@link createValidator}, with no state (one per thread): the per-record diagnostics of a
 * record (as `check` gives them, before the duplicate-id one) and the {@link RecordFacts} the cross-record half needs.
 * With {@link createCrossRecordValidator} fed in input order, the diagnostics are the same as `createValidator`'s.
 */
export function createRecordValidator(
  options: ValidatorOptions = {},
): (
  value: unknown,
  place: ValidationPlace,
  text?: string,
) => { readonly diagnostics: readonly Diagnostic[]; readonly facts?: RecordFacts } {
  const kind = options.kind ?? 'llava';
  const file = options.file;
  const ignore = options.ignore && options.ignore.length > 0 ? new Set(options.ignore) : undefined;
  return (value, place, text) => {
    let found = checkValue(value, kind, true);
    if (found !== undefined && ignore) found = found.filter((f) => !ignore.has(f.rule.id));
    const diagnostics =
      found === undefined || found.length === 0 ? NONE : found.map((f) => toDiagnostic(f, value, place, text, file));
    const facts = recordFactsOf(value);
    return facts ? { diagnostics, facts } : { diagnostics };
  };
}

/**
 * Create the per-record check `convert` runs before encoding (`ConvertOptions.check`): the per-record rules only
 * (no duplicate ids or file-level rules). Errors reject the record; warnings and infos are notes. The schema step is
 * skipped: the records it receives are already canonical.
 *
 * @example
 * ```ts
 * await convert({ inputs, to: 'sharegpt', output, registry, check: createRecordChecker() });
 * ```
 */
export function createRecordChecker(
  options: Pick<ValidatorOptions, 'kind'> = {},
): (source: CheckSource) => readonly Diagnostic[] {
  const kind = options.kind ?? 'llava';
  return (source) => {
    const found = checkValue(source.record, kind, false);
    if (found === undefined) return NONE;
    const place = source.place ?? { index: source.index };
    return found.map((f) => toDiagnostic(f, source.record, place, undefined, source.file));
  };
}

/**
 * Check one record value against the per-record rules and return the diagnostics (no file-level rules).
 *
 * @example
 * ```ts
 * checkRecord({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] });
 * // [{ ruleId: 'image/token-count', severity: 'error', … }]
 * ```
 */
export function checkRecord(
  value: unknown,
  options: ValidatorOptions & { readonly place?: ValidationPlace; readonly text?: string } = {},
): readonly Diagnostic[] {
  const found = checkValue(value, options.kind ?? 'llava', true);
  if (found === undefined) return NONE;
  const place = options.place ?? { index: 0 };
  return found.map((f) => toDiagnostic(f, value, place, options.text, options.file));
}

export {
  type CrossRecordValidator,
  classifyPath,
  createCrossRecordValidator,
  type PathForm,
  type RecordFacts,
  recordFactsOf,
} from './cross-record.js';
