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
import { diagnosticPlace } from './place.js';

/**
 * What the per-record image check leaves for the encoder of the same record: the output path of each image it
 * resolved, and (when embedding) the bytes it read. Filled by the check, read by `rewrite`/`readBytes`, cleared at
 * the next record (records are checked and encoded one at a time, in order).
 */
class RecordImages {
  readonly rewritten = new Map<string, string>();
  readonly bytes = new Map<string, Uint8Array>();

  clear(): void {
    this.rewritten.clear();
    this.bytes.clear();
  }
}

/** What `--missing-images` does with a record whose image is not found (or refused) in the image sources. */
export type MissingImagesMode = 'keep' | 'drop' | 'fail';

/** Named options of {@link openImageAccess} (the `--images`, `--missing-images`, `--image-*` flags). */
export interface ImageAccessOptions {
  /** Image sources in lookup order: a folder, `prefix=folder`, or a zip archive read in place (`--images`). */
  readonly sources?: readonly string[] | undefined;
  /** keep (write the record, report the image), drop (reject it), fail (stop). Default keep. */
  readonly missingImages?: MissingImagesMode | undefined;
  /** Output image paths: `as-is` (default), `relative`, `absolute`, or `prefix=<p>` (`--image-paths`). */
  readonly imagePaths?: string | undefined;
  /** Prefix every output image path with this folder (`--image-root`). */
  readonly imageRoot?: string | undefined;
  /** Largest image read, in bytes (`--max-image-bytes`). */
  readonly maxImageBytes?: number | undefined;
  /** The bytes are embedded (`--embed-images`): they are then read once, during the per-record check. */
  readonly embedImages?: boolean | undefined;
  /** The output path (`relative` paths are relative to its folder); `-` or absent: the working folder. */
  readonly output?: string | undefined;
}

/** What a conversion gets from {@link openImageAccess}. */
export interface ImageAccessSetup {
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
 * Open the image access of a conversion: a resolver over the image sources (folders listed once, zips indexed
 * once), output path rewriting, and the `--missing-images` policy as a per-record check. The check resolves each
 * record's images and leaves their rewritten paths (and, when embedding, their bytes) for the encoder of that same
 * record (see {@link RecordImages}). Throws a usage `DiagnosticError` for inconsistent options.
 */
export async function openImageAccess(options: ImageAccessOptions): Promise<ImageAccessSetup> {
  const flags = {
    images: options.sources,
    'missing-images': options.missingImages,
    'image-paths': options.imagePaths,
    'image-root': options.imageRoot,
    'max-image-bytes': options.maxImageBytes,
    'embed-images': options.embedImages,
    output: options.output,
  };
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

  const record = new RecordImages();
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
  const images: ImageAccess = {
    rewrite: (path) => record.rewritten.get(path) ?? simpleRewrite(path),
    readBytes: async (path) => {
      if (!resolver) return undefined;
      const ready = record.bytes.get(path);
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
    ...(source.place ? { place: diagnosticPlace(source.place) } : {}),
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
    record.clear();
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
          if (result.ok) record.rewritten.set(path, result.path);
          else problem = result.diagnostic;
        }
        if (!problem && embed && !record.bytes.has(path)) {
          try {
            record.bytes.set(path, await activeResolver.readBytes(path));
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
