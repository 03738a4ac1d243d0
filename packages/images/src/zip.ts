import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** One file inside a zip archive, as indexed from its central directory. */
export interface ZipEntryInfo {
  /** The entry name, `/`-separated. */
  readonly name: string;
  /** Uncompressed size in bytes. */
  readonly size: number;
  /** Compressed size in bytes. */
  readonly compressedSize: number;
  /** 0 = stored, 8 = deflated. */
  readonly compressionMethod: number;
}

/** An entry the index refused because its name is absolute or contains `..`. */
export interface UnsafeZipEntry {
  /** The name as stored in the archive. */
  readonly name: string;
  /** Why it was refused. */
  readonly reason: string;
}

/**
 * A zip archive opened once: its central directory is read into a map (name → entry) and entries are read on
 * demand with random access, never extracted. Names with `..` or absolute names are kept out of the map and listed
 * in {@link ZipIndex.unsafe}. When every entry lies under one top-level folder (`images/…`), lookups also match
 * names without that folder.
 */
export class ZipIndex {
  /** Entries by name. */
  readonly entries: ReadonlyMap<string, yauzl.Entry>;
  /** Refused entries. */
  readonly unsafe: readonly UnsafeZipEntry[];
  /** The single top-level folder every entry lies under (without slash), or undefined. */
  readonly topFolder: string | undefined;

  private constructor(
    readonly path: string,
    private readonly zip: yauzl.ZipFile,
    entries: Map<string, yauzl.Entry>,
    unsafe: UnsafeZipEntry[],
  ) {
    this.entries = entries;
    this.unsafe = unsafe;
    this.topFolder = singleTopFolder(entries.keys());
  }

  /** Open an archive and read its central directory. Rejects when the file is missing or not a zip archive. */
  static async open(path: string): Promise<ZipIndex> {
    const zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
    const entries = new Map<string, yauzl.Entry>();
    const unsafe: UnsafeZipEntry[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        zip.on('entry', (entry: yauzl.Entry) => {
          const raw = entry.fileNameRaw ?? (entry.fileName as unknown as Buffer);
          const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
          const problem = yauzl.validateFileName(name);
          if (problem !== null) unsafe.push({ name, reason: problem });
          else if (!name.endsWith('/') && !entries.has(name)) {
            entry.fileName = name;
            entries.set(name, entry);
          }
          zip.readEntry();
        });
        zip.once('end', resolve);
        zip.once('error', reject);
        zip.readEntry();
      });
    } catch (error) {
      zip.close();
      throw error;
    }
    return new ZipIndex(path, zip, entries, unsafe);
  }

  /** Find an entry by a `/`-separated name; also tries it under the archive's single top folder. */
  find(name: string): yauzl.Entry | undefined {
    return this.entries.get(name) ?? (this.topFolder ? this.entries.get(`${this.topFolder}/${name}`) : undefined);
  }

  /** The entry's facts. */
  info(entry: yauzl.Entry): ZipEntryInfo {
    return {
      name: entry.fileName,
      size: entry.uncompressedSize,
      compressedSize: entry.compressedSize,
      compressionMethod: entry.compressionMethod,
    };
  }

  /** A stream of the entry's uncompressed bytes (yauzl checks the size; the CRC is not checked). */
  openStream(entry: yauzl.Entry): Promise<Readable> {
    return this.zip.openReadStreamPromise(entry);
  }

  /** The entry's uncompressed bytes. */
  async read(entry: yauzl.Entry): Promise<Uint8Array> {
    const stream = await this.openStream(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  }

  /** Close the archive's file handle. */
  close(): void {
    this.zip.close();
  }
}

function singleTopFolder(names: Iterable<string>): string | undefined {
  let top: string | undefined;
  let any = false;
  for (const name of names) {
    any = true;
    const slash = name.indexOf('/');
    if (slash <= 0) return undefined;
    const first = name.slice(0, slash);
    if (top === undefined) top = first;
    else if (top !== first) return undefined;
  }
  return any ? top : undefined;
}
