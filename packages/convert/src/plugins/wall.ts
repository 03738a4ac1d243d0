import { Worker } from 'node:worker_threads';

/** Default time limit of a plugin import or hook, in ms. */
export const PLUGIN_TIMEOUT_MS = 10_000;

/** The outcome of {@link probeImport}. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

// Runs in a worker: import the module and report; a busy loop or a never-settling top-level await is ended from
// outside by terminate().
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.url).then(
  () => parentPort.postMessage({ ok: true }),
  (error) => {
    let reason;
    try { reason = error && error.message ? String(error.message) : String(error); } catch { reason = 'an unprintable error'; }
    parentPort.postMessage({ ok: false, reason });
  },
);
`;

/**
 * Import a module in a separate worker thread first, with a deadline: a module that loops forever, never finishes
 * its top-level `await`, or throws at import is found out there — the worker is terminated — and never reaches the
 * calling thread. Resolves `{ ok: true }` once the import finished in time.
 *
 * @example
 * ```ts
 * const probe = await probeImport(pathToFileURL('plugin.js').href, { timeoutMs: 5000 });
 * if (probe.ok) await import(pathToFileURL('plugin.js').href);
 * ```
 */
export function probeImport(url: string, options: { readonly timeoutMs?: number } = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? PLUGIN_TIMEOUT_MS;
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let worker: Worker;
    try {
      worker = new Worker(PROBE, { eval: true, workerData: { url }, stdout: true, stderr: true });
    } catch (error) {
      resolve({ ok: false, reason: `cannot start the probe: ${(error as Error).message}` });
      return;
    }
    // What the plugin prints while probed is dropped (it is printed again by the real import).
    worker.stdout.resume();
    worker.stderr.resume();
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `its import did not finish within ${seconds(timeoutMs)} (stopped)` }),
      timeoutMs,
    );
    worker.once('message', (message: ProbeResult) => finish(message.ok ? { ok: true } : message));
    worker.once('error', (error) => finish({ ok: false, reason: error.message }));
    // The thread ends before answering when the import waits on something that can never settle (a top-level
    // await of a promise nothing resolves), or when the module exits the thread itself.
    worker.once('exit', (code) =>
      finish({
        ok: false,
        reason:
          code === 0
            ? 'its import never finished (it waits on a promise that never settles)'
            : `its import ended the thread (exit code ${code})`,
      }),
    );
  });
}

/** Settle with `promise`, or reject with a message naming `what` after `ms`. */
export function withDeadline<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds(ms)}`)), ms);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
