export { type DedupBy, type DedupOptions, type DedupSummary, type DuplicateGroup, dedupRecords } from './dedup.js';
export { type FilterOptions, filterRecords } from './filter.js';
export { normalizedConversation } from './hash.js';
export { Histogram, type HistogramBucket, type HistogramJson } from './histogram.js';
export type { ImageSourceOptions } from './images.js';
export { type ImagesCheckRun, type RunImagesCheckOptions, runImagesCheck } from './images-check-run.js';
export { type LengthOptions, measureRecord, promptTokens, type RecordLength, type Unmeasurable } from './length.js';
export {
  type ManifestEntry,
  type MixManifest,
  type MixOptions,
  type MixSummary,
  mixRecipe,
  OPS_VERSION,
} from './mix.js';
export type { InputCount, InputOptions, OpProgress, OpSummary, OutputOptions } from './op-types.js';
export {
  type PromptsBuildSummary,
  type PromptsEndpointOptions,
  type RunPromptsBuildOptions,
  runPromptsBuild,
} from './prompts-build-run.js';
export {
  type MixEntry,
  type MixRecipe,
  type MixStrategy,
  parseStrategy,
  readRecipe,
  strategyTake,
} from './recipe.js';
export { renderStatsHtml, renderStatsSummary, writeStatsHtml } from './report.js';
export { opsRules } from './rules.js';
export { type SampleOptions, type SampleSummary, sampleRecords } from './sample.js';
export { type RunShardOptions, runShard, type ShardOutcome } from './shard-run.js';
export { isTextOnly, sourceOf } from './source.js';
export { type SplitOptions, type SplitSummary, splitKey, splitRecords } from './split.js';
export {
  computeStats,
  mergeStats,
  readStatsFiles,
  type SourceStats,
  type StatsOptions,
  type StatsResult,
} from './stats.js';
export { type RenderOpSummaryOptions, renderOpSummary } from './summary-text.js';
export {
  ANYRES_PINPOINTS,
  imageTokens,
  LlamaTokenCounter,
  MODEL_PRESETS,
  type ModelPreset,
  needsImageSize,
  selectBestResolution,
} from './tokens.js';
