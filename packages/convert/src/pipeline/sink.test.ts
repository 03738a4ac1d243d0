import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containerFromPath, JsonValueWriter } from './container.js';
import { openTextSink } from './sink.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-sink-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('openTextSink', () => {
  it('writes to a temporary file and renames it into place on close', async () => {
    const target = join(dir, 'out.json');
    const sink = await openTextSink(target, { bufferBytes: 4 });
    await sink.write('hello ');
    await sink.write('wörld');
    await expect(readFile(target)).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).some((f) => f.includes('.llava-tmp-'))).toBe(true);
    await sink.close();
    expect(await readFile(target, 'utf8')).toBe('hello wörld');
    expect(await readdir(dir)).toEqual(['out.json']);
    expect(sink.bytesWritten).toBe(Buffer.byteLength('hello wörld'));
  });

  it('writeBytes copies: the caller may reuse its buffer at once, at any size against the sink buffer', async () => {
    // (a stream that keeps the chunks it is given, unread until the end: a chunk that is the caller's buffer shows)
    const stream = new PassThrough({ highWaterMark: 1 << 20 });
    const sink = await openTextSink('-', { stdout: stream, bufferBytes: 16 });
    const expected: Buffer[] = [];
    const scratch = Buffer.alloc(100);
    for (const size of [3, 16, 40, 1, 100, 15]) {
      scratch.fill(97 + (size % 26), 0, size);
      expected.push(Buffer.from(scratch.subarray(0, size)));
      await sink.writeBytes(scratch.subarray(0, size));
      scratch.fill(0x21); // reused at once: what was written must not change
      await sink.write('|');
      expected.push(Buffer.from('|'));
    }
    expect(sink.bytesWritten).toBe(Buffer.concat(expected).length);
    await sink.close();
    const chunks: Buffer[] = [];
    for (let chunk = stream.read() as Buffer | null; chunk; chunk = stream.read() as Buffer | null) chunks.push(chunk);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat(expected));
  });

  it('abort leaves an existing target untouched and removes the temporary file', async () => {
    const target = join(dir, 'keep.json');
    await writeFile(target, 'old');
    const sink = await openTextSink(target);
    await sink.write('new content');
    await sink.abort();
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['keep.json']);
  });

  it('creates missing parent folders', async () => {
    const target = join(dir, 'a/b/c.jsonl');
    const sink = await openTextSink(target);
    await sink.write('x\n');
    await sink.close();
    expect(await readFile(target, 'utf8')).toBe('x\n');
  });

  it('streams to a writable for - and respects backpressure', async () => {
    const stream = new PassThrough({ highWaterMark: 8 });
    const chunks: Buffer[] = [];
    const sink = await openTextSink('-', { stdout: stream, bufferBytes: 1 });
    const done = (async () => {
      for (let i = 0; i < 100; i++) await sink.write(`line ${i}\n`);
      await sink.close();
    })();
    stream.on('data', (c: Buffer) => chunks.push(c));
    await done;
    expect(Buffer.concat(chunks).toString().split('\n')).toHaveLength(101);
  });
});

describe('JsonValueWriter', () => {
  it('writes a JSON array with one element per line, and [] when empty', async () => {
    const a = join(dir, 'a.json');
    const writer = new JsonValueWriter(await openTextSink(a), 'json');
    await writer.write({ x: 1 });
    await writer.write({ y: 'é' });
    await writer.close();
    expect(await readFile(a, 'utf8')).toBe('[\n{"x":1},\n{"y":"é"}\n]\n');
    expect(JSON.parse(await readFile(a, 'utf8'))).toEqual([{ x: 1 }, { y: 'é' }]);
    const b = join(dir, 'b.json');
    const empty = new JsonValueWriter(await openTextSink(b), 'json');
    await empty.close();
    expect(JSON.parse(await readFile(b, 'utf8'))).toEqual([]);
  });

  it('writes JSON Lines', async () => {
    const a = join(dir, 'a.jsonl');
    const writer = new JsonValueWriter(await openTextSink(a), 'jsonl');
    await writer.write([1]);
    await writer.write('two\nlines');
    await writer.close();
    expect(await readFile(a, 'utf8')).toBe('[1]\n"two\\nlines"\n');
  });

  it('picks the container from the extension', () => {
    expect(containerFromPath('x.JSONL')).toBe('jsonl');
    expect(containerFromPath('x.ndjson')).toBe('jsonl');
    expect(containerFromPath('dir/x.json')).toBe('json');
    expect(containerFromPath('-')).toBeUndefined();
    expect(containerFromPath('out')).toBeUndefined();
  });
});

describe('openTextSink on targets that are not new regular files', () => {
  it('writes through a symbolic link: the real file is replaced, the link stays, no temporary file is left', async () => {
    const { lstat, symlink } = await import('node:fs/promises');
    await writeFile(join(dir, 'real.json'), 'old');
    await symlink(join(dir, 'real.json'), join(dir, 'link.json'));
    const sink = await openTextSink(join(dir, 'link.json'));
    await sink.write('new');
    await sink.close();
    expect((await lstat(join(dir, 'link.json'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, 'real.json'), 'utf8')).toBe('new');
    expect((await readdir(dir)).sort()).toEqual(['link.json', 'real.json']);
  });

  it('writes into /dev/null without a temporary file and without replacing it', async () => {
    const { stat } = await import('node:fs/promises');
    const sink = await openTextSink('/dev/null');
    await sink.write('x'.repeat(10_000));
    await sink.close();
    expect((await stat('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('a directory as target fails with output/write-failed naming it', async () => {
    await expect(openTextSink(dir, { what: 'rejects file' })).rejects.toMatchObject({
      diagnostic: {
        ruleId: 'output/write-failed',
        message: `Cannot write the rejects file ${dir}: it is a directory (EISDIR).`,
      },
    });
  });

  it('a failing stream fails write/close with the target named, and the temporary file is removed', async () => {
    const failing = new PassThrough();
    const sink = await openTextSink('-', { stdout: failing, bufferBytes: 4 });
    failing.destroy(Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE' }));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(Promise.resolve(sink.write('hello world'))).rejects.toMatchObject({
      diagnostic: { ruleId: 'output/write-failed', message: expect.stringMatching(/standard output.*EPIPE/) },
    });
  });
});
