/**
 * Verdicts on one distinct image path (internal): what `checkImages` records for every reference to it. Shared by
 * the checking thread and the worker threads.
 */
import { isReadRefused } from './confined.js';
import { missingDiagnostic, readErrorDiagnostic, unreadableDiagnostic } from './resolution-diagnostics.js';
import type { FoundResolution, MissingResolution, RefusedResolution } from './resolver-types.js';
import { imageRules } from './rules.js';
import { formatOfExtension, type ImageInfo } from './sniff.js';
import type { ImageProblem, ImageStatus, PrefixReport } from './status.js';

export interface Finding {
  readonly rule: (typeof imageRules)[keyof typeof imageRules];
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

export interface Outcome {
  readonly status: ImageStatus;
  readonly findings: readonly Finding[];
  problem?: ImageProblem;
}

export const OK: Outcome = { status: 'ok', findings: [] };

/**
 * A deferred miss: a clean ref that no serving folder holds, with nothing to note (no near miss). Its one finding
 * (`images/missing`, where the resolver looked) is written only when a diagnostic is built; until then it costs one
 * small object per distinct missing image.
 */
export class DeferredMiss implements Outcome {
  readonly status = 'missing' as const;
  readonly findings: readonly Finding[] = [];
  problem?: ImageProblem;
}

/** Count a sniffed image's format and dimensions in a report (images of no known format are not counted). */
export function countInfo(report: PrefixReport, info: ImageInfo): void {
  if (info.format === 'unknown') return;
  report.formats[info.format] = (report.formats[info.format] ?? 0) + 1;
  if (info.width !== undefined && info.height !== undefined && info.badDimensions === undefined) {
    report.width = widen(report.width, info.width);
    report.height = widen(report.height, info.height);
  }
}

export function verdictOfUnfound(resolution: MissingResolution | RefusedResolution): Outcome {
  if (resolution.status === 'refused') {
    const d = resolution.diagnostic;
    const rule = d.ruleId === imageRules.invalidPath.id ? imageRules.invalidPath : imageRules.outsideRoot;
    return { status: 'refused', findings: [{ rule, message: d.message, data: { ...d.data } }] };
  }
  const d = missingDiagnostic(resolution);
  return { status: 'missing', findings: [{ rule: imageRules.missing, message: d.message, data: { ...d.data } }] };
}

function unreadableVerdict(found: FoundResolution, why: string): Outcome {
  const d = unreadableDiagnostic(found, { code: why });
  return { status: 'unreadable', findings: [{ rule: imageRules.unreadable, message: d.message, data: { ...d.data } }] };
}

/**
 * The verdict for a found image whose read failed: refused (`images/outside-root`) when the opened file lay outside
 * the sources, `images/too-large` over the size limit, else `images/unreadable` with the error's code.
 */
export function verdictOfReadError(found: FoundResolution, error: unknown): Outcome {
  if (!isReadRefused(error) || error.reason === 'not-a-file') {
    return unreadableVerdict(found, isReadRefused(error) ? error.message : errorCode(error));
  }
  const d = readErrorDiagnostic(found, error);
  const rule = error.reason === 'outside' ? imageRules.outsideRoot : imageRules.tooLarge;
  return {
    status: error.reason === 'outside' ? 'refused' : 'unreadable',
    findings: [{ rule, message: d.message, data: { ...d.data } }],
  };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : String(error));
}

export function verdictOfImage(found: FoundResolution, info: ImageInfo): Outcome {
  const ref = found.ref;
  const where =
    found.location.kind === 'file' ? found.location.path : `${found.location.archive}!${found.location.entry}`;
  const data = { ref, location: found.location, format: info.format };
  if (info.format === 'unknown') {
    return {
      status: 'not-image',
      findings: [
        {
          rule: imageRules.notAnImage,
          message: `Image "${ref}" (${where}) is not an image: ${info.note ?? 'no known signature'}.`,
          data,
        },
      ],
    };
  }
  if (info.badDimensions) {
    return {
      status: 'not-image',
      findings: [
        {
          rule: imageRules.badDimensions,
          message: `Image "${ref}" (${where}) declares ${info.width ?? '?'}×${info.height ?? '?'} pixels: ${info.badDimensions}.`,
          data: { ...data, width: info.width, height: info.height },
        },
      ],
    };
  }
  const findings: Finding[] = [];
  if (info.truncated) {
    findings.push({
      rule: imageRules.truncated,
      message: `Image "${ref}" (${where}) is a truncated ${info.format.toUpperCase()}: ${info.note ?? 'incomplete'}.`,
      data,
    });
  }
  const promised = formatOfExtension(found.path);
  if (promised !== info.format) {
    const dot = found.path.lastIndexOf('.');
    const ext = dot > found.path.lastIndexOf('/') ? found.path.slice(dot) : '(no extension)';
    findings.push({
      rule: imageRules.formatMismatch,
      message: `Image "${ref}" is a ${info.format.toUpperCase()} but its name ends in ${ext}.`,
      data: { ...data, extension: ext },
    });
  }
  if (findings.length === 0) return OK;
  return { status: findings[0]!.rule === imageRules.truncated ? 'truncated' : 'format-mismatch', findings };
}

export function widen(range: { min: number; max: number } | undefined, value: number): { min: number; max: number } {
  if (!range) return { min: value, max: value };
  if (value < range.min) range.min = value;
  if (value > range.max) range.max = value;
  return range;
}
