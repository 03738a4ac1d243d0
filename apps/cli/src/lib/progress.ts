/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Label shown before the bar. */
  readonly label: string;
  /** Force on/off; default: on when stderr is a terminal and `CI` is not set. */
  readonly enabled?: boolean;
  /** Stream to draw on (default `process.stderr`). */
  readonly stream?: NodeJS.WriteStream;
}

/** A progress bar on stderr that draws only when stderr is a terminal, at most ~10 times a second. */
export interface Progress {
  /**
   * Update the bar: done and total units (bytes), and a short text (e.g. records so far), or a function making it:
   * called only when the bar is drawn (updates come once per chunk read; it draws ~10 times a second).
   */
  update(done: number, total: number | undefined, text?: string | (() => string)): void;
  /** Erase the bar. */
  stop(): void;
}

/** Create a progress bar (a no-op when stderr is not a terminal). */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? (stream.isTTY === true && !process.env.CI);
  if (!enabled) return { update() {}, stop() {} };
  let last = 0;
  let drawn = false;
  const started = Date.now();
  return {
    update(done, total, text = '') {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
      const ratio = total ? Math.min(1, done / total) : 0;
      const filled = Math.round(ratio * width);
      const bar = total ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(1)}%` : '';
      const rate = done / 1048576 / Math.max(0.001, (now - started) / 1000);
      const shown = typeof text === 'function' ? text() : text;
      stream.write(`\r\u001b[2K${options.label} ${bar} ${shown} ${rate.toFixed(1)} MiB/s`);
      drawn = true;
    },
    stop() {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}

/**
 * An integer with thousands separators, as `toLocaleString('en')` writes it (`665298` → `665,298`), without loading
 * the locale data (~20 ms on the first call): progress and summary lines use it.
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en');
  const digits = String(Math.abs(n));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3)
    out = `${digits.slice(Math.max(0, end - 3), end)}${out ? `,${out}` : ''}`;
  return n < 0 ? `-${out}` : out;
}
