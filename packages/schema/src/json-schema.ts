import * as z from 'zod';
import { llavaRecordSchema } from './record.js';

/**
 * The JSON Schema (draft 2020-12) of the canonical record, generated from {@link llavaRecordSchema}. The same
 * document is shipped as `@llavakit/schema/schema.json`; a test keeps the two in sync.
 */
export function llavaRecordJsonSchema(): Record<string, unknown> {
  return {
    $id: 'urn:llavakit:schema:llava-record',
    title: 'LLaVA record (llavakit canonical form)',
    ...z.toJSONSchema(llavaRecordSchema, { io: 'input' }),
  };
}
