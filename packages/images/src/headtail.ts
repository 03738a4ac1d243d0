import { close, closeSync, read, readSync } from 'node:fs';
import { type Confinement, openImageFile, openImageFileSync, tooLarge } from './confined.js';

/** The first and last bytes of an image, and its size. */
export interface HeadTail {
  readonly head: Uint8Array;
  /** The last bytes; the same bytes as the end of `head` when the whole file fit in it. */
  readonly tail: Uint8Array;
  readonly size: number;
}

/**
 * Read head and tail of a file with callback fs calls (fewer allocations than FileHandle on hot paths). The file is
 * opened confined (see `confined.ts`): a file that left the sources since it was listed is refused.
 */
export async function readFileHeadTail(
  path: string,
  head: Uint8Array,
  headBytes: number,
  tailBytes: number,
  confinement: Confinement,
): Promise<HeadTail> {
  const { fd, size } = await openImageFile(path, confinement);
  return new Promise((resolvePromise, reject) => {
    const finish = (error: Error | null, result?: HeadTail) =>
      close(fd, () => (error ? reject(error) : resolvePromise(result!)));
    read(fd, head, 0, headBytes, 0, (readError, n) => {
      if (readError) return finish(readError);
      if (n < headBytes || size <= headBytes) {
        const bytes = head.subarray(0, n);
        return finish(null, { head: bytes, tail: bytes, size: n });
      }
      const tail = new Uint8Array(Math.min(tailBytes, size));
      read(fd, tail, 0, tail.length, size - tail.length, (tailError, m) => {
        if (tailError) return finish(tailError);
        finish(null, { head: head.subarray(0, n), tail: tail.subarray(0, m), size });
      });
    });
  });
}

/** Read head and tail of a file with blocking calls (confined, like {@link readFileHeadTail}). */
export function readFileHeadTailSync(
  path: string,
  head: Uint8Array,
  headBytes: number,
  tailBytes: number,
  confinement: Confinement,
): HeadTail {
  const { fd, size } = openImageFileSync(path, confinement);
  try {
    const n = readSync(fd, head, 0, headBytes, 0);
    if (n < headBytes || size <= headBytes) {
      const bytes = head.subarray(0, n);
      return { head: bytes, tail: bytes, size: n };
    }
    const tail = new Uint8Array(Math.min(tailBytes, size));
    const m = readSync(fd, tail, 0, tail.length, size - tail.length);
    return { head: head.subarray(0, n), tail: tail.subarray(0, m), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * A whole file's bytes with blocking calls (confined, like {@link readFileWhole}): no thread-pool hop per call, which
 * for the small images of most LLaVA sets costs more than the read itself.
 */
export function readFileWholeSync(path: string, confinement: Confinement, maxBytes: number): Uint8Array {
  const { fd, size } = openImageFileSync(path, confinement);
  try {
    if (size > maxBytes) throw tooLarge(path, size, maxBytes);
    // One byte more than fstat said, asked for in the same read: whether the file grew since (never read beyond
    // the limit, and no second read per image).
    const buffer = new Uint8Array(size + 1);
    let done = 0;
    while (done <= size) {
      const n = readSync(fd, buffer, done, size + 1 - done, done);
      if (n === 0) break;
      done += n;
    }
    if (done > size && done > maxBytes) throw tooLarge(path, done, maxBytes, 'grew to at least');
    if (done > size) throw new Error(`${path} changed while it was read`);
    return buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** A whole file's bytes, opened confined; refused (`too-large`) when it is larger than `maxBytes`. */
export async function readFileWhole(path: string, confinement: Confinement, maxBytes: number): Promise<Uint8Array> {
  const { fd, size } = await openImageFile(path, confinement);
  const readAt = (into: Uint8Array, at: number) =>
    new Promise<number>((ok, fail) => read(fd, into, at, into.length - at, at, (e, n) => (e ? fail(e) : ok(n))));
  try {
    if (size > maxBytes) throw tooLarge(path, size, maxBytes);
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = await readAt(bytes, done);
      if (n === 0) break;
      done += n;
    }
    // One more byte tells whether the file grew past its size since fstat (never read beyond the limit).
    const extra = new Uint8Array(1);
    const more = await new Promise<number>((ok, fail) => read(fd, extra, 0, 1, done, (e, n) => (e ? fail(e) : ok(n))));
    if (more > 0 && done + 1 > maxBytes) throw tooLarge(path, done + 1, maxBytes, 'grew to at least');
    if (more > 0) throw new Error(`${path} changed while it was read`);
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    await new Promise<void>((ok) => close(fd, () => ok()));
  }
}
