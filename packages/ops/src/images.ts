import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import {
  createImageResolver,
  type ImageResolver,
  parseImageSourceSpec,
  SNIFF_HEAD_BYTES,
  SNIFF_TAIL_BYTES,
  sniffImage,
} from '@llavakit/images';
import { type Key64, key64 } from './hash.js';
import { usageError } from './op-diagnostics.js';

/** Image sources as `--images` specs (folders, `prefix=folder`, zip archives), resolved once. */
export interface ImageSourceOptions {
  /** Image source specs, in lookup order (see `parseImageSourceSpec` in `@llavakit/images`). */
  readonly images?: readonly string[];
}

/** Open a resolver over the image sources (`undefined` when none). Unusable sources are a usage error. */
export async function openResolver(specs: readonly string[] | undefined): Promise<ImageResolver | undefined> {
  if (!specs || specs.length === 0) return undefined;
  let resolver: ImageResolver;
  try {
    resolver = createImageResolver(specs.map((spec) => parseImageSourceSpec(spec)));
  } catch (error) {
    if (DiagnosticError.is(error)) throw error;
    throw usageError((error as Error).message);
  }
  const problems = await resolver.checkSources();
  const fatal = problems.find((d) => d.ruleId === 'images/source-unusable');
  if (fatal) {
    await resolver.close();
    throw new DiagnosticError(fatal);
  }
  return resolver;
}

/** A small bounded cache (cleared when full). */
class Bounded<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly limit: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (this.#map.size >= this.limit) this.#map.clear();
    this.#map.set(key, value);
  }
}

/**
 * Image sizes read from the headers only (JPEG SOF, PNG IHDR, …) through the resolver, never outside the
 * sources, cached per path.
 */
export class ImageSizer {
  readonly #cache = new Bounded<{ width: number; height: number } | null>(100_000);
  readonly #buffer = new Uint8Array(SNIFF_HEAD_BYTES);

  constructor(private readonly resolver: ImageResolver | undefined) {}

  /** Read the sizes of these paths into the cache (paths already known are skipped). */
  async load(paths: readonly string[]): Promise<void> {
    for (const path of paths) {
      if (this.#cache.get(path) !== undefined) continue;
      this.#cache.set(path, await this.#read(path));
    }
  }

  /** The size of a loaded path, or undefined when unknown (not found, no header). */
  sizeOf(path: string): { width: number; height: number } | undefined {
    return this.#cache.get(path) ?? undefined;
  }

  async #read(path: string): Promise<{ width: number; height: number } | null> {
    if (!this.resolver) return null;
    const found = await this.resolver.resolve(path);
    if (found.status !== 'found') return null;
    try {
      const { head, tail, size } = await this.resolver.readHeadTail(
        found,
        SNIFF_HEAD_BYTES,
        SNIFF_TAIL_BYTES,
        this.#buffer,
      );
      const info = sniffImage(head, { tail, size });
      return info.width && info.height ? { width: info.width, height: info.height } : null;
    } catch {
      return null;
    }
  }
}

/** The content key of an image: a hash of its bytes, or why it has none. */
export type ImageKey = { readonly key: Key64 } | { readonly problem: Diagnostic | string };

/**
 * Hashes image bytes read through the resolver (so one image under two names has one key), cached per path.
 */
export class ImageHasher {
  readonly #cache = new Bounded<ImageKey>(200_000);

  constructor(private readonly resolver: ImageResolver | undefined) {}

  /** The key of an image's bytes. */
  async keyOf(path: string): Promise<ImageKey> {
    const cached = this.#cache.get(path);
    if (cached) return cached;
    let result: ImageKey;
    if (!this.resolver) result = { problem: 'no --images sources were given' };
    else {
      try {
        result = { key: key64(await this.resolver.readBytes(path)) };
      } catch (error) {
        result = { problem: DiagnosticError.is(error) ? error.diagnostic : (error as Error).message };
      }
    }
    this.#cache.set(path, result);
    return result;
  }
}
