import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildContext, cocoBoxToNormalised, cocoContexts, formatBox, readCapsBoxesJsonl } from './context.js';

const FIX = join(import.meta.dirname, '__fixtures__');

describe('cocoContexts', () => {
  it('joins captions and instances of real COCO files and normalises boxes', async () => {
    const { contexts, diagnostics } = await cocoContexts({
      captionsFile: join(FIX, 'coco/captions_mini2017.json'),
      instancesFile: join(FIX, 'coco/instances_mini2017.json'),
    });
    expect(contexts.map((c) => c.id)).toEqual(['000000000101', '000000000202']);
    const first = contexts[0]!;
    expect(first.image).toBe('000000000101.jpg');
    expect(first.captions).toEqual(['A kite flies over a green park.', 'Children watch a red kite in the sky.\n']);
    // Values checked against Python: [round(x/W,3), round(y/H,3), round((x+w)/W,3), round((y+h)/H,3)].
    expect(first.instances.map(formatBox)).toEqual([
      'kite: [0.062, 0.062, 0.22, 0.188]',
      'person: [0.0, 0.5, 0.5, 1.0]',
    ]);
    expect(contexts[1]!.instances.map(formatBox)).toEqual([
      'dining table: [0.019, 0.107, 0.958, 0.974]',
      'fork: [0.781, 0.234, 0.828, 0.703]',
    ]);
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['prompts/no-captions']);
    expect(diagnostics[0]!.recordId).toBe('000000000303');
  });

  it('can leave out crowd boxes and works without an instances file', async () => {
    const noCrowd = await cocoContexts({
      captionsFile: join(FIX, 'coco/captions_mini2017.json'),
      instancesFile: join(FIX, 'coco/instances_mini2017.json'),
      includeCrowd: false,
    });
    expect(noCrowd.contexts[1]!.instances.map((i) => i.category)).toEqual(['dining table']);
    const capsOnly = await cocoContexts({ captionsFile: join(FIX, 'coco/captions_mini2017.json') });
    expect(capsOnly.contexts.every((c) => c.instances.length === 0)).toBe(true);
  });

  it('reports a file that is not COCO, and annotations that are not captions', async () => {
    const notCoco = await cocoContexts({
      captionsFile: join(FIX, 'prompts/../coco/../early/conversation/000_conv.txt'),
    }).catch((e: unknown) => e);
    expect(String(notCoco)).toContain('not valid JSON');
    const swapped = await cocoContexts({ captionsFile: join(FIX, 'coco/instances_mini2017.json') });
    expect(swapped.contexts).toEqual([]);
    expect(swapped.diagnostics.filter((d) => d.ruleId === 'prompts/bad-input').map((d) => d.pointer)).toEqual([
      '/annotations/0',
      '/annotations/1',
      '/annotations/2',
      '/annotations/3',
    ]);
  });
});

describe('readCapsBoxesJsonl', () => {
  it('reads the caps-and-boxes form and reports bad lines with their line numbers', async () => {
    const file = join(FIX, 'capsboxes.jsonl');
    const { contexts, diagnostics } = await readCapsBoxesJsonl(file);
    expect(contexts.map((c) => [c.id, c.image])).toEqual([
      ['000000000101', '000000000101.jpg'],
      ['202', '202.jpg'],
    ]);
    expect(contexts[0]!.instances.map(formatBox)).toEqual([
      'kite: [0.062, 0.062, 0.22, 0.188]',
      'person: [0.0, 0.5, 0.5, 1.0]',
    ]);
    expect(diagnostics.map((d) => [d.ruleId, d.place?.line, d.pointer])).toEqual([
      ['prompts/bad-line', 4, '/captions'],
      ['prompts/bad-line', 5, undefined],
      ['prompts/bad-line', 6, '/instances/0'],
    ]);
  });
});

describe('buildContext', () => {
  const captions = ['A red kite.', 'Kids in a park.\n'];
  const instances = [{ category: 'kite', bbox: [0.1, 0.2, 0.3, 1] as const }];
  it('uses captions only for conversation and adds boxes for detail and complex reasoning', () => {
    expect(buildContext({ kind: 'conversation', captions, instances })).toBe('A red kite.\nKids in a park.');
    expect(buildContext({ kind: 'detail', captions, instances })).toBe(
      'A red kite.\nKids in a park.\n\nkite: [0.1, 0.2, 0.3, 1.0]',
    );
    expect(buildContext({ kind: 'complex_reasoning', captions, instances: [] })).toBe('A red kite.\nKids in a park.');
    expect(buildContext({ kind: 'conversation', captions, instruction: 'Include 2 rounds.' })).toBe(
      'A red kite.\nKids in a park.\n\nInclude 2 rounds.',
    );
  });
  it('converts COCO [x, y, w, h] to rounded [x1, y1, x2, y2]', () => {
    expect(cocoBoxToNormalised([10, 20, 30, 40], 640, 480)).toEqual([0.016, 0.042, 0.062, 0.125]);
  });
});
