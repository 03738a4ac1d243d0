export { llavaRecordJsonSchema } from './json-schema.js';
export {
  IMAGE_TOKEN,
  countImageTokens,
  imagesOf,
  isLlavaRecord,
  llavaRecordSchema,
  parseRecord,
  recordIdSchema,
  turnSchema,
  type LlavaRecord,
  type ParseRecordResult,
  type RecordId,
  type SchemaIssue,
  type Turn,
} from './record.js';
