/** Checking image sources before a run: folders that do not exist, zip archives that cannot be read, refused entries. */
import { promises as fsp } from 'node:fs';
import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { imageRules } from './rules.js';
import { formatImageSource, type ImageSource } from './sources.js';
import type { ZipIndex } from './zip.js';

/**
 * The problems of each source, in order: `images/source-unusable` for a folder that does not exist or is no folder
 * and for an archive that cannot be read as a zip, `images/zip-unsafe-entry` for each refused entry of an archive.
 * `zipOf(i)` opens (once) the archive of source `i`.
 */
export async function checkImageSources(
  sources: readonly ImageSource[],
  zipOf: (i: number) => Promise<ZipIndex | Error>,
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (let i = 0; i < sources.length; i++) {
    const source = sources[i]!;
    const spec = formatImageSource(source);
    if (source.kind === 'folder') {
      const stat = await fsp.stat(source.root).catch((error: NodeJS.ErrnoException) => error);
      if (stat instanceof Error || !stat.isDirectory()) {
        const why =
          stat instanceof Error ? (stat.code === 'ENOENT' ? 'does not exist' : stat.message) : 'is not a folder';
        out.push(
          diagnose(imageRules.sourceUnusable, {
            message: `Image source ${spec} ${why}.`,
            source: 'images',
            data: { source: spec },
          }),
        );
      }
      continue;
    }
    const zip = await zipOf(i);
    if (zip instanceof Error) {
      out.push(
        diagnose(imageRules.sourceUnusable, {
          message: `Image source ${spec} cannot be read as a zip archive: ${zip.message}.`,
          source: 'images',
          data: { source: spec },
        }),
      );
      continue;
    }
    for (const unsafe of zip.unsafe) {
      out.push(
        diagnose(imageRules.zipUnsafeEntry, {
          message: `Zip entry "${unsafe.name}" in ${source.path} is refused (${unsafe.reason}).`,
          source: 'images',
          data: { archive: source.path, entry: unsafe.name, reason: unsafe.reason },
        }),
      );
    }
  }
  return out;
}
