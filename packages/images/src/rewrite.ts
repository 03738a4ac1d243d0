import { isAbsolute, relative, resolve as resolvePath, sep } from 'node:path';
import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { missingDiagnostic } from './resolution-diagnostics.js';
import type { ImageResolver } from './resolver-types.js';
import { imageRules } from './rules.js';
import { normalizeRef } from './sources.js';

/**
 * How to write image paths into converted output:
 * - `as-is`: unchanged.
 * - `relative`: the resolved file's path relative to the output directory.
 * - `absolute`: the resolved file's absolute path.
 * - `{ prefix }`: the normalised ref with `prefix/` in front (`coco/train2017` + `000000033471.jpg`); no lookup.
 */
export type ImagePathMode = 'as-is' | 'relative' | 'absolute' | { readonly prefix: string };

/** Context of {@link rewriteImagePath}. */
export interface RewriteContext {
  /** Needed by `relative` and `absolute`. */
  readonly resolver?: ImageResolver;
  /** The directory the output file is written to; needed by `relative`. */
  readonly outputDir?: string;
}

/** A rewritten path, or why it could not be rewritten. */
export type RewriteResult =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly diagnostic: Diagnostic };

/**
 * Parse an `--image-paths` value: `as-is`, `relative`, `absolute` or `prefix=<p>`.
 *
 * @example
 * ```ts
 * parseImagePathMode('prefix=coco/train2017'); // { prefix: 'coco/train2017' }
 * ```
 */
export function parseImagePathMode(value: string): ImagePathMode {
  if (value === 'as-is' || value === 'relative' || value === 'absolute') return value;
  if (value.startsWith('prefix=')) return { prefix: value.slice('prefix='.length) };
  throw new TypeError(`Unknown image path mode "${value}"; use as-is, relative, absolute or prefix=<p>.`);
}

/**
 * Rewrite one image path under a root folder or prefix (`--image-root R`, `--image-paths prefix=R`), without any
 * lookup: the normalised ref with `R/` in front. A ref that would leave `R` — a `..` segment, an absolute path
 * (`/x.jpg`, `C:\x.jpg`) — is never rewritten: the result is an `images/outside-root` diagnostic (an empty ref or one
 * with NUL: `images/invalid-path`), and the caller reports it with the record's place.
 *
 * @example
 * ```ts
 * rewriteUnderRoot('000000033471.jpg', '/data/coco'); // { ok: true, path: '/data/coco/000000033471.jpg' }
 * rewriteUnderRoot('../secret.jpg', '/data/coco'); // { ok: false, diagnostic: { ruleId: 'images/outside-root', … } }
 * ```
 */
export function rewriteUnderRoot(ref: string, root: string): RewriteResult {
  const normalized = normalizeRef(ref);
  if (!normalized.ok) {
    const rule = normalized.reason === 'outside' ? imageRules.outsideRoot : imageRules.invalidPath;
    return {
      ok: false,
      diagnostic: diagnose(rule, {
        message: `${normalized.message} It is not written under ${root || 'the image root'}.`,
        source: 'images',
        data: { ref, root },
      }),
    };
  }
  const prefix = root.replaceAll('\\', '/').replace(/\/+$/, '');
  return { ok: true, path: prefix ? `${prefix}/${normalized.path}` : normalized.path };
}

/**
 * Rewrite one image path for output. `relative` and `absolute` resolve the image first and fail with
 * `images/missing`, `images/outside-root` or `images/in-archive` (a zip entry has no path on disk) diagnostics.
 *
 * @example
 * ```ts
 * await rewriteImagePath('000000033471.jpg', { prefix: 'coco/train2017' }); // { ok: true, path: 'coco/train2017/000000033471.jpg' }
 * await rewriteImagePath('x.jpg', 'relative', { resolver, outputDir: '/out' }); // { ok: true, path: '../data/x.jpg' }
 * ```
 */
export async function rewriteImagePath(
  ref: string,
  mode: ImagePathMode,
  context: RewriteContext = {},
): Promise<RewriteResult> {
  if (mode === 'as-is') return { ok: true, path: ref };
  if (typeof mode === 'object') return rewriteUnderRoot(ref, mode.prefix);
  if (!context.resolver) throw new TypeError(`rewriteImagePath: mode "${mode}" needs a resolver.`);
  const resolution = await context.resolver.resolve(ref);
  if (resolution.status === 'refused') return { ok: false, diagnostic: resolution.diagnostic };
  if (resolution.status === 'missing') return { ok: false, diagnostic: missingDiagnostic(resolution) };
  if (resolution.location.kind === 'zip') {
    return {
      ok: false,
      diagnostic: diagnose(imageRules.inArchive, {
        message: `Image "${ref}" is inside ${resolution.location.archive}; it has no ${mode} path on disk.`,
        source: 'images',
        data: { ref, location: resolution.location },
      }),
    };
  }
  const absolute = resolution.location.path;
  if (mode === 'absolute') return { ok: true, path: absolute };
  if (!context.outputDir) throw new TypeError('rewriteImagePath: mode "relative" needs outputDir.');
  const outputDir = isAbsolute(context.outputDir) ? context.outputDir : resolvePath(context.outputDir);
  return { ok: true, path: relative(outputDir, absolute).split(sep).join('/') };
}
