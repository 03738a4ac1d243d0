import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { type Diagnostic, placeInText, renderReport } from '@llavakit/diagnostics';
import { describe, expect, it } from 'vitest';
import { locatePointer } from './locate.js';
import { validationRules } from './rules.js';
import { checkRecord, classifyPath, createRecordChecker, createValidator } from './validator.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__/rules');
const update = process.env.UPDATE_FIXTURES === '1';

/** Split a pretty JSON array fixture into its elements with their places (as the reader reports them). */
function elements(
  text: string,
): { value: unknown; text: string; place: { index: number; offset: number; line: number; column: number } }[] {
  const values = JSON.parse(text) as unknown[];
  const starts = values.map((_, k) => locatePointer(text, `/${k}`));
  return values.map((value, k) => {
    const start = starts[k]!;
    const end = k + 1 < starts.length ? text.lastIndexOf(',', starts[k + 1]!) : text.lastIndexOf(']');
    const place = placeInText(text, start, { offset: 0, line: 1, column: 1 });
    return {
      value,
      text: text.slice(start, end).trimEnd(),
      place: { index: k, offset: place.offset!, line: place.line!, column: place.column! },
    };
  });
}

async function validateText(text: string, file: string): Promise<Diagnostic[]> {
  const validator = createValidator({ file });
  const out: Diagnostic[] = [];
  for (const e of elements(text)) out.push(...validator.check(e.value, e.place, e.text));
  out.push(...validator.finish());
  return out;
}

describe('rule fixtures (src/__fixtures__/rules/<rule-id>/)', async () => {
  const names = (await readdir(fixtures)).sort();
  it('cover every rule of the catalog', () => {
    const ids = Object.values(validationRules).map((r) => r.id.replaceAll('/', '-'));
    expect(names).toEqual([...ids].sort());
  });
  for (const name of names) {
    it(name, async () => {
      const text = await readFile(join(fixtures, name, 'input.json'), 'utf8');
      const diagnostics = await validateText(text, 'input.json');
      expect(diagnostics.map((d) => d.ruleId)).toContain(name.replace('-', '/'));
      const rendered = renderReport(diagnostics);
      const expectedPath = join(fixtures, name, 'expected.txt');
      if (update || !existsSync(expectedPath)) await writeFile(expectedPath, rendered);
      expect(rendered).toBe(await readFile(expectedPath, 'utf8'));
    });
  }
});

const H = (value: string) => ({ from: 'human', value });
const G = (value: string) => ({ from: 'gpt', value });

describe('checkRecord', () => {
  it('accepts both LLaVA placements of <image>, integer ids, extra keys and text-only records', () => {
    expect(checkRecord({ id: 'a', image: 'a.jpg', conversations: [H('<image>\nQ?'), G('A.')] })).toEqual([]);
    expect(checkRecord({ id: 2327515, image: 'g/1.jpg', conversations: [H('Q?\n<image>'), G('A.')] })).toEqual([]);
    expect(checkRecord({ id: 'wgByO4Y_0', model: '', conversations: [H('Hi'), G('Hello')] })).toEqual([]);
  });

  it('reports an image without a token as an error: LLaVA silently ignores the image', () => {
    const [d, ...rest] = checkRecord(
      { id: 'x', image: 'x.jpg', conversations: [H('Describe.'), G('A cat.')] },
      { file: 'f.json', place: { index: 4, offset: 100, line: 7, column: 3 } },
    );
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      ruleId: 'image/token-count',
      severity: 'error',
      file: 'f.json',
      recordIndex: 4,
      recordId: 'x',
      pointer: '/image',
      place: { offset: 100, line: 7, column: 3 },
      excerpt: '"x.jpg"',
      data: { images: 1, tokens: 0 },
    });
    expect(d!.hint).toBe(validationRules.imageTokenCount.hint);
  });

  it('points at the offending line inside the record text', () => {
    const text =
      '{\n  "id": "r",\n  "conversations": [\n    {"from": "human", "value": "Q"},\n    {"from": "bot", "value": "A"}\n  ]\n}';
    const [d] = checkRecord(JSON.parse(text), { text, place: { index: 0, offset: 10, line: 3, column: 3 } });
    expect(d).toMatchObject({ ruleId: 'roles/unknown', pointer: '/conversations/1/from' });
    // line 3 + 4 newlines; column of `"bot"` on its line
    expect(d!.place).toEqual({ offset: 10 + text.indexOf('"bot"'), line: 7, column: 14 });
  });

  it('a leading gpt turn is a warning and alternation is checked after dropping it', () => {
    const found = checkRecord({ conversations: [G('Hi'), H('Q'), G('A')] });
    expect(found.map((d) => [d.ruleId, d.severity])).toEqual([['roles/leading-gpt', 'warning']]);
    const bad = checkRecord({ conversations: [G('Hi'), G('Q'), H('A')] });
    expect(bad.map((d) => d.ruleId)).toEqual(['roles/leading-gpt', 'roles/alternation']);
  });

  it('image lists are an error for LLaVA v1 and fine for LLaVA-NeXT with one token per image', () => {
    const record = { image: ['a.jpg', 'b.jpg'], conversations: [H('<image>\n<image>\nCompare.'), G('Same.')] };
    expect(checkRecord(record).map((d) => d.ruleId)).toEqual(['image/list']);
    expect(checkRecord(record, { kind: 'llava-next' })).toEqual([]);
    const short = { ...record, conversations: [H('<image>\nCompare.'), G('Same.')] };
    expect(checkRecord(short, { kind: 'llava-next' }).map((d) => d.ruleId)).toEqual(['image/token-count']);
  });

  it('counts a video as one visual', () => {
    expect(checkRecord({ video: 'v.mp4', conversations: [H('<image>\nWhat happens?'), G('A goal.')] })).toEqual([]);
  });

  it('checks <video> tokens against the videos, and never asks a video record for an <image> token', () => {
    const kinds = { kind: 'llava-next' as const };
    expect(checkRecord({ video: 'v.mp4', conversations: [H('<video>What happens?'), G('A goal.')] }, kinds)).toEqual(
      [],
    );
    const list = { video: ['a.mp4', 'b.mp4'], conversations: [H('<video><video>Compare.'), G('Same.')] };
    expect(checkRecord(list, kinds)).toEqual([]);
    const mixed = { image: 'a.jpg', video: 'v.mp4', conversations: [H('<image>\n<video>Both?'), G('Yes.')] };
    expect(checkRecord(mixed, kinds)).toEqual([]);
    const short = checkRecord({ ...list, conversations: [H('<video>Compare.'), G('Same.')] }, kinds);
    expect(short.map((d) => [d.ruleId, d.pointer, d.message])).toEqual([
      [
        'video/token-count',
        '/video',
        'The record has 2 video(s) but 1 `<video>` token(s); there must be one per video.',
      ],
    ]);
    // a video with an image: the image needs <image>, the video <video>
    const noVideoToken = checkRecord({ ...mixed, conversations: [H('<image>\nBoth?'), G('Yes.')] }, kinds);
    expect(noVideoToken.map((d) => d.ruleId)).toEqual(['video/token-count']);
    const stray = checkRecord({ conversations: [H('<video>What?'), G('No.')] });
    expect(stray.map((d) => [d.ruleId, d.pointer])).toEqual([['video/token-count', '/conversations']]);
    // no token at all: the video-as-image reading asks for one placeholder, never for "one image"
    const none = checkRecord({ video: 'v.mp4', conversations: [H('What happens?'), G('A goal.')] }, kinds);
    expect(none.map((d) => d.ruleId)).toEqual(['image/token-count']);
  });

  it('never throws on arbitrary JSON, and reports only catalog rules', () => {
    const ids = new Set<string>(Object.values(validationRules).map((r) => r.id));
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const d of checkRecord(value)) expect(ids.has(d.ruleId)).toBe(true);
      }),
    );
  });
});

const textArb = fc
  .string({ minLength: 1, maxLength: 40 })
  .map((s) => s.replaceAll('<image>', '').trim())
  .filter((s) => s.length > 0);

/** Valid LLaVA records: alternating human/gpt, one `<image>` (prefix or suffix) in the first turn iff there is an image. */
const recordArb = fc
  .record({
    id: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 0 })),
    image: fc.option(fc.stringMatching(/^[a-z0-9_]{1,12}(\/[a-z0-9_]{1,12})?\.jpg$/), { nil: undefined }),
    rounds: fc.array(fc.tuple(textArb, textArb), { minLength: 1, maxLength: 5 }),
    suffix: fc.boolean(),
    extra: fc.option(fc.constantFrom({ model: '' }, { data_source: 'x' }), { nil: undefined }),
  })
  .map(({ id, image, rounds, suffix, extra }) => {
    const conversations = rounds.flatMap(([q, a]) => [H(q), G(a)]);
    if (image !== undefined) {
      const first = conversations[0]!;
      first.value = suffix ? `${first.value}\n<image>` : `<image>\n${first.value}`;
    }
    return { id, ...(image !== undefined ? { image } : {}), conversations, ...extra };
  });

describe('properties', () => {
  test.prop([recordArb])('valid generated LLaVA records produce no diagnostics', (record) => {
    expect(checkRecord(record)).toEqual([]);
    expect(createRecordChecker()({ record, index: 0, file: 'f' })).toEqual([]);
  });

  test.prop([fc.array(recordArb, { maxLength: 20 })])(
    'unique ids of one type and one path form: a clean file',
    (records) => {
      const validator = createValidator({ file: 'f' });
      const found: Diagnostic[] = [];
      records.forEach((r, index) => {
        const record = { ...r, id: `r${index}`, ...(r.image ? { image: `img/${index}.jpg` } : {}) };
        found.push(...validator.check(record, { index }));
      });
      found.push(...validator.finish());
      expect(found).toEqual([]);
    },
  );

  test.prop([fc.jsonValue(), fc.constantFrom(0, 1, 2, '\t')])(
    'locatePointer finds the text of every value at every pointer',
    (value, indent) => {
      const text = JSON.stringify(value, null, indent);
      const pointers: [string, unknown, number][] = [];
      const walk = (v: unknown, p: string, depth: number) => {
        pointers.push([p, v, depth]);
        if (v !== null && typeof v === 'object') {
          for (const [k, child] of Object.entries(v)) {
            walk(child, `${p}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1);
          }
        }
      };
      walk(value, '', 0);
      const unit = typeof indent === 'string' ? indent : ' '.repeat(indent);
      for (const [pointer, expected, depth] of pointers.slice(0, 50)) {
        const at = locatePointer(text, pointer);
        expect(at).toBeGreaterThanOrEqual(0);
        // the value's own text, re-indented to its depth (JSON strings hold no raw newline)
        const again = JSON.stringify(expected, null, indent).replaceAll('\n', `\n${unit.repeat(depth)}`);
        expect(text.slice(at, at + again.length)).toBe(again);
      }
    },
  );
});

describe('cross-record rules', () => {
  it('reports each duplicate id at its repeat, keeping the first index', () => {
    const validator = createValidator({ file: 'f' });
    const rec = (id: string | number) => ({ id, conversations: [H('Q'), G('A')] });
    expect(validator.check(rec('a'), { index: 0 })).toEqual([]);
    expect(validator.check(rec('b'), { index: 1 })).toEqual([]);
    const [d] = validator.check(rec('a'), { index: 2 });
    expect(d).toMatchObject({ ruleId: 'id/duplicate', recordIndex: 2, data: { firstIndex: 0 } });
    expect(validator.check(rec(7), { index: 3 })).toEqual([]);
    expect(validator.check(rec('7'), { index: 4 })[0]).toMatchObject({
      ruleId: 'id/duplicate',
      data: { firstIndex: 3 },
    });
    expect(validator.records).toBe(5);
  });

  it('finds exactly the repeats among 120,000 ids (the compact id table grows past its first size)', () => {
    const validator = createValidator();
    const rec = (id: string | number) => ({ id, conversations: [H('Q'), G('A')] });
    let found = 0;
    for (let i = 0; i < 120_000; i++) found += validator.check(rec(i % 3 ? `id-${i}` : i), { index: i }).length;
    expect(found).toBe(0);
    const repeats: unknown[] = [];
    for (let k = 0; k < 1000; k++) {
      const i = k * 97;
      for (const d of validator.check(rec(i % 3 ? `id-${i}` : i), { index: 120_000 + k }))
        repeats.push(d.data?.firstIndex);
    }
    expect(repeats).toEqual(Array.from({ length: 1000 }, (_, k) => k * 97));
  });

  it('integer ids alone are fine; mixing types is one warning per file with counts', () => {
    const ints = createValidator();
    for (let i = 0; i < 3; i++) ints.check({ id: i, conversations: [H('Q'), G('A')] }, { index: i });
    expect(ints.finish()).toEqual([]);
    const mixed = createValidator({ file: 'm.json' });
    mixed.check({ id: 'a', conversations: [H('Q'), G('A')] }, { index: 0 });
    mixed.check({ id: 1, conversations: [H('Q'), G('A')] }, { index: 1, line: 9, column: 3, offset: 80 });
    mixed.check({ id: 2, conversations: [H('Q'), G('A')] }, { index: 2 });
    const [d, ...rest] = mixed.finish();
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      ruleId: 'id/mixed-types',
      severity: 'warning',
      recordIndex: 1,
      place: { line: 9, column: 3, offset: 80 },
      data: { string: { count: 1, firstIndex: 0 }, integer: { count: 2, firstIndex: 1 } },
    });
    expect(d!.message).toContain('Arrow');
  });

  it('classifies image paths', () => {
    expect(classifyPath('000000033471.jpg')).toEqual({ form: 'bare' });
    expect(classifyPath('coco/train2017/000000033471.jpg')).toEqual({ form: 'prefixed', prefix: 'coco' });
    expect(classifyPath('./gqa/images/1.jpg')).toEqual({ form: 'prefixed', prefix: 'gqa' });
    expect(classifyPath('/data/1.jpg')).toEqual({ form: 'absolute' });
    expect(classifyPath('C:\\data\\1.jpg')).toEqual({ form: 'absolute' });
    expect(classifyPath('https://x.org/1.jpg')).toEqual({ form: 'url' });
  });

  it('prefixed paths of many folders are one form (mix665k); bare + prefixed is reported', () => {
    const v = createValidator();
    const paths = ['coco/train2017/1.jpg', 'gqa/images/2.jpg', 'vg/VG_100K/3.jpg', 'ocr_vqa/images/4.jpg'];
    paths.forEach((image, index) => {
      v.check({ image, conversations: [H('<image>\nQ'), G('A')] }, { index });
    });
    expect(v.finish()).toEqual([]);
    v.check({ image: '5.jpg', conversations: [H('<image>\nQ'), G('A')] }, { index: 4 });
    const [d] = v.finish();
    expect(d).toMatchObject({
      ruleId: 'image/path-forms',
      recordIndex: 4,
      pointer: '/image',
      data: { counts: { bare: 1, prefixed: 4 } },
    });
  });
});

describe('the rule lists', () => {
  it('name every per-record rule of the catalog; the cross-record ones are the rest', async () => {
    const { RECORD_RULES } = await import('./record-rules.js');
    const perRecord = new Set(RECORD_RULES.flatMap((r) => r.raises.map((meta) => meta.id)));
    const crossRecord = [validationRules.idDuplicate, validationRules.idMixedTypes, validationRules.imagePathForms];
    const all = Object.values(validationRules).map((r) => r.id);
    expect([...perRecord, ...crossRecord.map((r) => r.id)].sort()).toEqual([...all].sort());
    expect(RECORD_RULES.map((r) => r.name)).toEqual([
      'schemaShape',
      'imagePaths',
      'videoTokenCount',
      'conversationsPresent',
      'eachTurn',
      'valueWhitespace',
      'roleOrder',
      'imageTokenCount',
    ]);
  });
});
