import { resolve as resolvePath } from 'node:path';

/** A folder of images. With a `prefix`, only refs starting with `prefix/` use it, and the prefix is cut off. */
export interface FolderSource {
  readonly kind: 'folder';
  /** The folder, as given (made absolute by {@link parseImageSourceSpec}). */
  readonly root: string;
  /** Path prefix of refs this folder serves, without leading/trailing slashes; `''` for every ref. */
  readonly prefix: string;
}

/** A zip archive read in place (central directory once, entries on demand). */
export interface ZipSource {
  readonly kind: 'zip';
  /** The archive file. */
  readonly path: string;
  /** Path prefix of refs this archive serves, without leading/trailing slashes; `''` for every ref. */
  readonly prefix: string;
}

/** Where images may come from: a folder or a zip archive, optionally serving only one path prefix. */
export type ImageSource = FolderSource | ZipSource;

/**
 * Parse one `--images` value: `PATH` or `PREFIX=PATH`. A path ending in `.zip` is a zip archive, anything else a
 * folder. Paths are made absolute against `cwd`.
 *
 * @example
 * ```ts
 * parseImageSourceSpec('coco/train2017=/data/coco');
 * // { kind: 'folder', prefix: 'coco/train2017', root: '/data/coco' }
 * parseImageSourceSpec('/data/cc3m/images.zip'); // { kind: 'zip', prefix: '', path: '/data/cc3m/images.zip' }
 * ```
 */
export function parseImageSourceSpec(spec: string, cwd: string = process.cwd()): ImageSource {
  const eq = spec.indexOf('=');
  const rawPrefix = eq >= 0 ? spec.slice(0, eq) : '';
  const target = eq >= 0 ? spec.slice(eq + 1) : spec;
  if (target.trim() === '') throw new TypeError(`Image source "${spec}" names no folder or zip archive.`);
  const prefix = normalizePrefix(rawPrefix);
  if (prefix === undefined) {
    throw new TypeError(`Image source "${spec}": the prefix "${rawPrefix}" must be a relative path without "..".`);
  }
  const absolute = resolvePath(cwd, target);
  return /\.zip$/i.test(target) ? { kind: 'zip', path: absolute, prefix } : { kind: 'folder', root: absolute, prefix };
}

/** Render a source back as a spec (`prefix=path` or `path`). */
export function formatImageSource(source: ImageSource): string {
  const path = source.kind === 'zip' ? source.path : source.root;
  return source.prefix ? `${source.prefix}=${path}` : path;
}

function normalizePrefix(prefix: string): string | undefined {
  const parts = prefix
    .replaceAll('\\', '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (parts.includes('..') || /^([a-zA-Z]:)?[\\/]/.test(prefix)) return undefined;
  return parts.join('/');
}

/** A ref after normalisation, or why it is refused. */
export type NormalizedRef =
  | { readonly ok: true; readonly path: string; readonly segments: readonly string[] }
  | { readonly ok: false; readonly reason: 'outside' | 'invalid'; readonly message: string };

/** Anything that needs the slow path: backslash, NUL, empty or dot segments, leading or doubled or trailing slash, drive letter, blank. */
export const SUSPICIOUS_REF = /[\\\0]|(^|\/)\.{1,2}(\/|$)|\/\/|^\/|\/$|^[a-zA-Z]:|^\s*$|^\s|\s$/;

/**
 * Normalise an image ref from a record: backslashes become `/`, `./` and empty segments are dropped. Refused: empty
 * paths and NUL bytes (`invalid`); absolute paths, drive letters and `..` segments (`outside`).
 */
export function normalizeRef(ref: string): NormalizedRef {
  // Fast path for the common, already-clean relative path.
  if (!SUSPICIOUS_REF.test(ref)) return { ok: true, path: ref, segments: ref.split('/') };
  if (ref.trim() === '') return { ok: false, reason: 'invalid', message: 'The image path is empty.' };
  if (ref.includes('\0')) return { ok: false, reason: 'invalid', message: 'The image path contains a NUL byte.' };
  if (/^([a-zA-Z]:)?[\\/]/.test(ref) || /^[a-zA-Z]:/.test(ref)) {
    return { ok: false, reason: 'outside', message: `The image path "${ref}" is absolute.` };
  }
  const segments = ref
    .replaceAll('\\', '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    return { ok: false, reason: 'outside', message: `The image path "${ref}" contains "..".` };
  }
  if (segments.length === 0) return { ok: false, reason: 'invalid', message: `The image path "${ref}" names no file.` };
  return { ok: true, path: segments.join('/'), segments };
}

/**
 * The group a ref is counted under in reports: its first folder with a trailing slash (`coco/`, `gqa/`), `(bare)`
 * for a bare file name, and `(numbered)/` for numeric shard folders such as the 558K set's `00453/`.
 */
export function prefixOf(ref: string): string {
  const normalized =
    ref.includes('\\') || ref.startsWith('./') ? ref.replaceAll('\\', '/').replace(/^(\.\/)+/, '') : ref;
  const slash = normalized.indexOf('/');
  if (slash <= 0) return '(bare)';
  const first = normalized.slice(0, slash);
  return /^\d+$/.test(first) ? '(numbered)/' : `${first}/`;
}
