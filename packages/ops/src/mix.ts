import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { openTextSink } from '@llavakit/convert';
import { diagnose } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/schema';
import { Accounting } from './accounting.js';
import { locate, needFiles } from './op-diagnostics.js';
import type { InputOptions, OpSummary, OutputOptions } from './op-types.js';
import { chooseIndices, SeededRandom } from './random.js';
import { fileSize, forEachItem } from './read-inputs.js';
import { readRecipe, strategyTake } from './recipe.js';
import { RecordOutput } from './record-output.js';
import { opsRules } from './rules.js';

/** Options of {@link mixRecipe}. */
export interface MixOptions extends Omit<InputOptions, 'inputs'>, OutputOptions {
  /** The recipe file. */
  readonly recipe: string;
  /** Overrides the recipe's seed. */
  readonly seed?: number | string;
}

/** One entry of the manifest. */
export interface ManifestEntry {
  readonly json_path: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly sampling_strategy: string;
  readonly images_folder?: string;
  readonly records: number;
  readonly taken: number;
}

/** The `<out>.manifest.json` of a mix: enough to reproduce it exactly. */
export interface MixManifest {
  readonly kind: 'llavakit-mix-manifest';
  readonly recipe: string;
  readonly seed: number | string;
  readonly output: string;
  readonly written: number;
  readonly llavakit: string;
  readonly inputs: ManifestEntry[];
}

/** What {@link mixRecipe} did. */
export interface MixSummary extends OpSummary {
  readonly manifest?: MixManifest;
  readonly manifestPath?: string;
}

/** The version of this package, recorded in manifests. */
export const OPS_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Build a mixture from a recipe: each entry's records taken by its strategy (`random` draws uniformly with the
 * recipe's seed; the records keep their file order), image paths joined to `images_folder`, all written to one
 * output, plus `<output>.manifest.json` with each input's size and sha256, strategy, counts and seed. Records an
 * entry does not take are rejected as `mix/not-selected`. Entries that need the record count (`end`, `random`,
 * percentages) are read twice.
 *
 * @example
 * ```ts
 * const s = await mixRecipe({ recipe: 'recipe.yaml', registry, output: 'mix.json' });
 * s.manifest?.inputs.map((i) => i.taken);
 * ```
 */
export async function mixRecipe(options: MixOptions): Promise<MixSummary> {
  const recipe = await readRecipe(options.recipe);
  const seed = options.seed ?? recipe.seed;
  const random = new SeededRandom(seed);
  const counts = new Map<string, number>();
  const accounting = new Accounting(options.rejects);
  const manifestPath = `${options.output}.manifest.json`;
  const manifestEntries: ManifestEntry[] = [];
  // Every input is hashed for the manifest, and some are counted first: each must be a file that can be read again.
  await needFiles(
    recipe.entries.map((e) => e.path),
    'mix',
  );
  try {
    for (const entry of recipe.entries) {
      if (
        entry.strategy.kind !== 'all' &&
        !(entry.strategy.kind === 'first' && 'count' in entry.strategy) &&
        !counts.has(entry.path)
      ) {
        let n = 0;
        await forEachItem(
          { ...options, inputs: [entry.path] },
          undefined,
          (item) => {
            if (item.ok) n++;
          },
          { pass: 'count' },
        );
        counts.set(entry.path, n);
      }
    }
    const output = accounting.output(RecordOutput.open(options.output, options));
    for (const entry of recipe.entries) {
      const n = counts.get(entry.path);
      const take = n === undefined ? Number.POSITIVE_INFINITY : strategyTake(entry.strategy, n);
      const kind = entry.strategy.kind;
      const chosen = kind === 'random' ? chooseIndices(n!, take, random) : undefined;
      const firstKept = kind === 'end' ? n! - take : 0;
      const limit = kind === 'first' && 'count' in entry.strategy ? entry.strategy.count : take;
      let position = 0;
      let next = 0;
      let taken = 0;
      let records = 0;
      await forEachItem(
        { ...options, inputs: [entry.path] },
        accounting,
        async (item) => {
          if (!item.ok) return accounting.reject(item, item.diagnostics);
          records++;
          const at = position++;
          let keep: boolean;
          if (kind === 'all') keep = true;
          else if (kind === 'first') keep = at < limit;
          else if (kind === 'end') keep = at >= firstKept;
          else {
            keep = next < chosen!.length && chosen![next] === at;
            if (keep) next++;
          }
          if (!keep) {
            return accounting.reject(item, [
              locate(
                item,
                diagnose(opsRules.notMixed, {
                  message: `Not taken by "${entry.strategyText}" (line ${entry.line} of ${recipe.file}).`,
                  source: 'mix',
                }),
              ),
            ]);
          }
          // With images_folder the record changes, so it is serialised again (not written as read).
          const written = entry.imagesFolder
            ? {
                ok: true as const,
                file: item.file,
                index: item.index,
                record: withImagesFolder(item.record, entry.imagesFolder),
                ...(item.place ? { place: item.place } : {}),
              }
            : item;
          if (await accounting.write(output, written)) taken++;
        },
        { pass: 'write' },
      );
      manifestEntries.push({
        json_path: entry.jsonPath,
        path: entry.path,
        size: (await fileSize(entry.path)) ?? 0,
        sha256: await sha256File(entry.path),
        sampling_strategy: entry.strategyText,
        ...(entry.imagesFolder ? { images_folder: entry.imagesFolder } : {}),
        records,
        taken,
      });
    }
  } catch (error) {
    return accounting.fail(error);
  }
  const manifest: MixManifest = {
    kind: 'llavakit-mix-manifest',
    recipe: options.recipe,
    seed,
    output: options.output,
    written: accounting.summary.written,
    llavakit: OPS_VERSION,
    inputs: manifestEntries,
  };
  const sink = await openTextSink(manifestPath);
  await sink.write(`${JSON.stringify(manifest, null, 2)}\n`);
  const summary = await accounting.finish();
  await sink.close();
  return Object.assign(summary, { manifest, manifestPath });
}

function withImagesFolder(record: LlavaRecord, folder: string): LlavaRecord {
  const join1 = (path: string) =>
    isAbsolute(path) || /^[a-z]+:\/\//i.test(path) ? path : `${folder.replace(/\/+$/, '')}/${path}`;
  if (record.image === undefined) return record;
  return { ...record, image: typeof record.image === 'string' ? join1(record.image) : record.image.map(join1) };
}

async function sha256File(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}
