import { describe, expect, it } from 'vitest';
import { type DatasetKind, detectKind, type ReadItem } from './index.js';

const conv = [
  { from: 'human', value: '<image>\nWhat is this?' },
  { from: 'gpt', value: 'A bus.' },
];
const heads: [string, unknown[], DatasetKind][] = [
  ['instruct', [{ id: '000000033471', image: '000000033471.jpg', conversations: conv }], 'llava-instruct'],
  [
    'mix665k (coco prefix, integer GQA id)',
    [
      { id: '000000033471', image: 'coco/train2017/000000033471.jpg', conversations: conv },
      { id: 2327515, image: 'gqa/images/2327515.jpg', conversations: conv },
    ],
    'llava-mix665k',
  ],
  [
    'mix665k (ocr_vqa)',
    [{ id: '140031996X', image: 'ocr_vqa/images/140031996X.jpg', conversations: conv }],
    'llava-mix665k',
  ],
  ['cc3m chat', [{ id: 'GCC_train_002582585', image: 'GCC_train_002582585.jpg', conversations: conv }], 'cc3m-chat'],
  [
    'cc3m meta',
    [
      {
        id: 'GCC_train_002582585',
        image: 'GCC_train_002582585.jpg',
        caption: 'olive oil',
        blip_caption: 'x',
        url: 'u',
      },
    ],
    'cc3m-meta',
  ],
  ['558k chat', [{ id: '004539375', image: '00453/004539375.jpg', conversations: conv }], 'blip558k-chat'],
  ['558k meta', [{ id: '004539375', image: '00453/004539375.jpg', blip_caption: 'a kite', url: 'u' }], 'blip558k-meta'],
  ['next (image list)', [{ id: 'a', image: ['x.jpg', 'y.jpg'], conversations: conv }], 'llava-next'],
  ['next (video)', [{ id: 'RW587', video: 'academic_source/Charades/RW587.mp4', conversations: conv }], 'llava-next'],
  ['generic llava', [{ id: 'u-1', image: 'part-000001/u-1.jpg', conversations: conv }], 'llava'],
  ['text-only llava', [{ id: 'wgByO4Y_0', model: '', conversations: conv }], 'llava'],
  ['not llava', [{ foo: 1 }, 3], 'unknown'],
];

describe('detectKind', () => {
  for (const [name, records, kind] of heads) {
    it(`${name} → ${kind}`, () => {
      expect(detectKind(JSON.stringify(records, null, 2))).toBe(kind);
      const items: ReadItem[] = records.map((value, index) => ({
        ok: true,
        value,
        text: JSON.stringify(value),
        place: { index, offset: 0, line: 1, column: 1, length: 0 },
      }));
      expect(detectKind(items)).toBe(kind);
    });
  }

  it('reads complete records from a head cut in the middle of a record, JSON or JSONL', () => {
    const rec = { id: '000000033471', image: '000000033471.jpg', conversations: conv };
    const json = JSON.stringify([rec, rec], null, 2);
    expect(detectKind(json.slice(0, json.length - 20))).toBe('llava-instruct');
    const jsonl = `${JSON.stringify(rec)}\n${JSON.stringify(rec)}`;
    expect(detectKind(jsonl.slice(0, jsonl.length - 10))).toBe('llava-instruct');
  });

  it('falls back to the file name when records do not decide', () => {
    expect(detectKind([], 'data/blip_laion_cc_sbu_558k_meta.json')).toBe('blip558k-meta');
    expect(detectKind('', 'blip_laion_cc_sbu_558k.json')).toBe('blip558k-chat');
    expect(detectKind('[', 'LLaVA-CC3M-Pretrain-595K/metadata.json')).toBe('cc3m-meta');
    expect(detectKind('[', 'LLaVA-CC3M-Pretrain-595K/chat.json')).toBe('cc3m-chat');
    expect(detectKind('[', 'llava_v1_5_mix665k.json')).toBe('llava-mix665k');
    expect(detectKind('[', 'detail_23k.json')).toBe('llava-instruct');
    expect(detectKind('[', 'random.json')).toBe('unknown');
    // records win over the name
    const rec = [{ id: '004539375', image: '00453/004539375.jpg', conversations: conv }];
    expect(detectKind(JSON.stringify(rec), 'llava_instruct_150k.json')).toBe('blip558k-chat');
    // a name never overrules the records: chat records named metadata.json, metadata records named chat.json
    const chat = JSON.stringify([{ id: 'x', image: 'pics/x.jpg', conversations: conv }]);
    expect(detectKind(chat, 'LLaVA-CC3M-Pretrain-595K/metadata.json')).toBe('llava');
    const meta = JSON.stringify([{ id: 'x', image: 'pics/x.jpg', caption: 'a dog .' }]);
    expect(detectKind(meta, 'LLaVA-CC3M-Pretrain-595K/chat.json')).toBe('unknown');
    expect(detectKind(meta, 'LLaVA-CC3M-Pretrain-595K/metadata.json')).toBe('cc3m-meta');
  });

  it('ignores broken input without throwing', () => {
    expect(detectKind('<html>')).toBe('unknown');
    expect(detectKind('[{"id": 1,}, {"id": "000000000001", "image": "000000000001.jpg", "conversations": []}]')).toBe(
      'llava-instruct',
    );
  });
});
