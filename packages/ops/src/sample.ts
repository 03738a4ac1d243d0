import { diagnose } from '@llavakit/diagnostics';
import type { RecordPlace } from '@llavakit/format';
import { Accounting } from './accounting.js';
import { locate, needFiles, usageError } from './op-diagnostics.js';
import type { InputOptions, OpSummary, OutputOptions } from './op-types.js';
import { chooseIndices, SeededRandom } from './random.js';
import { forEachItem, openRecordAccess } from './read-inputs.js';
import { RecordOutput } from './record-output.js';
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
  /** How the drawn records were read the second time: by their byte places, or by reading every input again. */
  readonly secondPass: 'byte-offsets' | 'full';
}

/** A drawn record: its position among the valid records, its input and where it is. */
interface Drawn {
  position: number;
  input: number;
  place: RecordPlace | undefined;
}

/**
 * Draw a uniform random sample without replacement, seeded; the drawn records are written in input order.
 * - `n`: one pass fills a reservoir (Algorithm R) with the drawn records' byte places (memory for n records);
 * - `fraction`: one pass counts the records and keeps their byte places (22 bytes per record), then
 *   round(fraction × count) positions are drawn (Floyd's algorithm).
 *
 * The second pass reads only the drawn records, at their byte offsets. With a rejects file (every record not drawn
 * goes to it as `sample/not-selected`), or for inputs without byte places (stream-level formats), it reads every
 * input again instead, drawing the same records.
 *
 * @example
 * ```ts
 * const s = await sampleRecords({ inputs: ['mix665k.json'], registry, output: 'sample.json', n: 1000, seed: 7 });
 * s.written; // 1000
 * ```
 */
export async function sampleRecords(options: SampleOptions): Promise<SampleSummary> {
  await needFiles(options.inputs, 'sample');
  if ((options.n === undefined) === (options.fraction === undefined))
    throw usageError('Give exactly one of -n and --fraction.');
  if (options.n !== undefined && !(Number.isInteger(options.n) && options.n >= 0))
    throw usageError('-n must be a whole number ≥ 0.');
  if (options.fraction !== undefined && !(options.fraction >= 0 && options.fraction <= 1))
    throw usageError('--fraction must be between 0 and 1.');
  const random = new SeededRandom(options.seed ?? 0);
  const accounting = new Accounting(options.rejects);
  let population = 0;
  let placesKnown = true;
  const reservoir: Drawn[] = [];
  const k = options.n;
  // For --fraction: every valid record's input and byte place, to draw from once the count is known.
  let inputs = new Uint16Array(1024);
  let indexes = new Uint32Array(1024);
  let offsets = new Float64Array(1024);
  let lengths = new Uint32Array(1024);
  let lines = new Uint32Array(1024);
  let validPerInput: number[] = [];
  let drawn: Drawn[];
  try {
    await forEachItem(
      options,
      accounting,
      (item, input) => {
        validPerInput[input] ??= 0;
        if (!item.ok) {
          // Unreadable elements are rejected now (with a rejects file, again in a full second pass: not counted twice).
          if (!options.rejects) return accounting.reject(item, item.diagnostics);
          return;
        }
        validPerInput[input]!++;
        const position = population++;
        const place = item.place && item.place.offset >= 0 && item.place.length >= 0 ? item.place : undefined;
        if (!place) placesKnown = false;
        if (k !== undefined) {
          if (position < k) reservoir.push({ position, input, place });
          else {
            const j = random.below(position + 1);
            if (j < k) reservoir[j] = { position, input, place };
          }
          return;
        }
        if (position === offsets.length) {
          inputs = grow(inputs, new Uint16Array(position * 2));
          indexes = grow(indexes, new Uint32Array(position * 2));
          offsets = grow(offsets, new Float64Array(position * 2));
          lengths = grow(lengths, new Uint32Array(position * 2));
          lines = grow(lines, new Uint32Array(position * 2));
        }
        inputs[position] = input;
        indexes[position] = item.index;
        offsets[position] = place ? place.offset : -1;
        lengths[position] = place ? place.length : 0;
        lines[position] = place ? place.line : 0;
      },
      { pass: 'draw' },
    );
    if (k !== undefined) drawn = reservoir.sort((a, b) => a.position - b.position);
    else {
      const chosen = chooseIndices(population, Math.round(options.fraction! * population), random);
      drawn = Array.from(chosen, (position) => ({
        position,
        input: inputs[position]!,
        place:
          offsets[position]! >= 0
            ? {
                index: indexes[position]!,
                offset: offsets[position]!,
                length: lengths[position]!,
                line: lines[position]!,
                column: 0,
              }
            : undefined,
      }));
      inputs = new Uint16Array(0);
      indexes = new Uint32Array(0);
      offsets = new Float64Array(0);
      lengths = new Uint32Array(0);
      lines = new Uint32Array(0);
    }
  } catch (error) {
    const failed = await accounting.fail(error);
    return { ...failed, population, drawn: 0, secondPass: 'full' };
  }
  const byOffsets = placesKnown && !options.rejects;
  const output = accounting.output(RecordOutput.open(options.output, options));
  try {
    if (byOffsets) await writeByOffsets(options, accounting, output, drawn, validPerInput);
    else await writeByRereading(options, accounting, output, drawn, k ?? drawn.length);
  } catch (error) {
    const failed = await accounting.fail(error);
    return { ...failed, population, drawn: 0, secondPass: byOffsets ? 'byte-offsets' : 'full' };
  }
  validPerInput = [];
  const summary = await accounting.finish();
  return Object.assign(summary, {
    population,
    drawn: summary.written,
    secondPass: byOffsets ? ('byte-offsets' as const) : ('full' as const),
  });
}

function grow<T extends Uint16Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

async function writeByOffsets(
  options: SampleOptions,
  accounting: Accounting,
  output: RecordOutput,
  drawn: readonly Drawn[],
  validPerInput: readonly number[],
): Promise<void> {
  const takenPerInput = options.inputs.map(() => 0);
  let next = 0;
  for (let input = 0; input < options.inputs.length; input++) {
    accounting.resumeInput(input);
    const access = await openRecordAccess(options.inputs[input]!, options);
    try {
      for (; next < drawn.length && drawn[next]!.input === input; next++) {
        options.signal?.throwIfAborted();
        const item = await access!.read(drawn[next]!.place!);
        takenPerInput[input]!++;
        if (!item.ok) await accounting.reject(item, item.diagnostics);
        else await accounting.write(output, item);
      }
    } finally {
      await access?.close();
    }
    accounting.rejectUnwritten(opsRules.notSampled.id, (validPerInput[input] ?? 0) - takenPerInput[input]!);
  }
}

async function writeByRereading(
  options: SampleOptions,
  accounting: Accounting,
  output: RecordOutput,
  drawn: readonly Drawn[],
  k: number,
): Promise<void> {
  // A fresh count: the second pass reads (and accounts for) every record again.
  const summary = accounting.summary;
  summary.read = 0;
  summary.rejected = 0;
  summary.inputs.length = 0;
  for (const key of Object.keys(summary.rejectedByRule)) delete summary.rejectedByRule[key];
  let position = 0;
  let next = 0;
  await forEachItem(
    options,
    accounting,
    async (item) => {
      if (!item.ok) return accounting.reject(item, item.diagnostics);
      const at = position++;
      if (next < drawn.length && drawn[next]!.position === at) {
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
}
