import type { FormatPlugin } from '@llavakit/format';
import type { LlavaRecord } from '@llavakit/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datasetInfoEntry } from '../pipeline/dataset-info.js';
import { anyRecordArbitrary, testContext } from './__fixtures__/harness.js';
import { lfLoad, openAiLoad, swiftLoad, trlLoad } from './__fixtures__/loaders.js';
import { messagesFormat } from './messages/index.js';
import { openAiFormat } from './openai/index.js';
import { shareGptFormat } from './sharegpt/index.js';
import { swiftFormat } from './swift/index.js';

/** Encode records as a file would hold them (accepted ones only, serialised and parsed back). */
async function writeAll(
  format: FormatPlugin<object>,
  records: readonly LlavaRecord[],
  options: Record<string, unknown>,
) {
  const { at } = testContext(format, options);
  const written: unknown[] = [];
  const rejected: string[] = [];
  for (let i = 0; i < records.length; i++) {
    const result = await format.encode!(records[i]!, at(i));
    if (result.ok) written.push(JSON.parse(JSON.stringify(result.value)));
    else rejected.push(...result.diagnostics.map((d) => d.ruleId));
  }
  return { written, rejected };
}

const files = fc.array(anyRecordArbitrary, { minLength: 1, maxLength: 6 });
const RUNS = { numRuns: 120 };

/** Each writer's output, for every policy the loader can take, run through that loader's own rules. */
describe("every writer's output passes its trainer's loader rules (fast-check, with video records)", () => {
  for (const layout of ['conversations', 'messages'] as const) {
    for (const policy of ['per-token', 'keep', 'front']) {
      it(`sharegpt (${layout}, --image-token ${policy}) + its dataset_info entry: LLaMA-Factory's aligner and mm_plugin`, async () => {
        let videos = 0;
        await fc.assert(
          fc.asyncProperty(files, async (records) => {
            const { written } = await writeAll(shareGptFormat as FormatPlugin<object>, records, {
              layout,
              imageToken: policy,
            });
            const has = (key: string) => written.some((r) => key in (r as object));
            const { entry } = datasetInfoEntry({
              datasetInfo: 'data/dataset_info.json',
              output: 'data/out.json',
              layout,
              columns: { images: has('images'), videos: has('videos'), system: has('system') },
            });
            expect(lfLoad(entry, written).problems).toEqual([]);
            videos += written.filter((r) => 'videos' in (r as object)).length;
          }),
          RUNS,
        );
        // the property saw video records written, not only rejected
        expect(videos).toBeGreaterThan(10);
      });
    }
  }

  for (const policy of ['per-token', 'keep', 'front', 'strip']) {
    it(`swift (--image-token ${policy}): ms-swift's message checks and tag reconciliation`, async () => {
      await fc.assert(
        fc.asyncProperty(files, async (records) => {
          const { written } = await writeAll(swiftFormat as FormatPlugin<object>, records, { imageToken: policy });
          // strip writes no tags on purpose: ms-swift puts the images in front of the first message
          expect(swiftLoad(written, { allowPrepend: policy === 'strip' })).toEqual([]);
        }),
        RUNS,
      );
    });
  }

  for (const policy of ['parts', 'per-token', 'front', 'strip']) {
    it(`messages (--image-token ${policy}): TRL's prepare_multimodal_messages and one Arrow type per column`, async () => {
      let videos = 0;
      await fc.assert(
        fc.asyncProperty(files, async (records) => {
          const { written } = await writeAll(messagesFormat as FormatPlugin<object>, records, { imageToken: policy });
          const problems = trlLoad(written);
          // strip writes string contents: TRL cannot place videos there (a documented limit of strip)
          expect(policy === 'strip' ? problems.filter((p) => !p.includes('cannot place videos')) : problems).toEqual(
            [],
          );
          videos += written.filter((r) => 'videos' in (r as object)).length;
        }),
        RUNS,
      );
      expect(videos).toBeGreaterThan(10);
    });
  }

  for (const policy of ['parts', 'per-token', 'front', 'strip']) {
    it(`openai (--image-token ${policy}): OpenAI's fine-tuning checks; video records are rejected, never written`, async () => {
      await fc.assert(
        fc.asyncProperty(files, async (records) => {
          const { written, rejected } = await writeAll(openAiFormat as FormatPlugin<object>, records, {
            imageToken: policy,
          });
          expect(openAiLoad(written)).toEqual([]);
          const videos = records.filter((r) => r.video !== undefined).length;
          expect(rejected.filter((id) => id === 'openai/video')).toHaveLength(videos);
        }),
        RUNS,
      );
    });
  }
});

describe('the loader checkers fail where the loaders fail (they are not vacuous)', () => {
  it('ms-swift: unknown roles, non-string content, missing and extra tags', () => {
    expect(
      swiftLoad([
        { messages: [{ role: 'human', content: 'x' }] },
        { messages: [{ role: 'user', content: ['x'] }] },
        { messages: [{ role: 'user', content: 'Q' }], images: ['a.jpg'] },
        { messages: [{ role: 'user', content: '<video><video>Q' }], videos: ['a.mp4'] },
      ]),
    ).toEqual([
      'arrow: .messages[].content mixes list and string',
      'record 0: AssertionError: message 0 role human',
      'record 1: AssertionError: message 0 content is not a string',
      'record 2: 1 images without a tag: ms-swift prepends tags to the first message',
      'record 3: 1 extra videos tag(s) stay as literal text',
    ]);
  });

  it('TRL: placeholder count, literal tokens beside inserted images, mixed content types', () => {
    expect(
      trlLoad([
        { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Q' }] }], images: [] },
        { messages: [{ role: 'user', content: '<image>Q' }], images: ['a.jpg'] },
      ]),
    ).toEqual([
      'arrow: .messages[].content mixes list and string',
      'record 0: ValueError: Number of images provided (0) does not match number of image placeholders (1).',
      'record 1: literal <image> text besides the inserted images',
    ]);
  });

  it('OpenAI: images outside user messages, too many images, no assistant, extra keys', () => {
    const image = { type: 'image_url', image_url: { url: 'https://x/a.jpg' } };
    expect(
      openAiLoad([
        {
          messages: [
            { role: 'user', content: 'Q' },
            { role: 'assistant', content: [image] },
          ],
        },
        { messages: [{ role: 'user', content: Array.from({ length: 11 }, () => image) }], id: 'x' },
      ]),
    ).toEqual([
      'record 0: image in a assistant message',
      'record 1: unknown key id',
      'record 1: 11 images (at most 10)',
      'record 1: no assistant message to learn from',
    ]);
  });
});
