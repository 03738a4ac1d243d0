import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/view', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'DECODE_FAILED',
      'DatasetIndex',
      'computeStats',
      'createDefaultMetrics',
      'createLlamaTokenCounter',
      'decodeSafely',
      'matchRecords',
      'parseFilter',
      'searchRecords',
      'sourceOf',
      'startViewer',
    ]);
  });
});
