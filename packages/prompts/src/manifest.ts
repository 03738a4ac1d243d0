import type { Diagnostic } from '@llavakit/diagnostics';
import { badLine, overlongLineDiagnostic, readLines, tryJson } from './jsonl.js';
import type { ManifestEntry } from './request.js';
import { commit, stage, writeAll } from './staged-write.js';

/**
 * Write a manifest (one {@link ManifestEntry} per line), so that results can be turned back into records. The file
 * appears atomically; a failure is an `output/write-failed` `DiagnosticError` naming `path`, leaving nothing.
 */
export async function writeManifest(path: string, entries: Iterable<ManifestEntry>): Promise<number> {
  const file = await stage(path);
  let count = 0;
  try {
    let chunk: string[] = [];
    for (const entry of entries) {
      chunk.push(JSON.stringify(entry));
      count++;
      if (chunk.length >= 10_000) {
        await writeAll(file, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) await writeAll(file, `${chunk.join('\n')}\n`);
    await commit(file);
  } catch (error) {
    await file.discard();
    throw error;
  }
  return count;
}

/** Read a manifest written by {@link writeManifest}. Bad lines become `prompts/bad-line` diagnostics. */
export async function readManifest(path: string): Promise<{ entries: ManifestEntry[]; diagnostics: Diagnostic[] }> {
  const entries: ManifestEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  for await (const item of readLines(path)) {
    if (item.overlong) {
      diagnostics.push(overlongLineDiagnostic(path, item));
      continue;
    }
    const { line, text } = item;
    const value = tryJson(text) as Partial<ManifestEntry> | undefined;
    if (
      typeof value?.custom_id !== 'string' ||
      typeof value.id !== 'string' ||
      typeof value.image !== 'string' ||
      (value.kind !== 'conversation' && value.kind !== 'detail' && value.kind !== 'complex_reasoning')
    ) {
      diagnostics.push(badLine(path, line, text, 'A manifest line needs `custom_id`, `kind`, `id` and `image`.'));
      continue;
    }
    entries.push(value as ManifestEntry);
  }
  return { entries, diagnostics };
}
