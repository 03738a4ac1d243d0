import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/diagnostics', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'DiagnosticError',
      'defineRules',
      'diagnose',
      'excerpt',
      'exitCodeOf',
      'formatDiagnostic',
      'formatLocation',
      'fromPointer',
      'getAtPointer',
      'isFailing',
      'makeDirectory',
      'placeInText',
      'renderReport',
      'ruleKindOf',
      'stageFile',
      'stripUndefined',
      'summarize',
      'temporaryPathFor',
      'toPointer',
    ]);
  });
});
