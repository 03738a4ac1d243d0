export {
  type Diagnostic,
  DiagnosticError,
  type DiagnosticFields,
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
export { defineRules, exitCodeOf, ruleKindOf } from './rule-catalog.js';
export { makeDirectory, type StagedFile, stageFile, temporaryPathFor } from './staged-file.js';
