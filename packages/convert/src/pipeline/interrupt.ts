import { removeTemporaryFiles } from './sink.js';

/** The exit code of a run ended by a signal: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : 1;
}

/** What {@link trapInterrupts} returns. */
export interface InterruptTrap {
  /** Aborted on the first SIGINT/SIGTERM (pass it to `convert`: the run stops, its outputs are not created). */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** 130 after SIGINT, 143 after SIGTERM, `undefined` when no signal came. */
  exitCode(): number | undefined;
  /** Remove the handlers (the default signal behaviour comes back). */
  dispose(): void;
}

/**
 * Turn SIGINT and SIGTERM into an abort: the first one aborts {@link InterruptTrap.signal} so the run winds down
 * (outputs aborted, temporary files removed, targets keep their old content); if the run has not ended `graceMs`
 * later (a stuck plugin), or on a second signal, temporary files are removed synchronously and the process exits
 * with 130 / 143.
 *
 * @example
 * ```ts
 * const trap = trapInterrupts();
 * const summary = await convert({ ...options, signal: trap.signal });
 * process.exitCode = trap.exitCode() ?? (summary.failed ? 1 : 0);
 * trap.dispose();
 * ```
 */
export function trapInterrupts(options: { readonly graceMs?: number } = {}): InterruptTrap {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const leave = (signal: NodeJS.Signals) => {
    removeTemporaryFiles();
    process.exit(signalExitCode(signal));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) return leave(signal);
    received = signal;
    controller.abort(signal);
    setTimeout(() => leave(signal), options.graceMs ?? 5000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    exitCode: () => (received ? signalExitCode(received) : undefined),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
