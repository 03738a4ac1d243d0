import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/reader', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'DEFAULT_MAX_DEPTH',
      'DEFAULT_MAX_RECORD_BYTES',
      'RecordScanner',
      'checkInputPath',
      'detectContainer',
      'detectKind',
      'joinMetadata',
      'locateJsonError',
      'openSource',
      'openStreamPath',
      'parseElement',
      'readRecordBatches',
      'readRecords',
      'readValues',
      'readerRules',
      'validationKindOf',
    ]);
  });
});
