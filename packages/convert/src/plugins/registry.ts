import type { Diagnostic } from '@llavakit/diagnostics';
import { diagnose } from '@llavakit/diagnostics';
import { canRead, checkFormatPlugin, type DetectProbe, type FormatPlugin, formatRules } from '@llavakit/format';

/** Where a format came from: built in, or the plugin package (name and version) that contributed it. */
export interface FormatOrigin {
  /** `builtin`, or the npm package name of the plugin. */
  readonly plugin: string;
  /** The plugin's version, when known. */
  readonly version?: string;
  /** How it was found: built in, an installed/linked oclif plugin, or an explicit `--plugin` specifier. */
  readonly via: 'builtin' | 'oclif-plugin' | 'specifier';
  /** The module file it was imported from (`--plugin` specifiers), so worker threads can import the same one. */
  readonly file?: string;
}

/** A registered format with its origin. */
export interface RegisteredFormat {
  readonly format: FormatPlugin<object>;
  readonly origin: FormatOrigin;
}

/**
 * A set of formats by name. Later registrations win over earlier ones with the same name (user plugins over
 * built-ins), and each replacement is reported.
 */
export class FormatRegistry {
  readonly #formats = new Map<string, RegisteredFormat>();
  /** Diagnostics produced while registering (duplicates, invalid plugins). */
  readonly diagnostics: Diagnostic[] = [];

  /** Register a checked format. */
  add(format: FormatPlugin<object>, origin: FormatOrigin): this {
    const previous = this.#formats.get(format.name);
    if (previous) {
      this.diagnostics.push(
        diagnose(formatRules.duplicate, {
          message: `Format "${format.name}" from ${origin.plugin} replaces the one from ${previous.origin.plugin}.`,
          source: origin.plugin,
        }),
      );
    }
    this.#formats.set(format.name, { format, origin });
    return this;
  }

  /** Check an unknown value and register it when it is a valid format; otherwise record why not. */
  addCandidate(candidate: unknown, origin: FormatOrigin): boolean {
    const check = checkFormatPlugin(candidate, origin.plugin);
    if (!check.ok) {
      this.diagnostics.push(check.diagnostic);
      return false;
    }
    this.add(check.format, origin);
    return true;
  }

  /** The format with that name, if any. */
  get(name: string): RegisteredFormat | undefined {
    return this.#formats.get(name);
  }

  /** All formats, in registration order. */
  list(): RegisteredFormat[] {
    return [...this.#formats.values()];
  }

  /**
   * Every readable format's `detect()` score for a probe (0 to 1; a throwing `detect` scores 0), highest first, ties
   * in registration order. Scores come from the records alone, never from the file name.
   */
  scores(probe: DetectProbe): { entry: RegisteredFormat; score: number }[] {
    const out: { entry: RegisteredFormat; score: number }[] = [];
    for (const entry of this.#formats.values()) {
      if (canRead(entry.format)) out.push({ entry, score: detectScore(entry, probe) });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  /**
   * Choose the input format for a probe: by `detect()` confidence, then by extension. Later-registered formats win
   * ties. Returns `undefined` when nothing readable claims the input.
   */
  detect(probe: DetectProbe): RegisteredFormat | undefined {
    let best: { entry: RegisteredFormat; score: number } | undefined;
    const extension = probe.path ? extname(probe.path) : '';
    for (const entry of this.#formats.values()) {
      if (!canRead(entry.format)) continue;
      let score = detectScore(entry, probe);
      if (score === 0 && extension && entry.format.extensions?.includes(extension)) score = 0.01;
      if (score > 0 && (!best || score >= best.score)) best = { entry, score };
    }
    return best?.entry;
  }
}

/** A format's `detect()` answer for a probe, clamped to 0–1; 0 when it throws or answers something else. */
function detectScore(entry: RegisteredFormat, probe: DetectProbe): number {
  let score = 0;
  try {
    score = entry.format.detect?.(probe) ?? 0;
  } catch {
    return 0;
  }
  return Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0;
}

function extname(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot <= 0 ? '' : base.slice(base.lastIndexOf('.'));
}
