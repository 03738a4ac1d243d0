/** The slow checks of an image check (zip entries, asynchronous reads): run alongside the caller, a bounded number at once. */

/**
 * Slow checks in flight, at most `concurrency` at once: {@link SlowChecks.start} one, and wait on the promise it
 * returns when the limit is reached. The first failure is kept and thrown by the next {@link SlowChecks.start} or by
 * {@link SlowChecks.drain}.
 */
export class SlowChecks {
  private active = 0;
  private failure: { error: unknown } | undefined;
  private freed: (() => void) | undefined;

  constructor(private readonly concurrency: number) {}

  /** Throw the first failure of a slow check, if any. */
  throwFailure(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Run `check` alongside; a promise to wait on when `concurrency` checks are running. */
  start(check: Promise<void>): Promise<void> | undefined {
    this.active++;
    check.then(
      () => this.release(),
      (error: unknown) => {
        this.failure ??= { error };
        this.release();
      },
    );
    if (this.active < this.concurrency) return undefined;
    return (async () => {
      while (this.active >= this.concurrency) await this.slot();
    })();
  }

  /** Wait until every slow check has ended, then throw the first failure, if any. */
  async drain(): Promise<void> {
    while (this.active > 0) await this.slot();
    this.throwFailure();
  }

  private release(): void {
    this.active--;
    const wake = this.freed;
    this.freed = undefined;
    wake?.();
  }

  private slot(): Promise<void> {
    return new Promise<void>((resolve) => (this.freed = resolve));
  }
}
