import { promises as fsp } from 'node:fs';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { type Confinement, DEFAULT_MAX_IMAGE_BYTES } from './confined.js';
import { FolderIndex } from './folder.js';
import { readFileHeadTail, readFileHeadTailSync, readFileWhole, readFileWholeSync } from './headtail.js';
import { missingDiagnostic, readErrorDiagnostic } from './resolution-diagnostics.js';
import type {
  FoundResolution,
  ImageLocation,
  ImageResolver,
  ImageResolverOptions,
  MissingResolution,
  RefusedResolution,
  Resolution,
  ResolverSetup,
} from './resolver-types.js';
import { imageRules } from './rules.js';
import { checkImageSources } from './source-checks.js';
import { formatImageSource, type ImageSource, normalizeRef, SUSPICIOUS_REF } from './sources.js';
import { ZipIndex } from './zip.js';

type Backend =
  | { readonly kind: 'folder'; readonly index: FolderIndex }
  | { readonly kind: 'zip'; index?: Promise<ZipIndex | Error>; ready?: ZipIndex | Error };

/**
 * Create a resolver over an ordered list of sources (see {@link parseImageSourceSpec}).
 *
 * Resolution order for a ref such as `coco/train2017/x.jpg`:
 * 1. Refs that are empty, absolute or contain `..` are refused.
 * 2. Every source in the given order that serves the ref: a source without prefix serves every ref and is looked
 *    up with the whole ref (`/data/playground` → `/data/playground/coco/train2017/x.jpg`); a source with prefix
 *    `coco/train2017` serves refs under that prefix and is looked up without it (`/data/coco/x.jpg`).
 * 3. For a bare file name (`000000033471.jpg`) no source served, the prefixed sources, looking the name up directly.
 * The first source holding the file wins. Zip archives whose entries all lie under one top folder also match names
 * without it (`00453/x.jpg` finds `images/00453/x.jpg`).
 *
 * @example
 * ```ts
 * const resolver = createImageResolver([parseImageSourceSpec('coco/train2017=/data/coco')]);
 * const r = await resolver.resolve('coco/train2017/000000033471.jpg');
 * if (r.status === 'found') console.log(r.location); // { kind: 'file', path: '/data/coco/000000033471.jpg' }
 * await resolver.close();
 * ```
 */
export function createImageResolver(
  sources: readonly ImageSource[],
  options: ImageResolverOptions = {},
): ImageResolver {
  const bareFallback = options.bareNamesInPrefixedSources ?? true;
  const io = options.io ?? 'sync';
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const backends: Backend[] = sources.map((s) =>
    s.kind === 'folder' ? { kind: 'folder', index: new FolderIndex(s.root, io) } : { kind: 'zip' },
  );
  const zipOf = (i: number): Promise<ZipIndex | Error> => {
    const backend = backends[i] as Extract<Backend, { kind: 'zip' }>;
    backend.index ??= ZipIndex.open((sources[i] as Extract<ImageSource, { kind: 'zip' }>).path)
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
      .then((ready) => {
        backend.ready = ready;
        return ready;
      });
    return backend.index;
  };

  /** Every read of a file is checked against the real root of its source, at the moment it is opened. */
  const rootOf = (i: number): readonly string[] => {
    const backend = backends[i];
    const real = backend?.kind === 'folder' ? backend.index.realRootSync() : undefined;
    return real === undefined ? [] : [real];
  };
  const confinements = new Map<string, Confinement>();
  const confinementOf = (i: number, follow: boolean): Confinement => {
    const key = `${i}:${follow}`;
    let c = confinements.get(key);
    if (!c) {
      c = { roots: () => rootOf(i), follow };
      confinements.set(key, c);
    }
    return c;
  };
  /** For the lean path (a path found by filePathNow, source not named): inside any folder source's real root. */
  const anyRoot: Confinement = {
    roots: () => backends.flatMap((_, i) => rootOf(i)),
    follow: false,
  };

  const prefixes = sources.map((s) => (s.prefix ? `${s.prefix}/` : ''));
  const prefixDepth = sources.map((s) => (s.prefix ? s.prefix.split('/').length : 0));

  /** Top folders of zip sources learned from another thread's resolver (see `ResolverSetup.learnZipTops`). */
  const learnedTops = new Map<number, string | null>();

  /**
   * {@link filePathNow} in one source: the file path of a regular file in a listed folder, `null` when the loaded
   * listing or zip index holds no entry of that name, `undefined` when only {@link resolveNow} can tell (not loaded
   * yet, unreadable, a symlink, a folder, or a zip entry, found).
   */
  function probe(i: number, rel: string): string | null | undefined {
    const backend = backends[i]!;
    if (backend.kind === 'folder') return backend.index.filePathNow(rel);
    const zip = backend.ready;
    if (!(zip instanceof ZipIndex)) return undefined;
    return zip.find(rel) === undefined ? null : undefined;
  }

  /**
   * The leanest lookup, for the image checker's hot loop, answering like {@link resolveNow} for clean relative refs
   * (no character that needs normalising) once the listings and zip indexes involved are loaded: the file path of a
   * regular file in a folder, `null` when no source holds an entry of that name (missing; {@link resolveNow} explains
   * it), `undefined` when only {@link resolveNow} can tell (zip entries that exist included).
   */
  function filePathNow(ref: string): string | null | undefined {
    if (SUSPICIOUS_REF.test(ref)) return undefined;
    let served = false;
    for (let i = 0; i < sources.length; i++) {
      const prefix = prefixes[i]!;
      if (prefix !== '' && !ref.startsWith(prefix)) continue;
      served = true;
      const hit = probe(i, prefix === '' ? ref : ref.slice(prefix.length));
      if (hit !== null) return hit;
    }
    if (bareFallback && !ref.includes('/')) {
      for (let i = 0; i < sources.length; i++) {
        if (prefixes[i] === '') continue;
        served = true;
        const hit = probe(i, ref);
        if (hit !== null) return hit;
      }
    }
    return served ? null : undefined;
  }

  /**
   * Where {@link attempt} looks for a clean relative ref when no source that serves it holds it and none has a note
   * to add (no near miss in a folder): the `looked` list of such a miss, built without folder listings. A zip source
   * adds its single top folder, known from its index or learned from another thread.
   */
  function lookedFor(ref: string): string[] {
    const looked: string[] = [];
    const at = (i: number, rel: string) => {
      const source = sources[i]!;
      const backend = backends[i]!;
      const via = source.prefix ? ` (via ${formatImageSource(source)})` : '';
      if (backend.kind === 'folder') {
        looked.push(`${backend.index.pathOf(rel)}${via}`);
        return;
      }
      const top = backend.ready instanceof ZipIndex ? backend.ready.topFolder : learnedTops.get(i);
      looked.push(
        `${(source as Extract<ImageSource, { kind: 'zip' }>).path}!${rel}${top ? ` (and ${top}/${rel})` : ''}${via}`,
      );
    };
    for (let i = 0; i < sources.length; i++) {
      const prefix = prefixes[i]!;
      if (prefix === '') at(i, ref);
      else if (ref.startsWith(prefix)) at(i, ref.slice(prefix.length));
    }
    if (bareFallback && !ref.includes('/')) {
      for (let i = 0; i < sources.length; i++) if (prefixes[i] !== '') at(i, ref);
    }
    return looked;
  }

  /** The top folder (or null) of every zip source whose index is loaded, by source number. */
  function zipTops(): Record<number, string | null> | undefined {
    let tops: Record<number, string | null> | undefined;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i]!;
      if (backend.kind === 'zip' && backend.ready instanceof ZipIndex)
        (tops ??= {})[i] = backend.ready.topFolder ?? null;
    }
    return tops;
  }

  function isDeferrableMiss(ref: string, resolution: Resolution | undefined): boolean {
    if (resolution?.status !== 'missing') return false;
    const plain = lookedFor(ref);
    return plain.length === resolution.looked.length && plain.every((place, i) => place === resolution.looked[i]);
  }

  function learnZipTops(tops: Readonly<Record<number, string | null>>): void {
    for (const [i, top] of Object.entries(tops)) learnedTops.set(Number(i), top);
  }

  function foundNow(ref: string): FoundResolution | undefined {
    const normalized = normalizeRef(ref);
    if (!normalized.ok) return undefined;
    const { path, segments } = normalized;
    for (let i = 0; i < sources.length; i++) {
      const prefix = prefixes[i]!;
      if (prefix !== '' && !path.startsWith(prefix)) continue;
      const rel = prefix === '' ? segments : segments.slice(prefixDepth[i]);
      const backend = backends[i]!;
      const source = sources[i]!;
      if (backend.kind === 'folder') {
        const file = backend.index.peek(rel);
        if (file === undefined) return undefined;
        if (file !== null)
          return { status: 'found', ref, path, source, sourceIndex: i, location: { kind: 'file', path: file } };
        continue;
      }
      const zip = backend.ready;
      if (zip === undefined) return undefined;
      if (zip instanceof Error) continue;
      const entry = zip.find(rel.join('/'));
      if (entry === undefined) continue;
      const location = {
        kind: 'zip',
        archive: (source as Extract<ImageSource, { kind: 'zip' }>).path,
        entry: zip.nameOf(entry),
      } as const;
      return { status: 'found', ref, path, source, sourceIndex: i, location, size: zip.sizeOf(entry) };
    }
    return undefined;
  }

  /**
   * Resolve without waiting: the resolution, or a promise to await (a folder listing, a zip index or a symlink check
   * being loaded) before trying again. Every loaded piece is cached, so a second attempt gets further.
   */
  function attempt(ref: string): Resolution | Promise<unknown> {
    const normalized = normalizeRef(ref);
    if (!normalized.ok) {
      const rule = normalized.reason === 'outside' ? imageRules.outsideRoot : imageRules.invalidPath;
      return {
        status: 'refused',
        ref,
        diagnostic: diagnose(rule, { message: normalized.message, source: 'images', data: { ref } }),
      };
    }
    const { path, segments } = normalized;
    const looked: string[] = [];
    const tryAt = (i: number, rel: readonly string[]): Resolution | Promise<unknown> | undefined => {
      const source = sources[i]!;
      const backend = backends[i]!;
      const via = () => (source.prefix ? ` (via ${formatImageSource(source)})` : '');
      if (backend.kind === 'folder') {
        const hit = backend.index.lookup(rel);
        if (hit instanceof Promise) return hit;
        if (hit.kind === 'found') {
          const location = hit.viaSymlink
            ? ({ kind: 'file', path: hit.path, viaSymlink: true } as const)
            : ({ kind: 'file', path: hit.path } as const);
          return { status: 'found', ref, path, source, sourceIndex: i, location };
        }
        if (hit.kind === 'refused') {
          const diagnostic = diagnose(imageRules.outsideRoot, {
            message: `The image path "${ref}" leads outside the image sources: ${hit.message}.`,
            source: 'images',
            data: { ref, path: hit.path },
          });
          return { status: 'refused', ref, diagnostic };
        }
        looked.push(`${hit.path}${via()}${hit.note ? `: ${hit.note}` : ''}`);
        return undefined;
      }
      const archive = (source as Extract<ImageSource, { kind: 'zip' }>).path;
      const zip = backend.ready;
      if (zip === undefined) return zipOf(i);
      const name = rel.join('/');
      if (zip instanceof Error) {
        looked.push(`${archive}!${name}${via()}: archive unreadable (${zip.message})`);
        return undefined;
      }
      const entry = zip.find(name);
      if (entry !== undefined) {
        const location = { kind: 'zip', archive, entry: zip.nameOf(entry) } as const;
        return { status: 'found', ref, path, source, sourceIndex: i, location, size: zip.sizeOf(entry) };
      }
      looked.push(`${archive}!${name}${zip.topFolder ? ` (and ${zip.topFolder}/${name})` : ''}${via()}`);
      return undefined;
    };
    for (let i = 0; i < sources.length; i++) {
      const prefix = prefixes[i]!;
      if (prefix === '') {
        const hit = tryAt(i, segments);
        if (hit) return hit;
      } else if (path.startsWith(prefix)) {
        const hit = tryAt(i, segments.slice(prefixDepth[i]));
        if (hit) return hit;
      }
    }
    if (bareFallback && segments.length === 1) {
      for (let i = 0; i < sources.length; i++) {
        if (prefixes[i] === '') continue;
        const hit = tryAt(i, segments);
        if (hit) return hit;
      }
    }
    if (looked.length === 0) {
      looked.push(
        sources.length === 0
          ? 'no image sources are configured'
          : `no source serves "${path}" (prefixes: ${sources.map((s) => s.prefix || '(any)').join(', ')})`,
      );
    }
    return { status: 'missing', ref, looked };
  }

  function resolveNow(ref: string): Resolution | undefined {
    const r = attempt(ref);
    return r instanceof Promise ? undefined : r;
  }

  async function resolve(ref: string): Promise<Resolution> {
    for (;;) {
      const r = attempt(ref);
      if (!(r instanceof Promise)) return r;
      await r;
    }
  }

  function failure(resolution: MissingResolution | RefusedResolution): DiagnosticError {
    if (resolution.status === 'refused') return new DiagnosticError(resolution.diagnostic);
    return new DiagnosticError(missingDiagnostic(resolution));
  }

  async function zipEntry(found: FoundResolution): Promise<{ zip: ZipIndex; entry: number }> {
    const zip = await zipOf(found.sourceIndex);
    if (zip instanceof Error) throw zip;
    const location = found.location as Extract<ImageLocation, { kind: 'zip' }>;
    const entry = zip.find(location.entry);
    if (entry === undefined) throw new Error(`entry ${location.entry} vanished from ${location.archive}`);
    return { zip, entry };
  }

  const resolver: ImageResolver = {
    sources,
    io,
    resolve,
    resolveNow,
    readHeadTailSync(found, headBytes, tailBytes, buffer) {
      if (io !== 'sync') return undefined;
      const head = buffer && buffer.length >= headBytes ? buffer : new Uint8Array(headBytes);
      if (found.location.kind === 'zip') {
        const zip = (backends[found.sourceIndex] as Extract<Backend, { kind: 'zip' }>).ready;
        if (!(zip instanceof ZipIndex)) return undefined; // the asynchronous read explains it
        const entry = zip.find(found.location.entry);
        if (entry === undefined) return undefined;
        return zip.readHeadTailSync(entry, head, headBytes, tailBytes);
      }
      const confinement = confinementOf(found.sourceIndex, found.location.viaSymlink === true);
      return readFileHeadTailSync(found.location.path, head, headBytes, tailBytes, confinement);
    },
    async stat(ref) {
      const r = await resolve(ref);
      if (r.status !== 'found' || r.size !== undefined) return r;
      const location = r.location as Extract<ImageLocation, { kind: 'file' }>;
      try {
        return { ...r, size: (await fsp.stat(location.path)).size };
      } catch (error) {
        return {
          status: 'missing',
          ref,
          looked: [`${location.path}: ${(error as NodeJS.ErrnoException).code ?? error}`],
        };
      }
    },
    async readBytes(ref) {
      const r = await resolve(ref);
      if (r.status !== 'found') throw failure(r);
      try {
        if (r.location.kind === 'file') {
          const confinement = confinementOf(r.sourceIndex, r.location.viaSymlink === true);
          return io === 'sync'
            ? readFileWholeSync(r.location.path, confinement, maxImageBytes)
            : await readFileWhole(r.location.path, confinement, maxImageBytes);
        }
        const { zip, entry } = await zipEntry(r);
        return await zip.read(entry, maxImageBytes);
      } catch (error) {
        throw new DiagnosticError(readErrorDiagnostic(r, error), { cause: error });
      }
    },
    async readHeadTail(found, headBytes, tailBytes, buffer) {
      if (found.location.kind === 'file') {
        const head = buffer && buffer.length >= headBytes ? buffer : new Uint8Array(headBytes);
        const confinement = confinementOf(found.sourceIndex, found.location.viaSymlink === true);
        if (io === 'sync') return readFileHeadTailSync(found.location.path, head, headBytes, tailBytes, confinement);
        return readFileHeadTail(found.location.path, head, headBytes, tailBytes, confinement);
      }
      const { zip, entry } = await zipEntry(found);
      return zip.readHeadTail(entry, buffer ?? new Uint8Array(headBytes), headBytes, tailBytes, maxImageBytes);
    },
    checkSources: () => checkImageSources(sources, zipOf),
    async close() {
      for (const backend of backends) {
        if (backend.kind !== 'zip' || !backend.index) continue;
        const zip = await backend.index;
        if (!(zip instanceof Error)) zip.close();
      }
    },
  };
  setups.set(resolver, {
    sources,
    options: { bareNamesInPrefixedSources: bareFallback, io, maxImageBytes },
    anyRoot,
    foundNow,
    filePathNow,
    lookedFor,
    isDeferrableMiss,
    zipTops,
    learnZipTops,
  });
  return resolver;
}
const setups = new WeakMap<ImageResolver, ResolverSetup>();

/** The sources, options and fast lookup of a resolver made by {@link createImageResolver}; `undefined` for any other. */
export function resolverSetup(resolver: ImageResolver): ResolverSetup | undefined {
  return setups.get(resolver);
}
