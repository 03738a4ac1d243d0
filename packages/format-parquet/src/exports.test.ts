import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/format-parquet', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'EXTRA_COLUMN',
      'LLAVAKIT_METADATA_KEY',
      'datasetCard',
      'decideLayout',
      'default',
      'featuresOf',
      'jsonSafe',
      'openParquetFile',
      'parquetFilesOf',
      'parquetFormat',
      'parquetOptionsSchema',
      'parquetRowText',
      'parquetRules',
      'parquetSchema',
      'readParquet',
      'rowToRecord',
      'writeParquet',
    ]);
  });
});
