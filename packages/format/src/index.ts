/**
 * @llavakit/format — the format-plugin contract (the spec): types, `defineFormat`, `checkFormatPlugin`.
 * Type-only imports of other llavakit packages: a plugin built against this installs nothing else but zod.
 */
export type { Diagnostic, Severity } from '@llavakit/diagnostics';
export type { InputSource, RecordPlace } from '@llavakit/reader';
export type { LlavaRecord, Turn } from '@llavakit/schema';
export { checkFormatPlugin, formatRules, type PluginCheck } from './check.js';
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
  type SpecVersion,
  SUPPORTED_SPEC_VERSIONS,
  type WriteContext,
} from './contract.js';
