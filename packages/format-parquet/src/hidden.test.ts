import { describe, expect, it } from 'vitest';
import { hiddenSlot } from './hidden.js';

describe('hiddenSlot', () => {
  it('keeps state on a plain object where no key list, JSON, spread, clone or deep comparison sees it', () => {
    const slot = hiddenSlot<{ n: number }>();
    const record = { id: 'a', conversations: [] as unknown[] };
    const before = structuredClone(record);
    slot.attach(record, { n: 1 });
    expect(slot.get(record)).toEqual({ n: 1 });
    expect(Reflect.ownKeys(record)).toEqual(['id', 'conversations']);
    expect(Object.getOwnPropertySymbols(record)).toEqual([]);
    expect(JSON.stringify(record)).toBe(JSON.stringify(before));
    expect(record).toStrictEqual(before);
    // copies do not carry it
    expect(slot.get({ ...record })).toBeUndefined();
    expect(slot.get(structuredClone(record))).toBeUndefined();
    expect(slot.get(Object.assign({}, record))).toBeUndefined();
    // the object stays a plain object
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
  });

  it('is attached once, and each slot is its own', () => {
    const a = hiddenSlot<string>();
    const b = hiddenSlot<string>();
    const target = {};
    a.attach(target, 'x');
    expect(() => a.attach(target, 'y')).toThrow(TypeError);
    expect(a.get(target)).toBe('x');
    expect(b.get(target)).toBeUndefined();
    b.attach(target, 'z');
    expect([a.get(target), b.get(target)]).toEqual(['x', 'z']);
    expect(a.get({})).toBeUndefined();
  });
});
