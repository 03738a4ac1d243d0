import { close, closeSync, fstat, fstatSync, open, openSync, read, readSync } from 'node:fs';

/** The first and last bytes of an image, and its size. */
export interface HeadTail {
  readonly head: Uint8Array;
  /** The last bytes; the same bytes as the end of `head` when the whole file fit in it. */
  readonly tail: Uint8Array;
  readonly size: number;
}

/** Read head and tail of a file with callback fs calls (fewer allocations than FileHandle on hot paths). */
export function readFileHeadTail(
  path: string,
  head: Uint8Array,
  headBytes: number,
  tailBytes: number,
  flags: number,
): Promise<HeadTail> {
  return new Promise((resolvePromise, reject) => {
    open(path, flags, (openError, fd) => {
      if (openError) return reject(openError);
      const finish = (error: Error | null, result?: HeadTail) =>
        close(fd, () => (error ? reject(error) : resolvePromise(result!)));
      read(fd, head, 0, headBytes, 0, (readError, n) => {
        if (readError) return finish(readError);
        if (n < headBytes) {
          const bytes = head.subarray(0, n);
          return finish(null, { head: bytes, tail: bytes, size: n });
        }
        fstat(fd, (statError, stat) => {
          if (statError) return finish(statError);
          if (stat.size <= headBytes)
            return finish(null, { head: head.subarray(0, n), tail: head.subarray(0, n), size: stat.size });
          const tail = new Uint8Array(Math.min(tailBytes, stat.size));
          read(fd, tail, 0, tail.length, stat.size - tail.length, (tailError, m) => {
            if (tailError) return finish(tailError);
            finish(null, { head: head.subarray(0, n), tail: tail.subarray(0, m), size: stat.size });
          });
        });
      });
    });
  });
}

/** Read head and tail of a file with blocking calls: fastest when the data is in the page cache. */
export function readFileHeadTailSync(
  path: string,
  head: Uint8Array,
  headBytes: number,
  tailBytes: number,
  flags: number,
): HeadTail {
  const fd = openSync(path, flags);
  try {
    const n = readSync(fd, head, 0, headBytes, 0);
    if (n < headBytes) {
      const bytes = head.subarray(0, n);
      return { head: bytes, tail: bytes, size: n };
    }
    const size = fstatSync(fd).size;
    if (size <= headBytes) return { head: head.subarray(0, n), tail: head.subarray(0, n), size };
    const tail = new Uint8Array(Math.min(tailBytes, size));
    const m = readSync(fd, tail, 0, tail.length, size - tail.length);
    return { head: head.subarray(0, n), tail: tail.subarray(0, m), size };
  } finally {
    closeSync(fd);
  }
}
