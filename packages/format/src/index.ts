/** Re-exported so a plugin can type its diagnostics and records with `import type` from this package alone. */
export type { Diagnostic, Severity } from '@llavakit/diagnostics';
export type { InputSource, RecordPlace } from '@llavakit/reader';
export type { LlavaRecord, Turn } from '@llavakit/schema';
export {
  type Container,
  canRead,
  canWrite,
  type DecodeResult,
  type DetectProbe,
  defineFormat,
  type EmbeddedImages,
  type EncodeResult,
  type FormatContext,
  type FormatPlugin,
  type ImageAccess,
  type OutputTarget,
  type ReadResult,
  type RecordContext,
  type SourceRecord,
  SPEC_VERSION,
  SUPPORTED_SPEC_VERSIONS,
  type WriteContext,
} from './contract.js';
export {
  formatsOfExport,
  type LoadedPlugin,
  type LoadPluginOptions,
  loadFormatPlugin,
  loadFormatPlugins,
  PLUGIN_PREFIX,
  pluginCandidates,
} from './load.js';
export {
  describeFormat,
  describeOptions,
  type FormatInfo,
  formatOptionsHelp,
  type OptionArgument,
  type OptionInfo,
  type OptionProblem,
  optionSummary,
  parseOptionArguments,
  resolveFormatOptions,
  unknownOptionArguments,
} from './options.js';
export {
  checkFormatPlugin,
  type FormatOrigin,
  FormatRegistry,
  formatRules,
  type PluginCheck,
  type RegisteredFormat,
} from './registry.js';
export { PLUGIN_TIMEOUT_MS, type ProbeResult, probeImport, withDeadline } from './wall.js';
