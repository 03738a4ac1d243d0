import type { Diagnostic } from '@llavakit/diagnostics';
import type { DecodeResult, EncodeResult, FormatPlugin, ImageAccess, RecordContext } from '@llavakit/format';
import type { LlavaRecord } from '@llavakit/schema';
import fc from 'fast-check';

/** Identity image access with no bytes. */
export const NO_IMAGES: ImageAccess = { rewrite: (path) => path, readBytes: async () => undefined };

/** A record context for tests: options parsed by the format's schema, counts and reports collected. */
export function testContext(
  format: FormatPlugin<object>,
  raw: Record<string, unknown> = {},
  images: ImageAccess = NO_IMAGES,
  file = 'input.json',
) {
  const counts: Record<string, number> = {};
  const reports: Diagnostic[] = [];
  const options = format.optionsSchema ? (format.optionsSchema.parse(raw) as object) : {};
  const at = (index: number): RecordContext<object> => ({
    options,
    file,
    index,
    images,
    report: (d) => reports.push(d),
    count: (event, by = 1) => {
      counts[event] = (counts[event] ?? 0) + by;
    },
  });
  return { at, counts, reports };
}

/** Encode, then serialise and parse as a file would, then decode with the same options. */
export async function roundTrip(
  format: FormatPlugin<object>,
  record: LlavaRecord,
  raw: Record<string, unknown> = {},
  images: ImageAccess = NO_IMAGES,
): Promise<{ encoded: EncodeResult; decoded?: DecodeResult; value?: unknown }> {
  const { at } = testContext(format, raw, images);
  const encoded = await format.encode!(record, at(0));
  if (!encoded.ok) return { encoded };
  const value = JSON.parse(JSON.stringify(encoded.value)) as unknown;
  return { encoded, value, decoded: format.decode!(value, at(0)) };
}

const IMAGE = '<image>';

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n', '  padded  ', '\t\ttabs\n', 'Ünïcødé 图片 🐱', 'a\r\nb') },
);

const path = fc.oneof(
  fc.constantFrom('coco/train2017/000000033471.jpg', 'gqa/images/2327515.jpg', 'ocr_vqa/images/140031996X.jpg'),
  fc.stringMatching(/^[a-z0-9_]{1,8}\/[a-z0-9_ ]{1,8}\.(jpg|png)$/),
  fc.constantFrom('图片/猫.jpg', '/abs/data/img 1.png'),
);

/** Put `n` tokens into a text at generated places, in the placements LLaVA files use and some they do not. */
function withTokens(n: number) {
  return fc.tuple(text, fc.array(fc.nat(), { minLength: n, maxLength: n }), fc.constantFrom('prefix', 'suffix', 'any')).map(
    ([t, places, style]) => {
      if (n === 0) return t;
      if (style === 'prefix') return `${`${IMAGE}\n`.repeat(n)}${t}`;
      if (style === 'suffix') return `${t}${`\n${IMAGE}`.repeat(n)}`;
      // Cut between code points, never inside a surrogate pair (that would make lone surrogates, which are rejected).
      const inPair = (i: number) => /[\ud800-\udbff]/.test(t[i - 1] ?? '') && /[\udc00-\udfff]/.test(t[i] ?? '');
      const cuts = places
        .map((p) => p % (t.length + 1))
        .map((cut) => (inPair(cut) ? cut - 1 : cut))
        .sort((a, b) => a - b);
      let out = '';
      let start = 0;
      for (const cut of cuts) {
        out += `${t.slice(start, cut)}${IMAGE}`;
        start = cut;
      }
      out += t.slice(start);
      return out;
    },
  );
}

const extraValue = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.integer(), { maxKeys: 2 }),
);

/**
 * LLaVA records as found in the wild: string, integer or no ids; text-only, single-image and multi-image records
 * (one token per image, in the first human turn or spread over turns), multi-turn conversations, a leading
 * system turn or a `system` key, extra top-level and turn keys (`model`, `data_source`…) in varying order.
 */
export const llavaRecordArbitrary: fc.Arbitrary<LlavaRecord> = fc
  .record({
    id: fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constant('140031996X')), {
      nil: undefined,
    }),
    imageCount: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, fc.constant(0), fc.integer({ min: 2, max: 3 })),
    listImage: fc.boolean(),
    pairs: fc.integer({ min: 1, max: 3 }),
    spread: fc.boolean(),
    system: fc.constantFrom('none', 'none', 'turn', 'key'),
    extras: fc.dictionary(fc.constantFrom('model', 'data_source', 'source', 'meta'), extraValue, { maxKeys: 2 }),
    extrasFirst: fc.boolean(),
    turnExtra: fc.option(fc.nat({ max: 5 }), { nil: undefined }),
    seed: fc.nat(),
  })
  .chain((shape) =>
    fc
      .record({
        paths: fc.array(path, { minLength: shape.imageCount, maxLength: shape.imageCount }),
        texts: fc.tuple(
          ...Array.from({ length: shape.pairs * 2 }, (_, i) => {
            const human = i % 2 === 0;
            let n = 0;
            if (human && shape.imageCount > 0) {
              if (!shape.spread) n = i === 0 ? shape.imageCount : 0;
              else n = i / 2 < shape.imageCount ? (i / 2 === shape.pairs - 1 ? shape.imageCount - i / 2 : 1) : 0;
            }
            return withTokens(n);
          }),
        ),
        systemText: text,
      })
      .map(({ paths, texts, systemText }) => {
        const conversations: Record<string, unknown>[] = texts.map((value, i) => ({
          from: i % 2 === 0 ? 'human' : 'gpt',
          value,
        }));
        if (shape.turnExtra !== undefined && shape.turnExtra < conversations.length) {
          conversations[shape.turnExtra]!.weight = 0;
        }
        if (shape.system === 'turn') conversations.unshift({ from: 'system', value: systemText });
        const record: Record<string, unknown> = {};
        if (shape.extrasFirst) Object.assign(record, shape.extras);
        if (shape.id !== undefined) record.id = shape.id;
        if (paths.length === 1 && !shape.listImage) record.image = paths[0];
        else if (paths.length > 0) record.image = paths;
        record.conversations = conversations;
        if (shape.system === 'key') record.system = systemText;
        if (!shape.extrasFirst) Object.assign(record, shape.extras);
        return record as LlavaRecord;
      }),
  );

const videoPath = fc.constantFrom('clips/a.mp4', 'academic_source/Charades/RW587.mp4', '视频/猫.mp4', '/abs/v 1.webm');

/**
 * Video records: LLaVA records (above) with one or two videos, written with `<video>` tokens in the first human turn
 * (LLaMA-Factory / ms-swift style, images kept), or as LLaVA-Video writes them (no image, one `<image>` per video).
 */
export const videoRecordArbitrary: fc.Arbitrary<LlavaRecord> = fc
  .tuple(llavaRecordArbitrary, fc.array(videoPath, { minLength: 1, maxLength: 2 }), fc.boolean(), fc.boolean())
  .map(([base, videos, llavaVideo, list]) => {
    const record: Record<string, unknown> = { ...base };
    const conversations = base.conversations.map((t) => ({ ...t }));
    const human = conversations.findIndex((t) => t.from === 'human');
    const video = videos.length === 1 && !list ? videos[0] : videos;
    if (llavaVideo) {
      delete record.image;
      for (const t of conversations) t.value = t.value.replaceAll(IMAGE, '');
      conversations[human]!.value = `${`${IMAGE}\n`.repeat(videos.length)}${conversations[human]!.value}`;
    } else {
      conversations[human]!.value = `${'<video>'.repeat(videos.length)}${conversations[human]!.value}`;
    }
    // the video key after the image, as LLaVA-NeXT files order them
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      if (key === 'conversations') out.video = video;
      out[key] = key === 'conversations' ? conversations : value;
    }
    return out as LlavaRecord;
  });

/** LLaVA records, a fifth of them with video. */
export const anyRecordArbitrary: fc.Arbitrary<LlavaRecord> = fc.oneof(
  { weight: 4, arbitrary: llavaRecordArbitrary },
  { weight: 1, arbitrary: videoRecordArbitrary },
);
