import { resolve } from 'node:path';
import type { FormatPlugin } from '@llavakit/format';
import { countImageTokens, imagesOf, type LlavaRecord } from '@llavakit/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { llavaRecordArbitrary, roundTrip, videoRecordArbitrary } from './__fixtures__/harness.js';
import { llavaFormat } from './llava/index.js';
import { messagesFormat } from './messages/index.js';
import { openAiFormat } from './openai/index.js';
import { shareGptFormat } from './sharegpt/index.js';
import { swiftFormat } from './swift/index.js';

const RUNS = { numRuns: 150 };

function tokens(record: LlavaRecord): number {
  return record.conversations.reduce((n, t) => n + countImageTokens(t.value), 0);
}

/** Exact equality: same JSON text (types, keys and their order, whitespace). */
function expectSame(actual: unknown, expected: unknown) {
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

const cases: { format: FormatPlugin<object>; policies: string[]; options?: Record<string, unknown> }[] = [
  { format: llavaFormat as FormatPlugin<object>, policies: ['keep', 'front', 'per-token'] },
  { format: shareGptFormat as FormatPlugin<object>, policies: ['per-token', 'keep', 'front'] },
  { format: shareGptFormat as FormatPlugin<object>, policies: ['per-token', 'front'], options: { layout: 'messages' } },
  { format: swiftFormat as FormatPlugin<object>, policies: ['per-token', 'keep', 'front', 'strip'] },
  { format: messagesFormat as FormatPlugin<object>, policies: ['parts', 'keep', 'front', 'strip', 'per-token'] },
  {
    format: openAiFormat as FormatPlugin<object>,
    policies: ['parts', 'front', 'strip', 'per-token'],
    options: { meta: true },
  },
];

describe('llava → X → llava gives back the same records (fast-check)', () => {
  for (const { format, policies, options } of cases) {
    for (const policy of policies) {
      if (format.name === 'llava' && policy !== 'keep') continue;
      it(`${format.name}${options ? ` ${JSON.stringify(options)}` : ''} with --image-token ${policy}`, async () => {
        await fc.assert(
          fc.asyncProperty(llavaRecordArbitrary, async (record) => {
            const { encoded, decoded } = await roundTrip(format, record, { ...options, imageToken: policy });
            if (!encoded.ok) throw new Error(JSON.stringify(encoded.diagnostics));
            expect(decoded?.ok).toBe(true);
            if (decoded?.ok) expectSame(decoded.record, record);
          }),
          RUNS,
        );
      });
    }
  }

  const videoTargets: { format: FormatPlugin<object>; policies: string[]; options?: Record<string, unknown> }[] = [
    { format: llavaFormat as FormatPlugin<object>, policies: ['keep'] },
    { format: shareGptFormat as FormatPlugin<object>, policies: ['per-token', 'front'] },
    { format: shareGptFormat as FormatPlugin<object>, policies: ['per-token'], options: { layout: 'messages' } },
    { format: swiftFormat as FormatPlugin<object>, policies: ['per-token', 'strip'] },
    { format: messagesFormat as FormatPlugin<object>, policies: ['parts', 'keep'] },
  ];
  for (const { format, policies, options } of videoTargets) {
    for (const policy of policies) {
      it(`video records: ${format.name}${options ? ` ${JSON.stringify(options)}` : ''} --image-token ${policy} keeps every video and reads back the same record`, async () => {
        await fc.assert(
          fc.asyncProperty(videoRecordArbitrary, async (record) => {
            const { encoded, decoded, value } = await roundTrip(format, record, { ...options, imageToken: policy });
            if (!encoded.ok) throw new Error(JSON.stringify(encoded.diagnostics));
            if (format.name !== 'llava') {
              const videos = typeof record.video === 'string' ? [record.video] : record.video;
              expect((value as { videos?: string[] }).videos).toEqual(videos);
            }
            expect(decoded?.ok).toBe(true);
            if (decoded?.ok) expectSame(decoded.record, record);
          }),
          { numRuns: 100 },
        );
      });
    }
  }

  it('video records are rejected by openai with openai/video, never written without their video', async () => {
    await fc.assert(
      fc.asyncProperty(videoRecordArbitrary, async (record) => {
        const { encoded } = await roundTrip(openAiFormat as FormatPlugin<object>, record);
        expect(encoded.ok).toBe(false);
        if (!encoded.ok) expect(encoded.diagnostics.map((d) => d.ruleId)).toContain('openai/video');
      }),
      { numRuns: 50 },
    );
  });

  it('per-token repeats a single image for several tokens, and reading back restores the single image', async () => {
    await fc.assert(
      fc.asyncProperty(llavaRecordArbitrary, fc.integer({ min: 2, max: 4 }), async (base, n) => {
        const conversations = base.conversations.map((t) => ({ ...t }));
        const human = conversations.findIndex((t) => t.from === 'human');
        for (const t of conversations) t.value = t.value.replaceAll('<image>', '');
        conversations[human]!.value = `${'<image>'.repeat(n)}${conversations[human]!.value}`;
        const record = { ...base, image: 'one.jpg', conversations };
        for (const format of [shareGptFormat, swiftFormat, messagesFormat] as FormatPlugin<object>[]) {
          const { encoded, decoded, value } = await roundTrip(format, record, { imageToken: 'per-token' });
          expect(encoded.ok).toBe(true);
          expect((value as { images: string[] }).images).toEqual(Array.from({ length: n }, () => 'one.jpg'));
          if (decoded?.ok) expectSame(decoded.record, record);
          else expect.unreachable('decode failed');
        }
      }),
      { numRuns: 50 },
    );
  });

  it('openai without metadata keeps the conversation text and images (as absolute paths), and drops ids and extra keys', async () => {
    await fc.assert(
      fc.asyncProperty(llavaRecordArbitrary, async (record) => {
        const { encoded, decoded, value } = await roundTrip(openAiFormat as FormatPlugin<object>, record);
        expect(encoded.ok).toBe(true);
        expect(Object.keys(value as object)).toEqual(['messages']);
        if (!decoded?.ok) return expect.unreachable('decode failed');
        const turns = record.conversations;
        const system = typeof record.system === 'string' && turns[0]?.from !== 'system';
        expect(decoded.record.conversations.map((t) => [t.from, t.value])).toEqual([
          ...(system ? [['system', record.system]] : []),
          ...turns.map((t) => [t.from, t.value]),
        ]);
        expect(imagesOf(decoded.record)).toEqual(imagesOf(record).map((p) => resolve(p)));
        expect(decoded.record.id).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('the llava writer with normalize writes string ids and one key order, and moves <image> to the front', async () => {
    await fc.assert(
      fc.asyncProperty(llavaRecordArbitrary, async (record) => {
        const { encoded, value } = await roundTrip(llavaFormat as FormatPlugin<object>, record, { normalize: true });
        expect(encoded.ok).toBe(true);
        const out = value as Record<string, unknown> & LlavaRecord;
        if (record.id !== undefined) expect(out.id).toBe(String(record.id));
        const keys = Object.keys(out).filter((k) => ['id', 'image', 'conversations'].includes(k));
        expect(keys).toEqual(['id', 'image', 'conversations'].filter((k) => k in out));
        for (const turn of out.conversations) {
          const n = countImageTokens(turn.value);
          if (n > 0) expect(turn.value.startsWith('<image>\n'.repeat(n).trimEnd())).toBe(true);
          expect(Object.keys(turn).slice(0, 2)).toEqual(['from', 'value']);
        }
        expect(tokens(out)).toBe(tokens(record));
      }),
      RUNS,
    );
  });
});

describe('image path rewriting is not a loss', () => {
  const images = { rewrite: (p: string) => `/root/${p}`, readBytes: async () => undefined };
  it('a plain record needs no llava_meta, and reads back with the rewritten paths', async () => {
    const record = {
      id: 'a',
      image: 'x.jpg',
      conversations: [
        { from: 'human', value: '<image>\nQ' },
        { from: 'gpt', value: 'A' },
      ],
    };
    for (const format of [shareGptFormat, swiftFormat, messagesFormat] as FormatPlugin<object>[]) {
      const { value, decoded } = await roundTrip(format, record, {}, images);
      expect(value).not.toHaveProperty('llava_meta');
      expect(decoded?.ok && decoded.record).toEqual({ ...record, image: '/root/x.jpg' });
    }
  });
  it('any record reads back as the original with rewritten paths', async () => {
    await fc.assert(
      fc.asyncProperty(llavaRecordArbitrary, async (record) => {
        const expected =
          record.image === undefined
            ? record
            : {
                ...record,
                image:
                  typeof record.image === 'string' ? `/root/${record.image}` : record.image.map((p) => `/root/${p}`),
              };
        for (const format of [shareGptFormat, swiftFormat, messagesFormat] as FormatPlugin<object>[]) {
          const { decoded } = await roundTrip(format, record, {}, images);
          if (decoded?.ok) expectSame(decoded.record, expected);
          else expect.unreachable('decode failed');
        }
      }),
      { numRuns: 100 },
    );
  });
});
