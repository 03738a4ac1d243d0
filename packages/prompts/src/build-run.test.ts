import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPromptFolders, planPromptRequests, renderBuildReport } from './build-run.js';
import { PromptFolderError } from './folder.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

describe('prompts build as library calls', () => {
  it('loads a set of prompt folders, or one, or only some kinds', async () => {
    expect((await loadPromptFolders(join(FIX, 'prompts'))).map((f) => f.kind)).toEqual([
      'conversation',
      'detail',
      'complex_reasoning',
    ]);
    expect((await loadPromptFolders(join(FIX, 'prompts', 'conversation'))).map((f) => f.kind)).toEqual([
      'conversation',
    ]);
    expect((await loadPromptFolders(join(FIX, 'prompts'), ['detail'])).map((f) => f.kind)).toEqual(['detail']);
    await expect(loadPromptFolders(join(FIX, 'nowhere'))).rejects.toThrow('Prompt folder not found');
    await expect(loadPromptFolders(join(FIX, 'broken/missing-pair/conversation'))).rejects.toBeInstanceOf(
      PromptFolderError,
    );
  });

  it('plans one request per image and kind, with its manifest entry and body parameters', async () => {
    const folders = await loadPromptFolders(join(FIX, 'prompts'), ['detail']);
    const plan = await planPromptRequests({
      folders,
      capsBoxes: join(FIX, 'capsboxes.jsonl'),
      model: 'm',
      parameters: { temperature: 0.2 },
    });
    expect(plan.manifest.map((m) => m.custom_id)).toEqual(['detail:000000000101', 'detail:202']);
    expect(plan.requests[0]!.body).toMatchObject({ model: 'm', temperature: 0.2 });
    expect(plan.diagnostics.map((d) => d.ruleId)).toContain('prompts/bad-line');
    const limited = await planPromptRequests({
      folders,
      capsBoxes: join(FIX, 'capsboxes.jsonl'),
      model: 'm',
      limit: 1,
    });
    expect(limited.requests).toHaveLength(1);
    const lines = renderBuildReport({
      kinds: ['detail'],
      images: 2,
      requests: 2,
      manifest: 'out/manifest.jsonl',
      files: [{ path: 'out/batch-0001.jsonl', requests: 2, bytes: 10 }],
      diagnostics: [],
    });
    expect(lines).toEqual([
      'Built 2 requests (detail) for 2 images\n  out/batch-0001.jsonl: 2 requests, 10 bytes\n  manifest: out/manifest.jsonl',
    ]);
  });
});
