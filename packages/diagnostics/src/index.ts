export {
  DiagnosticError,
  defineRules,
  diagnose,
  isFailing,
  stripUndefined,
  type Diagnostic,
  type DiagnosticFields,
  type Place,
  type RuleMeta,
  type Severity,
} from './diagnostic.js';
export { fromPointer, getAtPointer, toPointer } from './pointer.js';
export {
  excerpt,
  formatDiagnostic,
  formatLocation,
  renderReport,
  summarize,
  type ReportOptions,
} from './report.js';
