import { EXTRA_COLUMN, featuresYaml, type Layout } from './layout.js';

/** The dataset card: YAML front matter the Hub reads (`configs`, `dataset_info`), and a short description. */
export function datasetCard(layout: Layout, split: string, rows: number, bytes: number): string {
  return [
    '---',
    'configs:',
    '- config_name: default',
    '  data_files:',
    `  - split: ${split}`,
    `    path: data/${split}-*`,
    'dataset_info:',
    '  features:',
    ...featuresYaml(layout),
    '  splits:',
    `  - name: ${split}`,
    `    num_bytes: ${bytes}`,
    `    num_examples: ${rows}`,
    '---',
    '',
    '# Dataset',
    '',
    `LLaVA-format conversations with ${layout.image === 'image' ? 'one embedded image per row (`image`)' : 'a list of embedded images per row (`images`)'}, written by llavakit.`,
    '',
    `Columns: \`id\`, \`conversations\` (list of \`{from, value}\`), \`${layout.image}\` (the \`datasets\` Image feature; null for text-only rows)${layout.extras.length > 0 ? `, ${layout.extras.map((e) => `\`${e.name}\`${e.kind === 'json' ? ' (JSON text)' : ''}`).join(', ')}` : ''}, and \`${EXTRA_COLUMN}\` (per-row JSON that lets llavakit restore each record exactly; null in most rows).`,
    '',
  ].join('\n');
}
