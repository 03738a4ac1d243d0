import { fstatSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { outputRules } from './rules.js';

/** One path of a run, with the flag the user gave it under (for messages: `-o`, `--rejects`, `input`). */
export interface RunPath {
  /** How the user named it: `-o`, `--rejects`, `--dataset-info`, `input`, … */
  readonly flag: string;
  /** The path as given; `-` is standard input (for inputs) or standard output (for outputs). */
  readonly path: string;
}

/** Options of {@link checkRunPaths}. */
export interface CheckRunPathsOptions {
  /** Files the run reads. */
  readonly inputs: readonly RunPath[];
  /** Files the run writes. */
  readonly outputs: readonly RunPath[];
  /**
   * Allow the first output to be one of the inputs (it is written to a temporary file and renamed at the end, so
   * the input is read whole first). Other outputs may never be an input.
   */
  readonly allowInputOverwrite?: boolean;
}

interface Identity {
  /** `dev:ino` of an existing file, else the absolute path with its folder's symbolic links resolved. */
  readonly key: string;
  /** Character devices (`/dev/null`) may be shared by outputs. */
  readonly shareable: boolean;
}

async function identityOf(path: string, stdio: 'stdin' | 'stdout'): Promise<Identity | undefined> {
  if (stdio === 'stdout' && /^\/(?:dev\/stdout|dev\/fd\/1|proc\/self\/fd\/1)$/.test(path)) path = '-';
  if (path === '-') {
    // Standard input redirected from a file (`< data.json`) is that file.
    if (stdio === 'stdin') {
      try {
        const info = fstatSync(0);
        return info.isFile() ? { key: `${info.dev}:${info.ino}`, shareable: false } : undefined;
      } catch {
        return undefined;
      }
    }
    return { key: 'stdout', shareable: false };
  }
  try {
    const info = await stat(path);
    return { key: `${info.dev}:${info.ino}`, shareable: info.isCharacterDevice() };
  } catch {
    // Not there yet: the same file is the same resolved folder and name (`./a` and `a`, a linked folder).
    const folder = resolve(dirname(path));
    const real = await realpath(folder).catch(() => folder);
    return { key: join(real, basename(path)), shareable: false };
  }
}

/**
 * Refuse a run whose outputs collide, before anything is written: two outputs that are the same file (also through
 * symbolic links, hard links, `./a` vs `a`, or both standard output), an output that is one of the inputs (the
 * first output only with `allowInputOverwrite`). Character devices such as `/dev/null` may take several outputs.
 * Throws a `DiagnosticError` of rule `usage/output-conflict` (a usage error) naming both flags.
 *
 * @example
 * ```ts
 * await checkRunPaths({ inputs: [{ flag: 'input', path: 'a.json' }], outputs: [{ flag: '-o', path: 'a.json' }] });
 * // throws: "-o a.json is the input a.json; …"
 * ```
 */
export async function checkRunPaths(options: CheckRunPathsOptions): Promise<void> {
  const inputs = await Promise.all(
    options.inputs.map(async (input) => ({ ...input, id: await identityOf(input.path, 'stdin') })),
  );
  const seen: { flag: string; path: string; id: Identity }[] = [];
  for (const [position, output] of options.outputs.entries()) {
    const id = await identityOf(output.path, 'stdout');
    if (!id) continue;
    const input = inputs.find((i) => i.id?.key === id.key && !i.id.shareable);
    if (input && !(position === 0 && options.allowInputOverwrite)) {
      throw conflict(
        `${output.flag} ${output.path} is ${input.path === '-' ? 'the file standard input reads' : `the ${input.flag} ${input.path}`}: the run would replace what it reads.`,
        output.path,
        position === 0 ? ' Write elsewhere, or pass --force to replace the input once it has been read.' : '',
      );
    }
    const other = seen.find((s) => s.id.key === id.key);
    if (other && !id.shareable) {
      throw conflict(
        `${output.flag} ${output.path} and ${other.flag} ${other.path} are the same file: one would overwrite the other.`,
        output.path,
        '',
      );
    }
    seen.push({ ...output, id });
  }
}

function conflict(message: string, file: string, extra: string): DiagnosticError {
  return new DiagnosticError(
    diagnose(outputRules.conflict, {
      message: `${message}${extra}`,
      ...(file !== '-' ? { file } : {}),
      source: 'writer',
    }),
  );
}
