import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { emptySummary, type InputCount, type OpItem, type OpSummary } from './op-types.js';
import { type RecordOutput, RejectsOutput } from './record-output.js';

/**
 * The accounting of one operation: counts reads, writes and rejections per input, writes rejections to the
 * rejects file, and completes or aborts every output together.
 */
export class Accounting {
  readonly summary: OpSummary = emptySummary();
  readonly rejects: RejectsOutput;
  readonly #started = performance.now();
  #current: InputCount | undefined;
  readonly #outputs: RecordOutput[] = [];

  constructor(rejects: string | undefined) {
    this.rejects = new RejectsOutput(rejects);
  }

  /** Register an output to be closed or aborted with the operation. */
  output(output: RecordOutput): RecordOutput {
    this.#outputs.push(output);
    this.summary.outputs[output.path] = 0;
    return output;
  }

  /** Start counting a new input. */
  beginInput(file: string): InputCount {
    this.#current = { file, format: '?', read: 0, written: 0, rejected: 0 };
    this.summary.inputs.push(this.#current);
    return this.#current;
  }

  /** Continue counting an input started earlier (for a second pass that writes). */
  resumeInput(index: number): void {
    this.#current = this.summary.inputs[index];
  }

  /**
   * Count records of the current input as rejected by a rule without writing them to the rejects file (only when
   * no rejects file was asked for: with one, every record must be written to it).
   */
  rejectUnwritten(rule: string, n: number): void {
    if (this.rejects.path) throw new Error('rejectUnwritten needs an operation without rejects file');
    if (n === 0) return;
    this.summary.rejected += n;
    this.#current!.rejected += n;
    this.summary.rejectedByRule[rule] = (this.summary.rejectedByRule[rule] ?? 0) + n;
  }

  /** Count one record read. */
  read(): void {
    this.summary.read++;
    this.#current!.read++;
  }

  /** Write a record to an output, or reject it when the format cannot encode it. */
  async write(output: RecordOutput, item: Extract<OpItem, { ok: true }>): Promise<boolean> {
    // The text as read is only worth anything in the format it was read in.
    const text = item.format === output.formatName ? item.text : undefined;
    const problems = await output.write(item.record, item.file, item.index, text);
    if (problems) {
      await this.reject(item, problems);
      return false;
    }
    this.summary.written++;
    this.#current!.written++;
    this.summary.outputs[output.path] = (this.summary.outputs[output.path] ?? 0) + 1;
    return true;
  }

  /** Reject a record (or unreadable input element) with its reasons. */
  async reject(item: OpItem, diagnostics: readonly Diagnostic[]): Promise<void> {
    this.summary.rejected++;
    this.#current!.rejected++;
    const rule = (diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0])?.ruleId ?? 'unknown';
    this.summary.rejectedByRule[rule] = (this.summary.rejectedByRule[rule] ?? 0) + 1;
    await this.rejects.add(
      item.file,
      item.index,
      diagnostics,
      item.ok ? item.record : undefined,
      item.ok ? undefined : item.text,
    );
  }

  /** Complete every output and the rejects file. */
  async finish(): Promise<OpSummary> {
    for (const output of this.#outputs) await output.close();
    await this.rejects.close();
    this.summary.durationMs = performance.now() - this.#started;
    return this.summary;
  }

  /**
   * Abort every output. A `DiagnosticError` becomes the summary's `fatal` (returned); anything else is rethrown.
   */
  async fail(error: unknown): Promise<OpSummary> {
    for (const output of this.#outputs) await output.abort().catch(() => undefined);
    await this.rejects.abort().catch(() => undefined);
    if (!DiagnosticError.is(error)) throw error;
    this.summary.failed = true;
    this.summary.fatal = error.diagnostic;
    this.summary.durationMs = performance.now() - this.#started;
    return this.summary;
  }
}
