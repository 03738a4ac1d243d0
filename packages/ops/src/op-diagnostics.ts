import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { OpItem } from './op-types.js';
import { opsRules } from './rules.js';

/** Attach the record's place, index, file and id to a diagnostic. */
export function locate(item: OpItem, diagnostic: Diagnostic): Diagnostic {
  const id = item.ok ? item.record.id : undefined;
  return {
    ...diagnostic,
    file: item.file,
    recordIndex: item.index,
    ...(id !== undefined ? { recordId: id } : {}),
    ...(item.place ? { place: { offset: item.place.offset, line: item.place.line, column: item.place.column } } : {}),
  };
}

/** Refuse standard input for an operation that reads its inputs twice. */
export function needFiles(inputs: readonly string[], operation: string): void {
  if (inputs.includes('-')) {
    throw usageError(`${operation} reads its inputs twice and cannot read standard input; save it to a file first.`);
  }
}

/** A usage `DiagnosticError` (exit code 2 in the CLI). */
export function usageError(message: string): DiagnosticError {
  return new DiagnosticError(diagnose(opsRules.usage, { message }));
}
