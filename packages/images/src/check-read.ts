/** The reading step of the image check: read a found image's head and tail, sniff it, and give its verdict. */
import type { FoundResolution, ImageResolver } from './resolver-types.js';
import { type ImageInfo, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, sniffImage } from './sniff.js';
import type { PrefixReport } from './status.js';
import { countInfo, type Outcome, verdictOfImage, verdictOfReadError } from './verdict.js';

/**
 * The slow path: read through the resolver's asynchronous reads (zip entries, `io: 'async'`), with a buffer from
 * `buffers` (returned after). The image's format and size are counted in `report`.
 */
export async function readVerdict(
  resolver: ImageResolver,
  buffers: Uint8Array[],
  found: FoundResolution,
  report: PrefixReport,
): Promise<Outcome> {
  const buffer = buffers.pop() ?? new Uint8Array(SNIFF_HEAD_BYTES);
  let info: ImageInfo;
  try {
    const { head, tail, size } = await resolver.readHeadTail(found, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer);
    info = sniffImage(head, { tail, size });
  } catch (error) {
    return verdictOfReadError(found, error);
  } finally {
    buffers.push(buffer);
  }
  countInfo(report, info);
  return verdictOfImage(found, info);
}

/** Read a found file in this thread, with blocking calls (the resolver reads with `io: 'sync'`). */
export function readVerdictSync(
  resolver: ImageResolver,
  buffers: Uint8Array[],
  found: FoundResolution,
  report: PrefixReport,
): Outcome {
  const buffer = buffers.pop() ?? new Uint8Array(SNIFF_HEAD_BYTES);
  try {
    const ht = resolver.readHeadTailSync(found, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer)!;
    const info = sniffImage(ht.head, { tail: ht.tail, size: ht.size });
    countInfo(report, info);
    return verdictOfImage(found, info);
  } catch (error) {
    return verdictOfReadError(found, error);
  } finally {
    buffers.push(buffer);
  }
}
