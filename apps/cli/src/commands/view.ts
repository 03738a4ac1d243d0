import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseOptionArguments, resolveFormatOptions } from '@llavakit/convert';
import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { type RecordDecoder, startViewer } from '@llavakit/view';
import { Args, Command, Flags } from '@oclif/core';
import { loadFormats, pluginFlag } from '../lib/formats.js';
import { createProgress } from '../lib/progress.js';

export default class View extends Command {
  static override summary = 'Browse LLaVA-family datasets in a local web page: records, images, diagnostics, stats.';

  static override description =
    `Indexes the inputs once (record byte offsets and a compact summary per record, streamed in constant memory, with progress on the terminal), then serves a page on 127.0.0.1: a paged table with filters (rule, source, images, missing image, token length) and text search, each record as a chat with its images, diagnostics (the rules of validate and, with --images, the image audit) highlighted in its JSON, and its rendering with a LLaVA template; and a stats panel. Records are read back by offset: a 1 GB file opens in seconds. Parquet files and Hub folders (data/*.parquet) are indexed by row group and row, each record shown as its canonical LLaVA record with its embedded images (the row groups last read are kept decoded within 64 MiB).

The first line of standard output is the URL to open (http://127.0.0.1:PORT/?token=…); every request needs its random token. The server only reads, and serves images only through the --images sources. It runs until interrupted: Ctrl-C (SIGINT) or SIGTERM closes it and exits 0.

Exit codes: 0 closed normally, 1 the inputs could not be indexed, 2 usage errors.`;

  static override examples = [
    { description: 'Browse a file', command: '<%= config.bin %> view llava_v1_5_mix665k.json' },
    {
      description: 'With its images (folders, prefixes, zips), opened in the browser',
      command: '<%= config.bin %> view chat.json --images /data/cc3m/images.zip --open',
    },
    {
      description: 'A Hugging Face dataset clone (Parquet, images embedded)',
      command: '<%= config.bin %> view ./LLaVA-Instruct-150K/',
    },
    {
      description: 'A fixed port',
      command: '<%= config.bin %> view data.jsonl --images coco/train2017=/data/coco --port 8765',
    },
  ];

  static override strict = false;

  static override args = {
    inputs: Args.string({
      description: 'Input files: JSON array, JSONL, Parquet files or folders holding them (a Hub clone).',
      required: true,
    }),
  };

  static override flags = {
    images: Flags.string({
      char: 'i',
      multiple: true,
      summary: 'Image source, in lookup order (repeatable): a folder, prefix=folder, or a zip archive read in place.',
    }),
    port: Flags.integer({ min: 0, max: 65535, default: 0, summary: 'Port to listen on (default: a free one).' }),
    host: Flags.string({
      default: '127.0.0.1',
      summary: 'Interface to bind (default loopback only; anything else exposes the data to the network).',
    }),
    open: Flags.boolean({ summary: 'Open the page in the default browser.' }),
    from: Flags.string({
      char: 'f',
      summary: 'Format of the JSON/JSONL inputs: a record-level format (built-in or plugin) decoded when read.',
      description:
        'Default llava. Parquet files and folders are read as Parquet whatever this says. Stream-level plugin formats (read) are not viewed yet.',
    }),
    'read-option': Flags.string({ multiple: true, summary: 'Option of the --from format as key=value (repeatable).' }),
    plugin: pluginFlag,
  };

  private decoderOf(flags: Parameters<typeof decoderOf>[1]): Promise<RecordDecoder | undefined> {
    return decoderOf(this, flags);
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(View).catch((error: Error) => this.error(error.message, { exit: 2 }));
    const inputs = argv as string[];
    const unknown = inputs.find((a) => a.startsWith('-'));
    if (unknown) this.error(`Unknown flag ${unknown} (the viewer reads files, not standard input).`, { exit: 2 });
    const decode = await this.decoderOf(flags);
    const progress = createProgress({ label: 'index' });
    let viewer: Awaited<ReturnType<typeof startViewer>>;
    try {
      viewer = await startViewer({
        inputs,
        images: flags.images ?? [],
        host: flags.host,
        port: flags.port,
        ...(decode ? { decode } : {}),
        onProgress: (p) =>
          progress.update(
            p.bytes,
            p.totalBytes,
            `${p.records.toLocaleString('en')} records${p.phase === 'images' ? ', checking images' : ''}`,
          ),
      });
    } catch (error) {
      progress.stop();
      if (DiagnosticError.is(error)) this.error(formatDiagnostic(error.diagnostic), { exit: 1 });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'EADDRINUSE' || code === 'EACCES') {
        this.error((error as Error).message, { exit: code === 'EADDRINUSE' || code === 'EACCES' ? 2 : 1 });
      }
      throw error;
    }
    progress.stop();
    process.stdout.write(`${viewer.url}\n`);
    const { index } = viewer;
    process.stderr.write(
      `llava view: ${index.count.toLocaleString('en')} records in ${index.files.length} file(s); Ctrl-C to stop.\n`,
    );
    if (!['127.0.0.1', 'localhost', '::1'].includes(viewer.host)) {
      process.stderr.write(
        `llava view: listening on ${viewer.host}: anyone who can reach it with the token can read the data.\n`,
      );
    }
    if (flags.open) openInBrowser(viewer.url);
    const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]).then(() => 'stop');
    await viewer.close();
    process.stderr.write(`llava view: ${signal === 'stop' ? 'stopped' : 'closed'}.\n`);
  }
}

/** The decode of the `--from` format (none for llava and parquet); exit 2 for a format the viewer cannot read. */
async function decoderOf(
  command: Command,
  flags: { from?: string | undefined; plugin?: string[] | undefined; 'read-option'?: string[] | undefined },
): Promise<RecordDecoder | undefined> {
  if (!flags.from || flags.from === 'llava' || flags.from === 'parquet') return undefined;
  const { registry, diagnostics } = await loadFormats(command.config, { plugins: flags.plugin ?? [] });
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const format = registry.get(flags.from)?.format;
  if (!format) command.error(`Unknown format ${flags.from} (see llava formats).`, { exit: 2 });
  if (!format.decode) {
    command.error(
      `${format.name} is ${format.read ? 'a stream-level format: the viewer reads only record-level formats (decode), JSON, JSONL and Parquet' : 'not readable'}.`,
      { exit: 2 },
    );
  }
  const resolved = resolveFormatOptions(format, { args: parseOptionArguments(flags['read-option'] ?? []) });
  if (!resolved.ok) command.error(resolved.problem.message, { exit: 2 });
  const decodeOne = format.decode.bind(format);
  const base = {
    options: resolved.options,
    report: () => {},
    count: () => {},
    images: { rewrite: (path: string) => path, readBytes: async () => undefined },
  };
  return (value, index, file) => decodeOne(value, { ...base, file, index });
}

function openInBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`llava view: could not open a browser; open ${url}\n`));
  child.unref();
}
