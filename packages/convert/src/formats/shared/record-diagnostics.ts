import { type Diagnostic, diagnose, type RuleMeta } from '@llavakit/diagnostics';
import type { RecordContext } from '@llavakit/format';

/** Make a diagnostic about the record being encoded or decoded, with its place filled in. */
export function recordDiagnostic(
  rule: RuleMeta,
  context: RecordContext<object>,
  source: string,
  fields: { message: string; pointer?: string; recordId?: string | number | undefined; data?: Record<string, unknown> },
): Diagnostic {
  const { recordId, ...rest } = fields;
  return diagnose(rule, {
    ...rest,
    file: context.file,
    recordIndex: context.index,
    source,
    ...(recordId !== undefined ? { recordId } : {}),
  });
}

/** A failed encode/decode with one diagnostic. */
export function fail(diagnostic: Diagnostic): { ok: false; diagnostics: Diagnostic[] } {
  return { ok: false, diagnostics: [diagnostic] };
}
