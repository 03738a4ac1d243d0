/**
 * Build an RFC 6901 JSON pointer from path segments, escaping `~` and `/`.
 *
 * @example
 * ```ts
 * toPointer(['conversations', 2, 'from']); // '/conversations/2/from'
 * ```
 */
export function toPointer(path: readonly (string | number)[]): string {
  let out = '';
  for (const segment of path) out += `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`;
  return out;
}

/** Split an RFC 6901 JSON pointer back into segments (numeric-looking segments stay strings). */
export function fromPointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new TypeError(`Not a JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Read the value a JSON pointer designates, or `undefined` when it does not exist. */
export function getAtPointer(value: unknown, pointer: string): unknown {
  let current = value;
  for (const segment of fromPointer(pointer)) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
