import { diagnose } from '@llavakit/diagnostics';
import { defineFormat } from '@llavakit/format';
import { type LlavaRecord, parseRecord } from '@llavakit/schema';
import { writerRules } from '../rules.js';

/** Check a parsed value against the canonical record schema, as a `decode` result with located diagnostics. */
export function decodeLlava(value: unknown, file: string, index: number) {
  const parsed = parseRecord(value);
  if (parsed.ok) return { ok: true as const, record: parsed.record };
  const id = recordIdOf(value);
  return {
    ok: false as const,
    diagnostics: parsed.issues.map((issue) =>
      diagnose(writerRules.invalidRecord, {
        message: `${issue.pointer || 'record'}: ${issue.message}`,
        file,
        recordIndex: index,
        pointer: issue.pointer,
        source: 'llava',
        ...(id !== undefined ? { recordId: id } : {}),
      }),
    ),
  };
}

/** The `id` of a parsed value when it is a string or an integer. */
export function recordIdOf(value: unknown): string | number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : undefined;
}

/**
 * LLaVA's own format: a JSON array (or JSONL) of `{id, image, conversations: [{from, value}]}` records, the
 * canonical form of llavakit. Reading checks the record shape; writing is lossless.
 */
export const llavaFormat = defineFormat({
  specVersion: 1,
  name: 'llava',
  description: 'LLaVA records {id, image, conversations[{from, value}]} (LLaVA, LLaVA-1.5, LLaVA-NeXT)',
  extensions: ['.json', '.jsonl'],
  defaultContainer: 'json',
  detect(probe) {
    const first = probe.values[0];
    if (typeof first !== 'object' || first === null) return 0;
    return Array.isArray((first as { conversations?: unknown }).conversations) ? 0.9 : 0;
  },
  decode: (value, context) => decodeLlava(value, context.file, context.index),
  encode: (record: LlavaRecord) => ({ ok: true, value: record }),
});
