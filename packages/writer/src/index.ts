export { builtinFormats, createBuiltinRegistry } from './builtins.js';
export { containerFromPath, JsonValueWriter } from './container.js';
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
  probeFile,
} from './convert.js';
export {
  type DatasetColumns,
  type DatasetInfoEntry,
  type DatasetInfoOptions,
  datasetColumnsOf,
  datasetInfoEntry,
  writeDatasetInfo,
} from './dataset-info.js';
export {
  createImageExtractor,
  type ExtractImagesOptions,
  type ImageExtractor,
  safeImageName,
} from './extract-images.js';
export { decodeLlava, type LlavaOptions, llavaFormat, llavaOptionsSchema } from './formats/llava.js';
export { llavaQaFormat } from './formats/llava-qa.js';
export {
  type MessagePart,
  type MessagesOptions,
  messagesFormat,
  messagesOptionsSchema,
  plainMessages,
} from './formats/messages.js';
export {
  applyPatch,
  diffRecord,
  type LlavaPatch,
  META_FIELD,
  moveSystem,
  readPatch,
  sameJson,
} from './formats/meta.js';
export {
  OPENAI_LIMITS,
  type OpenAiOptions,
  type OpenAiPart,
  openAiFormat,
  openAiOptionsSchema,
  pathOfImageUrl,
  plainOpenAi,
} from './formats/openai.js';
export { datasetInfoRules, formatWriterRules } from './formats/rules.js';
export {
  type ShareGptOptions,
  type ShareGptRecord,
  shareGptFormat,
  shareGptOptionsSchema,
} from './formats/sharegpt.js';
export { plainSwift, type SwiftOptions, swiftFormat, swiftOptionsSchema } from './formats/swift.js';
export {
  IMAGE_POLICY_EVENTS,
  IMAGE_TOKEN_POLICIES,
  type ImageTokenPolicy,
  imageTokenOption,
  type Placement,
  type PlacementMismatch,
  type PlaceOptions,
  type PlaceTurn,
  placeImages,
  type Segment,
  segmentsOf,
} from './image-policy.js';
export { checkInputPath, isStreamPath, peekInput, refuseWrappedRecords } from './input.js';
export { type InterruptTrap, signalExitCode, trapInterrupts } from './interrupt.js';
export { type CheckRunPathsOptions, checkRunPaths, type RunPath } from './paths.js';
export { outputRules, writerRules } from './rules.js';
export {
  expandInputs,
  expandShardName,
  formatShard,
  hasShardPlaceholder,
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
} from './shard.js';
export {
  openTextSink,
  removeTemporaryFiles,
  type SinkOptions,
  type TextSink,
  writeFailure,
  writeTextFile,
} from './sink.js';
export { findLoneSurrogate, hasEscapedLoneSurrogate, hasLoneSurrogate } from './text.js';
export {
  chooseValidation,
  readForValidation,
  sourcePointer,
  type ValidationItem,
  type ValidationPlan,
} from './validate-input.js';
