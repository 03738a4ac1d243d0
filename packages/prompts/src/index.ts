export {
  BATCH_MAX_BYTES,
  BATCH_MAX_REQUESTS,
  type BatchFileInfo,
  type WriteBatchFilesOptions,
  type WriteBatchFilesResult,
  writeBatchFiles,
} from './batch.js';
export {
  type BatchOutputLine,
  type BatchResult,
  type JoinBatchOutputOptions,
  type JoinBatchOutputResult,
  joinBatchOutput,
} from './batch-output.js';
export {
  type BuildReport,
  loadPromptFolders,
  type PlanPromptRequestsOptions,
  type PromptRequestPlan,
  planPromptRequests,
  renderBuildReport,
} from './build-run.js';
export {
  type BoxFormatOptions,
  type BoxInstance,
  type BuildContextInput,
  buildContext,
  type CapsBoxesOptions,
  type CocoContextsOptions,
  type ContextsResult,
  cocoBoxToNormalised,
  cocoContexts,
  formatBox,
  type ImageContext,
  type NormalisedBox,
  readCapsBoxesJsonl,
} from './context.js';
export {
  type CallChatEndpointOptions,
  type CallChatEndpointResult,
  callChatEndpoint,
} from './endpoint.js';
export {
  type CheckPromptFolderResult,
  checkPromptFolder,
  type FewShotExample,
  type LoadPromptFolderOptions,
  loadPromptFolder,
  loadPromptSet,
  type PromptFolder,
  PromptFolderError,
  type ResponseFormat,
} from './folder.js';
export {
  DEFAULT_MAX_LINE_BYTES,
  type JsonlLine,
  type OverlongLine,
  overlongLineDiagnostic,
  type ReadLinesOptions,
  readLines,
} from './jsonl.js';
export {
  detailInstructions,
  type PromptKind,
  promptFolderNames,
  promptKinds,
  toPromptKind,
  usesBoxes,
} from './kinds.js';
export { readManifest, writeManifest } from './manifest.js';
export {
  type ImagePlacement,
  type ParseResponseOptions,
  type ParseResponseResult,
  parseResponse,
  type QaPair,
  type QaProblem,
  type SplitQaJsonlResult,
  type SplitQaResult,
  splitQa,
  splitQaJsonl,
} from './parse.js';
export {
  type ParseBatchRun,
  type ParseBatchRunOptions,
  type ParseOutputFile,
  parseBatchRun,
  parseOutputPaths,
  renderParseReport,
  serialiseRecords,
} from './parse-run.js';
export { type RenderedRecord, type RenderRecordsOptions, renderRecords } from './render-records.js';
export {
  type BuildChatRequestOptions,
  type BuiltRequest,
  buildChatRequest,
  buildChatRequests,
  buildMessages,
  type ChatBody,
  type ChatMessage,
  type ChatRequest,
  type ManifestEntry,
  makeCustomId,
  splitCustomId,
} from './request.js';
export { type ParsedRecord, type ParseResultsOptions, type ParseResultsResult, parseResults } from './results.js';
export { promptRules } from './rules.js';
export {
  type ConversationTemplate,
  conversationTemplates,
  getConversationTemplate,
  type RenderOptions,
  renderConversation,
  type SeparatorStyle,
} from './templates.js';
