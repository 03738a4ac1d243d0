export { llavaRecordJsonSchema } from './json-schema.js';
export { locatePointer } from './locate.js';
export {
  countImageTokens,
  IMAGE_TOKEN,
  imagesOf,
  isLlavaRecord,
  type LlavaRecord,
  llavaRecordSchema,
  type ParseRecordResult,
  parseRecord,
  type RecordId,
  recordIdSchema,
  type SchemaIssue,
  type Turn,
  turnSchema,
  VIDEO_TOKEN,
  videosOf,
} from './record.js';
export { type RuleCatalog, renderRulesMarkdown, type ValidationRuleName, validationRules } from './rules.js';
export {
  type CheckSource,
  type CrossRecordValidator,
  checkRecord,
  classifyPath,
  createCrossRecordValidator,
  createRecordChecker,
  createRecordValidator,
  createValidator,
  type PathForm,
  type RecordFacts,
  recordFactsOf,
  type ValidationKind,
  type ValidationPlace,
  type Validator,
  type ValidatorOptions,
  validationKinds,
} from './validator.js';
