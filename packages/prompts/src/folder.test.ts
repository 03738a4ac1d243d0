import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPromptFolder, loadPromptFolder, loadPromptSet, PromptFolderError } from './folder.js';

const FIX = join(import.meta.dirname, '__fixtures__');

describe('loadPromptFolder', () => {
  it('loads the system message and the ordered few-shot pairs byte for byte', async () => {
    const folder = await loadPromptFolder(join(FIX, 'prompts/conversation'));
    expect(folder.kind).toBe('conversation');
    expect(folder.format).toBe('qa');
    expect(folder.system.startsWith('You are a visual assistant')).toBe(true);
    expect(folder.system.endsWith('===')).toBe(true);
    expect(folder.examples.map((e) => e.number)).toEqual(['000', '001']);
    expect(folder.examples[0]!.user.split('\n')).toHaveLength(5);
    expect(folder.examples[1]!.assistant.endsWith('one foot at a time.')).toBe(true);
    expect(folder.diagnostics).toEqual([]);
  });

  it('knows the kind from LLaVA folder names', async () => {
    expect((await loadPromptFolder(join(FIX, 'prompts/detail_description'))).kind).toBe('detail');
    expect((await loadPromptFolder(join(FIX, 'prompts/detail_description'))).format).toBe('text');
    expect((await loadPromptFolder(join(FIX, 'prompts/complex_reasoning'))).kind).toBe('complex_reasoning');
  });

  it('loads the early JSONL form and its instruction paragraph', async () => {
    const folder = await loadPromptFolder(join(FIX, 'early/conversation'));
    expect(folder.format).toBe('jsonl');
    expect(folder.instruction).toBe('Include 2 rounds of QA. Ask for a short description once.');
  });

  it('loads a whole prompt set and ignores files in the root', async () => {
    const set = await loadPromptSet(join(FIX, 'prompts'));
    expect(Object.keys(set).sort()).toEqual(['complex_reasoning', 'conversation', 'detail']);
  });

  it.each([
    ['missing-pair/conversation', 'prompts/missing-pair', '001_caps.txt'],
    ['stray-file/conversation', 'prompts/stray-file', 'notes.md'],
    ['empty-system/conversation', 'prompts/empty-system-message', 'system_message.txt'],
    ['bad-example/complex_reasoning', 'prompts/bad-example', '000_conv.txt'],
  ])('reports %s clearly', async (dir, ruleId, file) => {
    const error = await loadPromptFolder(join(FIX, 'broken', dir)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromptFolderError);
    const diagnostics = (error as PromptFolderError).diagnostics;
    expect(diagnostics.map((d) => d.ruleId)).toContain(ruleId);
    const d = diagnostics.find((x) => x.ruleId === ruleId)!;
    expect(d.file?.endsWith(file)).toBe(true);
    expect(d.severity).toBe('error');
  });

  it('reports a missing system message, a numbering gap and an unknown kind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prompts-'));
    try {
      const conv = join(dir, 'conversation');
      await cp(join(FIX, 'prompts/conversation'), conv, { recursive: true });
      await rm(join(conv, 'system_message.txt'));
      let result = await checkPromptFolder(conv);
      expect(result.folder).toBeUndefined();
      expect(result.diagnostics[0]?.message).toContain('missing');

      await writeFile(join(conv, 'system_message.txt'), 'Hello.');
      await cp(join(conv, '001_caps.txt'), join(conv, '003_caps.txt'));
      await cp(join(conv, '001_conv.txt'), join(conv, '003_conv.txt'));
      result = await checkPromptFolder(conv);
      expect(result.folder?.examples.map((e) => e.number)).toEqual(['000', '001', '003']);
      expect(result.diagnostics.map((d) => d.ruleId)).toEqual(['prompts/numbering-gap']);

      const other = await checkPromptFolder(join(dir));
      expect(other.diagnostics[0]?.ruleId).toBe('prompts/unknown-kind');
      await expect(loadPromptSet(join(FIX, 'broken'))).rejects.toThrow(PromptFolderError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
