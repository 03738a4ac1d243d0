/**
 * What a conversion worker needs for the records that are not plain (`plain.ts`): parsing, the formats' decode and
 * encode behind their walls, the record checker. Imported by the worker when it first needs it (or at once when the
 * conversion has no plain encoder): a worker whose records are all plain starts without loading the schemas.
 */
export { DiagnosticError } from '@llavakit/diagnostics';
export { parseElement } from '@llavakit/reader';
export { createRecordChecker } from '@llavakit/schema';
export { refuseWrappedRecords } from '../input.js';
export { decodeItem, EncodeWatch, encodeOne, withPlace } from '../walls.js';
export { formatOf } from './worker-format.js';
