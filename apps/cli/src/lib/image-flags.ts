import { dirname, resolve } from 'node:path';
import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { ImageAccess, SourceRecord } from '@llavakit/format';
import {
  createImageResolver,
  type ImagePathMode,
  type ImageResolver,
  imageRules,
  parseImagePathMode,
  parseImageSourceSpec,
  type RewriteResult,
  rewriteImagePath,
  rewriteUnderRoot,
} from '@llavakit/images';
import { imagesOf } from '@llavakit/schema';
import { Flags } from '@oclif/core';

/** What `--missing-images` does with a record whose image is not found (or refused) in the `--images` sources. */
export type MissingImagesMode = 'keep' | 'drop' | 'fail';

/** Flags of `llava convert` about images (sources, path rewriting, missing images). */
export const imageFlags = {
  images: Flags.string({
    char: 'i',
    multiple: true,
    summary: 'Image source, in lookup order (repeatable): a folder, prefix=folder, or a zip archive read in place.',
    description:
      'Examples: --images /data/playground (refs joined to it), --images coco/train2017=/data/coco/train2017 (refs under the prefix), --images /data/cc3m/images.zip. Needed by --missing-images, --image-paths relative|absolute and --embed-images.',
  }),
  'missing-images': Flags.option({
    options: ['keep', 'drop', 'fail'] as const,
    default: 'keep' as const,
    summary:
      'With --images: keep (write the record, report the image), drop (reject the record to --rejects), or fail (stop).',
  })(),
  'image-paths': Flags.string({
    summary: 'Output image paths: as-is, relative (to the output file), absolute, or prefix=<p>.',
    default: 'as-is',
  }),
  'max-image-bytes': Flags.integer({
    summary:
      'Largest image read for --embed-images, in bytes (default 64 MiB); larger files and zip entries (or entries inflating past their declared size) are refused with images/too-large.',
    min: 1,
  }),
  'image-root': Flags.string({
    summary: 'Prefix every output image path with this folder (made absolute); shorthand for --image-paths prefix=…',
  }),
};

/** The parsed image flags. */
export interface ImageFlagValues {
  readonly images?: readonly string[] | undefined;
  readonly 'missing-images'?: MissingImagesMode | undefined;
  readonly 'image-paths'?: string | undefined;
  readonly 'image-root'?: string | undefined;
  readonly 'max-image-bytes'?: number | undefined;
  /** `--embed-images` (a format flag): the bytes are then read once, during the per-record check. */
  readonly 'embed-images'?: boolean | undefined;
  readonly output?: string | undefined;
}

/** What the conversion gets from the image flags. */
export interface ImageSetup {
  /** Path rewriting and image bytes for the formats. */
  readonly images: ImageAccess;
  /** Per-record image check and path resolution, run before encoding; absent when nothing needs a lookup. */
  readonly check?: (source: SourceRecord) => Promise<readonly Diagnostic[]>;
  /** Counts for the summary (`images:missing`, `images:found`, …). */
  readonly counts: Record<string, number>;
  /** Close zip archives. */
  close(): Promise<void>;
}

const usage = (message: string) =>
  new DiagnosticError(
    diagnose(
      { id: 'usage/images', severity: 'error', title: 'Image flags', hint: 'See `llava convert --help`.' },
      { message },
    ),
  );

/**
 * Build the image access of a conversion from the parsed {@link imageFlags}: a resolver over the `--images`
 * sources (folders listed once, zips indexed once), output path rewriting, and the `--missing-images` policy as a
 * per-record check. Throws a usage `DiagnosticError` for inconsistent flags.
 */
export async function setupImages(flags: ImageFlagValues): Promise<ImageSetup> {
  const counts: Record<string, number> = {};
  const count = (event: string) => {
    counts[event] = (counts[event] ?? 0) + 1;
  };
  let mode: ImagePathMode;
  try {
    mode = flags['image-root']
      ? { prefix: resolve(flags['image-root']) }
      : parseImagePathMode(flags['image-paths'] ?? 'as-is');
  } catch (error) {
    throw usage((error as Error).message);
  }
  if (flags['image-root'] && flags['image-paths'] && flags['image-paths'] !== 'as-is') {
    throw usage('Use either --image-root or --image-paths, not both.');
  }
  const specs = flags.images ?? [];
  const missing = flags['missing-images'] ?? 'keep';
  const needsResolver = mode === 'relative' || mode === 'absolute';
  if (specs.length === 0 && needsResolver) throw usage(`--image-paths ${String(mode)} needs --images sources.`);
  if (specs.length === 0 && missing !== 'keep') throw usage(`--missing-images ${missing} needs --images sources.`);

  let resolver: ImageResolver | undefined;
  if (specs.length > 0) {
    try {
      const max = flags['max-image-bytes'];
      resolver = createImageResolver(
        specs.map((spec) => parseImageSourceSpec(spec)),
        max ? { maxImageBytes: max } : {},
      );
    } catch (error) {
      if (DiagnosticError.is(error)) throw error;
      throw usage((error as Error).message);
    }
    const problems = await resolver.checkSources();
    const fatal = problems.find((d) => d.ruleId === 'images/source-unusable');
    if (fatal) throw new DiagnosticError(fatal);
  }

  // Paths rewritten for the record being converted (filled by `check`, read by `rewrite`).
  const rewritten = new Map<string, string>();
  const outputDir = flags.output && flags.output !== '-' ? dirname(resolve(flags.output)) : process.cwd();
  /** `--image-root R` / `prefix=R`: the library's rule; a path that would leave R is written unchanged and reported. */
  const underRoot = (path: string): RewriteResult | undefined =>
    typeof mode === 'object' ? rewriteUnderRoot(path, mode.prefix) : undefined;
  const simpleRewrite = (path: string): string => {
    const result = underRoot(path);
    return result?.ok ? result.path : path;
  };

  // With --embed-images, the bytes of the record being converted, read once by `check` (so a refused read is
  // reported there with its rule and place) and handed to the format by `readBytes`.
  const embed = flags['embed-images'] === true;
  const bytesRead = new Map<string, Uint8Array>();
  const images: ImageAccess = {
    rewrite: (path) => rewritten.get(path) ?? simpleRewrite(path),
    readBytes: async (path) => {
      if (!resolver) return undefined;
      const ready = bytesRead.get(path);
      if (ready) return ready;
      try {
        return await resolver.readBytes(path);
      } catch (error) {
        // Not found: undefined, as the contract says. Refused at the moment of reading (the file became a symlink
        // out of the source, or it is over the size limit): the record must not get these bytes, and says why.
        const rule = DiagnosticError.is(error) ? error.diagnostic.ruleId : undefined;
        if (rule === imageRules.outsideRoot.id || rule === imageRules.tooLarge.id) {
          count(rule === imageRules.outsideRoot.id ? 'images:refused-at-read' : 'images:too-large');
          throw error;
        }
        return undefined;
      }
    },
  };
  const located = (
    source: SourceRecord,
    problem: Diagnostic,
    pointer: string,
    severity: Diagnostic['severity'] = missing === 'keep' ? 'warning' : 'error',
  ): Diagnostic => ({
    ...problem,
    file: source.file,
    recordIndex: source.index,
    pointer,
    source: 'images',
    severity,
    ...(source.record.id !== undefined ? { recordId: source.record.id } : {}),
    ...(source.place
      ? { place: { offset: source.place.offset, line: source.place.line, column: source.place.column } }
      : {}),
  });
  const pointerOf = (source: SourceRecord, i: number) =>
    typeof source.record.image === 'string' ? '/image' : `/image/${i}`;

  if (!resolver) {
    if (typeof mode !== 'object') return { images, counts, close: async () => {} };
    // --image-root without --images: no lookups, but every path that would leave the root is reported.
    const checkRoot = (source: SourceRecord): readonly Diagnostic[] => {
      const found: Diagnostic[] = [];
      const paths = imagesOf(source.record);
      for (let i = 0; i < paths.length; i++) {
        const result = underRoot(paths[i]!);
        if (!result || result.ok) continue;
        count('images:outside-root');
        const d = located(source, result.diagnostic, pointerOf(source, i));
        if (missing === 'fail') throw new DiagnosticError(d);
        found.push(d);
      }
      return found;
    };
    return { images, check: async (source) => checkRoot(source), counts, close: async () => {} };
  }
  const activeResolver = resolver;

  const check = async (source: SourceRecord): Promise<readonly Diagnostic[]> => {
    rewritten.clear();
    bytesRead.clear();
    const found: Diagnostic[] = [];
    const paths = imagesOf(source.record);
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const resolution = await activeResolver.resolve(path);
      let problem: Diagnostic | undefined;
      const rooted = underRoot(path);
      if (rooted && !rooted.ok) {
        count('images:outside-root');
        problem = rooted.diagnostic;
      } else if (resolution.status === 'found') {
        count('images:found');
        if (needsResolver) {
          const result = await rewriteImagePath(path, mode, { resolver: activeResolver, outputDir });
          if (result.ok) rewritten.set(path, result.path);
          else problem = result.diagnostic;
        }
        if (!problem && embed && !bytesRead.has(path)) {
          try {
            bytesRead.set(path, await activeResolver.readBytes(path));
          } catch (error) {
            if (!DiagnosticError.is(error)) throw error;
            // Refused when read (outside the source by now, too large) or unreadable: the record cannot be embedded.
            const rule = error.diagnostic.ruleId;
            count(
              rule === imageRules.outsideRoot.id
                ? 'images:refused-at-read'
                : rule === imageRules.tooLarge.id
                  ? 'images:too-large'
                  : 'images:unreadable',
            );
            const d = located(source, error.diagnostic, pointerOf(source, i), 'error');
            if (missing === 'fail') throw new DiagnosticError(d);
            found.push(d);
            continue;
          }
        }
      } else if (resolution.status === 'refused') {
        count('images:refused');
        problem = resolution.diagnostic;
      } else {
        count('images:missing');
        problem = diagnose(imageRules.missing, {
          message: `Image "${path}" is in none of the --images sources.`,
          data: { looked: resolution.looked },
        });
      }
      if (!problem) continue;
      const d = located(source, problem, pointerOf(source, i));
      if (missing === 'fail') throw new DiagnosticError(d);
      found.push(d);
    }
    return found;
  };
  return { images, check, counts, close: () => activeResolver.close() };
}
