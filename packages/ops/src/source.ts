import { imagesOf, type LlavaRecord, videosOf } from '@llavakit/schema';

/**
 * The source of a record: its `data_source` (LLaVA-OneVision, many Hub sets), else the first folder of its first
 * image (`coco`, `gqa`, `ocr_vqa`, `textvqa`, `vg` in mix665k), else `text-only`; an image without folder is
 * `(no folder)`.
 *
 * @example
 * ```ts
 * sourceOf({ image: 'coco/train2017/000000033471.jpg', conversations: [] }); // 'coco'
 * sourceOf({ conversations: [] }); // 'text-only'
 * ```
 */
export function sourceOf(record: LlavaRecord): string {
  const declared = (record as { data_source?: unknown }).data_source;
  if (typeof declared === 'string' && declared.length > 0) return declared;
  const image = typeof record.image === 'string' ? record.image : record.image?.[0];
  if (image === undefined) {
    const video = videosOf(record)[0];
    return video !== undefined ? folderOf(video) : 'text-only';
  }
  return folderOf(image);
}

function folderOf(path: string): string {
  const clean = path.replace(/^\.\//, '').replace(/^\/+/, '');
  const slash = clean.indexOf('/');
  return slash > 0 ? clean.slice(0, slash) : '(no folder)';
}

/** True when the record has neither image nor video. */
export function isTextOnly(record: LlavaRecord): boolean {
  return imagesOf(record).length === 0 && videosOf(record).length === 0;
}
