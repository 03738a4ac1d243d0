export {
  type Diagnostic,
  DiagnosticError,
  type DiagnosticFields,
  defineRules,
  diagnose,
  isFailing,
  type Place,
  type RuleKind,
  type RuleMeta,
  type Severity,
  stripUndefined,
} from './diagnostic.js';
export { placeInText } from './place.js';
export { fromPointer, getAtPointer, toPointer } from './pointer.js';
export {
  excerpt,
  formatDiagnostic,
  formatLocation,
  type ReportOptions,
  renderReport,
  summarize,
} from './report.js';
export { exitCodeOf, ruleKindOf } from './rule-kind.js';
export { makeDirectory, type StagedFile, stageFile, temporaryPathFor } from './staged-file.js';
