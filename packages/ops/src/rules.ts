import { defineRules } from '@llavakit/diagnostics';

/** Rules raised by the data-prep operations (stats, filter, mix, split, sample, dedup). */
export const opsRules = defineRules({
  overMax: {
    id: 'length/over-max',
    severity: 'error',
    title: 'Record is longer than the model context',
    hint: 'Raise --max-tokens, or shorten the conversation; the trainer would otherwise truncate it.',
  },
  minTurns: {
    id: 'filter/min-turns',
    severity: 'error',
    title: 'Record has fewer turns than asked',
    hint: 'Lower --min-turns to keep it.',
  },
  hasImage: {
    id: 'filter/has-image',
    severity: 'error',
    title: 'Record has no image (--has-image)',
    hint: 'Drop --has-image to keep text-only records.',
  },
  textOnly: {
    id: 'filter/text-only',
    severity: 'error',
    title: 'Record has an image (--text-only)',
    hint: 'Drop --text-only to keep records with images.',
  },
  source: {
    id: 'filter/source',
    severity: 'error',
    title: 'Record is from a source not asked for (--source)',
    hint: 'Add its source to --source, or see the sources with `llava stats`.',
  },
  lengthUnmeasurable: {
    id: 'length/unmeasurable',
    severity: 'error',
    title: 'Record length cannot be measured',
    hint: 'The template cannot render it, or (llava-next-anyres) an image size is unknown: pass --images so the sizes can be read.',
  },
  duplicate: {
    id: 'dedup/duplicate',
    severity: 'error',
    title: 'Record duplicates an earlier one',
    hint: 'The kept record is named in the diagnostic data (keptIndex, keptFile, keptId).',
  },
  imageUnreadable: {
    id: 'dedup/image-unreadable',
    severity: 'warning',
    title: 'Image bytes cannot be read for hashing',
    hint: 'Pass --images with the folders or zips holding the images; the record is compared by its path instead.',
  },
  notSampled: {
    id: 'sample/not-selected',
    severity: 'error',
    title: 'Record was not drawn by the sample',
    hint: 'Raise -n / --fraction, or change --seed, to draw other records.',
  },
  notMixed: {
    id: 'mix/not-selected',
    severity: 'error',
    title: 'Record was not taken by the recipe strategy',
    hint: 'The dataset entry of the recipe takes fewer records (first:N, end:N, random:N, N%).',
  },
  recipeSyntax: {
    id: 'recipe/syntax',
    severity: 'error',
    title: 'Recipe is not valid YAML or has not the recipe shape',
    hint: 'A recipe is `datasets: [{json_path, sampling_strategy}]` with an optional top-level `seed`.',
    kind: 'usage',
  },
  recipeStrategy: {
    id: 'recipe/bad-strategy',
    severity: 'error',
    title: 'Unknown or invalid sampling strategy',
    hint: 'Use all, first:N, end:N, random:N, or a percentage (N% or first:N%, end:N%, random:N%) up to 100%.',
    kind: 'usage',
  },
  recipeMissingFile: {
    id: 'recipe/missing-file',
    severity: 'error',
    title: 'Recipe names a dataset file that does not exist',
    hint: 'json_path is relative to the recipe file (or absolute).',
  },
  inputChanged: {
    id: 'input/changed',
    severity: 'error',
    title: 'An input changed between two passes',
    hint: 'Do not modify an input while an operation reads it; run the operation again.',
  },
  usage: {
    id: 'usage/ops',
    severity: 'error',
    title: 'Invalid options',
    hint: 'See the command help (`llava <command> --help`).',
    kind: 'usage',
  },
  statsMerge: {
    id: 'stats/merge',
    severity: 'error',
    title: 'File is not a stats result',
    hint: 'Merge only the outputs of `llava stats --json`.',
    kind: 'usage',
  },
});
