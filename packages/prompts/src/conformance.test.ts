/**
 * Conformance against LLaVA's real GPT-4 prompt folders (haotian-liu/LLaVA `playground/data/prompts`), which are
 * not part of this repository. CI sets LLAVA_PROMPTS_DIR to a folder holding `llava-prompts/` and
 * `llava-prompts-initial-53ea95d/`; without it these tests are skipped.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BoxInstance, buildContext } from './context.js';
import { loadPromptFolder, loadPromptSet } from './folder.js';
import { parseResponse } from './parse.js';
import { buildChatRequest } from './request.js';

function promptsDir(): string | undefined {
  const value = process.env.LLAVA_PROMPTS_DIR;
  if (!value) return undefined;
  if (isAbsolute(value)) return value;
  // Relative to the working directory, or to the repository root (vitest may run from the package folder).
  const candidates = [resolve(value), resolve(import.meta.dirname, '../../..', value)];
  return candidates.find((c) => existsSync(join(c, 'llava-prompts'))) ?? candidates[0];
}

const ROOT = promptsDir();
if (!ROOT)
  console.info('conformance.test.ts: skipped, LLAVA_PROMPTS_DIR is not set (CI sets it to ../shared/fixtures).');

const BOX_LINE = /^([a-z ]+): \[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]$/;

/** Split a caps file into captions and boxes (the inverse of buildContext). */
function parseCaps(text: string): { captions: string[]; instances: BoxInstance[] } {
  const [caps = '', boxes] = text.split('\n\n');
  const instances = (boxes ?? '')
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = BOX_LINE.exec(line);
      if (!m) throw new Error(`not a box line: ${line}`);
      return { category: m[1]!, bbox: [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] as const };
    });
  return { captions: caps.split('\n'), instances };
}

describe.skipIf(!ROOT)('conformance with the real LLaVA prompt folders', () => {
  const current = join(ROOT ?? '', 'llava-prompts');
  const early = join(ROOT ?? '', 'llava-prompts-initial-53ea95d', 'conversation');

  it('loads the three folders with no diagnostics, pairs in order, bytes unchanged', async () => {
    const set = await loadPromptSet(current);
    expect(set.conversation?.examples.map((e) => e.number)).toEqual(['000', '001']);
    expect(set.detail?.examples.map((e) => e.number)).toEqual(['000', '001', '002']);
    expect(set.complex_reasoning?.examples.map((e) => e.number)).toEqual(['000', '001', '002']);
    expect([set.conversation?.format, set.detail?.format, set.complex_reasoning?.format]).toEqual(['qa', 'text', 'qa']);
    for (const folder of Object.values(set)) {
      expect(folder.diagnostics).toEqual([]);
      expect(folder.system).toBe(await readFile(join(folder.dir, 'system_message.txt'), 'utf8'));
      for (const e of folder.examples) {
        expect(e.user).toBe(await readFile(join(folder.dir, `${e.number}_caps.txt`), 'utf8'));
        expect(e.assistant).toBe(await readFile(join(folder.dir, `${e.number}_conv.txt`), 'utf8'));
      }
    }
  });

  it('builds query contexts in exactly the layout of every few-shot caps file', async () => {
    const set = await loadPromptSet(current);
    let boxes = 0;
    for (const folder of Object.values(set)) {
      for (const e of folder.examples) {
        const { captions, instances } = parseCaps(e.user);
        boxes += instances.length;
        if (folder.kind === 'conversation') expect(instances).toEqual([]);
        expect(buildContext({ kind: folder.kind, captions, instances })).toBe(e.user);
      }
    }
    expect(boxes).toBe(12 + 12 + 1 + 12 + 12 + 9);
  });

  it('parses every few-shot response into a LLaVA record', async () => {
    const set = await loadPromptSet(current);
    for (const e of set.conversation!.examples) {
      const { record, diagnostics } = parseResponse('conversation', e.assistant, {
        customId: `conversation:${e.number}`,
      });
      expect(diagnostics).toEqual([]);
      expect(record!.conversations.map((t) => t.from)).toEqual([
        'human',
        'gpt',
        'human',
        'gpt',
        'human',
        'gpt',
        'human',
        'gpt',
      ]);
      expect(record!.conversations[0]!.value.startsWith('<image>\n')).toBe(true);
    }
    for (const e of set.complex_reasoning!.examples) {
      const { record } = parseResponse('complex_reasoning', e.assistant, { customId: `complex_reasoning:${e.number}` });
      expect(record!.conversations).toHaveLength(2);
    }
    for (const e of set.detail!.examples) {
      const { record } = parseResponse('detail', e.assistant, {
        customId: `detail:${e.number}`,
        imagePlacement: 'end',
      });
      expect(record!.conversations[1]!.value).toBe(e.assistant.trim());
      expect(record!.conversations[0]!.value.endsWith('\n<image>')).toBe(true);
    }
  });

  it('assembles requests as the paper shows: system, pairs in order, query', async () => {
    const folder = await loadPromptFolder(join(current, 'complex_reasoning'));
    const request = buildChatRequest(
      folder,
      { id: '1', image: '1.jpg', captions: ['A.'], instances: [] },
      { model: 'gpt-4' },
    );
    const files = [
      'system_message.txt',
      '000_caps.txt',
      '000_conv.txt',
      '001_caps.txt',
      '001_conv.txt',
      '002_caps.txt',
      '002_conv.txt',
    ];
    const expected = await Promise.all(files.map((f) => readFile(join(folder.dir, f), 'utf8')));
    expect(request.body.messages.slice(0, -1).map((m) => m.content)).toEqual(expected);
    expect(request.body.messages.at(-1)).toEqual({ role: 'user', content: 'A.' });
  });

  it('loads the early JSONL form, its instruction line, and rebuilds its caps layout', async () => {
    const folder = await loadPromptFolder(early);
    expect(folder.format).toBe('jsonl');
    expect(folder.instruction?.startsWith('Include 5 rounds of QA.')).toBe(true);
    const example = folder.examples[0]!;
    const captions = example.user.split('\n\n')[0]!.split('\n');
    expect(buildContext({ kind: 'conversation', captions, instruction: folder.instruction })).toBe(example.user);
    const { record } = parseResponse('conversation', example.assistant, {
      customId: 'conversation:0',
      format: 'jsonl',
    });
    expect(record!.conversations).toHaveLength(10);
  });
});
