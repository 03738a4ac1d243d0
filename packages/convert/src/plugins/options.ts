import type { FormatPlugin } from '@llavakit/format';
import type { FormatOrigin, RegisteredFormat } from './registry.js';

/** One option of a format, as read from its zod `optionsSchema`. */
export interface OptionInfo {
  /** The option key, as the format sees it (camelCase). */
  readonly name: string;
  /** The same key in kebab-case, as written on the command line (`-O shard-size=100`). */
  readonly flag: string;
  /** A short type: `string`, `number`, `integer`, `boolean`, `"a" | "b"`, `string[]`, … */
  readonly type: string;
  /** True when the option has no default and must be given. */
  readonly required: boolean;
  /** The default value, when the schema declares one. */
  readonly default?: unknown;
  /** The text of `.describe()`, when present. */
  readonly description?: string;
  /** The allowed values, for enums and literals. */
  readonly values?: readonly unknown[];
}

/** What `llava formats` shows about one format (JSON-safe). */
export interface FormatInfo {
  readonly name: string;
  readonly description?: string;
  readonly reads: boolean;
  readonly writes: boolean;
  /** `record` (encode/decode, JSON or JSONL container) or `stream` (the format owns its container). */
  readonly level: { readonly read?: 'record' | 'stream'; readonly write?: 'record' | 'stream' };
  readonly extensions: readonly string[];
  readonly limitations: readonly string[];
  readonly options: readonly OptionInfo[];
  readonly specVersion: number;
  readonly origin: FormatOrigin;
}

/** The internal definition zod 4 keeps on every schema (read structurally, so any zod 4 copy works). */
interface ZodDefinition {
  readonly type?: string;
  readonly innerType?: unknown;
  readonly defaultValue?: unknown;
  readonly entries?: Record<string, unknown>;
  readonly values?: readonly unknown[];
  readonly element?: unknown;
  readonly options?: readonly unknown[];
  readonly in?: unknown;
  readonly checks?: readonly { _zod?: { def?: { check?: string; format?: string } } }[];
  readonly format?: string;
}

function definitionOf(schema: unknown): ZodDefinition {
  if (typeof schema !== 'object' || schema === null) return {};
  const internals = (schema as { _zod?: { def?: ZodDefinition } })._zod;
  return internals?.def ?? {};
}

function descriptionOf(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  try {
    const text = (schema as { description?: unknown }).description;
    return typeof text === 'string' && text !== '' ? text : undefined;
  } catch {
    return undefined;
  }
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

function typeName(schema: unknown, depth = 0): string {
  const def = definitionOf(schema);
  if (depth > 8) return 'unknown';
  switch (def.type) {
    case undefined:
      return 'unknown';
    case 'number': {
      const integer =
        def.format === 'safeint' ||
        def.format === 'int32' ||
        def.checks?.some((check) => /int/.test(check._zod?.def?.format ?? ''));
      return integer ? 'integer' : 'number';
    }
    case 'enum':
      return Object.values(def.entries ?? {})
        .map((value) => JSON.stringify(value))
        .join(' | ');
    case 'literal':
      return (def.values ?? []).map((value) => JSON.stringify(value)).join(' | ');
    case 'array':
      return `${typeName(def.element, depth + 1)}[]`;
    case 'union':
      return (def.options ?? []).map((option) => typeName(option, depth + 1)).join(' | ');
    case 'pipe':
      return typeName(def.in, depth + 1);
    default:
      if (WRAPPERS.has(def.type)) return typeName(def.innerType, depth + 1);
      return def.type;
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/**
 * Describe the options of a zod object schema: name, command-line flag, type, default, description (from
 * `.describe()`) and allowed values. Works with any zod 4 copy (a plugin may bring its own), reading the schema
 * structurally.
 *
 * @example
 * ```ts
 * describeOptions(z.object({ shardSize: z.number().int().default(1000).describe('Samples per shard') }));
 * // [{ name: 'shardSize', flag: 'shard-size', type: 'integer', required: false, default: 1000, description: 'Samples per shard' }]
 * ```
 */
export function describeOptions(schema: unknown): OptionInfo[] {
  const shape = (schema as { shape?: unknown } | undefined)?.shape;
  if (typeof shape !== 'object' || shape === null) return [];
  const options: OptionInfo[] = [];
  for (const [name, field] of Object.entries(shape as Record<string, unknown>)) {
    let current: unknown = field;
    let description = descriptionOf(current);
    let hasDefault = false;
    let defaultValue: unknown;
    let optional = false;
    let values: unknown[] | undefined;
    for (let depth = 0; depth < 8; depth++) {
      const def = definitionOf(current);
      if (def.type === 'default' || def.type === 'prefault') {
        hasDefault = true;
        try {
          defaultValue = def.defaultValue;
        } catch {
          defaultValue = undefined;
        }
      }
      if (def.type === 'optional') optional = true;
      if (def.type === 'enum') values = Object.values(def.entries ?? {});
      if (def.type === 'literal') values = [...(def.values ?? [])];
      if (!def.type || !WRAPPERS.has(def.type)) break;
      current = def.innerType;
      description ??= descriptionOf(current);
    }
    options.push({
      name,
      flag: kebab(name),
      type: typeName(field),
      required: !hasDefault && !optional,
      ...(hasDefault ? { default: defaultValue } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(values ? { values } : {}),
    });
  }
  return options;
}

/** {@link describeOptions}, or no options when a plugin's schema throws while it is read. */
function safeDescribe(schema: unknown): OptionInfo[] {
  try {
    return describeOptions(schema);
  } catch {
    return [];
  }
}

/** Describe a registered format for listings (`llava formats`, `--json`). */
export function describeFormat(entry: RegisteredFormat): FormatInfo {
  const { format } = entry;
  // (the module file is for worker threads, not for listings)
  const { file: _file, ...origin } = entry.origin;
  const read = format.read ? 'stream' : format.decode ? 'record' : undefined;
  const write = format.write && !format.encode ? 'stream' : format.encode ? 'record' : undefined;
  return {
    name: format.name,
    ...(format.description !== undefined ? { description: format.description } : {}),
    reads: read !== undefined,
    writes: write !== undefined,
    level: { ...(read ? { read } : {}), ...(write ? { write } : {}) },
    extensions: [...(format.extensions ?? [])],
    limitations: [...(format.limitations ?? [])],
    options: safeDescribe(format.optionsSchema),
    specVersion: format.specVersion,
    origin,
  };
}

/**
 * Plain-text help for the options of some formats, one block per format that has options, e.g. for a command's
 * `--help` text. Generated from each `optionsSchema`, so it cannot drift from the code.
 *
 * @example
 * ```ts
 * formatOptionsHelp(builtinFormats);
 * // "sharegpt options (-O key=value):\n  id-field  boolean, default true. Write the record id …"
 * ```
 */
export function formatOptionsHelp(formats: readonly FormatPlugin<object>[]): string {
  const blocks: string[] = [];
  for (const format of formats) {
    const options = safeDescribe(format.optionsSchema);
    if (options.length === 0) continue;
    const width = Math.max(...options.map((option) => option.flag.length));
    const lines = options.map((option) => `  ${option.flag.padEnd(width)}  ${optionSummary(option)}`);
    blocks.push(`${format.name} options (-O key=value):\n${lines.join('\n')}`);
  }
  return blocks.join('\n\n');
}

/** One line about an option: type, default or "required", and description. */
export function optionSummary(option: OptionInfo): string {
  const parts = [option.type];
  if (option.default !== undefined) parts.push(`default ${JSON.stringify(option.default)}`);
  else if (option.required) parts.push('required');
  const head = parts.join(', ');
  return option.description ? `${head}. ${option.description}` : head;
}

/** One `-O key=value` argument as the user typed it. */
export interface OptionArgument {
  /** The option key as formats see it (camelCase: `imageToken`). */
  readonly key: string;
  /** The key as typed (`image-token`), for messages. */
  readonly flag: string;
  /** The value text; `true` when the argument had no `=`. */
  readonly raw: string;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Parse `-O key=value` arguments (the one parser of every command): keys in kebab-case or camelCase, a bare `key`
 * means `key=true`. Values stay text until {@link resolveFormatOptions} coerces them to each option's type.
 *
 * @example
 * ```ts
 * parseOptionArguments(['image-token=front', 'meta']);
 * // [{ key: 'imageToken', flag: 'image-token', raw: 'front' }, { key: 'meta', flag: 'meta', raw: 'true' }]
 * ```
 */
export function parseOptionArguments(pairs: readonly string[]): OptionArgument[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const flag = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    return { key: camel(flag), flag, raw: eq === -1 ? 'true' : pair.slice(eq + 1) };
  });
}

function coerce(raw: string, type: string): unknown {
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (type === 'number' || type === 'integer') return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : raw;
  if (type.endsWith('[]')) return raw === '' ? [] : raw.split(',').map((part) => coerce(part, type.slice(0, -2)));
  if (type.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  if (type.includes('number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** Why {@link resolveFormatOptions} refused the options of a format. */
export interface OptionProblem {
  readonly kind: 'unknown' | 'invalid';
  readonly message: string;
}

/**
 * The options of one format, from typed values (library callers, command flags) and `-O` text arguments: each
 * argument is coerced to the option's type (boolean, number, list), then the format's `optionsSchema` parses them.
 * Keys the format does not have are ignored (one `-O` list serves the input and the output formats: use
 * {@link unknownOptionArguments} for the names no format of the run knows). A bad value is reported with the name
 * as the user typed it (`image-token`, not `imageToken`). Never throws, whatever the schema does.
 */
export function resolveFormatOptions(
  format: Pick<FormatPlugin<object>, 'name' | 'optionsSchema'>,
  input: { readonly values?: Readonly<Record<string, unknown>>; readonly args?: readonly OptionArgument[] } = {},
): { readonly ok: true; readonly options: object } | { readonly ok: false; readonly problem: OptionProblem } {
  const schema = format.optionsSchema;
  if (!schema) return { ok: true, options: {} };
  try {
    const infos = describeOptions(schema);
    const relevant: Record<string, unknown> = {};
    const typed = new Map<string, string>();
    for (const info of infos) {
      const arg = input.args?.findLast((a) => a.key === info.name);
      if (arg) {
        relevant[info.name] = coerce(arg.raw, info.type);
        typed.set(info.name, arg.flag);
      }
      const value = input.values?.[info.name];
      if (value !== undefined) {
        relevant[info.name] = value;
        typed.set(info.name, info.flag);
      }
    }
    const parsed = schema.safeParse(relevant);
    if (parsed.success) return { ok: true, options: parsed.data as object };
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const name = typed.get(key) ?? kebab(key);
    const rest = issue && issue.path.length > 1 ? issue.path.slice(1).join('.') : '';
    return {
      ok: false,
      problem: {
        kind: 'invalid',
        message: `Invalid value for option ${name}${rest ? ` (${rest})` : ''} of format "${format.name}": ${issue?.message ?? 'rejected by the format'}.`,
      },
    };
  } catch (error) {
    return {
      ok: false,
      problem: {
        kind: 'invalid',
        message: `The options of format "${format.name}" could not be read: ${error instanceof Error ? error.message : String(error)}.`,
      },
    };
  }
}

/**
 * The `-O` arguments that no format of a run knows, with a message listing each format's options; `undefined`
 * when every name is known.
 *
 * @example
 * ```ts
 * unknownOptionArguments(parseOptionArguments(['bogus=1']), [shareGptFormat]);
 * // 'Unknown option "bogus" (-O). Options of sharegpt: id-field, meta, image-token, layout.'
 * ```
 */
export function unknownOptionArguments(
  args: readonly OptionArgument[],
  formats: readonly Pick<FormatPlugin<object>, 'name' | 'optionsSchema'>[],
): string | undefined {
  const described = formats.map((format) => {
    let options: OptionInfo[] = [];
    try {
      options = describeOptions(format.optionsSchema);
    } catch {
      options = [];
    }
    return { name: format.name, options };
  });
  const known = new Set(described.flatMap((f) => f.options.map((o) => o.name)));
  const unknown = [...new Set(args.filter((a) => !known.has(a.key)).map((a) => a.flag))];
  if (unknown.length === 0) return undefined;
  const lists = described.map(
    (f) => `${f.name}: ${f.options.length > 0 ? f.options.map((o) => o.flag).join(', ') : '(none)'}`,
  );
  const names = unknown.map((flag) => `"${flag}"`).join(', ');
  return `Unknown option${unknown.length > 1 ? 's' : ''} ${names} (-O). Options of ${lists.join('; ')}.`;
}
