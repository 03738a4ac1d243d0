/**
 * The one way image bytes are read from a folder source (internal): open with `O_NOFOLLOW` (a file that became a
 * symlink after the listing fails with ELOOP and is then opened through the link, only to be checked), never block on
 * FIFOs (`O_NONBLOCK`), and check the OPENED descriptor — it must be a regular file whose real path
 * (`/proc/self/fd/N` on Linux; elsewhere the path's real path, matched by device and inode) lies inside the real
 * root of its source. A file swapped for a symlink, or a parent folder swapped for one, after the folder was listed is
 * therefore never read: the bytes come from the descriptor that was checked, so there is no window between check
 * and read.
 */
import {
  close,
  closeSync,
  constants,
  existsSync,
  fstat,
  fstatSync,
  open,
  openSync,
  readlink,
  readlinkSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { sep } from 'node:path';

/** Default {@link ImageResolverOptions.maxImageBytes}: 64 MiB per image (file or zip entry). */
export const DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024;

/** Why an image read was refused. */
export type ImageReadRefusal = 'outside' | 'not-a-file' | 'too-large';

/** A read refused by the confinement or the size limit (not an I/O error). */
export class ImageReadRefused extends Error {
  /** `ELLAVA_IMAGE_OUTSIDE`, `ELLAVA_IMAGE_NOT_FILE` or `ELLAVA_IMAGE_TOO_LARGE`. */
  readonly code: string;
  constructor(
    readonly reason: ImageReadRefusal,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ImageReadRefused';
    this.code =
      reason === 'outside'
        ? 'ELLAVA_IMAGE_OUTSIDE'
        : reason === 'too-large'
          ? 'ELLAVA_IMAGE_TOO_LARGE'
          : 'ELLAVA_IMAGE_NOT_FILE';
  }
}

/** Whether an error is an {@link ImageReadRefused}. */
export function isReadRefused(error: unknown): error is ImageReadRefused {
  return error instanceof ImageReadRefused;
}

/** Where a file may be read from: the real paths of the folder sources' roots. */
export interface Confinement {
  /** Real (symlink-free) root paths; the opened file's real path must lie inside one of them. */
  readonly roots: () => readonly string[];
  /** Follow a final symlink (only when the listing found a symlink that stays inside). Default false. */
  readonly follow?: boolean;
}

const PROC_FD = (() => {
  try {
    return existsSync('/proc/self/fd');
  } catch {
    return false;
  }
})();
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;

/** Open flags: read only, never block (a FIFO swapped in), no final symlink unless `follow`. */
export function imageOpenFlags(follow: boolean): number {
  return constants.O_RDONLY | NONBLOCK | (follow ? 0 : NOFOLLOW);
}

/** Whether `real` is `root` or lies under it. */
export function isInside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of a folder, or undefined when it cannot be resolved. */
export function realRootSync(root: string): string | undefined {
  try {
    return realpathSync(root);
  } catch {
    return undefined;
  }
}

function refuseOutside(path: string, real: string | undefined): ImageReadRefused {
  return new ImageReadRefused(
    'outside',
    real === undefined
      ? `${path} could not be confirmed to lie inside the image sources when it was opened`
      : `${path} is ${real} when opened, outside the image sources (it changed after the folder was listed)`,
    { path, ...(real !== undefined ? { real } : {}) },
  );
}

/** Check an opened descriptor (sync): regular file, inside a root. Returns its stats. */
function verifySync(fd: number, path: string, confinement: Confinement): Stats {
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    throw new ImageReadRefused('not-a-file', `${path} is not a regular file when opened`, { path });
  }
  let real: string | undefined;
  if (PROC_FD) {
    real = readlinkSync(`/proc/self/fd/${fd}`);
  } else {
    // No /proc: the path's real location now must be inside and be the very file that is open.
    real = realRootSync(path);
    const now = real === undefined ? undefined : statSync(real, { throwIfNoEntry: false });
    if (now === undefined || now.dev !== stats.dev || now.ino !== stats.ino) throw refuseOutside(path, real);
  }
  if (!confinement.roots().some((root) => isInside(real!, root))) throw refuseOutside(path, real);
  return stats;
}

/**
 * Open an image file for reading, confined (blocking calls): the descriptor and the file's size. Throws an
 * {@link ImageReadRefused} (outside the sources, not a regular file) or the system error; closes on failure.
 */
export function openImageFileSync(path: string, confinement: Confinement): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, imageOpenFlags(confinement.follow === true));
  } catch (error) {
    // ELOOP: the file became a symlink after the listing. Open what it leads to; the check below decides.
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP' || confinement.follow) throw error;
    fd = openSync(path, imageOpenFlags(true));
  }
  try {
    return { fd, size: verifySync(fd, path, confinement).size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** {@link openImageFileSync} with callbacks (the libuv thread pool). */
export function openImageFile(path: string, confinement: Confinement): Promise<{ fd: number; size: number }> {
  return new Promise((resolvePromise, reject) => {
    const opened = (openError: NodeJS.ErrnoException | null, fd: number) => {
      if (openError?.code === 'ELOOP' && !confinement.follow) return open(path, imageOpenFlags(true), opened);
      if (openError) return reject(openError);
      const fail = (error: unknown) => close(fd, () => reject(error));
      fstat(fd, (statError, stats) => {
        if (statError) return fail(statError);
        if (!stats.isFile()) {
          return fail(new ImageReadRefused('not-a-file', `${path} is not a regular file when opened`, { path }));
        }
        const judge = (real: string | undefined) => {
          if (real === undefined || !confinement.roots().some((root) => isInside(real, root))) {
            return fail(refuseOutside(path, real));
          }
          resolvePromise({ fd, size: stats.size });
        };
        if (!PROC_FD) {
          try {
            verifySync(fd, path, confinement);
            return resolvePromise({ fd, size: stats.size });
          } catch (error) {
            return fail(error);
          }
        }
        readlink(`/proc/self/fd/${fd}`, (linkError, real) => (linkError ? fail(linkError) : judge(real)));
      });
    };
    open(path, imageOpenFlags(confinement.follow === true), opened);
  });
}

/** The refusal for an image larger than the limit. */
export function tooLarge(where: string, size: number, limit: number, how = 'is'): ImageReadRefused {
  return new ImageReadRefused('too-large', `${where} ${how} ${size} bytes, over the limit of ${limit} bytes`, {
    size,
    maxImageBytes: limit,
  });
}
