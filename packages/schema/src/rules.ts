import { defineRules, type RuleMeta } from '@llavakit/diagnostics';

/**
 * The validation rule catalog: every check `llava validate` (and the record check of `llava convert`) runs, with a
 * stable id, a default severity chosen by what LLaVA's training code actually does with such a record, a title and
 * a one-line fix hint.
 *
 * - `error`: LLaVA crashes, or silently trains on something other than what the record says.
 * - `warning`: LLaVA trains, but drops or distorts part of the record, or other tools cannot load the file.
 * - `info`: harmless, worth knowing.
 */
export const validationRules = defineRules({
  schemaType: {
    id: 'schema/type',
    severity: 'error',
    title: 'Wrong JSON type',
    hint: 'Give the field its LLaVA type: id string or integer, image string, conversations an array of {from, value} strings.',
    description:
      'A record must be an object; `image` a path string (a list only for LLaVA-NeXT); every turn an object with string `from` and `value`. LLaVA indexes these fields directly and crashes on other types.',
  },
  schemaRequired: {
    id: 'schema/required',
    severity: 'error',
    title: 'Required key missing',
    hint: 'Add the missing key: every record needs `conversations`, every turn needs `from` and `value`.',
    description:
      'LLaVA reads `conversations`, and `from`/`value` of every turn, without a default: a missing key is a KeyError.',
  },
  conversationsEmpty: {
    id: 'conversations/empty',
    severity: 'error',
    title: 'No conversation turns',
    hint: 'Give the record at least one human turn and one gpt answer, or drop it.',
    description: "LLaVA's preprocessing reads the first turn unconditionally; an empty list raises IndexError.",
  },
  rolesUnknown: {
    id: 'roles/unknown',
    severity: 'error',
    title: 'Unknown role',
    hint: 'Use exactly `human` (user) or `gpt` (assistant), lower case (`Human`, `user`, `assistant` are not accepted).',
    description:
      'The v1, llama_2 and mpt preprocessing paths look roles up in {"human", "gpt"}: any other value (including `Human` or `user`) is a KeyError.',
  },
  rolesAlternation: {
    id: 'roles/alternation',
    severity: 'error',
    title: 'Roles do not alternate',
    hint: 'Merge consecutive turns of the same role, or insert the missing turn, so that human and gpt alternate.',
    description:
      'After dropping one leading gpt turn, LLaVA asserts that turns alternate human, gpt, human, …; a failed assertion stops training.',
  },
  rolesLeadingGpt: {
    id: 'roles/leading-gpt',
    severity: 'warning',
    title: 'Conversation starts with gpt',
    hint: 'Start with the human turn (move or remove the leading gpt turn); LLaVA drops it.',
    description: 'LLaVA silently drops a first turn that is not from `human`; its text is never trained on.',
  },
  rolesTrailingHuman: {
    id: 'roles/trailing-human',
    severity: 'warning',
    title: 'Conversation ends with human',
    hint: 'Add the gpt answer to the last question, or remove the unanswered turn.',
    description: 'Only gpt turns are learned; a final human turn has no answer and only costs context.',
  },
  valueEmpty: {
    id: 'value/empty',
    severity: 'warning',
    title: 'Empty value',
    hint: 'Fill in the empty text or remove the turn (and its partner) or the empty field.',
    description:
      'An empty or whitespace-only gpt answer teaches the model to answer nothing; an empty question gives no context. An empty `image` path is reported as an error: LLaVA tests key presence and tries to open the image folder itself.',
  },
  valueWhitespace: {
    id: 'value/whitespace',
    severity: 'info',
    title: 'Untrimmed whitespace',
    hint: 'Trim leading and trailing whitespace of the turn text.',
    description:
      'Harmless for LLaVA, but the whitespace is tokenized and learned; tools that compare texts see a difference.',
  },
  imageList: {
    id: 'image/list',
    severity: 'error',
    title: 'Image list in a LLaVA v1 file',
    hint: 'Use one image path string per record for LLaVA v1/v1.5, or validate as LLaVA-NeXT (`--from llava-next`).',
    description:
      'LLaVA v1/v1.5 joins `image` to the image folder as a string; a list raises TypeError. LLaVA-NeXT accepts lists.',
  },
  imageTokenCount: {
    id: 'image/token-count',
    severity: 'error',
    title: '`<image>` count differs from images',
    hint: 'Put exactly one `<image>` per image in the human turns (usually `<image>\\n` at the start of the first one).',
    description:
      'LLaVA consumes image features once per `<image>` token: without a token the image is silently ignored; extra tokens in other turns mismatch the features and fail.',
  },
  imageTokenInGpt: {
    id: 'image/token-in-gpt',
    severity: 'error',
    title: '`<image>` in a gpt turn',
    hint: 'Remove `<image>` from the gpt answer; the image token belongs in a human turn.',
    description:
      'LLaVA rewrites `<image>` in every turn; in an answer it becomes an image slot inside the learned text.',
  },
  imageTokenTextOnly: {
    id: 'image/token-text-only',
    severity: 'warning',
    title: '`<image>` in a text-only record',
    hint: 'Add the `image` path this record refers to, or remove the `<image>` text.',
    description:
      'Without an `image` key, LLaVA keeps `<image>` as literal text and the model learns the placeholder as words.',
  },
  imagePlacement: {
    id: 'image/placement',
    severity: 'warning',
    title: '`<image>` not at the start or end of the first human turn',
    hint: 'Place the token as `<image>\\n…` or `…\\n<image>` in the first human turn.',
    description:
      'LLaVA moves `<image>` to the front of its turn, so text around an inner token is joined with a double space and a token in a later turn puts the image mid-conversation.',
  },
  videoTokenCount: {
    id: 'video/token-count',
    severity: 'error',
    title: '`<video>` count differs from videos',
    hint: 'Put exactly one `<video>` per path of `video` in the human turns (or only `<image>`, as LLaVA-Video writes it).',
    description:
      'LLaMA-Factory and ms-swift count `<video>` tokens against the `videos` column (LLaMA-Factory raises "The number of videos does not match"). A record whose video has no `<video>` token and no `image` key is read as LLaVA-Video writes it: its `<image>` tokens stand for the videos.',
  },
  idDuplicate: {
    id: 'id/duplicate',
    severity: 'warning',
    title: 'Duplicate id',
    hint: 'Make ids unique (e.g. append a suffix); joins, deduplication and rejects files rely on them.',
    description:
      'LLaVA never reads ids, but every tool that joins, splits or reports by id mixes these records up. A repeated id whose record has the same image is reported as info only: LLaVA-Instruct-150K and the 665K mix hold several conversations per COCO image under the image id by design.',
  },
  idMixedTypes: {
    id: 'id/mixed-types',
    severity: 'warning',
    title: 'Mixed id types in one file',
    hint: 'Hugging Face datasets/Arrow cannot load this file; make every id a string with `llava convert --to llava --normalize`.',
    description:
      'Integer ids alone are fine (the GQA part of llava_v1_5_mix665k.json has them), but a column mixing strings and integers fails in Arrow with "Expected bytes, got a \'int\' object".',
  },
  imagePathForms: {
    id: 'image/path-forms',
    severity: 'warning',
    title: 'Image paths of different forms',
    hint: 'Use one form per file: all bare file names (image folder = the images) or all prefixed by their subfolder (image folder = the root).',
    description:
      'LLaVA joins every path to one --image_folder: bare names (`0001.jpg`) and prefixed paths (`coco/train2017/0001.jpg`) in one file cannot both resolve.',
  },
});

/** The names of the validation rules (keys of {@link validationRules}). */
export type ValidationRuleName = keyof typeof validationRules;

/** A rule catalog and its heading, for {@link renderRulesMarkdown}. */
export interface RuleCatalog {
  /** Section heading, e.g. `Record rules`. */
  readonly title: string;
  /** The rules, as given to `defineRules`. */
  readonly rules: Readonly<Record<string, RuleMeta>>;
}

/**
 * Render rule catalogs as a markdown document: one table per catalog (id, severity, title, hint), then each rule's
 * longer description. `docs/rules.md` is generated with it.
 *
 * @example
 * ```ts
 * const md = renderRulesMarkdown([{ title: 'Record rules', rules: validationRules }]);
 * ```
 */
export function renderRulesMarkdown(catalogs: readonly RuleCatalog[], title = 'Validation rules'): string {
  // `<image>` outside code spans would be read as an HTML tag
  const md = (text: string) =>
    text
      .split('`')
      .map((part, i) => (i % 2 === 0 ? part.replaceAll('<', '&lt;') : part))
      .join('`');
  const cell = (text: string) => md(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `# ${title}`,
    '',
    '<!-- Generated by renderRulesMarkdown() in @llavakit/schema; do not edit by hand. -->',
    '',
    'Severities: **error** — LLaVA crashes or silently trains on something else (`llava validate` exits 1, `llava convert --validate` rejects the record); **warning** — LLaVA trains but drops or distorts part of the record, or other tools cannot load the file (fails only with `--strict`); **info** — worth knowing.',
    '',
  ];
  for (const catalog of catalogs) {
    const rules = Object.values(catalog.rules);
    const rows = [
      ['id', 'severity', 'title', 'fix'],
      ...rules.map((rule) => [`\`${rule.id}\``, rule.severity, cell(rule.title), cell(rule.hint)]),
    ];
    // columns padded to equal width, as markdown formatters (biome) write tables
    const widths = rows[0]!.map((_, c) => Math.max(3, ...rows.map((row) => row[c]!.length)));
    const line = (row: string[]) => `| ${row.map((text, c) => text.padEnd(widths[c]!)).join(' | ')} |`;
    lines.push(`## ${catalog.title}`, '', line(rows[0]!), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
    for (const row of rows.slice(1)) lines.push(line(row));
    lines.push('');
    for (const rule of rules) {
      if (!rule.description) continue;
      lines.push(`### \`${rule.id}\``, '', md(rule.description), '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
