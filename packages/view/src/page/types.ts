// The shapes of the viewer's JSON API, as the page reads them.

export interface Diagnostic {
  ruleId: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  hint?: string;
  pointer?: string;
  recordIndex?: number;
  place?: { offset?: number; line?: number; column?: number };
  file?: string;
}
export interface Meta {
  files: { name: string; size: number; first: number; records: number; kind: string }[];
  records: number;
  sources: string[];
  rules: { ruleId: string; severity: Diagnostic['severity']; records: number; title: string; hint?: string }[];
  fileDiagnostics: Diagnostic[];
  templates: string[];
  tokenizer: string;
  tokensCounted: number;
  tokensDone: boolean;
  imagesChecked: boolean;
  pageSize: number;
}
export interface Row {
  n: number;
  file: string;
  index: number;
  id: string | number | null;
  source: string;
  turns: number;
  images: number;
  tokens: number;
  worst: number;
  rules: string[];
  preview: string;
}
export interface ImageView {
  slot: number;
  ref: string;
  status: 'found' | 'missing' | 'refused' | 'broken' | 'unchecked';
  format?: string;
  width?: number;
  height?: number;
  bytes?: number;
  location?: 'file' | 'zip' | 'embedded';
  diagnostics: Diagnostic[];
}
export interface RecordView {
  row: Row;
  offset: number;
  length: number;
  where?: string;
  text: string;
  value: unknown;
  parseError?: string;
  diagnostics: Diagnostic[];
  images: ImageView[];
  template: string;
  rendered?: string;
  renderError?: Diagnostic;
  previous: number | null;
  next: number | null;
  position: number;
  total: number;
}
export interface Bucket {
  from: number;
  to: number | null;
  count: number;
}
export interface Stats {
  records: number;
  withImages: number;
  textOnly: number;
  withDiagnostics: number;
  bySource: { source: string; records: number; images: number }[];
  turns: Bucket[];
  tokens: Bucket[];
  tokensCounted: number;
  tokenSum: number;
  byRule: { ruleId: string; records: number }[];
}
