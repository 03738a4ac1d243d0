import type { Diagnostic } from '@llavakit/diagnostics';
import type { RecordContext } from '@llavakit/format';
import { IMAGE_TOKEN, imagesOf, type LlavaRecord, type Turn, VIDEO_TOKEN, videosOf } from '@llavakit/schema';
import { type ImageTokenPolicy, type Placement, placeImages } from '../../pipeline/image-policy.js';
import { writerRules } from '../../pipeline/rules.js';
import { fail, recordDiagnostic } from './record-diagnostics.js';

/** Run the `<image>` policy on the turns, or build the `image/count-mismatch` rejection. */
export function placeImageTokens(
  record: LlavaRecord,
  turns: readonly Turn[],
  policy: ImageTokenPolicy,
  context: RecordContext<object>,
  source: string,
  requireMatch = true,
  parts = false,
): { ok: true; placement: Placement } | { ok: false; diagnostics: Diagnostic[] } {
  const images = imagesOf(record);
  const placement = placeImages(turns, images, policy, { requireMatch, parts });
  if (placement.ok) {
    for (const event of placement.events) context.count(event);
    return { ok: true, placement };
  }
  return fail(
    recordDiagnostic(writerRules.imageCountMismatch, context, source, {
      message: `${placement.message.replace('the target', `${source} (--image-token ${policy})`)}`,
      pointer: images.length === 0 ? '/conversations' : '/image',
      recordId: record.id,
      data: { images: placement.images, tokens: placement.tokens, policy },
    }),
  );
}

/**
 * Map a record's videos to the target's `<video>` slots: the `<video>` tokens must match the videos one to one. A
 * record written as LLaVA-Video writes it (videos, no image, no `<video>` token, one `<image>` per video) gets its
 * `<image>` tokens read as `<video>` (counted as `video-token:from-image`). Anything else is rejected with
 * `video/count-mismatch`, so a video is never written without its slot.
 */
export function placeVideos(
  record: LlavaRecord,
  turns: readonly Turn[],
  context: RecordContext<object>,
  source: string,
): { ok: true; turns: readonly Turn[]; videos: string[] } | { ok: false; diagnostics: Diagnostic[] } {
  const videos = videosOf(record);
  let tokens = 0;
  let imageTokens = 0;
  for (const turn of turns) {
    if (turn.value.includes(VIDEO_TOKEN)) tokens += countToken(turn.value, VIDEO_TOKEN);
    if (turn.value.includes(IMAGE_TOKEN)) imageTokens += countToken(turn.value, IMAGE_TOKEN);
  }
  if (videos.length === tokens) return { ok: true, turns, videos };
  if (tokens === 0 && imageTokens === videos.length && record.image === undefined) {
    context.count('video-token:from-image');
    const mapped = turns.map((turn) =>
      turn.value.includes(IMAGE_TOKEN) ? { ...turn, value: turn.value.replaceAll(IMAGE_TOKEN, VIDEO_TOKEN) } : turn,
    );
    return { ok: true, turns: mapped, videos };
  }
  return fail(
    recordDiagnostic(writerRules.videoCountMismatch, context, source, {
      message: `The record has ${videos.length} video(s) but ${tokens} ${VIDEO_TOKEN} token(s); ${source} needs one token per video.`,
      pointer: videos.length === 0 ? '/conversations' : '/video',
      recordId: record.id,
      data: { videos: videos.length, tokens },
    }),
  );
}

function countToken(text: string, token: string): number {
  let count = 0;
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + token.length)) count++;
  return count;
}
