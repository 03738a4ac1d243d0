import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/ops', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'ANYRES_PINPOINTS',
      'Histogram',
      'LlamaTokenCounter',
      'MODEL_PRESETS',
      'OPS_VERSION',
      'computeStats',
      'dedupRecords',
      'filterRecords',
      'imageTokens',
      'isTextOnly',
      'measureRecord',
      'mergeStats',
      'mixRecipe',
      'needsImageSize',
      'normalizedConversation',
      'opsRules',
      'parseStrategy',
      'promptTokens',
      'readRecipe',
      'readStatsFiles',
      'renderOpSummary',
      'renderStatsHtml',
      'renderStatsSummary',
      'runImagesCheck',
      'runPromptsBuild',
      'runShard',
      'sampleRecords',
      'selectBestResolution',
      'sourceOf',
      'splitKey',
      'splitRecords',
      'strategyTake',
      'writeStatsHtml',
    ]);
  });
});
