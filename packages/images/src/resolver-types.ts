import type { Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import type { Confinement } from './confined.js';
import type { HeadTail } from './headtail.js';
import type { ImageSource } from './sources.js';

export type { HeadTail } from './headtail.js';

/** Where a found image lives: a file on disk, or an entry inside a zip archive. */
export type ImageLocation =
  | {
      readonly kind: 'file';
      readonly path: string /** True when the file is a symlink (inside the source). */;
      readonly viaSymlink?: boolean;
    }
  | { readonly kind: 'zip'; readonly archive: string; readonly entry: string };

/** The image was found. */
export interface FoundResolution {
  readonly status: 'found';
  /** The ref as given. */
  readonly ref: string;
  /** The ref normalised (`/` separators, no `./`). */
  readonly path: string;
  /** The source that holds it, and its index in the resolver's source list. */
  readonly source: ImageSource;
  readonly sourceIndex: number;
  /** The file path, or the archive and entry name. */
  readonly location: ImageLocation;
  /** Size in bytes: always known for zip entries; for files only after {@link ImageResolver.stat}. */
  readonly size?: number;
}

/** The image is in none of the sources; `looked` says where the resolver looked, in order. */
export interface MissingResolution {
  readonly status: 'missing';
  readonly ref: string;
  readonly looked: readonly string[];
}

/** The ref was refused (leaves the sources, or is no valid path); never read. */
export interface RefusedResolution {
  readonly status: 'refused';
  readonly ref: string;
  /** `images/outside-root` or `images/invalid-path`. */
  readonly diagnostic: Diagnostic;
}

/** What {@link ImageResolver.resolve} answers for one ref. */
export type Resolution = FoundResolution | MissingResolution | RefusedResolution;

/** Options of {@link createImageResolver}. */
export interface ImageResolverOptions {
  /**
   * Also look up bare file names (`000000033471.jpg`) in prefixed sources when no source serves them otherwise.
   * Default: true.
   */
  readonly bareNamesInPrefixedSources?: boolean;
  /**
   * How {@link ImageResolver.readHeadTail} and {@link ImageResolver.readBytes} read files. `sync` (default):
   * blocking open/read/close, the fastest for local disks and a warm cache (no thread-pool hops, measured about 2–3×
   * faster here; for `readBytes` of 138K tiny images, a fifth of the CPU time). `async`: the libuv thread pool,
   * better when each read waits on a network file system.
   */
  readonly io?: 'sync' | 'async';
  /**
   * The largest image {@link ImageResolver.readBytes} returns, and the largest deflated zip entry that is inflated to
   * check it, in bytes (default 64 MiB). Larger images are refused with `images/too-large` before they are read, and
   * a zip entry that inflates past the size it declares is stopped there. Memory while reading stays bounded by it.
   */
  readonly maxImageBytes?: number;
}

/** Resolves image refs from records against an ordered list of sources. Create with {@link createImageResolver}. */
export interface ImageResolver {
  /** The sources, in lookup order. */
  readonly sources: readonly ImageSource[];
  /** Find an image; never throws for bad refs (they become `refused`). */
  resolve(ref: string): Promise<Resolution>;
  /**
   * {@link resolve} without waiting: the resolution (found, missing or refused) when every folder listing, zip index
   * and symlink check it needs is already loaded, otherwise `undefined` (then await {@link resolve}, which loads them).
   */
  resolveNow(ref: string): Resolution | undefined;
  /** How files are read (see {@link ImageResolverOptions.io}). */
  readonly io: 'sync' | 'async';
  /** Synchronous {@link readHeadTail} for files when the resolver reads with `io: 'sync'`; `undefined` otherwise. */
  readHeadTailSync(
    found: FoundResolution,
    headBytes: number,
    tailBytes: number,
    buffer?: Uint8Array,
  ): HeadTail | undefined;
  /** Like {@link resolve}, with `size` filled in for files too (one `stat`). */
  stat(ref: string): Promise<Resolution>;
  /** The image's bytes. Rejects with a {@link DiagnosticError} when it is missing, refused or unreadable. */
  readBytes(ref: string): Promise<Uint8Array>;
  /**
   * Read only the head (`headBytes`) and tail (`tailBytes`) of a found image. Pass `buffer` (at least `headBytes`
   * long) to reuse memory; the returned head then points into it. Zip entries are read whole (they must be inflated).
   */
  readHeadTail(found: FoundResolution, headBytes: number, tailBytes: number, buffer?: Uint8Array): Promise<HeadTail>;
  /**
   * Problems with the sources themselves: folders or archives that do not exist or cannot be read
   * (`images/source-unusable`), unsafe zip entry names (`images/zip-unsafe-entry`). Opens every zip archive.
   */
  checkSources(): Promise<Diagnostic[]>;
  /** Close zip archives. The resolver must not be used afterwards. */
  close(): Promise<void>;
}

/** What the image checker knows of a resolver made by {@link createImageResolver}. Internal. */
export interface ResolverSetup {
  readonly sources: readonly ImageSource[];
  readonly options: ImageResolverOptions;
  /** The confinement of a file found by {@link ResolverSetup.filePathNow}: inside any folder source's real root. */
  readonly anyRoot: Confinement;
  /**
   * The found image when its folder listings or zip index are already loaded (no symlink, nothing to load), else
   * `undefined` (then ask `resolveNow`, which also explains misses).
   */
  readonly foundNow: (ref: string) => FoundResolution | undefined;
  /** The file path of a clean ref found as a regular file, `null` when missing, `undefined` to ask `resolveNow`. */
  readonly filePathNow: (ref: string) => string | null | undefined;
  /** Where a deferred miss of a clean ref was looked for (what `resolveNow` says of it when no listing adds a note). */
  readonly lookedFor: (ref: string) => string[];
  /**
   * Whether `resolution` (what `resolveNow` said of a clean ref `filePathNow` found in no source) is a deferred miss:
   * missing, and looked for exactly where {@link ResolverSetup.lookedFor} says, so it can be explained later.
   */
  readonly isDeferrableMiss: (ref: string, resolution: Resolution | undefined) => boolean;
  /** The top folders of the loaded zip sources, by source number (sent along by check workers). */
  readonly zipTops: () => Record<number, string | null> | undefined;
  /** Adopt zip top folders from a worker's resolver, so that {@link lookedFor} can explain zip misses here. */
  readonly learnZipTops: (tops: Readonly<Record<number, string | null>>) => void;
}
