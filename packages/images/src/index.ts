export {
  type CheckImagesOptions,
  type CheckProgress,
  checkImages,
  createImageChecker,
  type ImageChecker,
} from './check.js';
export {
  type CheckFilesProgress,
  type CheckImageFilesOptions,
  type CheckImageFilesResult,
  checkImageFiles,
  type ImagesReport,
  missingListLines,
  type RuleCounts,
  withOutputFailure,
} from './check-files.js';
export { type RenderImagesReportOptions, renderImagesReport, writeImagesReportJson } from './check-report.js';
export type { ImageCheckSummary } from './check-summary.js';
export { DEFAULT_MAX_IMAGE_BYTES } from './confined.js';
export { type ImageRef, imageRefsFromRecords, imageRefsOfRecord, type RecordResultLike } from './refs.js';
export { readErrorDiagnostic } from './resolution-diagnostics.js';
export { createImageResolver } from './resolver.js';
export type {
  FoundResolution,
  HeadTail,
  ImageLocation,
  ImageResolver,
  ImageResolverOptions,
  MissingResolution,
  RefusedResolution,
  Resolution,
} from './resolver-types.js';
export {
  type ImagePathMode,
  parseImagePathMode,
  type RewriteContext,
  type RewriteResult,
  rewriteImagePath,
  rewriteUnderRoot,
} from './rewrite.js';
export { imageRules } from './rules.js';
export {
  extensionOfFormat,
  formatOfExtension,
  type ImageFormat,
  type ImageInfo,
  implausibleDimensions,
  MAX_IMAGE_PIXELS,
  MAX_IMAGE_SIDE,
  SNIFF_HEAD_BYTES,
  SNIFF_TAIL_BYTES,
  type SniffOptions,
  sniffImage,
} from './sniff.js';
export {
  type FolderSource,
  formatImageSource,
  type ImageSource,
  type NormalizedRef,
  normalizeRef,
  parseImageSourceSpec,
  prefixOf,
  type ZipSource,
} from './sources.js';
export {
  IMAGE_STATUSES,
  type ImageCounts,
  type ImageProblem,
  type ImageStatus,
  type PrefixReport,
} from './status.js';
export { type UnsafeZipEntry, type ZipEntryInfo, ZipIndex } from './zip.js';
