import { describe, expect, it } from 'vitest';
import * as facts from './facts.js';
import * as api from './index.js';

describe('the public exports of @llavakit/schema', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'IMAGE_TOKEN',
      'VIDEO_TOKEN',
      'checkRecord',
      'classifyPath',
      'countImageTokens',
      'createCrossRecordValidator',
      'createRecordChecker',
      'createRecordValidator',
      'createValidator',
      'imagesOf',
      'isLlavaRecord',
      'llavaRecordJsonSchema',
      'llavaRecordSchema',
      'locatePointer',
      'parseRecord',
      'recordFactsOf',
      'recordIdSchema',
      'renderRulesMarkdown',
      'turnSchema',
      'validationKinds',
      'validationRules',
      'videosOf',
    ]);
  });

  it('@llavakit/schema/facts: the facts of the cross-record rules, without the schemas', () => {
    expect(Object.keys(facts).sort()).toEqual(['imageHash', 'recordFactsOf']);
  });
});
