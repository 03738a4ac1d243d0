import { rmSync } from 'node:fs';

/** Temporary files not yet renamed or removed; removed synchronously if the process exits first. */
export const liveTemporaries = new Set<string>();
let exitHookInstalled = false;

/** Remember a temporary file until it is renamed or removed (see {@link removeTemporaryFiles}). */
export function track(temporary: string): void {
  liveTemporaries.add(temporary);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeTemporaryFiles);
  }
}

/**
 * Remove, synchronously, every temporary file of a sink that is still open (for signal handlers and `exit` hooks:
 * a run that ends early leaves no `.llava-tmp-` file behind). Installed on `process.on('exit')` automatically.
 */
export function removeTemporaryFiles(): void {
  for (const temporary of liveTemporaries) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // best effort: the exit goes on
    }
  }
  liveTemporaries.clear();
}
