// (a module of its own, with no imports: the worker threads use it without loading the formats)

/** The `id` of a parsed value when it is a string or an integer. */
export function recordIdOf(value: unknown): string | number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : undefined;
}
