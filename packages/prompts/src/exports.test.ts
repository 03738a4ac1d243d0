import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/prompts', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'BATCH_MAX_BYTES',
      'BATCH_MAX_REQUESTS',
      'DEFAULT_MAX_LINE_BYTES',
      'PromptFolderError',
      'buildChatRequest',
      'buildChatRequests',
      'buildContext',
      'buildMessages',
      'callChatEndpoint',
      'checkPromptFolder',
      'cocoBoxToNormalised',
      'cocoContexts',
      'conversationTemplates',
      'detailInstructions',
      'formatBox',
      'getConversationTemplate',
      'joinBatchOutput',
      'loadPromptFolder',
      'loadPromptSet',
      'makeCustomId',
      'overlongLineDiagnostic',
      'parseResponse',
      'parseResults',
      'promptFolderNames',
      'promptKinds',
      'promptRules',
      'readCapsBoxesJsonl',
      'readLines',
      'readManifest',
      'renderConversation',
      'splitCustomId',
      'splitQa',
      'splitQaJsonl',
      'toPromptKind',
      'usesBoxes',
      'writeBatchFiles',
      'writeManifest',
    ]);
  });
});
