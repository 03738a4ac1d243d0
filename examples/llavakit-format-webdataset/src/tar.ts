import { type FileHandle, open } from 'node:fs/promises';

const BLOCK = 512;
const encoder = new TextEncoder();

/** Bytes a file of `size` bytes takes in a tar archive: its header plus its data padded to 512-byte blocks. */
export function tarEntrySize(size: number): number {
  return BLOCK + Math.ceil(size / BLOCK) * BLOCK;
}

/** Write `value` as zero-padded octal of `width - 1` digits plus a NUL into `header` at `offset`. */
function writeOctal(header: Uint8Array, offset: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new RangeError(`Value ${value} does not fit in a ${width}-byte tar field.`);
  header.set(encoder.encode(text), offset);
  header[offset + width - 1] = 0;
}

/**
 * A POSIX ustar header for a regular file. Names longer than 100 bytes are split into prefix and name at a `/`.
 * Owner, group and times are fixed (0, mode 0644) so the same input always gives the same bytes.
 */
export function tarHeader(name: string, size: number): Uint8Array {
  const header = new Uint8Array(BLOCK);
  let bytes = encoder.encode(name);
  let prefix = new Uint8Array(0);
  if (bytes.length > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || encoder.encode(name.slice(cut + 1)).length > 100) {
      throw new RangeError(`Tar member name too long: ${name}`);
    }
    prefix = encoder.encode(name.slice(0, cut));
    bytes = encoder.encode(name.slice(cut + 1));
  }
  header.set(bytes, 0);
  writeOctal(header, 100, 8, 0o644); // mode
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, 0); // mtime
  header.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  header[156] = 0x30; // typeflag '0': regular file
  header.set(encoder.encode('ustar\u0000'), 257);
  header.set(encoder.encode('00'), 263);
  header.set(encoder.encode('root'), 265); // uname
  header.set(encoder.encode('root'), 297); // gname
  header.set(prefix, 345);
  let sum = 0;
  for (const byte of header) sum += byte;
  const checksum = sum.toString(8).padStart(6, '0');
  header.set(encoder.encode(checksum), 148);
  header[154] = 0;
  header[155] = 0x20;
  return header;
}

/** Writes one tar archive to a file, entry by entry. */
export class TarWriter {
  #handle: FileHandle;
  #bytes = 0;

  private constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** Create (or truncate) the archive file. */
  static async create(path: string): Promise<TarWriter> {
    return new TarWriter(await open(path, 'w'));
  }

  /** Bytes written so far (headers, data and padding). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Append one regular file. */
  async add(name: string, data: Uint8Array): Promise<void> {
    await this.#write(tarHeader(name, data.length));
    await this.#write(data);
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding > 0) await this.#write(new Uint8Array(padding));
  }

  /** Write the end-of-archive marker (two zero blocks) and close the file. */
  async close(): Promise<void> {
    try {
      await this.#write(new Uint8Array(BLOCK * 2));
    } finally {
      await this.#handle.close();
    }
  }

  /** Close the file without finishing the archive (on failure). */
  async abort(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }

  async #write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.#handle.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
    this.#bytes += data.length;
  }
}
