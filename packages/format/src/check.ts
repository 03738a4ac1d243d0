import type { Diagnostic, RuleMeta } from '@llavakit/diagnostics';
import { canRead, canWrite, type FormatPlugin, SUPPORTED_SPEC_VERSIONS } from './contract.js';

/** Declares rule metadata here without importing @llavakit/diagnostics at run time (the spec has no runtime deps). */
function defineRules<const T extends Record<string, RuleMeta>>(rules: T): T {
  return rules;
}

/** A diagnostic of a rule (the same shape `diagnose()` of @llavakit/diagnostics makes). */
function diagnose(rule: RuleMeta, fields: { message: string; source: string }): Diagnostic {
  return { ruleId: rule.id, severity: rule.severity, ...(rule.hint ? { hint: rule.hint } : {}), ...fields };
}

/** Rules of plugin loading and format selection (the ids a format host reports; data only). */
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
    // --from/--to named a format that is not installed: the command line's mistake
    kind: 'usage',
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
    // the input's records fit no format (or two): the data's problem, not the command line's
    kind: 'data',
    title: 'Input format could not be chosen',
    hint: 'Name the input format with --from.',
  },
});

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
