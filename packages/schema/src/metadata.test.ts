import { describe, expect, it } from 'vitest';
import { createValidator } from './validator.js';

const place = (index: number) => ({ index, offset: index * 100, line: index + 2, column: 3 });

describe('createValidator({ kind: "metadata" })', () => {
  it('accepts metadata records (image path, free keys, no conversations)', () => {
    const validator = createValidator({ file: 'meta.json', kind: 'metadata' });
    const records = [
      {
        id: 'GCC_train_000000001',
        image: 'GCC_train_000000001.jpg',
        caption: 'a dog .',
        url: 'x',
        blip_caption: 'a dog',
      },
      { id: '004539375', image: '00453/004539375.jpg', blip_caption: 'a watch', url: 'y' },
    ];
    for (const [i, r] of records.entries()) expect(validator.check(r, place(i))).toEqual([]);
  });

  it('reports a missing or empty image and a wrong id type, with pointers', () => {
    const validator = createValidator({ file: 'meta.json', kind: 'metadata' });
    const found = [
      ...validator.check({ id: 'a', caption: 'no image' }, place(0)),
      ...validator.check({ id: 'b', image: '  ' }, place(1)),
      ...validator.check({ id: 1.5, image: 'c.jpg' }, place(2)),
      ...validator.check([1, 2], place(3)),
    ];
    expect(found.map((d) => [d.recordIndex, d.ruleId, d.pointer, d.severity])).toEqual([
      [0, 'schema/required', '/image', 'error'],
      [1, 'value/empty', '/image', 'error'],
      [2, 'schema/type', '/id', 'error'],
      [3, 'schema/type', '', 'error'],
    ]);
  });

  it('still finds duplicate ids and mixed id types across the file', () => {
    const validator = createValidator({ file: 'meta.json', kind: 'metadata' });
    validator.check({ id: 'a', image: '1.jpg' }, place(0));
    const duplicate = validator.check({ id: 'a', image: '2.jpg' }, place(1));
    validator.check({ id: 7, image: '3.jpg' }, place(2));
    expect(duplicate.map((d) => d.ruleId)).toEqual(['id/duplicate']);
    expect(validator.finish().map((d) => d.ruleId)).toContain('id/mixed-types');
  });
});
