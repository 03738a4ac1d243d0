import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { detailInstructions } from './kinds.js';
import { parseResponse, splitQa, splitQaJsonl } from './parse.js';

const CONV =
  'Question:\nWhat is red?\n===\nAnswer:\nThe kite.\n===\nQuestion:\nWhere is it?\n===\nAnswer:\nIn the sky.\n\nHigh up.';

describe('parseResponse: conversation', () => {
  it('gives alternating human/gpt turns with <image> on the first human turn', () => {
    const { record, diagnostics } = parseResponse('conversation', CONV, { customId: 'conversation:000000000101' });
    expect(diagnostics).toEqual([]);
    expect(record).toEqual({
      id: '000000000101',
      image: '000000000101.jpg',
      conversations: [
        { from: 'human', value: '<image>\nWhat is red?' },
        { from: 'gpt', value: 'The kite.' },
        { from: 'human', value: 'Where is it?' },
        { from: 'gpt', value: 'In the sky.\n\nHigh up.' },
      ],
    });
  });

  it('places <image> at the end, nowhere, or by a seeded draw', () => {
    const end = parseResponse('conversation', CONV, { customId: 'c:1', imagePlacement: 'end' });
    expect(end.record?.conversations[0]?.value).toBe('What is red?\n<image>');
    const none = parseResponse('conversation', CONV, { customId: 'c:1', imagePlacement: 'none' });
    expect(none.record?.conversations[0]?.value).toBe('What is red?');
    const placements = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const a = parseResponse('conversation', CONV, { customId: `c:${i}`, imagePlacement: 'random', seed: 7 });
      const b = parseResponse('conversation', CONV, { customId: `c:${i}`, imagePlacement: 'random', seed: 7 });
      expect(a.record).toEqual(b.record);
      placements.add(a.record!.conversations[0]!.value.startsWith('<image>') ? 'front' : 'end');
    }
    expect(placements).toEqual(new Set(['front', 'end']));
  });

  it('takes id and image from options, and tolerates CRLF, spaces around === and a trailing ===', () => {
    const text = 'Question:\r\nQ1?\r\n === \r\nAnswer: A1.\r\n===\r\n';
    const { record } = parseResponse('conversation', text, { customId: 'x', id: '7', image: 'coco/7.jpg' });
    expect(record).toEqual({
      id: '7',
      image: 'coco/7.jpg',
      conversations: [
        { from: 'human', value: '<image>\nQ1?' },
        { from: 'gpt', value: 'A1.' },
      ],
    });
  });

  it.each([
    ['no separator', 'Question:\nWhat?\nAnswer:\nThat.', 'prompts/no-separator'],
    ['question without answer', 'Question:\nA?\n===\nAnswer:\nB.\n===\nQuestion:\nC?', 'prompts/unanswered-question'],
    ['two questions in a row', 'Question:\nA?\n===\nQuestion:\nB?', 'prompts/unanswered-question'],
    ['empty answer', 'Question:\nA?\n===\nAnswer:\n  ', 'prompts/unanswered-question'],
    ['empty text', '  \n ', 'prompts/empty-response'],
    ['missing label', 'What?\n===\nAnswer:\nThat.', 'prompts/unexpected-block'],
    [
      'missing === between pairs',
      'Question:\nA?\n===\nAnswer:\nB.\nQuestion:\nC?\n===\nAnswer:\nD.',
      'prompts/unexpected-block',
    ],
  ])('reports %s with the custom_id and gives no record', (_name, text, ruleId) => {
    const result = parseResponse('conversation', text, { customId: 'conversation:42', recordIndex: 3 });
    expect(result.record).toBeUndefined();
    expect(result.diagnostics).toHaveLength(1);
    const d = result.diagnostics[0]!;
    expect(d.ruleId).toBe(ruleId);
    expect(d.severity).toBe('error');
    expect(d.message).toContain('conversation:42');
    expect(d.data?.customId).toBe('conversation:42');
    expect(d.recordIndex).toBe(3);
  });

  it('parses the early JSONL form', () => {
    const text = '{"question": "What?", "answer": "That."}\n\n{"question": "Why?", "answer": "Because."}';
    const { record } = parseResponse('conversation', text, { customId: 'c:1', format: 'jsonl' });
    expect(record?.conversations).toHaveLength(4);
    const bad = parseResponse('conversation', '{"question": "What?"}', { customId: 'c:1', format: 'jsonl' });
    expect(bad.diagnostics[0]?.ruleId).toBe('prompts/bad-jsonl-response');
    expect(splitQaJsonl('').ok).toBe(false);
  });
});

describe('parseResponse: complex reasoning and detail', () => {
  it('gives exactly one pair for complex reasoning', () => {
    const ok = parseResponse('complex_reasoning', 'Question:\nWhy?\n===\nAnswer:\nBecause.', { customId: 'k:1' });
    expect(ok.record?.conversations).toEqual([
      { from: 'human', value: '<image>\nWhy?' },
      { from: 'gpt', value: 'Because.' },
    ]);
    const two = parseResponse('complex_reasoning', CONV, { customId: 'k:1' });
    expect(two.record).toBeUndefined();
    expect(two.diagnostics[0]?.ruleId).toBe('prompts/extra-pairs');
  });

  it('answers a seeded question from the detail pool with the whole response', () => {
    const text = '  A cat sleeps.\n\nA plant grows.\n';
    const a = parseResponse('detail', text, { customId: 'detail:1', seed: 1 });
    const b = parseResponse('detail', text, { customId: 'detail:1', seed: 1 });
    expect(a.record).toEqual(b.record);
    const [human, gpt] = a.record!.conversations;
    expect(gpt).toEqual({ from: 'gpt', value: 'A cat sleeps.\n\nA plant grows.' });
    expect(human!.value.startsWith('<image>\n')).toBe(true);
    expect(detailInstructions).toContain(human!.value.slice('<image>\n'.length));
    const questions = new Set<string>();
    for (let i = 0; i < 200; i++) {
      questions.add(
        parseResponse('detail', text, { customId: `detail:${i}`, seed: 3 }).record!.conversations[0]!.value,
      );
    }
    expect(questions.size).toBe(16);
    expect(parseResponse('detail', '\n', { customId: 'd' }).diagnostics[0]?.ruleId).toBe('prompts/empty-response');
  });
});

const safeText = fc
  .array(fc.constantFrom('a', 'b', ' ', '.', '?', '\n', 'é', '='), { minLength: 1, maxLength: 30 })
  .map((cs) => cs.join('').trim())
  .filter((s) => s !== '' && !/(^|\n)\s*===\s*(\n|$)/.test(s) && !s.includes('\n\n\n'));

test.prop([fc.array(fc.record({ question: safeText, answer: safeText }), { minLength: 1, maxLength: 6 })])(
  'splitQa reads back what the few-shot layout writes',
  (pairs) => {
    const text = pairs.map((p) => `Question:\n${p.question}\n===\nAnswer:\n${p.answer}`).join('\n===\n');
    const result = splitQa(text);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.pairs).toEqual(pairs);
  },
);
