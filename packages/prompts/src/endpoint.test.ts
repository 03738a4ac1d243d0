import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinBatchOutput } from './batch-output.js';
import { callChatEndpoint } from './endpoint.js';
import type { ChatRequest } from './request.js';

type Handler = (body: { messages: { content: string }[] }, req: IncomingMessage, res: ServerResponse) => void;

let dir: string;
let server: Server;
let baseUrl: string;
let handler: Handler;
let inFlight = 0;
let maxInFlight = 0;
const seenAuth: (string | undefined)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prompts-endpoint-'));
  inFlight = 0;
  maxInFlight = 0;
  seenAuth.length = 0;
  server = createServer(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    seenAuth.push(req.headers.authorization);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await new Promise((r) => setTimeout(r, 5));
    res.on('finish', () => inFlight--);
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    handler(JSON.parse(Buffer.concat(chunks).toString('utf8')), req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterEach(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

function reply(res: ServerResponse, content: string) {
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
  res.end(
    JSON.stringify({
      id: 'chatcmpl-1',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    }),
  );
}

function requests(n: number): ChatRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `detail:${i}`,
    method: 'POST' as const,
    url: '/v1/chat/completions' as const,
    body: { model: 'local', messages: [{ role: 'user' as const, content: `image ${i}` }] },
  }));
}

const paths = () => ({ outputFile: join(dir, 'out.jsonl'), errorFile: join(dir, 'err.jsonl') });

describe('callChatEndpoint', () => {
  it('answers every request with bounded concurrency and writes Batch-shaped output', async () => {
    handler = (body, _req, res) => reply(res, `seen ${body.messages.at(-1)!.content}`);
    const progress: number[] = [];
    const result = await callChatEndpoint(requests(12), {
      baseUrl,
      ...paths(),
      concurrency: 3,
      apiKeyEnv: 'TEST_LLAVA_KEY',
      env: { TEST_LLAVA_KEY: 'sk-test' },
      onProgress: (p) => progress.push(p.done),
    });
    expect(result).toMatchObject({ succeeded: 12, failed: 0, skipped: 0 });
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(seenAuth.every((a) => a === 'Bearer sk-test')).toBe(true);
    expect(progress.at(-1)).toBe(12);
    const joined = await joinBatchOutput({ ...paths(), expected: requests(12).map((r) => r.custom_id) });
    expect(joined.diagnostics).toEqual([]);
    expect(joined.results[5]).toMatchObject({ ok: true, content: 'seen image 5', statusCode: 200 });
  });

  it('retries 429 and 5xx with backoff, honours Retry-After, and gives up on 400', async () => {
    const attempts = new Map<string, number>();
    handler = (body, _req, res) => {
      const key = body.messages.at(-1)!.content;
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (key === 'image 0' && n === 1) return void res.writeHead(429, { 'retry-after': '0' }).end('{}');
      if (key === 'image 1' && n < 3) return void res.writeHead(503).end('busy');
      if (key === 'image 2') {
        res.writeHead(400, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { message: 'context too long' } }));
      }
      if (key === 'image 3') return void res.writeHead(500).end();
      reply(res, 'fine');
    };
    const result = await callChatEndpoint(requests(4), {
      baseUrl,
      ...paths(),
      retries: 2,
      baseDelayMs: 1,
      maxDelayMs: 5,
      env: {},
    });
    expect(result).toMatchObject({ succeeded: 2, failed: 2 });
    expect(attempts.get('image 0')).toBe(2);
    expect(attempts.get('image 1')).toBe(3);
    expect(attempts.get('image 2')).toBe(1);
    expect(attempts.get('image 3')).toBe(3);
    expect(seenAuth.every((a) => a === undefined)).toBe(true);
    expect(result.diagnostics.map((d) => d.recordId).sort()).toEqual(['detail:2', 'detail:3']);
    const joined = await joinBatchOutput({ ...paths(), expected: requests(4).map((r) => r.custom_id) });
    expect(joined.results.map((r) => r.ok)).toEqual([true, true, false, false]);
    expect(joined.results[2]).toMatchObject({ statusCode: 400, error: 'context too long' });
  });

  it('resumes from a partial output: keeps finished results, cuts a broken last line, retries failures', async () => {
    const { outputFile, errorFile } = paths();
    const done = (id: string) =>
      JSON.stringify({
        id: 'x',
        custom_id: id,
        response: { status_code: 200, body: { choices: [{ message: { content: 'old' } }] } },
        error: null,
      });
    await writeFile(outputFile, `${done('detail:0')}\n${done('detail:1')}\n{"id": "x", "custom_id": "detail:2", "resp`);
    await writeFile(errorFile, '{"custom_id": "detail:3", "error": {"message": "old failure"}}\n');
    const asked: string[] = [];
    handler = (body, _req, res) => {
      asked.push(body.messages.at(-1)!.content);
      reply(res, 'new');
    };
    const result = await callChatEndpoint(requests(4), { baseUrl, outputFile, errorFile, env: {} });
    expect(result).toMatchObject({ succeeded: 2, skipped: 2, failed: 0 });
    expect(asked.sort()).toEqual(['image 2', 'image 3']);
    expect(result.diagnostics.map((d) => d.ruleId)).toEqual(['prompts/bad-line']);
    expect(await readFile(errorFile, 'utf8')).toBe('');
    const joined = await joinBatchOutput({ outputFile, errorFile, expected: requests(4).map((r) => r.custom_id) });
    expect(joined.diagnostics).toEqual([]);
    expect(joined.results.map((r) => (r.ok ? r.content : r.error))).toEqual(['old', 'old', 'new', 'new']);
  });

  it('reports network errors after retries', async () => {
    server.close();
    const result = await callChatEndpoint(requests(1), { baseUrl, ...paths(), retries: 1, baseDelayMs: 1, env: {} });
    expect(result.failed).toBe(1);
    const line = JSON.parse(await readFile(paths().errorFile, 'utf8'));
    expect(line).toMatchObject({ custom_id: 'detail:0', response: null, error: { code: 'network_error' } });
  });
});
