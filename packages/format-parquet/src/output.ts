import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteWriter } from 'hyparquet-writer';
import { parquetError, parquetRules } from './options.js';

/** A byte writer that appends to a file descriptor whenever more than 1 MiB is buffered (constant memory). */
export class FileByteWriter extends ByteWriter {
  private readonly fd: number;
  constructor(path: string) {
    super(1 << 20);
    this.fd = openSync(path, 'w');
  }
  override ensure(size: number): void {
    if (this.index > 1 << 20) this.drain();
    super.ensure(size);
  }
  private drain(): void {
    let at = 0;
    while (at < this.index) at += writeSync(this.fd, new Uint8Array(this.buffer, at, this.index - at));
    this.index = 0;
  }
  /** Append `length` bytes of another file from `start` (a copied row group), through a 1 MiB buffer. */
  copyFrom(path: string, start: number, length: number): void {
    this.drain();
    const source = openSync(path, 'r');
    try {
      const scratch = new Uint8Array(Math.min(length, 1 << 20));
      for (let done = 0; done < length; ) {
        const read = readSync(source, scratch, 0, Math.min(scratch.length, length - done), start + done);
        if (read === 0) throw new Error(`${path} ended at byte ${start + done} while copying a row group`);
        let at = 0;
        while (at < read) at += writeSync(this.fd, scratch, at, read - at);
        done += read;
      }
    } finally {
      closeSync(source);
    }
    this.offset += length;
  }
  /** Append byte arrays (a copied row group's chunks as read, `length` bytes in all) straight to the file. */
  writeChunks(chunks: readonly Uint8Array[], length: number): void {
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    if (total !== length) throw new Error(`a copied row group holds ${total} bytes, not ${length}`);
    this.drain();
    const write = (bytes: Uint8Array) => {
      let at = 0;
      while (at < bytes.length) at += writeSync(this.fd, bytes, at, bytes.length - at);
    };
    // views that follow each other in one buffer (a row group read at once) are written at once
    let run: Uint8Array | undefined;
    for (const chunk of chunks) {
      if (run && chunk.buffer === run.buffer && chunk.byteOffset === run.byteOffset + run.length) {
        run = new Uint8Array(run.buffer, run.byteOffset, run.length + chunk.length);
        continue;
      }
      if (run) write(run);
      run = chunk;
    }
    if (run) write(run);
    this.offset += length;
  }
  override finish(): void {
    this.drain();
    closeSync(this.fd);
  }
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** Where the output goes: one `.parquet` file, or the Hub folder layout. */
export function isSingleFile(path: string): boolean {
  return path.toLowerCase().endsWith('.parquet');
}

/** The output folder must be new, empty, or hold only dot-files (a fresh clone of a Hub repository). */
export async function checkFolder(target: string, split: string): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (!existing) return;
  const problem = (message: string) =>
    parquetError(parquetRules.output, message, target, 'Choose a new folder, or remove the previous output first.');
  if (!existing.isDirectory()) throw problem(`Output ${target} exists and is not a folder.`);
  const entries = (await readdir(target)).filter((name) => !name.startsWith('.'));
  if (entries.length > 0) {
    throw problem(
      `Output folder ${target} already holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}; split ${split} would mix with it.`,
    );
  }
}

export async function moveFolderIntoPlace(staging: string, target: string): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (!existing) {
    await rename(staging, target);
    return;
  }
  const entries = await readdir(target);
  if (entries.length === 0) {
    await rmdir(target);
    await rename(staging, target);
    return;
  }
  // Only dot-files there (checked before writing): move data/ and README.md in.
  await rename(join(staging, 'data'), join(target, 'data'));
  await rename(join(staging, 'README.md'), join(target, 'README.md'));
  await rm(staging, { recursive: true, force: true });
}
