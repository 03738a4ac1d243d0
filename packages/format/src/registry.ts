import { type Diagnostic, defineRules, diagnose } from '@llavakit/diagnostics';
import { canRead, canWrite, type DetectProbe, type FormatPlugin, SUPPORTED_SPEC_VERSIONS } from './contract.js';

/** Rules of plugin loading and format selection. */
export const formatRules = defineRules({
  invalidPlugin: {
    id: 'plugin/invalid',
    severity: 'error',
    title: 'Format plugin has the wrong shape',
    hint: 'A format plugin must default-export defineFormat({ specVersion, name, … }) with encode/decode or read/write.',
  },
  unsupportedSpec: {
    id: 'plugin/unsupported-spec-version',
    severity: 'error',
    title: 'Format plugin targets an unsupported contract version',
    hint: `Update the plugin or llavakit; this llavakit supports spec versions ${SUPPORTED_SPEC_VERSIONS.join(', ')}.`,
  },
  loadFailed: {
    id: 'plugin/load-failed',
    severity: 'error',
    title: 'Format plugin could not be loaded',
    hint: 'Check that the plugin is installed (`llava plugins`) and works with this Node.js version.',
  },
  duplicate: {
    id: 'plugin/duplicate-format',
    severity: 'warning',
    title: 'Two plugins define the same format name',
    hint: 'The later plugin wins; uninstall one of them or use a plugin that names its format differently.',
  },
  unknownFormat: {
    id: 'format/unknown',
    severity: 'error',
    title: 'Unknown format',
    hint: 'Run `llava formats` to list the formats this installation knows.',
  },
  unknownOption: {
    id: 'options/unknown',
    severity: 'error',
    title: 'Unknown format option',
    hint: 'Run `llava formats <name>` to see the options of a format.',
  },
  invalidOption: {
    id: 'options/invalid',
    severity: 'error',
    title: 'Invalid format option',
    hint: 'Run `llava formats <name>` to see the options of a format.',
  },
  ambiguousFormat: {
    id: 'format/ambiguous',
    severity: 'error',
    title: 'Input format could not be chosen',
    hint: 'Name the input format with --from.',
  },
});

/** Where a format came from: built in, or the plugin package (name and version) that contributed it. */
export interface FormatOrigin {
  /** `builtin`, or the npm package name of the plugin. */
  readonly plugin: string;
  /** The plugin's version, when known. */
  readonly version?: string;
  /** How it was found: built in, an installed/linked oclif plugin, or an explicit `--plugin` specifier. */
  readonly via: 'builtin' | 'oclif-plugin' | 'specifier';
}

/** A registered format with its origin. */
export interface RegisteredFormat {
  readonly format: FormatPlugin<object>;
  readonly origin: FormatOrigin;
}

/** The outcome of checking a candidate plugin object. */
export type PluginCheck =
  | { readonly ok: true; readonly format: FormatPlugin<object> }
  | { readonly ok: false; readonly diagnostic: Diagnostic };

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Check that a value (typically a module's default export) is a usable format plugin: an object with a supported
 * `specVersion`, a kebab-case `name`, and at least one of encode/decode/read/write, each a function. Module
 * namespaces are unwrapped (`default`, twice for CommonJS interop).
 *
 * The format that comes back is a frozen snapshot: every property of the plugin's object is read exactly once,
 * inside a guard (a getter that throws, a proxy, a schema whose `shape` throws make the plugin invalid, never crash
 * the caller), and its functions are bound to the original object.
 */
export function checkFormatPlugin(candidate: unknown, origin: string): PluginCheck {
  try {
    return snapshotFormat(candidate, origin);
  } catch (error) {
    return {
      ok: false,
      diagnostic: diagnose(formatRules.invalidPlugin, {
        message: `${origin}: reading its format threw: ${messageOf(error)}`,
        source: origin,
      }),
    };
  }
}

const FUNCTIONS = ['detect', 'decode', 'encode', 'read', 'write', 'limitationsFor'] as const;

function snapshotFormat(candidate: unknown, origin: string): PluginCheck {
  let value = candidate;
  for (let i = 0; i < 2 && isObject(value) && 'default' in value && !('specVersion' in value); i++) {
    value = value.default;
  }
  const fail = (rule: (typeof formatRules)[keyof typeof formatRules], message: string): PluginCheck => ({
    ok: false,
    diagnostic: diagnose(rule, { message, source: origin }),
  });
  if (!isObject(value)) return fail(formatRules.invalidPlugin, `${origin} exports ${describe(value)}, not a format.`);
  const object = value;
  const specVersion = object.specVersion;
  if (typeof specVersion !== 'number') {
    return fail(formatRules.invalidPlugin, `${origin} exports an object without a numeric specVersion.`);
  }
  if (!SUPPORTED_SPEC_VERSIONS.includes(specVersion)) {
    return fail(
      formatRules.unsupportedSpec,
      `${origin} declares specVersion ${specVersion}; this llavakit supports ${SUPPORTED_SPEC_VERSIONS.join(', ')}.`,
    );
  }
  const name = object.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    return fail(formatRules.invalidPlugin, `${origin} has no valid name (kebab-case string expected).`);
  }
  const snapshot: Record<string, unknown> = { specVersion, name };
  for (const key of FUNCTIONS) {
    const fn = object[key];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') {
      return fail(formatRules.invalidPlugin, `${origin}: format "${name}" has a ${key} that is not a function.`);
    }
    snapshot[key] = (fn as (...args: unknown[]) => unknown).bind(object);
  }
  const description = object.description;
  if (typeof description === 'string') snapshot.description = description;
  const extensions = strings(object.extensions);
  if (extensions) snapshot.extensions = extensions;
  const limitations = strings(object.limitations);
  if (limitations) snapshot.limitations = limitations;
  const container = object.defaultContainer;
  if (container === 'json' || container === 'jsonl') snapshot.defaultContainer = container;
  const schema = object.optionsSchema;
  if (schema !== undefined) {
    if (!isZodObject(schema)) {
      return fail(
        formatRules.invalidPlugin,
        `${origin}: format "${name}" has an optionsSchema that is not a zod object.`,
      );
    }
    snapshot.optionsSchema = schema;
  }
  const format = Object.freeze(snapshot) as unknown as FormatPlugin<object>;
  if (!canRead(format) && !canWrite(format)) {
    return fail(formatRules.invalidPlugin, `${origin}: format "${name}" can neither read nor write.`);
  }
  return { ok: true, format };
}

function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return [...value].filter((item): item is string => typeof item === 'string');
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}

/**
 * A set of formats by name. Later registrations win over earlier ones with the same name (user plugins over
 * built-ins), and each replacement is reported.
 */
export class FormatRegistry {
  readonly #formats = new Map<string, RegisteredFormat>();
  /** Diagnostics produced while registering (duplicates, invalid plugins). */
  readonly diagnostics: Diagnostic[] = [];

  /** Register a checked format. */
  add(format: FormatPlugin<object>, origin: FormatOrigin): this {
    const previous = this.#formats.get(format.name);
    if (previous) {
      this.diagnostics.push(
        diagnose(formatRules.duplicate, {
          message: `Format "${format.name}" from ${origin.plugin} replaces the one from ${previous.origin.plugin}.`,
          source: origin.plugin,
        }),
      );
    }
    this.#formats.set(format.name, { format, origin });
    return this;
  }

  /** Check an unknown value and register it when it is a valid format; otherwise record why not. */
  addCandidate(candidate: unknown, origin: FormatOrigin): boolean {
    const check = checkFormatPlugin(candidate, origin.plugin);
    if (!check.ok) {
      this.diagnostics.push(check.diagnostic);
      return false;
    }
    this.add(check.format, origin);
    return true;
  }

  /** The format with that name, if any. */
  get(name: string): RegisteredFormat | undefined {
    return this.#formats.get(name);
  }

  /** All formats, in registration order. */
  list(): RegisteredFormat[] {
    return [...this.#formats.values()];
  }

  /**
   * Every readable format's `detect()` score for a probe (0 to 1; a throwing `detect` scores 0), highest first, ties
   * in registration order. Scores come from the records alone, never from the file name.
   */
  scores(probe: DetectProbe): { entry: RegisteredFormat; score: number }[] {
    const out: { entry: RegisteredFormat; score: number }[] = [];
    for (const entry of this.#formats.values()) {
      if (canRead(entry.format)) out.push({ entry, score: detectScore(entry, probe) });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  /**
   * Choose the input format for a probe: by `detect()` confidence, then by extension. Later-registered formats win
   * ties. Returns `undefined` when nothing readable claims the input.
   */
  detect(probe: DetectProbe): RegisteredFormat | undefined {
    let best: { entry: RegisteredFormat; score: number } | undefined;
    const extension = probe.path ? extname(probe.path) : '';
    for (const entry of this.#formats.values()) {
      if (!canRead(entry.format)) continue;
      let score = detectScore(entry, probe);
      if (score === 0 && extension && entry.format.extensions?.includes(extension)) score = 0.01;
      if (score > 0 && (!best || score >= best.score)) best = { entry, score };
    }
    return best?.entry;
  }
}

/** A format's `detect()` answer for a probe, clamped to 0–1; 0 when it throws or answers something else. */
function detectScore(entry: RegisteredFormat, probe: DetectProbe): number {
  let score = 0;
  try {
    score = entry.format.detect?.(probe) ?? 0;
  } catch {
    return 0;
  }
  return Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0;
}

function extname(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot <= 0 ? '' : base.slice(base.lastIndexOf('.'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isZodObject(value: unknown): boolean {
  if (!isObject(value) || typeof value.safeParse !== 'function') return false;
  const shape = value.shape;
  if (!isObject(shape)) return false;
  // Every option's schema is read once here, so a throwing getter shows now rather than in `llava formats`.
  for (const key of Object.keys(shape)) void shape[key];
  return true;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
