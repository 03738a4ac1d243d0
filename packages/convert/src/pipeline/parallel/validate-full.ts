/**
 * What a validation batch needs for the records that are not plain (`plain.ts`): parsing and the per-record rules.
 * Imported when first needed: a validation worker whose records are all plain starts without the zod schemas.
 */
export { DiagnosticError } from '@llavakit/diagnostics';
export { parseElement } from '@llavakit/reader';
export { createRecordValidator } from '@llavakit/schema';
