import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { Node as YamlNode } from 'yaml';
import { fileSize } from './read-inputs.js';
import { opsRules } from './rules.js';

/** A sampling strategy of LLaVA-NeXT's recipe format. */
export type MixStrategy =
  | { readonly kind: 'all' }
  | { readonly kind: 'first' | 'end' | 'random'; readonly count: number }
  | { readonly kind: 'first' | 'end' | 'random'; readonly percent: number };

/** One `datasets` entry of a recipe. */
export interface MixEntry {
  /** `json_path` as written. */
  readonly jsonPath: string;
  /** The path resolved against the recipe's folder. */
  readonly path: string;
  /** `sampling_strategy` as written (default `all`). */
  readonly strategyText: string;
  readonly strategy: MixStrategy;
  /** `images_folder`: image paths of this entry's records are joined to it. */
  readonly imagesFolder?: string;
  /** 1-based line of the entry in the recipe. */
  readonly line: number;
}

/** A parsed recipe. */
export interface MixRecipe {
  readonly file: string;
  readonly seed: number | string;
  readonly entries: readonly MixEntry[];
}

/**
 * Parse a sampling strategy: `all`, `first:N`, `end:N`, `random:N`, with N a count or a percentage (`first:10%`).
 * Returns a message for invalid ones.
 */
export function parseStrategy(text: string): MixStrategy | { readonly error: string } {
  const trimmed = text.trim();
  if (trimmed === 'all') return { kind: 'all' };
  const match = /^(first|end|random):\s*(\d+(?:\.\d+)?)(%?)$/.exec(trimmed);
  if (!match) {
    return /^\d+(\.\d+)?%$/.test(trimmed)
      ? { error: `"${trimmed}" names no strategy; write first:${trimmed}, end:${trimmed} or random:${trimmed}` }
      : { error: `"${trimmed}" is not all, first:N, end:N or random:N (N a count or a percentage)` };
  }
  const kind = match[1] as 'first' | 'end' | 'random';
  const number = Number(match[2]);
  if (match[3] === '%') {
    if (number > 100) return { error: `${number}% is over 100%` };
    return { kind, percent: number };
  }
  if (!Number.isInteger(number)) return { error: `${match[2]} is not a whole number of records` };
  return { kind, count: number };
}

/** How many records a strategy takes of `count`: percentages as LLaVA-NeXT computes them, ceil(N × count / 100). */
export function strategyTake(strategy: MixStrategy, count: number): number {
  if (strategy.kind === 'all') return count;
  if ('percent' in strategy) return Math.min(count, Math.ceil((strategy.percent * count) / 100));
  return Math.min(count, strategy.count);
}

const recipeError = (
  rule: (typeof opsRules)[keyof typeof opsRules],
  file: string,
  line: number | undefined,
  message: string,
  pointer?: string,
) =>
  diagnose(rule, {
    message,
    file,
    ...(line ? { place: { line, column: 1 } } : {}),
    ...(pointer ? { pointer } : {}),
    source: 'mix',
  });

/**
 * Read and check a recipe (LLaVA-NeXT's YAML: `datasets: [{json_path, sampling_strategy, images_folder?}]`, top-level
 * `seed`). Every problem is a diagnostic with its line: `recipe/syntax`, `recipe/bad-strategy`,
 * `recipe/missing-file`. Throws a `DiagnosticError` with the first problem (all of them in `data.problems`).
 */
export async function readRecipe(file: string): Promise<MixRecipe> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DiagnosticError(
      recipeError(opsRules.recipeMissingFile, file, undefined, `Cannot read the recipe: ${(error as Error).message}`),
    );
  }
  // Imported on use: only recipes need a YAML parser.
  const { isMap, isSeq, LineCounter, parseDocument } = await import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const problems: Diagnostic[] = [];
  const lineOf = (node: YamlNode | null | undefined): number | undefined =>
    node?.range ? lines.linePos(node.range[0]).line : undefined;
  for (const e of doc.errors)
    problems.push(recipeError(opsRules.recipeSyntax, file, e.linePos?.[0]?.line, e.message.split('\n')[0]!));
  const entries: MixEntry[] = [];
  let seed: number | string = 0;
  if (problems.length === 0) {
    const root = doc.contents;
    if (!isMap(root))
      problems.push(
        recipeError(
          opsRules.recipeSyntax,
          file,
          lineOf(root as YamlNode) ?? 1,
          'A recipe is a mapping with a `datasets` list.',
        ),
      );
    else {
      const seedValue = doc.get('seed');
      if (seedValue !== undefined) {
        if (typeof seedValue === 'number' || typeof seedValue === 'string') seed = seedValue;
        else
          problems.push(
            recipeError(
              opsRules.recipeSyntax,
              file,
              lineOf(root.get('seed', true) as YamlNode),
              '`seed` must be a number or a string.',
              '/seed',
            ),
          );
      }
      const datasets = root.get('datasets', true) as YamlNode | undefined;
      if (!isSeq(datasets))
        problems.push(
          recipeError(
            opsRules.recipeSyntax,
            file,
            lineOf(datasets) ?? 1,
            '`datasets` must be a list of {json_path, sampling_strategy}.',
            '/datasets',
          ),
        );
      else {
        const base = dirname(resolve(file));
        datasets.items.forEach((node, i) => {
          const line = lineOf(node as YamlNode) ?? 1;
          const pointer = `/datasets/${i}`;
          if (!isMap(node)) {
            problems.push(recipeError(opsRules.recipeSyntax, file, line, `Entry ${i} is not a mapping.`, pointer));
            return;
          }
          const jsonPath = node.get('json_path');
          if (typeof jsonPath !== 'string' || jsonPath === '') {
            problems.push(
              recipeError(opsRules.recipeSyntax, file, line, `Entry ${i} has no json_path.`, `${pointer}/json_path`),
            );
            return;
          }
          const strategyNode = node.get('sampling_strategy', true) as YamlNode | undefined;
          const strategyText = String(node.get('sampling_strategy') ?? 'all');
          const strategyLine = lineOf(strategyNode) ?? line;
          const strategy = parseStrategy(strategyText);
          if ('error' in strategy) {
            problems.push(
              recipeError(
                opsRules.recipeStrategy,
                file,
                strategyLine,
                `Entry ${i} (${jsonPath}): ${strategy.error}.`,
                `${pointer}/sampling_strategy`,
              ),
            );
            return;
          }
          const folder = node.get('images_folder');
          if (folder !== undefined && typeof folder !== 'string') {
            problems.push(
              recipeError(
                opsRules.recipeSyntax,
                file,
                line,
                `Entry ${i}: images_folder must be a string.`,
                `${pointer}/images_folder`,
              ),
            );
            return;
          }
          const path = isAbsolute(jsonPath) ? jsonPath : join(base, jsonPath);
          entries.push({
            jsonPath,
            path,
            strategyText,
            strategy,
            ...(folder ? { imagesFolder: folder } : {}),
            line: lineOf(node.get('json_path', true) as YamlNode) ?? line,
          });
        });
      }
    }
  }
  for (const entry of entries) {
    if ((await fileSize(entry.path)) === undefined) {
      problems.push(
        recipeError(
          opsRules.recipeMissingFile,
          file,
          entry.line,
          `json_path ${entry.jsonPath} does not exist (looked at ${entry.path}).`,
        ),
      );
    }
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new DiagnosticError({ ...first, data: { ...first.data, problems } });
  }
  return { file, seed, entries };
}
