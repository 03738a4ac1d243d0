import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { outputRules } from './rules.js';

/** errno codes in words, for `output/write-failed` messages. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent of it is not a directory',
  ENOENT: 'a folder on its path does not exist',
  EEXIST: 'a file is in the way',
  EPIPE: 'the reading end of the pipe was closed',
  ECONNRESET: 'the reading end was closed',
  EIO: 'input/output error',
  EFBIG: 'the file is too large for the file system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'the temporary file and the target are on different devices',
};

/**
 * The `output/write-failed` error for a target: names the target as given (or "standard output"), with the cause
 * in words and its errno code, and never the temporary file.
 */
export function writeFailure(target: string, error: unknown, what = 'output'): DiagnosticError {
  if (DiagnosticError.is(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // System errors read "ENOSPC: no space left on device, write"; the sink's own say what happened in words.
  const system = code !== undefined && message.startsWith(code);
  const reason = code
    ? `${
        system
          ? (REASONS[code] ??
            message
              .split(',')[0]
              ?.slice(code.length + 1)
              .trim() ??
            code)
          : message
      } (${code})`
    : message;
  const name = target === '-' ? 'standard output' : target;
  return new DiagnosticError(
    diagnose(outputRules.writeFailed, {
      message: `Cannot write the ${what} ${name}: ${reason}.`,
      ...(target !== '-' ? { file: target } : {}),
      source: 'writer',
      ...(code ? { data: { code } } : {}),
    }),
    { cause: error },
  );
}
