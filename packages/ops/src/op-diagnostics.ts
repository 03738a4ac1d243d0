import { stat } from 'node:fs/promises';
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

/**
 * Refuse an input that can be read only once, for an operation that reads its inputs more than once: standard input,
 * a FIFO, `<(…)` process substitution (`/dev/fd/N`), a socket or a device. A second open of a FIFO would wait for a
 * writer that never comes, and a pipe read again is empty or cannot be read at an offset; both are usage errors here,
 * before a byte is read. Paths that do not exist are left to the reader (`input/not-found`).
 */
export async function needFiles(inputs: readonly string[], operation: string): Promise<void> {
  for (const input of inputs) {
    if (input === '-') {
      throw usageError(`${operation} reads its inputs twice and cannot read standard input; save it to a file first.`);
    }
    const info = await stat(input).catch(() => undefined);
    if (info && !info.isFile() && !info.isDirectory()) {
      throw usageError(
        `${operation} reads its inputs twice and cannot read ${input}: a FIFO, pipe or device can be read only once; save it to a file first.`,
      );
    }
  }
}

/** A usage `DiagnosticError` (exit code 2 in the CLI). */
export function usageError(message: string): DiagnosticError {
  return new DiagnosticError(diagnose(opsRules.usage, { message }));
}
