import { diagnose } from '@llavakit/diagnostics';
import {
  Accounting,
  forEachItem,
  type InputOptions,
  locate,
  needFiles,
  type OpSummary,
  type OutputOptions,
  RecordOutput,
  usageError,
} from './pipeline.js';
import { chooseIndices, SeededRandom } from './random.js';
import { opsRules } from './rules.js';

/** Options of {@link sampleRecords}: exactly one of `n` and `fraction`. */
export interface SampleOptions extends InputOptions, OutputOptions {
  /** Draw this many records (all when there are fewer). */
  readonly n?: number;
  /** Draw round(fraction × records) records. */
  readonly fraction?: number;
  /** Seed (default 0): the same seed and inputs draw the same records. */
  readonly seed?: number | string;
}

/** What {@link sampleRecords} did. */
export interface SampleSummary extends OpSummary {
  /** Valid records the sample was drawn from. */
  readonly population: number;
  /** Records drawn. */
  readonly drawn: number;
}

/**
 * Draw a uniform random sample without replacement, seeded, in two passes: the first counts the valid records, the
 * sample positions are chosen (Floyd's algorithm: memory for the drawn positions only), the second writes the
 * drawn records in input order and rejects the others (`sample/not-selected`).
 *
 * @example
 * ```ts
 * const s = await sampleRecords({ inputs: ['mix665k.json'], registry, output: 'sample.json', n: 1000, seed: 7 });
 * s.written; // 1000
 * ```
 */
export async function sampleRecords(options: SampleOptions): Promise<SampleSummary> {
  needFiles(options.inputs, 'sample');
  if ((options.n === undefined) === (options.fraction === undefined))
    throw usageError('Give exactly one of -n and --fraction.');
  if (options.n !== undefined && !(Number.isInteger(options.n) && options.n >= 0))
    throw usageError('-n must be a whole number ≥ 0.');
  if (options.fraction !== undefined && !(options.fraction >= 0 && options.fraction <= 1))
    throw usageError('--fraction must be between 0 and 1.');
  let population = 0;
  try {
    await forEachItem(
      options,
      undefined,
      (item) => {
        if (item.ok) population++;
      },
      { pass: 'count' },
    );
  } catch (error) {
    const failed = await new Accounting(undefined).fail(error);
    return { ...failed, population, drawn: 0 };
  }
  const k = options.n !== undefined ? Math.min(options.n, population) : Math.round(options.fraction! * population);
  const chosen = chooseIndices(population, k, new SeededRandom(options.seed ?? 0));
  const accounting = new Accounting(options.rejects);
  let position = 0;
  let next = 0;
  try {
    const output = accounting.output(RecordOutput.open(options.output, options));
    await forEachItem(
      options,
      accounting,
      async (item) => {
        if (!item.ok) return accounting.reject(item, item.diagnostics);
        const at = position++;
        if (next < chosen.length && chosen[next] === at) {
          next++;
          await accounting.write(output, item);
          return;
        }
        await accounting.reject(item, [
          locate(
            item,
            diagnose(opsRules.notSampled, {
              message: `Not among the ${k} records drawn (seed ${String(options.seed ?? 0)}).`,
              source: 'sample',
            }),
          ),
        ]);
      },
      { pass: 'write' },
    );
  } catch (error) {
    const failed = await accounting.fail(error);
    return { ...failed, population, drawn: 0 };
  }
  const summary = await accounting.finish();
  return Object.assign(summary, { population, drawn: summary.written });
}
