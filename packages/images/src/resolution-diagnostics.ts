import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { isReadRefused } from './confined.js';
import type { FoundResolution, MissingResolution } from './resolver-types.js';
import { imageRules } from './rules.js';

/** The `images/missing` diagnostic for a missing resolution (without record fields). */
export function missingDiagnostic(resolution: MissingResolution): Diagnostic {
  return diagnose(imageRules.missing, {
    message: `Image "${resolution.ref}" was not found; looked at ${resolution.looked.join('; ')}.`,
    source: 'images',
    data: { ref: resolution.ref, looked: resolution.looked },
  });
}

/**
 * The diagnostic for a found image whose read failed: `images/outside-root` when the opened file turned out to lie
 * outside the sources (swapped for a symlink after listing), `images/too-large` over the size limit (or a zip entry
 * inflating past its declared size), else `images/unreadable`.
 */
export function readErrorDiagnostic(found: FoundResolution, error: unknown): Diagnostic {
  if (!isReadRefused(error) || error.reason === 'not-a-file') return unreadableDiagnostic(found, error);
  const rule = error.reason === 'outside' ? imageRules.outsideRoot : imageRules.tooLarge;
  return diagnose(rule, {
    message:
      error.reason === 'outside'
        ? `The image path "${found.ref}" was refused when read: ${error.message}.`
        : `Image "${found.ref}" is refused: ${error.message}.`,
    source: 'images',
    data: { ref: found.ref, location: found.location, ...error.data },
  });
}

/** The `images/unreadable` diagnostic for a found image that could not be read. */
export function unreadableDiagnostic(found: FoundResolution, error: unknown): Diagnostic {
  const where =
    found.location.kind === 'file' ? found.location.path : `${found.location.archive}!${found.location.entry}`;
  const why = isReadRefused(error)
    ? error.message
    : ((error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : String(error)));
  return diagnose(imageRules.unreadable, {
    message: `Image "${found.ref}" (${where}) cannot be read: ${why}.`,
    source: 'images',
    data: { ref: found.ref, location: found.location },
  });
}
