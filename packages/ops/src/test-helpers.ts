import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBuiltinRegistry } from '@llavakit/convert';
import type { LlavaRecord } from '@llavakit/schema';

export const registry = createBuiltinRegistry();

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'llava-ops-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeJson(path: string, records: readonly unknown[]): Promise<string> {
  await writeFile(path, JSON.stringify(records));
  return path;
}

export async function readJson<T = LlavaRecord>(path: string): Promise<T[]> {
  return JSON.parse(await readFile(path, 'utf8')) as T[];
}

export async function readLines(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function rec(id: string | number, question: string, image?: string, answer = 'Yes.'): LlavaRecord {
  return {
    id,
    ...(image ? { image } : {}),
    conversations: [
      { from: 'human', value: image ? `<image>\n${question}` : question },
      { from: 'gpt', value: answer },
    ],
  };
}
