import { describeFormat, type FormatInfo, optionSummary } from '@llavakit/convert';
import { formatDiagnostic } from '@llavakit/diagnostics';
import { Args, Command, Flags } from '@oclif/core';
import { loadFormats, pluginFlag } from '../lib/formats.js';

export default class Formats extends Command {
  static override summary = 'List the formats llava can read and write, or show one format in full.';

  static override description =
    `Lists the built-in formats, the formats of installed or linked plugins (\`llava plugins install <package | file:x.tgz>\`, \`llava plugins link <dir>\`) and those loaded with --plugin, with the plugin and version each comes from.

With a NAME, shows that format's options (for \`llava convert -O key=value\`: name, type, default, description) and what it cannot hold. A plugin that fails to load is reported as a warning naming it; the other formats still work.`;

  static override examples = [
    { description: 'Table of all formats', command: '<%= config.bin %> formats' },
    { description: 'Options and limitations of one format', command: '<%= config.bin %> formats sharegpt' },
    { description: 'Machine-readable list', command: '<%= config.bin %> formats --json' },
    {
      description: 'Include a plugin that is not installed, by path or package name',
      command: '<%= config.bin %> formats --plugin ./my-format/dist/index.js',
    },
  ];

  static override args = {
    name: Args.string({ description: 'Show this format in full.', required: false }),
  };

  static override flags = {
    json: Flags.boolean({ summary: 'Print JSON (an array of formats, or one format with a NAME).' }),
    plugin: pluginFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Formats);
    const { registry, diagnostics } = await loadFormats(this.config, { plugins: flags.plugin ?? [] });
    for (const diagnostic of diagnostics) {
      this.logToStderr(formatDiagnostic(diagnostic));
      if (diagnostic.hint) this.logToStderr(`  hint: ${diagnostic.hint}`);
    }
    const infos = registry.list().map(describeFormat);
    if (args.name !== undefined) {
      const info = infos.find((entry) => entry.name === args.name);
      if (!info) {
        this.logToStderr(
          `format/unknown: No format named "${args.name}". Known: ${infos.map((entry) => entry.name).join(', ')}.`,
        );
        this.exit(2);
      }
      if (flags.json) this.log(JSON.stringify(info, null, 2));
      else this.log(renderFormat(info!));
      return;
    }
    if (flags.json) this.log(JSON.stringify(infos, null, 2));
    else this.log(renderTable(infos));
  }
}

function originText(info: FormatInfo): string {
  const { plugin, version } = info.origin;
  return version ? `${plugin}@${version}` : plugin;
}

function renderTable(infos: readonly FormatInfo[]): string {
  const header = ['NAME', 'READS', 'WRITES', 'EXTENSIONS', 'PLUGIN'];
  const rows = infos.map((info) => [
    info.name,
    info.reads ? 'yes' : 'no',
    info.writes ? 'yes' : 'no',
    info.extensions.join(' ') || '-',
    originText(info),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function renderFormat(info: FormatInfo): string {
  const lines = [`${info.name}${info.description ? ` — ${info.description}` : ''}`];
  const modes = [
    info.level.read ? `reads (${info.level.read}-level)` : undefined,
    info.level.write ? `writes (${info.level.write}-level)` : undefined,
  ].filter(Boolean);
  lines.push(`  ${modes.join(', ')}`);
  lines.push(`  extensions: ${info.extensions.join(' ') || '-'}`);
  lines.push(`  plugin: ${originText(info)} (${info.origin.via}), spec version ${info.specVersion}`);
  lines.push('', 'Options (llava convert -O key=value):');
  if (info.options.length === 0) lines.push('  none');
  const width = Math.max(0, ...info.options.map((option) => option.flag.length));
  for (const option of info.options) lines.push(`  ${option.flag.padEnd(width)}  ${optionSummary(option)}`);
  lines.push('', 'Limitations:');
  if (info.limitations.length === 0) lines.push('  none declared');
  for (const limitation of info.limitations) lines.push(`  - ${limitation}`);
  return lines.join('\n');
}
