/**
 * @llavakit/convert — the conversion pipeline (convert, runConvert, validateFiles), the format-plugin loader and
 * registry, and the built-in formats. The list of names is asserted by exports.test.ts.
 */
export {
  builtinFormats,
  createBuiltinRegistry,
} from './formats/index.js';
export {
  type LlavaOptions,
  llavaFormat,
  llavaOptionsSchema,
} from './formats/llava/index.js';
export { llavaQaFormat } from './formats/llava-qa/index.js';
export {
  type MessagePart,
  type MessagesOptions,
  messagesFormat,
  messagesOptionsSchema,
} from './formats/messages/index.js';
export {
  OPENAI_LIMITS,
  type OpenAiOptions,
  type OpenAiPart,
  openAiFormat,
  openAiOptionsSchema,
} from './formats/openai/index.js';

export {
  datasetInfoRules,
  formatWriterRules,
} from './formats/shared/rules.js';
export {
  type ShareGptOptions,
  type ShareGptRecord,
  shareGptFormat,
  shareGptOptionsSchema,
} from './formats/sharegpt/index.js';
export {
  type SwiftOptions,
  swiftFormat,
  swiftOptionsSchema,
} from './formats/swift/index.js';
export {
  containerFromPath,
  JsonValueWriter,
} from './pipeline/container.js';
export {
  type ChosenFormat,
  type ConvertOptions,
  type ConvertProgress,
  type ConvertSummary,
  chooseInputFormat,
  convert,
  type FormatScore,
  type InputSummary,
  type OnInvalid,
  openInputFormat,
  probeFile,
} from './pipeline/convert.js';
export {
  type DatasetColumns,
  type DatasetInfoEntry,
  type DatasetInfoOptions,
  datasetColumnsOf,
  datasetInfoEntry,
  writeDatasetInfo,
} from './pipeline/dataset-info.js';
export {
  createImageExtractor,
  type ExtractImagesOptions,
  type ImageExtractor,
  safeImageName,
} from './pipeline/extract-images.js';
export {
  type ImageAccessOptions,
  type ImageAccessSetup,
  type MissingImagesMode,
  openImageAccess,
} from './pipeline/image-access.js';
export {
  IMAGE_TOKEN_POLICIES,
  type ImageTokenPolicy,
  type Placement,
  placeImages,
} from './pipeline/image-policy.js';
export { refuseWrappedRecords } from './pipeline/input.js';
export {
  type InterruptTrap,
  signalExitCode,
  trapInterrupts,
} from './pipeline/interrupt.js';
// The worker pool and feed, for operations of other packages that run their own worker script (`llava stats`).
export { type FeedJob, feedPool } from './pipeline/parallel/feed.js';
export { PoolStartError, WorkerPool } from './pipeline/parallel/pool.js';
export {
  type BatchMessage,
  elementPlace,
  type FormatRef,
  type InputMessage,
  type ReadyMessage,
} from './pipeline/parallel/protocol.js';
export { defaultWorkers, type ParallelOptions } from './pipeline/parallel/run.js';
export { formatOf } from './pipeline/parallel/worker-format.js';
export {
  type CheckRunPathsOptions,
  checkRunPaths,
  type RunPath,
} from './pipeline/paths.js';
export { diagnosticPlace } from './pipeline/place.js';
export {
  outputRules,
  writerRules,
} from './pipeline/rules.js';
export {
  type ConvertRun,
  type ConvertRunOptions,
  runConvert,
} from './pipeline/run-convert.js';
export {
  expandInputs,
  formatShard,
  hubShardName,
  isShardDone,
  type MergedSummary,
  mergeSummaries,
  mergeSummaryFiles,
  parseShard,
  type Shard,
  type ShardMarker,
  type ShardOutputOptions,
  type ShardSelection,
  selectShard,
  shardOutput,
  shardResultPaths,
  shardRules,
  writeShardResult,
} from './pipeline/shard.js';
export {
  planShardRun,
  type ShardRunPlan,
} from './pipeline/shard-plan.js';
export {
  openTextSink,
  removeTemporaryFiles,
  type SinkOptions,
  type TextSink,
  writeFailure,
  writeTextFile,
} from './pipeline/sink.js';
export {
  type RuleTally,
  unknownValidationSource,
  type ValidatedFile,
  type ValidateFilesOptions,
  type ValidateFilesResult,
  type ValidationSummary,
  validateFiles,
} from './pipeline/validate-files.js';
export type { ValidationPlan } from './pipeline/validate-input.js';
export {
  formatsOfExport,
  type LoadedPlugin,
  type LoadPluginOptions,
  loadFormatPlugin,
  loadFormatPlugins,
  PLUGIN_PREFIX,
  pluginCandidates,
} from './plugins/load.js';
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
} from './plugins/options.js';
export {
  type FormatOrigin,
  FormatRegistry,
  type RegisteredFormat,
} from './plugins/registry.js';
export {
  PLUGIN_TIMEOUT_MS,
  type ProbeResult,
  probeImport,
  withDeadline,
} from './plugins/wall.js';
