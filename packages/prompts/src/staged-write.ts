import { DiagnosticError, diagnose, type StagedFile, stageFile } from '@llavakit/diagnostics';
import { promptRules } from './rules.js';

/** Start writing `path` atomically (see `stageFile`); failures are `output/write-failed` naming `path`. */
export async function stage(path: string): Promise<StagedFile> {
  try {
    return await stageFile(path);
  } catch (error) {
    throw writeFailure(path, error);
  }
}

/** Commit a staged file; a failure is `output/write-failed` naming its target. */
export async function commit(file: StagedFile): Promise<void> {
  try {
    await file.commit();
  } catch (error) {
    throw writeFailure(file.path, error);
  }
}

/** An `output/write-failed` error naming the target (never the temporary file). */
export function writeFailure(path: string, error: unknown): DiagnosticError {
  if (DiagnosticError.is(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail =
    code === 'ENOSPC'
      ? 'no space left on the device'
      : code === 'EROFS'
        ? 'the file system is read-only'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : code === 'EEXIST' || code === 'ENOTDIR'
              ? 'a file is in the way of the folder'
              : code === 'ENOENT'
                ? 'a folder on its path does not exist'
                : ((error as Error)?.message ?? String(error)).split(':')[0];
  return new DiagnosticError(
    diagnose(promptRules.writeFailed, {
      message: `Cannot write ${path}: ${detail}${code ? ` (${code})` : ''}.`,
      file: path,
      source: 'prompts',
      ...(code ? { data: { code } } : {}),
    }),
    { cause: error },
  );
}

/** Write `data` to a staged file; a failure is `output/write-failed` naming its target. */
export async function writeAll(file: StagedFile, data: Buffer | string): Promise<void> {
  try {
    await file.write(data);
  } catch (error) {
    throw writeFailure(file.path, error);
  }
}
