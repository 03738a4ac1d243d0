import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { formatImageSource, normalizeRef, parseImageSourceSpec, prefixOf } from './sources.js';

describe('parseImageSourceSpec', () => {
  it('parses folders, prefixed folders and zips', () => {
    expect(parseImageSourceSpec('coco/train2017=/data/coco')).toEqual({
      kind: 'folder',
      root: '/data/coco',
      prefix: 'coco/train2017',
    });
    expect(parseImageSourceSpec('/data/playground/')).toEqual({ kind: 'folder', root: '/data/playground', prefix: '' });
    expect(parseImageSourceSpec('/data/cc3m/images.ZIP')).toEqual({
      kind: 'zip',
      path: '/data/cc3m/images.ZIP',
      prefix: '',
    });
    expect(parseImageSourceSpec('./coco/=imgs', '/work')).toEqual({
      kind: 'folder',
      root: '/work/imgs',
      prefix: 'coco',
    });
    expect(formatImageSource(parseImageSourceSpec('cc=/a.zip'))).toBe('cc=/a.zip');
  });

  it('rejects specs without a path and prefixes that escape', () => {
    expect(() => parseImageSourceSpec('coco=')).toThrow(TypeError);
    expect(() => parseImageSourceSpec('../x=/data')).toThrow(TypeError);
    expect(() => parseImageSourceSpec('/abs=/data')).toThrow(TypeError);
  });
});

describe('normalizeRef', () => {
  it('normalises separators and dots', () => {
    expect(normalizeRef('./coco//train2017\\x.jpg')).toMatchObject({ ok: true, path: 'coco/train2017/x.jpg' });
  });
  it.each(['', '  ', 'a\0b', '/x.jpg', '\\\\server\\x.jpg', 'C:x.jpg', 'D:\\x.jpg', 'a/../../x.jpg', '..', '.', './'])(
    'refuses %j',
    (ref) => {
      expect(normalizeRef(ref).ok).toBe(false);
    },
  );
  test.prop([fc.string()])('never yields a path with .. or a leading slash', (ref) => {
    const n = normalizeRef(ref);
    if (n.ok) {
      expect(n.segments).not.toContain('..');
      expect(n.path.startsWith('/')).toBe(false);
      expect(n.path).not.toContain('\\');
    }
  });
});

describe('prefixOf', () => {
  it('groups by first folder', () => {
    expect(prefixOf('coco/train2017/x.jpg')).toBe('coco/');
    expect(prefixOf('000000033471.jpg')).toBe('(bare)');
    expect(prefixOf('00453/004539375.jpg')).toBe('(numbered)/');
    expect(prefixOf('./gqa/images/1.jpg')).toBe('gqa/');
  });
});
