import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DiagnosticError, type RuleMeta } from '@llavakit/diagnostics';
import {
  createImageResolver,
  type ImageResolver,
  type ImageSource,
  imageRules,
  parseImageSourceSpec,
} from '@llavakit/images';
import { conversationTemplates, promptRules } from '@llavakit/prompts';
import { readerRules } from '@llavakit/reader';
import { validationRules } from '@llavakit/schema';
import { DatasetIndex, type IndexProgress, type RecordDecoder } from './dataset.js';
import { createDefaultMetrics, type RecordMetrics } from './metrics.js';
import { computeStats, filterKey, matchRecords, parseFilter, type RecordFilter } from './query.js';
import { readImage, readRecordView, readRows } from './records.js';
import { searchRecords } from './search.js';

/** Options of {@link startViewer}. */
export interface ViewerOptions {
  /** Data files (JSON arrays or JSONL), indexed in this order. */
  readonly inputs: readonly string[];
  /** Image sources in lookup order: specs (`PATH`, `PREFIX=PATH`, `x.zip`) or parsed sources. */
  readonly images?: readonly (string | ImageSource)[];
  /** Interface to bind (default `127.0.0.1`, loopback only). */
  readonly host?: string;
  /** Port (default 0: a free port chosen by the system). */
  readonly port?: number;
  /** Per-record numbers (default {@link createDefaultMetrics}: LLaMA tokens). */
  readonly metrics?: RecordMetrics;
  /** Rows per page (default 50). */
  readonly pageSize?: number;
  /** Progress of the index build. */
  readonly onProgress?: (progress: IndexProgress) => void;
  /**
   * Abort the index build. When no input yields a single record, `startViewer` rejects with the `DiagnosticError`
   * of the first file-level error (a folder, an empty or unreadable file, not JSON).
   */
  readonly signal?: AbortSignal;
  /** Count every record's tokens in the background once the server is up (default true). */
  readonly countTokens?: boolean;
  /** A record-level format's `decode` for the JSON/JSONL inputs (see {@link IndexOptions.decode}). */
  readonly decode?: RecordDecoder;
}

/** A running viewer. */
export interface Viewer {
  /** The URL to open, with the access token: `http://127.0.0.1:PORT/?token=…`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The index the viewer serves. */
  readonly index: DatasetIndex;
  /** Settles when the background token count is done (or stopped by {@link Viewer.close}). */
  readonly tokensCounted: Promise<void>;
  /** Stop serving, close open connections, the files and the image archives. */
  close(): Promise<void>;
}

/** The page: its HTML, its style sheet and its ES modules (every `.js` file of the built page folder). */
function pageFiles(folder: string): Record<string, { type: string; body: Buffer }> {
  const files: Record<string, { type: string; body: Buffer }> = {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(`${folder}index.html`) },
    '/style.css': { type: 'text/css; charset=utf-8', body: readFileSync(`${folder}style.css`) },
  };
  for (const name of readdirSync(folder)) {
    if (/^[a-z][a-z0-9-]*\.js$/.test(name)) {
      files[`/${name}`] = { type: 'text/javascript; charset=utf-8', body: readFileSync(folder + name) };
    }
  }
  return files;
}

/** The built page's folder: `dist/page` beside this module (or beside `src/`, when run from the sources). */
function pageFolder(): string {
  for (const candidate of ['./page/', '../dist/page/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${dir}index.html`) && existsSync(`${dir}app.js`)) return dir;
  }
  throw new Error('The viewer page is not built: run the package build (`pnpm --filter @llavakit/view build`).');
}

/** Every response carries these. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const RULE_CATALOGS: readonly Readonly<Record<string, RuleMeta>>[] = [
  validationRules,
  imageRules,
  readerRules,
  promptRules,
];

function ruleTitles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const catalog of RULE_CATALOGS) for (const rule of Object.values(catalog)) out[rule.id] = rule.title;
  return out;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Index the inputs and serve the viewer: a page (paged table, record view with chat, images, diagnostics and a LLaVA
 * template rendering, filters, search, stats) and its JSON API. The index holds byte offsets and compact columns,
 * records are read back with positional reads. Every request needs the random token of the returned URL (as the
 * `token` query parameter on the first load, which sets a cookie, or the `X-Llava-Token` header); others get 403.
 * The server only reads: images come only through the `@llavakit/images` resolver, by record number and slot.
 *
 * @example
 * ```ts
 * const viewer = await startViewer({ inputs: ['llava_v1_5_mix665k.json'], images: ['./playground/data'] });
 * console.log(viewer.url); // http://127.0.0.1:41234/?token=…
 * // … later
 * await viewer.close();
 * ```
 */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  if (options.inputs.length === 0) throw new TypeError('startViewer: no inputs');
  const host = options.host ?? '127.0.0.1';
  const pageSize = Math.max(1, Math.min(500, options.pageSize ?? 50));
  const metrics = options.metrics ?? createDefaultMetrics();
  const page = pageFiles(pageFolder());
  const imageSources = (options.images ?? []).map((s) => (typeof s === 'string' ? parseImageSourceSpec(s) : s));
  const resolver: ImageResolver | undefined = imageSources.length > 0 ? createImageResolver(imageSources) : undefined;
  let index: DatasetIndex;
  try {
    index = await DatasetIndex.build(options.inputs, {
      metrics,
      resolver,
      ...(resolver ? { imageSources } : {}),
      onProgress: options.onProgress,
      signal: options.signal,
      ...(options.decode ? { decode: options.decode } : {}),
    });
  } catch (error) {
    await resolver?.close();
    throw error;
  }
  // nothing to show at all (a folder, an unreadable or empty file, not JSON): say why instead of serving nothing
  const fatal = index.count === 0 ? index.fileDiagnostics.find((d) => d.severity === 'error') : undefined;
  if (fatal) {
    await index.close();
    await resolver?.close();
    throw new DiagnosticError(fatal);
  }

  const token = randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const titles = ruleTitles();
  const matches = new Map<string, Uint32Array>();
  const matching = (filter: RecordFilter): Uint32Array => {
    const key = filterKey(filter);
    const cached = matches.get(key);
    // results of a length filter change while tokens are being counted: cache them only once counting is done
    if (cached && (index.tokensDone || (filter.minTokens === undefined && filter.maxTokens === undefined))) {
      return cached;
    }
    const found = matchRecords(index, filter);
    if (matches.size >= 16) matches.delete(matches.keys().next().value!);
    matches.set(key, found);
    return found;
  };

  let port = 0;
  let cookieName = '';
  let active = 0;
  const server: Server = createServer((req, res) => {
    active++;
    res.on('close', () => active--);
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(data.length),
      ...headers,
    });
    res.end(res.req.method === 'HEAD' ? undefined : data);
  };

  const tokenOk = (given: string | undefined | null): boolean => {
    if (!given) return false;
    const bytes = Buffer.from(given);
    return bytes.length === tokenBytes.length && timingSafeEqual(bytes, tokenBytes);
  };

  const cookieToken = (req: IncomingMessage): string | undefined => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === cookieName) return part.slice(eq + 1).trim();
    }
    return undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // a page of another site that resolves a name to 127.0.0.1 (DNS rebinding) sends its own Host: refuse it
    const hostHeader = req.headers.host ?? '';
    if (isLoopback(host)) {
      const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`];
      if (!allowed.includes(hostHeader)) return send(res, 403, { error: 'Forbidden host.' });
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const queryToken = url.searchParams.get('token');
    const viaQuery = tokenOk(queryToken);
    const headerToken = req.headers['x-llava-token'];
    const authorised =
      viaQuery || tokenOk(cookieToken(req)) || tokenOk(typeof headerToken === 'string' ? headerToken : undefined);
    if (!authorised)
      return send(res, 403, { error: 'Forbidden: open the URL printed by `llava view` (with its token).' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { error: 'The viewer only reads.' }, { Allow: 'GET, HEAD' });
    }
    const cookie = `${cookieName}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    if (viaQuery && url.pathname === '/') {
      // the token leaves the address bar: the cookie carries it from now on (the hash, the place, is kept)
      url.searchParams.delete('token');
      const rest = url.searchParams.toString();
      res.writeHead(303, { ...SECURITY_HEADERS, Location: `/${rest ? `?${rest}` : ''}`, 'Set-Cookie': cookie });
      res.end();
      return;
    }
    const params = url.searchParams;
    const path = url.pathname;
    const asset = Object.hasOwn(page, path) ? page[path] : undefined;
    if (asset) {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': asset.type,
        'Content-Length': String(asset.body.length),
        ...(viaQuery ? { 'Set-Cookie': cookie } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    const recordNumber = (name = 'n'): number | undefined => {
      const v = params.get(name);
      if (v === null || !/^\d{1,10}$/.test(v)) return undefined;
      const n = Number(v);
      return n < index.count ? n : undefined;
    };
    switch (path) {
      case '/api/meta':
        return send(res, 200, {
          files: index.files.map(({ name, size, first, records, kind }) => ({ name, size, first, records, kind })),
          records: index.count,
          sources: index.sources,
          rules: index.ruleCounts().map((r) => ({ ...r, title: titles[r.ruleId] ?? r.ruleId })),
          fileDiagnostics: index.fileDiagnostics.slice(0, 200),
          templates: conversationTemplates,
          tokenizer: metrics.tokenizer,
          tokensCounted: index.tokensCounted,
          tokensDone: index.tokensDone,
          imagesChecked: index.imagesChecked,
          pageSize,
        });
      case '/api/rows': {
        const list = matching(parseFilter(params));
        const size = Math.max(1, Math.min(500, Number(params.get('size')) || pageSize));
        const pages = Math.max(1, Math.ceil(list.length / size));
        const pageNo = Math.min(pages, Math.max(1, Math.floor(Number(params.get('page')) || 1)));
        const slice = list.subarray((pageNo - 1) * size, pageNo * size);
        return send(res, 200, {
          total: list.length,
          page: pageNo,
          pages,
          size,
          rows: await readRows(index, metrics, slice),
        });
      }
      case '/api/record': {
        const n = recordNumber();
        if (n === undefined) return send(res, 404, { error: 'No such record.' });
        const list = matching(parseFilter(params));
        const at = lowerBound(list, n);
        const position = list[at] === n ? at : -1;
        const view = await readRecordView(index, metrics, resolver, n, params.get('template') ?? 'v1');
        return send(res, 200, {
          ...view,
          // neighbours in the filtered list, for previous/next
          previous: position > 0 ? list[position - 1] : null,
          next: position >= 0 && position + 1 < list.length ? list[position + 1] : null,
          position,
          total: list.length,
        });
      }
      case '/api/image': {
        const n = recordNumber();
        const slotText = params.get('slot') ?? '';
        if (n === undefined || !/^\d{1,4}$/.test(slotText)) return send(res, 404, { error: 'No such image.' });
        const image = await readImage(index, resolver, n, Number(slotText));
        if (!image.ok) return send(res, image.status, { error: image.message });
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': image.type,
          'Content-Length': String(image.bytes.length),
        });
        res.end(req.method === 'HEAD' ? undefined : image.bytes);
        return;
      }
      case '/api/search': {
        const q = (params.get('q') ?? '').trim();
        if (q === '' || q.length > 200) return send(res, 400, { error: 'Search for 1 to 200 characters.' });
        const list = matching(parseFilter(params));
        const from = Math.max(0, Math.floor(Number(params.get('from')) || 0));
        const limit = Math.max(1, Math.min(200, Number(params.get('limit')) || pageSize));
        const found = await searchRecords(index, list, q, from, limit, 1500);
        return send(res, 200, { ...found, total: list.length, rows: await readRows(index, metrics, found.matches) });
      }
      case '/api/stats':
        return send(res, 200, computeStats(index, matching(parseFilter(params))));
      default:
        return send(res, 404, { error: 'Not found.' });
    }
  }

  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await index.close();
    await resolver?.close();
    throw error;
  }
  port = (server.address() as AddressInfo).port;
  cookieName = `llava_view_${port}`;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const stop = new AbortController();
  const tokensCounted =
    options.countTokens === false
      ? Promise.resolve()
      : index
          .countTokens(metrics, stop.signal, () => active > 0)
          .catch((error: unknown) => {
            if (!stop.signal.aborted) throw error;
          });
  tokensCounted.catch(() => {});
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    host,
    port,
    index,
    tokensCounted,
    close() {
      closing ??= (async () => {
        stop.abort();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
        await tokensCounted.catch(() => {});
        await index.close();
        await resolver?.close();
      })();
      return closing;
    },
  };
}

/** First position in a sorted list whose value is ≥ n. */
function lowerBound(list: Uint32Array, n: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
