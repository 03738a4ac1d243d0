/**
 * Test helpers (internal): a generated dataset with real images in a folder and in a zip archive, and records with
 * known problems, so the tests know which rows, rules and images to expect.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LlavaRecord, SourceRecord, WriteContext } from '@llavakit/format';
import { type ParquetOptions, parquetOptionsSchema, writeParquet } from '@llavakit/format-parquet';
import { encodeTinyImage } from '@llavakit/testkit';
import yazl from 'yazl';

/** What {@link makeDataset} wrote. */
export interface TestDataset {
  readonly dir: string;
  /** The JSON array and the JSONL file. */
  readonly json: string;
  readonly jsonl: string;
  /** Image sources: a folder served for `coco/…`, a zip for `gqa/…`. */
  readonly images: string[];
  /** Number of records in `json`. */
  readonly records: number;
  /** Record indexes with known problems. */
  readonly known: {
    readonly missingImage: number;
    readonly brokenImage: number;
    readonly zipImage: number;
    readonly alternation: number;
    readonly duplicateId: number;
    readonly tokenCount: number;
    readonly textOnly: number;
    readonly escapes: number;
    readonly symlinkOut: number;
    readonly brokenJson: number;
  };
  cleanup(): Promise<void>;
}

const WORDS = ['cat', 'dog', 'red', 'bus', 'tree', 'sky', 'table', 'bike', 'girl', 'boat', 'kite', 'train'];

async function zipOf(entries: Record<string, Uint8Array>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of Object.entries(entries)) {
    zip.addBuffer(Buffer.from(bytes), name, { compress: false, mtime: new Date(2024, 0, 1) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Write a dataset of `count` (≥ 40) LLaVA records: `coco/…` images (JPEG and PNG, various sizes and colours) in a
 * folder, `gqa/…` images (WEBP, GIF) in `gqa.zip`, text-only records with `data_source`, and the known problems of
 * {@link TestDataset.known}. Record 0 is clean, with a JPEG from the folder.
 */
export async function makeDataset(count = 120): Promise<TestDataset> {
  const dir = await mkdtemp(join(tmpdir(), 'llavakit-view-'));
  const folder = join(dir, 'images');
  const zipEntries: Record<string, Uint8Array> = {};
  const records: unknown[] = [];
  const known = {
    missingImage: 7,
    brokenImage: 9,
    zipImage: 3,
    alternation: 11,
    duplicateId: 13,
    tokenCount: 15,
    textOnly: 22,
    escapes: 18,
    symlinkOut: 19,
    brokenJson: 21,
  };
  const put = async (rel: string, bytes: Uint8Array | string) => {
    const path = join(folder, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  };
  // a file outside the sources that a symlink inside points at (the viewer must refuse it)
  await writeFile(join(dir, 'secret.jpg'), encodeTinyImage('jpeg', { width: 8, height: 8 }));
  for (let i = 0; i < count; i++) {
    const word = WORDS[i % WORDS.length]!;
    const other = WORDS[(i * 7 + 3) % WORDS.length]!;
    const color = [(i * 37) % 256, (i * 91 + 60) % 256, (i * 53 + 120) % 256] as const;
    const turns = [
      { from: 'human', value: `<image>\nWhat is the ${word} next to the ${other} doing in picture ${i}?` },
      { from: 'gpt', value: `The ${word} is standing next to a ${other}. It looks calm; the light is soft.` },
      { from: 'human', value: `What colour is the ${other}?` },
      { from: 'gpt', value: `It is mostly ${WORDS[(i + 5) % WORDS.length]}-coloured.` },
    ];
    let record: Record<string, unknown>;
    if (i % 5 === 2 && i !== known.missingImage) {
      record = {
        id: `text-${i}`,
        data_source: 'sharegpt',
        conversations: [
          { from: 'human', value: `Write one sentence about a ${word}.` },
          { from: 'gpt', value: `A ${word} sat quietly by the ${other} all afternoon.` },
        ],
      };
    } else if (i % 4 === known.zipImage % 4) {
      const name = `gqa/images/${2_300_000 + i}.${i % 8 === 3 ? 'webp' : 'gif'}`;
      zipEntries[name.slice('gqa/'.length)] = encodeTinyImage(i % 8 === 3 ? 'webp' : 'gif', {
        width: 240 + (i % 5) * 16,
        height: 180 + (i % 3) * 16,
        color,
      });
      record = { id: String(2_300_000 + i), image: name, conversations: turns };
    } else {
      const jpeg = i % 2 === 0;
      const name = `coco/train2017/${String(i).padStart(12, '0')}.${jpeg ? 'jpg' : 'png'}`;
      await put(name, encodeTinyImage(jpeg ? 'jpeg' : 'png', { width: 320 + (i % 4) * 32, height: 240, color }));
      record = { id: String(i).padStart(12, '0'), image: name, conversations: turns };
    }
    records.push(record);
  }
  const at = (i: number) => records[i] as Record<string, unknown>;
  at(known.missingImage).image = 'coco/train2017/000000999999.jpg';
  at(known.missingImage).id = 'missing-image';
  at(known.brokenImage).image = 'coco/train2017/broken.jpg';
  await put('coco/train2017/broken.jpg', '404: Not Found\n');
  at(known.alternation).conversations = [
    { from: 'human', value: '<image>\nDescribe the scene.' },
    { from: 'human', value: 'And the sky?' },
  ];
  at(known.duplicateId).id = at(0).id;
  at(known.tokenCount).conversations = [
    { from: 'human', value: 'No image token here, although there is an image.' },
    { from: 'gpt', value: 'Indeed.' },
  ];
  at(known.escapes).conversations = [
    { from: 'human', value: '<image>\nRead the sign: "ZEBRA crossing"\nthen tell me.' },
    { from: 'gpt', value: 'It says "ZEBRA crossing".' },
  ];
  at(known.symlinkOut).image = 'coco/train2017/linked.jpg';
  await mkdir(join(folder, 'coco/train2017'), { recursive: true });
  await symlink(join(dir, 'secret.jpg'), join(folder, 'coco/train2017/linked.jpg'));
  const parts = records.map((r) => JSON.stringify(r, null, 2));
  // one record with a trailing comma: broken JSON inside an otherwise readable file
  parts[known.brokenJson] = '{"id": "broken", "conversations": [],}';
  const json = join(dir, 'data.json');
  await writeFile(json, `[\n${parts.map((p) => p.replace(/^/gm, '  ')).join(',\n')}\n]\n`);
  const jsonl = join(dir, 'more.jsonl');
  await writeFile(
    jsonl,
    `${records
      .slice(0, 10)
      .map((r) => JSON.stringify(r))
      .join('\n')}\n`,
  );
  const zip = join(dir, 'gqa.zip');
  await writeFile(zip, await zipOf(zipEntries));
  return {
    dir,
    json,
    jsonl,
    images: [`coco=${join(folder, 'coco')}`, `gqa=${zip}`],
    records: count,
    known,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const jpeg = encodeTinyImage('jpeg', { width: 16, height: 8 });
const png = encodeTinyImage('png', { width: 4, height: 4, color: [10, 200, 30] });
const chat = (q: string, a = `Answer about ${q}`) => [
  { from: 'human', value: `<image>\n${q}` },
  { from: 'gpt', value: a },
];

/** Seven records in row groups of 3: embedded JPEG and PNG, a text-only one, a duplicate id, a broken turn order. */
export const PARQUET_RECORDS: LlavaRecord[] = [
  { id: 'a', image: 'coco/1.jpg', conversations: chat('What is the cat doing?'), data_source: 'coco' },
  { id: 'b', image: 'gqa/2.png', conversations: chat('Which colour is the bus?'), data_source: 'gqa' },
  {
    id: 'text',
    conversations: [
      { from: 'human', value: 'Say hello' },
      { from: 'gpt', value: 'hello' },
    ],
  },
  { id: 'c', image: 'coco/1.jpg', conversations: chat('Is there a ZEBRA crossing?'), data_source: 'coco' },
  {
    id: 'turns',
    image: 'gqa/2.png',
    conversations: [
      { from: 'human', value: '<image>\nfirst' },
      { from: 'human', value: 'second' },
      { from: 'gpt', value: 'reply' },
    ],
    data_source: 'gqa',
  },
  { id: 'a', image: 'coco/1.jpg', conversations: chat('again a'), data_source: 'coco' },
  { id: 'last', image: 'gqa/2.png', conversations: chat('the end'), data_source: 'gqa' },
];
/** The embedded images of {@link PARQUET_RECORDS}, by path. */
export const PARQUET_BYTES: ReadonlyMap<string, Uint8Array> = new Map([
  ['coco/1.jpg', jpeg],
  ['gqa/2.png', png],
]);

/** Write the records as a Hub folder (data/train-…parquet) with the format-parquet writer, images embedded. */
export async function writeParquetHub(
  out: string,
  records: readonly LlavaRecord[] = PARQUET_RECORDS,
  rowGroupRows = 3,
  bytes: ReadonlyMap<string, Uint8Array> = PARQUET_BYTES,
): Promise<void> {
  const context: WriteContext<ParquetOptions> = {
    options: parquetOptionsSchema.parse({ rowGroupRows }),
    file: out,
    output: { path: out },
    report: () => {},
    count: () => {},
    images: { rewrite: (p) => p, readBytes: async (p) => bytes.get(p) },
    accept: () => {},
    reject: (_s, d) => {
      throw new Error(`rejected: ${JSON.stringify(d)}`);
    },
  };
  async function* source(): AsyncGenerator<SourceRecord> {
    for (const [index, record] of records.entries()) yield { record, index, file: 'in.json' };
  }
  await writeParquet(source(), context);
}
