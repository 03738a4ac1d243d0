import { fc, test } from '@fast-check/vitest';
import type { Diagnostic } from '@llavakit/diagnostics';
import { describe, expect } from 'vitest';
import { createCrossRecordValidator, createRecordValidator, createValidator } from './validator.js';

/**
 * The two halves of a validator (per record, which may run in another thread; cross-record, fed in input order) give
 * exactly the diagnostics of `createValidator`: same rules, places, excerpts, order — duplicates (same image or not,
 * string against integer ids), mixed id types and path forms included.
 */
const turn = (from: string, value: string) => ({ from, value });
const recordArb = fc.record({
  id: fc.oneof(
    fc.constantFrom('a', 'b', '1', 'ünï'),
    fc.constantFrom(1, 2, 3),
    fc.constant(undefined),
    fc.constant(1.5),
  ),
  image: fc.oneof(
    fc.constantFrom('x.jpg', 'coco/y.jpg', '/abs/z.jpg', 'http://h/u.jpg', ''),
    fc.array(fc.constantFrom('x.jpg', 'coco/y.jpg', ''), { maxLength: 3 }),
    fc.constant(undefined),
  ),
  conversations: fc.oneof(
    fc.constant([turn('human', '<image>\nWhat?'), turn('gpt', 'That.')]),
    fc.constant([turn('human', 'no image'), turn('gpt', 'ok')]),
    fc.constant([turn('narrator', 'x')]),
    fc.constant('not a list'),
  ),
});

describe('createRecordValidator + createCrossRecordValidator', () => {
  test.prop([
    fc.array(fc.oneof({ weight: 9, arbitrary: recordArb }, { weight: 1, arbitrary: fc.jsonValue() }), {
      maxLength: 30,
    }),
    fc.constantFrom('llava', 'llava-next'),
    fc.boolean(),
    fc.constantFrom(0, 2),
  ])('give the diagnostics createValidator gives', (values, kind, ignoring, indent) => {
    const options = {
      file: 'data.json',
      kind,
      ...(ignoring ? { ignore: ['id/duplicate', 'image/placement'] } : {}),
    } as const;
    const whole = createValidator(options);
    const local = createRecordValidator(options);
    const cross = createCrossRecordValidator(options);
    const expected: Diagnostic[] = [];
    const actual: Diagnostic[] = [];
    let line = 2;
    values.forEach((raw, index) => {
      const value = raw && typeof raw === 'object' && !Array.isArray(raw) ? JSON.parse(JSON.stringify(raw)) : raw;
      const text = JSON.stringify(value, null, indent) ?? 'null';
      const place = { index, offset: index * 100, line, column: 3 };
      line += text.split('\n').length;
      expected.push(...whole.check(value, place, text));
      const { diagnostics, facts } = local(value, place, text);
      actual.push(...diagnostics);
      if (facts) {
        const duplicate = cross.add(JSON.parse(JSON.stringify(facts)), place, () => text);
        if (duplicate) actual.push(duplicate);
      }
    });
    expected.push(...whole.finish());
    actual.push(...cross.finish());
    expect(actual).toEqual(expected);
  });
});
