import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { EmbeddedImages, SourceRecord } from '@llavakit/format';
import { extensionOfFormat, sniffImage } from '@llavakit/images';

/** Options of {@link createImageExtractor}. */
export interface ExtractImagesOptions {
  /** The folder the embedded images are written into (created when missing; existing files are never replaced). */
  readonly dir: string;
  /**
   * What the records' image paths start with (default: `dir` as given). The CLI passes `dir` relative to the output
   * file's folder, so the records follow LLaVA's convention of paths relative to the data.
   */
  readonly pathPrefix?: string;
}

/** Writes the embedded images of records into a folder, atomically (see {@link createImageExtractor}). */
export interface ImageExtractor {
  /**
   * Write the record's embedded images and return it with `image` pointing at the written files (and `embedded`
   * keyed by the new paths). A record without embedded images is returned as is.
   */
  extract(source: SourceRecord): Promise<SourceRecord>;
  /** Image files written so far (the same bytes under the same name count once). */
  readonly written: number;
  /** Move every written image into the folder (call once the output is complete). */
  commit(): Promise<void>;
  /** Delete every written image: nothing appears in the folder. */
  abort(): Promise<void>;
}

/**
 * A safe relative file name for an embedded image: the segments of its `path` without `..`, `.`, a root or a drive,
 * each reduced to `[A-Za-z0-9._-]` (no leading dot), and the extension of the real format sniffed from the bytes (a
 * PNG is never named `.jpg`); the path's own extension when the bytes are not a known image, else `.bin`. `fallback`
 * (a stem) is used when nothing usable is left of the path.
 *
 * @example
 * ```ts
 * safeImageName('../../etc/x.jpg', pngBytes, 'row-1'); // 'etc/x.png'
 * ```
 */
export function safeImageName(path: string, bytes: Uint8Array, fallback: string): string {
  const segments = path
    .replaceAll('\\', '/')
    .replace(/^[A-Za-z]:/, '')
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .map((s) =>
      s
        .replace(/[^A-Za-z0-9._-]/g, '_')
        .replace(/^[.]+/, '')
        .slice(0, 120),
    )
    .filter((s) => s !== '')
    .slice(-8);
  const last = segments.pop() ?? (fallback.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.]+/, '') || 'image');
  const dot = last.lastIndexOf('.');
  const stem = dot > 0 ? last.slice(0, dot) : last;
  const own = dot > 0 ? last.slice(dot + 1).toLowerCase() : '';
  const sniffed = extensionOfFormat(sniffImage(bytes.subarray(0, 64 * 1024)).format);
  const extension = sniffed ?? (/^[a-z0-9]{1,5}$/.test(own) ? own : 'bin');
  return [...segments, `${stem}.${extension}`].join('/');
}

/**
 * Create an extractor of embedded images (e.g. from Hugging Face Parquet) into `dir`. Images are written into a
 * temporary folder beside `dir` as records stream by (a few writes in flight), each under a unique safe name
 * ({@link safeImageName}; a name taken by a different earlier image or an existing file gets `-1`, `-2`, …; the same
 * bytes under the same name — one COCO image in several rows — are written once and shared), and moved into `dir` by
 * `commit()`; `abort()` leaves `dir` as it was. No path of an image can reach outside `dir`.
 *
 * @example
 * ```ts
 * const extractor = createImageExtractor({ dir: 'out/images', pathPrefix: 'images' });
 * const extracted = await extractor.extract(source); // image: 'images/000000033471.jpg'
 * await extractor.commit();
 * ```
 */
export function createImageExtractor(options: ExtractImagesOptions): ImageExtractor {
  const target = resolve(options.dir);
  const prefix = (options.pathPrefix ?? options.dir).replaceAll('\\', '/').replace(/\/+$/, '');
  /** Names given so far (lower-cased) → the digest of the bytes written under them. */
  const taken = new Map<string, string>();
  const made = new Set<string>();
  let staging: string | undefined;
  /** Whether `dir` existed when the first image came (when not, no name can be taken by an existing file). */
  let targetExisted = true;
  let written = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const settle = async (limit: number) => {
    while (inFlight.size > limit) await Promise.race(inFlight);
    if (failure) throw failure;
  };

  const stage = async (): Promise<string> => {
    if (staging) return staging;
    await mkdir(dirname(target), { recursive: true });
    targetExisted = await exists(target);
    staging = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
    return staging;
  };
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  /** A name for these bytes, and whether they still need writing (false: the same bytes already have it). */
  const unique = async (name: string, digest: string): Promise<{ name: string; fresh: boolean }> => {
    const dot = name.lastIndexOf('.');
    const stem = name.slice(0, dot);
    const extension = name.slice(dot);
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? name : `${stem}-${n}${extension}`;
      const key = candidate.toLowerCase();
      const had = taken.get(key);
      if (had !== undefined) {
        if (had === digest) return { name: candidate, fresh: false };
        continue;
      }
      if (targetExisted && (await exists(join(target, candidate)))) continue;
      taken.set(key, digest);
      return { name: candidate, fresh: true };
    }
  };

  return {
    get written() {
      return written;
    },
    async extract(source) {
      const { embedded, record } = source;
      if (!embedded || embedded.size === 0) return source;
      const folder = await stage();
      const renamed = new Map<string, string>();
      const bytesOf = new Map<string, Uint8Array>();
      for (const [path, bytes] of embedded) {
        const digest = createHash('sha1').update(bytes).digest('base64');
        const { name, fresh } = await unique(
          safeImageName(path, bytes, `${String(record.id ?? source.index)}`),
          digest,
        );
        if (fresh) {
          const slash = name.lastIndexOf('/');
          if (slash > 0) {
            const sub = name.slice(0, slash);
            if (!made.has(sub)) {
              await mkdir(join(folder, sub), { recursive: true });
              made.add(sub);
            }
          }
          await settle(15);
          const write: Promise<void> = writeFile(join(folder, name), bytes).then(
            () => {
              inFlight.delete(write);
            },
            (error: unknown) => {
              inFlight.delete(write);
              failure ??= error;
            },
          );
          inFlight.add(write);
          written++;
        }
        const outPath = prefix ? `${prefix}/${name}` : name;
        renamed.set(path, outPath);
        bytesOf.set(outPath, bytes);
      }
      const rename1 = (p: string) => renamed.get(p) ?? p;
      const image = Array.isArray(record.image)
        ? record.image.map(rename1)
        : typeof record.image === 'string'
          ? rename1(record.image)
          : record.image;
      const moved: EmbeddedImages = bytesOf;
      return { ...source, record: { ...record, ...(image !== undefined ? { image } : {}) }, embedded: moved };
    },
    async commit() {
      await settle(0);
      if (!staging) return;
      const from = staging;
      staging = undefined;
      if (!(await exists(target))) {
        await rename(from, target);
        return;
      }
      try {
        await moveInto(from, target);
      } finally {
        await rm(from, { recursive: true, force: true });
      }
    },
    async abort() {
      await Promise.allSettled(inFlight);
      if (!staging) return;
      const from = staging;
      staging = undefined;
      await rm(from, { recursive: true, force: true });
    },
  };
}

async function moveInto(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const destination = join(to, entry.name);
    if (entry.isDirectory()) {
      const there = await lstat(destination).catch(() => undefined);
      // A symbolic link (or a file) in the folder must not lead an image outside it.
      if (there && !there.isDirectory()) {
        throw new Error(`Cannot extract images into ${destination}: it exists and is not a folder.`);
      }
      if (!there) await mkdir(destination);
      await moveInto(source, destination);
    } else {
      await rename(source, destination);
    }
  }
}
