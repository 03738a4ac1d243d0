/**
 * Outputs that appear atomically: a file is written beside its target under a temporary name and renamed into place
 * when complete, so a reader of the target sees the old content or the new one, never a part. Shared by every
 * llavakit package that writes files (the pipeline's sink, `prompts build`'s batch files and manifest).
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A file being written under a temporary name beside its target. */
export interface StagedFile {
  /** The target. */
  readonly path: string;
  /** The temporary file (`.<name>.llava-tmp-<pid>-<random>` in the target's folder). */
  readonly temporary: string;
  /** Append bytes (a string is written as UTF-8). */
  write(data: Uint8Array | string): Promise<void>;
  /** Close the temporary file and rename it over the target; on failure the temporary file is removed. */
  commit(): Promise<void>;
  /** Close and remove the temporary file, leaving the target as it was. Never throws. */
  discard(): Promise<void>;
}

/**
 * The temporary name for writing `path`: a hidden file in the same folder (so that the rename stays on one file
 * system), named after the target, the process and a random part.
 */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.llava-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * `mkdir -p` that reports the real cause: a recursive `mkdir` says `ENOENT` where the folder cannot be made
 * (read-only file system, a file in the way); the plain `mkdir` of the last level says why.
 */
export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    const again = await mkdir(path).then(
      () => undefined,
      (plain: NodeJS.ErrnoException) => plain,
    );
    if (again && again.code !== 'ENOENT' && again.code !== 'EEXIST') throw again;
    throw error;
  }
}

/**
 * Start writing `path` atomically: makes its folder, creates the temporary file exclusively and returns the
 * {@link StagedFile}. Errors are the file system's own (callers turn them into their diagnostic, e.g.
 * `output/write-failed` naming the target).
 *
 * @example
 * ```ts
 * const file = await stageFile('out/manifest.jsonl');
 * try {
 *   await file.write('{"custom_id":"detail:1"}\n');
 *   await file.commit();
 * } catch (error) {
 *   await file.discard();
 *   throw error;
 * }
 * ```
 */
export async function stageFile(path: string): Promise<StagedFile> {
  const temporary = temporaryPathFor(path);
  await makeDirectory(dirname(path));
  const handle: FileHandle = await open(temporary, 'wx');
  let isOpen = true;
  const close = async () => {
    if (!isOpen) return;
    isOpen = false;
    await handle.close();
  };
  return {
    path,
    temporary,
    write: async (data) => {
      await handle.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    },
    commit: async () => {
      try {
        await close();
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined);
        throw error;
      }
    },
    discard: async () => {
      await close().catch(() => undefined);
      await rm(temporary, { force: true }).catch(() => undefined);
    },
  };
}
