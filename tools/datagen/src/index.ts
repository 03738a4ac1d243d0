/**
 * @llavakit/datagen — realistic, deterministic LLaVA-family dataset generator and the llavakit benchmark harness.
 *
 * @packageDocumentation
 */

export { DEFAULT_CASES } from './cases.js';
export {
  type GenerateOptions,
  type GenerateResult,
  generate,
  generateRecords,
  isKind,
  KIND_NAMES,
  KINDS,
  type KindInfo,
  type KindName,
  type MixPlan,
  type MixSection,
  mixPlan,
  type RecordMaker,
  recordMaker,
} from './generate.js';
export {
  type BenchCase,
  type BenchContext,
  type BenchOptions,
  type BenchReport,
  type BenchRun,
  type BenchSize,
  type BenchTarget,
  benchRecords,
  type CaseResult,
  type DataResult,
  NODE_BASELINE,
  PYTHON_BASELINE,
  parseTimeOutput,
  renderBenchTable,
  runBench,
  type TargetResult,
  writeBaselines,
} from './harness.js';
export {
  type BrokenKind,
  collectMediaRefs,
  crc32,
  encodeJpeg,
  encodePng,
  FAKE_MP4,
  type ImageTreeOptions,
  type ImageTreeResult,
  TINY_GIF,
  tinyImagePool,
  writeImageTree,
} from './images.js';
export {
  blipChatRecord,
  blipMetaRecord,
  cc3mChatRecord,
  cc3mMetaRecord,
  cocoId,
  complexRecord,
  conversationRecord,
  detailRecord,
  type GenRecord,
  type GenTurn,
  INSTRUCT_PARTS,
  type InstructOptions,
  instruct80kRecord,
  instructRecord,
  isbn10,
  MC_SUFFIX,
  MIX_SOURCES,
  type MixQuirks,
  type MixSource,
  mixRecord,
  nextRecord,
  type Placement,
  placeImageToken,
  SHORT_ANSWER_SUFFIX,
  shareGptId,
} from './records.js';
export { hashInts, hashString, permute, Rng, rngFor } from './rng.js';
export { arrayFrame, asciiEscape, element, type Layout, pyCompact, pyPrettyElement } from './serialize.js';
export { TextSink } from './sink.js';
