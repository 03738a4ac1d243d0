import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetError, parquetRules } from './options.js';

const MAGIC = 'PAR1';
const GLOB = /[*?[]/;

/** Turn a glob segment into a regular expression (`*`, `?`, `[…]`). */
function segmentRegExp(segment: string): RegExp {
  let pattern = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) pattern += '\\[';
      else {
        pattern += `[${segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else pattern += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

async function walk(dir: string, onFile: (path: string) => void): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, onFile);
    else if (entry.isFile()) onFile(path);
  }
}

async function globFiles(pattern: string): Promise<string[]> {
  const segments = pattern.split('/');
  const firstMagic = segments.findIndex((s) => GLOB.test(s));
  const base = segments.slice(0, firstMagic).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const rest = segments.slice(firstMagic);
  const found: string[] = [];
  const visit = async (dir: string, parts: string[]): Promise<void> => {
    const [head, ...tail] = parts;
    if (head === undefined) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (head === '**') {
      await visit(dir, tail);
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith('.')) await visit(join(dir, entry.name), parts);
      }
      return;
    }
    const re = segmentRegExp(head);
    for (const entry of entries) {
      if (!re.test(entry.name)) continue;
      const path = dir === '.' ? entry.name : join(dir, entry.name);
      if (tail.length === 0 && entry.isFile()) found.push(path);
      else if (tail.length > 0 && entry.isDirectory()) await visit(path, tail);
    }
  };
  await visit(base, rest);
  return [...new Set(found)];
}

/**
 * The Parquet files an input names: the file itself, every `*.parquet` under a folder (sorted, dot-folders
 * skipped), or the files a glob (`*`, `?`, `[…]`, `**`) matches. Throws `parquet/no-files` when there are none.
 */
export async function parquetFilesOf(input: string): Promise<string[]> {
  let files: string[];
  if (GLOB.test(input)) files = await globFiles(input);
  else {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw parquetError(parquetRules.noFiles, `No such file or folder: ${input}.`, input, 'Check the path.');
    if (info.isDirectory()) {
      files = [];
      await walk(input, (path) => {
        if (path.toLowerCase().endsWith('.parquet')) files.push(path);
      });
    } else files = [input];
  }
  if (files.length === 0) {
    throw parquetError(
      parquetRules.noFiles,
      `${input} names no Parquet file.`,
      input,
      'Name a .parquet file, a folder holding some (e.g. a Hub dataset clone), or a glob like data/train-*.parquet.',
    );
  }
  return files;
}
/** Throws `parquet/unreadable` unless `file` starts and ends with the `PAR1` magic. */
export async function checkMagic(file: string): Promise<void> {
  const handle = await open(file, 'r').catch((error: Error) => {
    throw parquetError(parquetRules.unreadable, `Cannot open ${file}: ${error.message}`, file, 'Check the path.');
  });
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    if (size >= 12) {
      await handle.read(head, 0, 4, 0);
      await handle.read(tail, 0, 4, size - 4);
    }
    if (head.toString('latin1') !== MAGIC || tail.toString('latin1') !== MAGIC) {
      throw parquetError(
        parquetRules.unreadable,
        `${file} is not a Parquet file (no PAR1 magic at its start and end)${size >= 12 && head.toString('latin1') === MAGIC ? ': it looks truncated' : ''}.`,
        file,
        'Pass the Parquet files themselves (or --from llava for JSON input).',
      );
    }
  } finally {
    await handle.close();
  }
}
