import { type Dirent, promises as fsp, opendirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { isInside, realRootSync } from './confined.js';
import { NameTable } from './name-table.js';

type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

type Listing =
  | {
      readonly ok: true;
      /** Every name, in listing order (regular files are most of them); also finds letter-case near misses. */
      readonly names: NameTable;
      /** The kind of every name that is not a regular file. */
      readonly others: Map<string, Exclude<EntryKind, 'file'>>;
    }
  | { readonly ok: false; readonly refused: boolean; readonly message: string };

/** The outcome of looking a relative path up in a folder source. */
export type FolderLookup =
  | { readonly kind: 'found'; readonly path: string; readonly viaSymlink: boolean }
  | { readonly kind: 'absent'; readonly path: string; readonly note?: string }
  | { readonly kind: 'refused'; readonly path: string; readonly message: string };

/**
 * A folder source: each directory is listed once (readdir with file types, cached) so existence checks cost no
 * `stat` per image. Directories and symlinked files whose real path leaves the root are refused.
 */
export class FolderIndex {
  private readonly listings = new Map<string, Promise<Listing>>();
  private readonly ready = new Map<string, Listing>();
  private readonly symlinks = new Map<string, Promise<FolderLookup>>();
  private readonly symlinksReady = new Map<string, FolderLookup>();
  private realRootPromise: Promise<string | Error> | undefined;

  private readonly base: string;

  /**
   * `io: 'sync'` lists folders with blocking reads (about three times faster for a folder of 500K files, and the
   * caller waits for the listing anyway); `async` lets other work go on meanwhile.
   */
  constructor(
    readonly root: string,
    private readonly io: 'sync' | 'async' = 'async',
  ) {
    this.base = root.endsWith(sep) ? root : root + sep;
  }

  /** The root's real path (symlinks resolved), or the error that prevented it. */
  realRoot(): Promise<string | Error> {
    this.realRootPromise ??= fsp.realpath(this.root).catch((error: unknown) => error as Error);
    return this.realRootPromise;
  }

  private realRootCache: string | null | undefined;

  /**
   * The root's real path, resolved with a blocking call once (`undefined` while the root cannot be resolved): what
   * every read of a file checks its opened descriptor against.
   */
  realRootSync(): string | undefined {
    if (this.realRootCache === undefined) this.realRootCache = realRootSync(this.root) ?? null;
    return this.realRootCache ?? undefined;
  }

  /** Look up a file given as path segments relative to the root (synchronous once the folder is listed). */
  lookup(segments: readonly string[]): FolderLookup | Promise<FolderLookup> {
    const dirRel = segments.length === 1 ? '' : segments.slice(0, -1).join('/');
    const ready = this.ready.get(dirRel);
    if (ready) return this.fromListing(ready, segments);
    return this.list(dirRel).then((listing) => this.fromListing(listing, segments));
  }

  /**
   * Synchronous peek: the file path when the folder is listed and holds a regular file of that name, `null` when it is
   * listed and holds none, `undefined` when only the asynchronous {@link lookup} can tell (not listed yet, symlink,
   * refused folder).
   */
  peek(segments: readonly string[]): string | null | undefined {
    const listing = this.ready.get(segments.length === 1 ? '' : segments.slice(0, -1).join('/'));
    if (!listing) return undefined;
    if (!listing.ok) return listing.refused ? undefined : null;
    const kind = kindOf(listing, segments[segments.length - 1]!);
    if (kind === 'file') return `${this.base}${segments.length === 1 ? segments[0] : segments.join('/')}`;
    return kind === 'symlink' ? undefined : null;
  }

  /**
   * {@link peek} for a clean relative path given as one string (`a/b.jpg`, no empty or dot segments), with one
   * lookup in the listing: the file path when its folder is listed and holds a regular file of that name, `null` when
   * it is listed and holds no entry of that name at all, `undefined` otherwise (ask {@link lookup}).
   */
  filePathNow(rel: string): string | null | undefined {
    const slash = rel.lastIndexOf('/');
    const listing = this.ready.get(slash < 0 ? '' : rel.slice(0, slash));
    if (listing === undefined || !listing.ok) return undefined;
    const name = slash < 0 ? rel : rel.slice(slash + 1);
    if (!listing.names.has(name)) return null;
    if (listing.others.size > 0 && listing.others.has(name)) return undefined;
    return this.base + rel;
  }

  /** The path of a clean relative path `rel` under the root. */
  pathOf(rel: string): string {
    return this.base + rel;
  }

  private fromListing(listing: Listing, segments: readonly string[]): FolderLookup | Promise<FolderLookup> {
    const name = segments[segments.length - 1]!;
    const path = `${this.base}${segments.length === 1 ? name : segments.join('/')}`;
    if (!listing.ok) {
      return listing.refused
        ? { kind: 'refused', path, message: listing.message }
        : { kind: 'absent', path, note: listing.message };
    }
    const kind = kindOf(listing, name);
    if (kind === 'file') return { kind: 'found', path, viaSymlink: false };
    if (kind === 'symlink') return this.symlinksReady.get(path) ?? this.followSymlink(path);
    if (kind === 'dir') return { kind: 'absent', path, note: 'it is a folder' };
    if (kind === 'other') return { kind: 'absent', path, note: 'it is not a regular file' };
    const others = listing.others;
    const near = listing.names.nearMiss(name, others.size === 0 ? undefined : (n) => others.get(n) !== 'dir');
    return near
      ? { kind: 'absent', path, note: `"${near}" exists, differing only in letter case` }
      : { kind: 'absent', path };
  }

  private list(dirRel: string): Promise<Listing> {
    let listing = this.listings.get(dirRel);
    if (!listing) {
      listing = this.readListing(dirRel).then((done) => {
        this.ready.set(dirRel, done);
        return done;
      });
      this.listings.set(dirRel, listing);
    }
    return listing;
  }

  private async readListing(dirRel: string): Promise<Listing> {
    const dir = dirRel === '' ? this.root : join(this.root, dirRel);
    // Streamed in blocks (not one readdir array of Dirents): a folder of 500K files lists in about half the memory.
    const list: string[] = [];
    const others = new Map<string, Exclude<EntryKind, 'file'>>();
    const add = (d: Dirent) => {
      list.push(d.name);
      if (!d.isFile()) others.set(d.name, d.isSymbolicLink() ? 'symlink' : d.isDirectory() ? 'dir' : 'other');
    };
    try {
      if (this.io === 'sync') {
        const handle = opendirSync(dir, { bufferSize: 4096 });
        try {
          for (let d = handle.readSync(); d !== null; d = handle.readSync()) add(d);
        } finally {
          handle.closeSync();
        }
      } else for await (const d of await fsp.opendir(dir, { bufferSize: 4096 })) add(d);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message =
        code === 'ENOENT'
          ? `folder ${dir} does not exist`
          : code === 'ENOTDIR'
            ? `${dir} is not a folder`
            : `cannot list ${dir}: ${code ?? String(error)}`;
      return { ok: false, refused: false, message };
    }
    if (dirRel !== '') {
      const root = await this.realRoot();
      const real = await fsp.realpath(dir).catch(() => undefined);
      if (root instanceof Error || real === undefined || !isInside(real, root)) {
        return { ok: false, refused: true, message: `folder ${dir} is a symlink that leads outside ${this.root}` };
      }
    }
    return { ok: true, names: new NameTable(list), others };
  }

  private followSymlink(path: string): Promise<FolderLookup> {
    let result = this.symlinks.get(path);
    if (!result) {
      result = (async (): Promise<FolderLookup> => {
        const root = await this.realRoot();
        let real: string;
        try {
          real = await fsp.realpath(path);
        } catch {
          return { kind: 'absent', path, note: 'it is a dangling symlink' };
        }
        if (root instanceof Error || !isInside(real, root)) {
          return { kind: 'refused', path, message: `${path} is a symlink to ${real}, outside ${this.root}` };
        }
        const stat = await fsp.stat(real).catch(() => undefined);
        if (!stat?.isFile()) return { kind: 'absent', path, note: 'the symlink does not lead to a regular file' };
        return { kind: 'found', path, viaSymlink: true };
      })().then((lookup) => {
        this.symlinksReady.set(path, lookup);
        return lookup;
      });
      this.symlinks.set(path, result);
    }
    return result;
  }
}

function kindOf(listing: Extract<Listing, { ok: true }>, name: string): EntryKind | undefined {
  if (!listing.names.has(name)) return undefined;
  return listing.others.size === 0 ? 'file' : (listing.others.get(name) ?? 'file');
}
