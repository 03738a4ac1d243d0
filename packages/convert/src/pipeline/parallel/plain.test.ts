import type { Diagnostic } from '@llavakit/diagnostics';
import type { FormatPlugin, RecordContext } from '@llavakit/format';
import { parseElement } from '@llavakit/reader';
import { createRecordChecker, createRecordValidator, type RecordFacts, recordFactsOf } from '@llavakit/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_IMAGES } from '../../formats/__fixtures__/harness.js';
import { llavaFormat } from '../../formats/llava/index.js';
import { shareGptFormat } from '../../formats/sharegpt/index.js';
import { decodeItem, EncodeWatch, encodeOne } from '../walls.js';
import { PlainReader, plainString } from './plain.js';
import { type PlainOutput, plainEncoderFor, plainOutputBound } from './plain-encoders.js';

/**
 * The plain path against the full one, over generated element texts near the plain shape (and off it in every way
 * the reader must notice): whenever the reader takes a record, the full path (parse, decode, the record checker,
 * encode, `JSON.stringify`) must write it with no diagnostic, to the same bytes, with the same counts; and the
 * validator must find nothing in it and the same facts. Records the reader must take are generated too, and taken.
 */

const watch = new EncodeWatch(10_000);
const file = 'input.json';

interface Full {
  json: string | undefined;
  counts: [string, number][];
  notes: Diagnostic[];
}

function contextOf(format: FormatPlugin<object>, raw: object, counts: Map<string, number>, notes: Diagnostic[]) {
  const options = format.optionsSchema ? (format.optionsSchema.parse(raw) as object) : {};
  const context: RecordContext<object> = {
    options,
    file,
    index: 0,
    images: NO_IMAGES,
    report: (d) => notes.push(d),
    count: (event, by = 1) => counts.set(event, (counts.get(event) ?? 0) + by),
  };
  return context;
}

const check = createRecordChecker();

/** What the worker's full path does with one element. */
function full(bytes: Buffer, target: FormatPlugin<object>, targetOptions: object): Full {
  const counts = new Map<string, number>();
  const notes: Diagnostic[] = [];
  const decodeContext = contextOf(llavaFormat as FormatPlugin<object>, {}, counts, notes);
  const encodeContext = contextOf(target, targetOptions, counts, notes);
  const place = { index: 0, offset: 0, line: 1, column: 1, length: bytes.length };
  let item: ReturnType<typeof parseElement>;
  try {
    item = parseElement(bytes, place, file);
  } catch {
    return { json: undefined, counts: [], notes: [] };
  }
  const result = decodeItem(llavaFormat as FormatPlugin<object>, item, decodeContext, file);
  if (!result.ok) return { json: undefined, counts: [...counts], notes };
  const source = { record: result.record, index: 0, file, place };
  const found = check(source);
  notes.push(...found);
  if (found.some((d) => d.severity === 'error')) return { json: undefined, counts: [...counts], notes };
  const outcome = encodeOne(target, source, encodeContext, watch);
  if (outcome instanceof Promise) throw new Error('a built-in encode went asynchronous');
  return { json: outcome.ok ? outcome.json : undefined, counts: [...counts], notes };
}

const reader = new PlainReader();

/** What the plain path does with it: undefined when the reader does not take it. */
function plain(bytes: Buffer, target: FormatPlugin<object>, targetOptions: object) {
  // (offset into a larger buffer, as in a batch)
  const batch = Buffer.concat([Buffer.from('[\n  '), bytes, Buffer.from(',\n  {"id": 1}')]);
  const start = 4;
  const end = start + bytes.length;
  if (!reader.read(batch, start, end)) return undefined;
  const parsedOptions = target.optionsSchema ? (target.optionsSchema.parse(targetOptions) as object) : {};
  const encode = plainEncoderFor({ name: 'llava' }, { name: target.name }, parsedOptions)!;
  const out: PlainOutput = { buffer: new Uint8Array(plainOutputBound(bytes.length, reader.turns)), used: 0 };
  const counts = new Map<string, number>();
  encode(reader, batch, out, (event) => counts.set(event, (counts.get(event) ?? 0) + 1));
  return { json: Buffer.from(out.buffer.subarray(0, out.used)).toString('utf8'), counts: [...counts] };
}

// ---- generated elements

const piece = fc.constantFrom(
  'a',
  'What is in the image?',
  ' ',
  '\n',
  '\t',
  '\r',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\u0001',
  '\b',
  '\f',
  '<image>',
  '<image>',
  '<video>',
  '<imag',
  'image>',
  '<',
  '"',
  '\\',
  '/',
  'é',
  '猫',
  '🐱',
  '\ud800',
);
const text = fc.oneof(
  { weight: 3, arbitrary: fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
/** A value LLaVA files hold: the image token where they put it, or none. */
const plainText = fc
  .tuple(
    fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9 ,.?!é猫"\\/-]{0,20}[A-Za-z0-9.?!é猫"\\/-]$/), fc.boolean())
      .map(([t, cat]) => (cat ? `${t} 🐱!` : t)),
    fc.constantFrom('none', 'front', 'back', 'alone'),
  )
  .map(([t, at]) =>
    at === 'front' ? `<image>\n${t}` : at === 'back' ? `${t}\n<image>` : at === 'alone' ? '<image>' : t,
  );

const idToken = fc.oneof(
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    '0',
    '7',
    '123456789012345',
    '1234567890123456',
    '12345678901234567890',
    '-1',
    '-0',
    '1.0',
    '1e3',
    '007',
  ),
  fc.constantFrom('null', 'true', '"a\\/b"', '"\\u0041"', '[1]'),
);

interface Shape {
  id: string | undefined;
  image: unknown;
  model: unknown;
  extra: boolean;
  order: number;
  turns: { from: unknown; value: unknown; extra: boolean; swap: boolean }[];
}

const turn = fc.record({
  from: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('human', 'gpt') },
    { weight: 1, arbitrary: fc.constantFrom('system', 'Human', 'observation', 'gpt ') },
  ),
  value: fc.oneof(
    { weight: 6, arbitrary: plainText },
    { weight: 3, arbitrary: text },
    { weight: 1, arbitrary: fc.constant(5) },
  ),
  extra: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  swap: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

const shape: fc.Arbitrary<Shape> = fc.record({
  id: fc.option(idToken, { freq: 10 }).map((x) => x ?? undefined),
  image: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('coco/train2017/000000033471.jpg', 'gqa/images/1.jpg', 'a b/猫.png') },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u00a0', 'x\\y.jpg', 'a"b.jpg', '<image>.jpg') },
    { weight: 1, arbitrary: fc.constantFrom(['a.jpg'], ['a.jpg', 'b.jpg'], []) },
  ),
  model: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('', 'gpt-4', 'a"b', 'c\\d', 'é') },
    { weight: 1, arbitrary: fc.constant(3) },
  ),
  extra: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  order: fc.integer({ min: 0, max: 9 }),
  // alternating human/gpt most of the time, as the files hold them
  turns: fc.oneof(
    fc.array(turn, { maxLength: 6 }),
    fc
      .array(turn, { maxLength: 6 })
      .map((turns) => turns.map((t, i) => ({ ...t, from: i % 2 === 0 ? 'human' : 'gpt' }))),
  ),
});

/** The element's text: keys in the usual order (or not), pretty-printed or compact, with some escapes rewritten. */
function textOf(s: Shape, style: number): string {
  const entries: [string, string][] = [];
  const json = (v: unknown) => JSON.stringify(v);
  if (s.id !== undefined) entries.push(['id', s.id]);
  if (s.image !== undefined) entries.push(['image', json(s.image)]);
  if (s.model !== undefined) entries.push(['model', json(s.model)]);
  const turns = s.turns.map((t) => {
    const parts: [string, string][] = t.swap
      ? [
          ['value', json(t.value)],
          ['from', json(t.from)],
        ]
      : [
          ['from', json(t.from)],
          ['value', json(t.value)],
        ];
    if (t.extra) parts.push(['weight', '1']);
    return parts;
  });
  const pad = style % 3 === 0 ? '' : style % 3 === 1 ? '\n    ' : ' ';
  const turnText = (parts: [string, string][]) =>
    `{${parts.map(([k, v]) => `${pad}"${k}"${style % 2 ? ': ' : ':'}${v}`).join(',')}${pad}}`;
  entries.push(['conversations', `[${turns.map(turnText).join(',')}]`]);
  if (s.extra) entries.push(['data_source', '"x"']);
  if (s.order === 0) entries.reverse();
  if (s.order === 1 && entries.length > 2) entries.splice(0, 2, entries[1]!, entries[0]!);
  if (s.order === 2) entries.push(['id', '"again"']);
  if (s.order === 3 && entries.length > 3) entries.splice(1, 2, entries[2]!, entries[1]!);
  if (s.order === 4 && entries.length > 1) entries.splice(1, 0, entries[1]!);
  let out = `{${entries.map(([k, v]) => `${pad}"${k}"${style % 2 ? ': ' : ':'}${v}`).join(',')}${pad}}`;
  // Escapes JSON.stringify never writes, and bytes no JSON holds.
  if (style === 4) out = out.replaceAll('é', '\\u00e9');
  if (style === 5) out = out.replaceAll('/', '\\/');
  if (style === 6) out = out.replaceAll('\\u0001', '\u0001');
  if (style === 7) out = out.replaceAll('\\n', '\n');
  return out;
}

/** The plain shape itself (so the property meets it often), with an off-shape turn now and then. */
const plainShape: fc.Arbitrary<Shape> = fc
  .record({
    id: fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_é"\\-]{1,12}$/).map((s) => JSON.stringify(s)),
      fc.integer({ min: 0, max: 2 ** 40 }).map(String),
    ),
    image: fc.option(fc.constantFrom('coco/train2017/000000033471.jpg', 'a b/猫.png', 'x\\y "q".jpg'), { freq: 4 }),
    model: fc.option(fc.constantFrom('', 'gpt-4', 'é'), { freq: 2 }),
    pairs: fc.integer({ min: 1, max: 3 }),
    texts: fc.array(plainText, { minLength: 6, maxLength: 6 }),
    at: fc.constantFrom('front', 'back', 'alone'),
    off: fc.tuple(fc.integer({ min: 0, max: 4 }), turn).map(([n, t]) => (n === 0 ? t : null)),
    // keys out of their usual order or repeated, now and then
    order: fc.oneof({ weight: 6, arbitrary: fc.constant(9) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 4 }) }),
    both: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  })
  .map(({ id, image, model, pairs, texts, at, off, order, both }) => {
    const values = texts.map((t) => t.replaceAll('<image>', 'image')).map((t) => t.trim() || 'x');
    if (image !== null)
      values[0] = at === 'front' ? `<image>\n${values[0]}` : at === 'back' ? `${values[0]}\n<image>` : '<image>';
    const turns: Shape['turns'] = Array.from({ length: pairs * 2 }, (_, i) => ({
      from: i % 2 === 0 ? 'human' : 'gpt',
      value: values[i]!,
      extra: false,
      swap: false,
    }));
    if (off) turns[turns.length - 1] = off;
    return {
      id,
      image: image ?? undefined,
      // (a model key without an image: the shape of LLaVA-1.5's ShareGPT part; with one, off the plain shape)
      model: image === null || both ? (model ?? undefined) : undefined,
      extra: false,
      order,
      turns,
    };
  });

const element = fc
  .tuple(fc.oneof(plainShape, shape), fc.integer({ min: 0, max: 11 }))
  .map(([s, style]) => textOf(s, style));

const TARGETS: [FormatPlugin<object>, object][] = [
  [shareGptFormat as FormatPlugin<object>, {}],
  [llavaFormat as FormatPlugin<object>, {}],
  [llavaFormat as FormatPlugin<object>, { imageToken: 'keep' }],
];

describe('plain records: the bytes-only path writes what the full path writes', () => {
  for (const [target, options] of TARGETS) {
    it(`${target.name} ${JSON.stringify(options)}: same bytes and counts, never a record with a diagnostic`, () => {
      let taken = 0;
      fc.assert(
        fc.property(element, (text) => {
          const bytes = Buffer.from(text, 'utf8');
          const fast = plain(bytes, target, options);
          if (!fast) return;
          taken++;
          const slow = full(bytes, target, options);
          expect(slow.notes).toEqual([]);
          expect(fast.json).toBe(slow.json);
          expect(fast.counts).toEqual(slow.counts);
        }),
        { numRuns: 3000 },
      );
      // (the generator reaches the plain shape often enough for the property to say something)
      expect(taken).toBeGreaterThan(100);
    });
  }

  it('the validator finds nothing in a plain record, and the facts sent are its own', () => {
    const validate = createRecordValidator({ file, kind: 'llava' });
    fc.assert(
      fc.property(element, (text) => {
        const bytes = Buffer.from(text, 'utf8');
        if (!reader.read(bytes, 0, bytes.length)) return;
        const value = JSON.parse(text) as Record<string, unknown>;
        const { diagnostics, facts } = validate(value, { index: 0 });
        expect(diagnostics).toEqual([]);
        const id =
          reader.idKind === 1
            ? plainString(bytes, reader.idStart, reader.idEnd)
            : Number(text.slice(reader.idStart, reader.idEnd));
        const image = reader.imageStart < 0 ? undefined : plainString(bytes, reader.imageStart, reader.imageEnd);
        expect(recordFactsOf({ id, image })).toEqual(facts as RecordFacts);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the records of the LLaVA files', () => {
    const records = [
      {
        id: '000000033471',
        image: 'coco/train2017/000000033471.jpg',
        conversations: [
          { from: 'human', value: '<image>\nWhat are the colors of the bus in the image?' },
          { from: 'gpt', value: 'The bus in the image is white and red.' },
        ],
      },
      {
        id: 2327515,
        image: 'gqa/images/2327515.jpg',
        conversations: [
          { from: 'human', value: 'Is the sky dark?\n<image>' },
          { from: 'gpt', value: 'No' },
        ],
      },
      {
        id: 'qaQ8jfv_6',
        model: '',
        conversations: [
          { from: 'human', value: 'Write a "poem" about C:\\temp\n\nxxx' },
          { from: 'gpt', value: 'Sure!\n```js\nconst a = "b";\n```' },
        ],
      },
      {
        id: 'i',
        image: 'i.jpg',
        conversations: [
          { from: 'human', value: '<image>' },
          { from: 'gpt', value: 'ok 🐱' },
        ],
      },
    ];
    for (const record of records) {
      for (const indent of [undefined, 2, 4]) {
        const text = JSON.stringify(record, null, indent);
        const bytes = Buffer.from(text);
        expect(reader.read(bytes, 0, bytes.length), text).toBe(true);
        for (const [target, options] of TARGETS)
          expect(plain(bytes, target, options)?.json).toBe(full(bytes, target, options).json);
      }
    }
  });

  it('leaves what it is not sure of to the full path', () => {
    const base = {
      id: 'a',
      image: 'a.jpg',
      conversations: [
        { from: 'human', value: '<image>\nQ?' },
        { from: 'gpt', value: 'A.' },
      ],
    };
    const off = [
      { ...base, conversations: [{ from: 'human', value: 'Q? <image> here' }, base.conversations[1]] }, // image/placement
      { ...base, conversations: [{ from: 'human', value: '<image>\nQ? ' }, base.conversations[1]] }, // value/whitespace
      { ...base, conversations: [{ from: 'human', value: '<image>\nQ?\u00a0' }, base.conversations[1]] },
      { ...base, conversations: [base.conversations[0]] }, // roles/trailing-human
      { ...base, conversations: [base.conversations[0], { from: 'gpt', value: 'see <image>' }] }, // token-in-gpt
      {
        id: 'a',
        conversations: [
          { from: 'human', value: '<image>\nQ?' },
          { from: 'gpt', value: 'A.' },
        ],
      }, // text-only with a token
      { ...base, image: ['a.jpg'] },
      { ...base, data_source: 'x' },
      { image: 'a.jpg', id: 'a', conversations: base.conversations },
      { ...base, conversations: [{ value: '<image>\nQ?', from: 'human' }, base.conversations[1]] },
      { ...base, id: 1.5 },
    ];
    for (const record of off) {
      const bytes = Buffer.from(JSON.stringify(record, null, 2));
      expect(reader.read(bytes, 0, bytes.length), JSON.stringify(record)).toBe(false);
    }
    for (const text of [
      '{"id":"a\\u0041","conversations":[{"from":"human","value":"Q"},{"from":"gpt","value":"A"}]}',
      '{"id":"a","conversations":[{"from":"human","value":"Q\\/"},{"from":"gpt","value":"A"}]}',
      '{"id":"a","conversations":[{"from":"human","value":"Q\u0001"},{"from":"gpt","value":"A"}]}',
      '{"id":007,"conversations":[{"from":"human","value":"Q"},{"from":"gpt","value":"A"}]}',
    ]) {
      const bytes = Buffer.from(text);
      expect(reader.read(bytes, 0, bytes.length), text).toBe(false);
    }
  });
});
