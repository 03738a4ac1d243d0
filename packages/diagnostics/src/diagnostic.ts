/**
 * How serious a diagnostic is. `error` makes a command fail (exit 1); `warning` fails only under `--strict`;
 * `info` never fails.
 */
export type Severity = 'error' | 'warning' | 'info';

/** Where in a file something is: a byte offset and a 1-based line and column. */
export interface Place {
  /** Byte offset from the start of the file (0-based, counted in bytes, not characters). */
  readonly offset?: number;
  /** 1-based line number. */
  readonly line?: number;
  /** 1-based column, in characters of that line. */
  readonly column?: number;
}

/**
 * One finding about the data: a plain, JSON-serialisable object. Every diagnostic names the rule that made it,
 * and as much of its place as is known: the file, the record index and id, a JSON pointer inside the record,
 * and the byte offset, line and column in the file.
 */
export interface Diagnostic {
  /** Stable rule id, e.g. `roles/alternation` or `json/syntax`. Never changes once published. */
  readonly ruleId: string;
  /** How serious it is. */
  readonly severity: Severity;
  /** What happened, in one sentence, with no position text (the reporter prints the position). */
  readonly message: string;
  /** What to do about it, in one line. */
  readonly hint?: string;
  /** The file the finding is about, as the user named it (`-` for standard input). */
  readonly file?: string;
  /** 0-based index of the record in its file. */
  readonly recordIndex?: number;
  /** The record's `id`, with its JSON type kept. */
  readonly recordId?: string | number;
  /** RFC 6901 JSON pointer inside the record (`/conversations/1/from`); `''` is the whole record. */
  readonly pointer?: string;
  /** Where the record (or the syntax error) starts in the file. */
  readonly place?: Place;
  /** A short excerpt of the offending text, for the human report. */
  readonly excerpt?: string;
  /** Which component made it: a format plugin name, `reader`, `validate`, `images`, … */
  readonly source?: string;
  /** Extra machine-readable facts (expected/actual counts, paths looked at, …). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * Whose mistake a rule's diagnostic is when it stops a run: `usage` — the command line or a recipe/option the user
 * wrote (a command exits 2), `data` — the data read (a command exits 1). See {@link ruleKindOf}.
 */
export type RuleKind = 'usage' | 'data';

/** The static description of a rule: its id, default severity, title and fix hint. */
export interface RuleMeta {
  /** Stable id, `group/name`. */
  readonly id: string;
  /** Default severity. */
  readonly severity: Severity;
  /** Short title, shown as the group heading in reports. */
  readonly title: string;
  /** A one-line fix hint. */
  readonly hint: string;
  /** Longer explanation (why it matters for training), optional. */
  readonly description?: string;
  /** Usage or data error (default `data`, except in the `usage/`, `format/` and `options/` families). */
  readonly kind?: RuleKind;
}

/** The fields a caller fills in when it raises a diagnostic of a known rule. */
export type DiagnosticFields = Omit<Diagnostic, 'ruleId' | 'severity' | 'hint' | 'message'> & {
  readonly message: string;
  readonly severity?: Severity;
  readonly hint?: string;
};

/**
 * Make a diagnostic of a rule: the rule gives its id, severity and hint unless the fields override them.
 *
 * @example
 * ```ts
 * const d = diagnose(rules.rolesAlternation, { message: 'Turn 2 is `gpt` after `gpt`.', recordIndex: 7, pointer: '/conversations/2/from' });
 * ```
 */
export function diagnose(rule: RuleMeta, fields: DiagnosticFields): Diagnostic {
  const { severity, hint, ...rest } = fields;
  return stripUndefined({ ruleId: rule.id, severity: severity ?? rule.severity, hint: hint ?? rule.hint, ...rest });
}

/** True when a diagnostic makes the run fail: errors always, warnings when `strict`. */
export function isFailing(diagnostic: Pick<Diagnostic, 'severity'>, strict = false): boolean {
  return diagnostic.severity === 'error' || (strict && diagnostic.severity === 'warning');
}

const MARKER = Symbol.for('llavakit.diagnostic-error');

/**
 * An error that carries a {@link Diagnostic}: thrown for fatal problems (a syntax error that ends a file, an
 * unreadable input). Recognise it with {@link DiagnosticError.is}, which also works across duplicate copies of
 * this package (a plugin may bundle its own).
 */
export class DiagnosticError extends Error {
  readonly diagnostic: Diagnostic;
  readonly [MARKER] = true;

  constructor(diagnostic: Diagnostic, options?: { cause?: unknown }) {
    super(diagnostic.message, options);
    this.name = 'DiagnosticError';
    this.diagnostic = diagnostic;
  }

  /** True for any `DiagnosticError`, from this copy of the package or another. */
  static is(value: unknown): value is DiagnosticError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** Drop keys whose value is `undefined`, so diagnostics stay compact when serialised. */
export function stripUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
