import type { Diagnostic } from '@llavakit/diagnostics';
import type { EncodeResult, RecordContext } from '@llavakit/format';
import type { LlavaRecord, Turn } from '@llavakit/schema';
import type { ImageTokenPolicy, Placement } from '../../pipeline/image-policy.js';
import { attachMeta, type MetaOptions } from '../shared/meta-column.js';
import { placeImageTokens, placeVideos } from '../shared/token-placement.js';
import { outputWithId } from '../shared/values.js';
import { chatRolesOf } from './roles.js';

/*
 * The skeleton every chat format (messages, swift, openai, sharegpt) encodes a record with:
 *
 *   roles → videos → <image> placement → (the format builds its messages) → id → path rewrite → llava_meta
 *
 * `beginChat` runs the steps before the format's own, `finishChat` the ones after; a format with an asynchronous
 * step of its own (openai reads image bytes) runs it between the two.
 */

/** A failed step: the record is rejected with these diagnostics. */
export type ChatFailure = { readonly ok: false; readonly diagnostics: Diagnostic[] };

/** The roles step as a rule: LLaVA roles mapped to chat roles (`human` → `user`, …), others refused. */
export interface ChatRoleRule {
  /** The chat roles the target takes. */
  readonly allowed: ReadonlySet<string>;
  /** What the target takes, for the refusal message ("OpenAI takes human/user, …"). */
  readonly takes: string;
  /** Accept `system` only as the first turn. */
  readonly systemFirstOnly: boolean;
}

/** What a format's own roles step gives: the turns that make the conversation and their target roles. */
export type RolesResult =
  | { readonly ok: true; readonly turns: readonly Turn[]; readonly roles: string[] }
  | ChatFailure;

/** What the videos step gives: the turns (with `<video>` tokens in place) and the video paths. */
export type VideosResult =
  | { readonly ok: true; readonly turns: readonly Turn[]; readonly videos: string[] }
  | ChatFailure;

/** Named options of {@link beginChat}. */
export interface ChatSteps {
  /** Format name: the `source` of every diagnostic. */
  readonly source: string;
  /** Roles: a {@link ChatRoleRule}, or the format's own check (ShareGPT keeps LLaVA roles, checks their order). */
  readonly roles: ChatRoleRule | ((record: LlavaRecord, context: RecordContext<object>) => RolesResult);
  /** Videos: `slots` matches `<video>` tokens with the record's videos; a function refuses or maps them itself. */
  readonly videos:
    | 'slots'
    | ((record: LlavaRecord, turns: readonly Turn[], context: RecordContext<object>) => VideosResult);
  /** The `--image-token` policy. */
  readonly imageToken: ImageTokenPolicy;
  /** Images become content parts (`{type: image}`) rather than `<image>` text. */
  readonly parts?: boolean;
}

/** A record after the common steps: what the format builds its messages from. */
export interface ChatDraft {
  readonly record: LlavaRecord;
  /** The conversation's turns (without a system turn split off by the roles step). */
  readonly turns: readonly Turn[];
  /** Target role of each turn. */
  readonly roles: readonly string[];
  /** The `<image>` placement: texts per turn, images in slot order, what changed. */
  readonly placement: Placement;
  /** Video paths, in `<video>` slot order. */
  readonly videos: readonly string[];
}

/** Roles → videos → `<image>` placement. */
export function beginChat(
  record: LlavaRecord,
  context: RecordContext<object>,
  steps: ChatSteps,
): { readonly ok: true; readonly draft: ChatDraft } | ChatFailure {
  const roles: RolesResult =
    typeof steps.roles === 'function'
      ? steps.roles(record, context)
      : withTurns(
          record,
          chatRolesOf(
            record,
            steps.roles.allowed,
            context,
            steps.source,
            steps.roles.takes,
            steps.roles.systemFirstOnly,
          ),
        );
  if (!roles.ok) return roles;
  const video =
    steps.videos === 'slots'
      ? placeVideos(record, roles.turns, context, steps.source)
      : steps.videos(record, roles.turns, context);
  if (!video.ok) return video;
  const placed = placeImageTokens(
    record,
    video.turns,
    steps.imageToken,
    context,
    steps.source,
    true,
    steps.parts ?? false,
  );
  if (!placed.ok) return placed;
  return {
    ok: true,
    draft: { record, turns: roles.turns, roles: roles.roles, placement: placed.placement, videos: video.videos },
  };
}

function withTurns(
  record: LlavaRecord,
  mapped: { ok: true; roles: string[] } | { ok: false; diagnostics: Diagnostic[] },
): RolesResult {
  return mapped.ok ? { ok: true, turns: record.conversations, roles: mapped.roles } : mapped;
}

/** Named options of {@link finishChat}. */
export interface ChatOutput {
  /** `-O id-field`: the record's id is written first (as a string); absent for a format that writes no id. */
  readonly idField?: boolean | undefined;
  /** The format's own keys (`messages`, `conversations`, `system`, …), in output order, after the id. */
  readonly fields: Record<string, unknown>;
  /** The `images`/`videos` columns (paths rewritten for the output): always, only when non-empty, or none. */
  readonly mediaColumns: 'always' | 'when-present' | 'none';
  /** The llava_meta step. */
  readonly meta: Pick<MetaOptions, 'decodeWithoutMeta' | 'naturalSystem' | 'enabled'> & {
    /** Plain LLaVA records skip the comparison (needs a format whose placement decodes back as it was). */
    readonly skipPlain: boolean;
  };
}

/** Id → the format's keys → image/video columns with rewritten paths → llava_meta. */
export function finishChat(draft: ChatDraft, context: RecordContext<object>, output: ChatOutput): EncodeResult {
  const { record, placement, videos } = draft;
  const out = output.idField === undefined ? {} : outputWithId(record, output.idField);
  Object.assign(out, output.fields);
  if (output.mediaColumns !== 'none') {
    const images = placement.images;
    if (output.mediaColumns === 'always' || images.length > 0) {
      out.images = images.map((path) => context.images.rewrite(path));
    }
    if (videos.length > 0) out.videos = videos.map((path) => context.images.rewrite(path));
  }
  return attachMeta({
    original: record,
    value: out,
    decodeWithoutMeta: output.meta.decodeWithoutMeta,
    naturalSystem: output.meta.naturalSystem,
    enabled: output.meta.enabled,
    context,
    placement: output.meta.skipPlain ? placement : undefined,
    idWritten: output.idField,
  });
}
