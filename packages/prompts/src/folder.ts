import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { type PromptKind, promptFolderNames, promptKinds, toPromptKind } from './kinds.js';
import { splitQa, splitQaJsonl } from './parse.js';
import { pyStrip } from './py.js';
import { promptRules } from './rules.js';

/** One few-shot example: the user content (`NNN_caps.txt`) and the reference assistant answer (`NNN_conv.txt`). */
export interface FewShotExample {
  /** The 3-digit number shared by the pair (`'000'`). */
  readonly number: string;
  /** User message: the text of `NNN_caps.txt`, byte for byte. */
  readonly user: string;
  /** Assistant message: the text of `NNN_conv.txt`, byte for byte. */
  readonly assistant: string;
}

/**
 * Layout of the assistant side of a folder: `qa` (`Question:`/`===`/`Answer:` blocks), `jsonl` (the early
 * conversation form: one `{"question", "answer"}` object per line) or `text` (detail descriptions).
 */
export type ResponseFormat = 'qa' | 'jsonl' | 'text';

/** A loaded prompt folder: the system message and the ordered few-shot pairs. */
export interface PromptFolder {
  /** The folder path as given. */
  readonly dir: string;
  /** Which kind of data the folder generates. */
  readonly kind: PromptKind;
  /** `system_message.txt`, byte for byte. */
  readonly system: string;
  /** Few-shot pairs in number order (000, 001, …). */
  readonly examples: readonly FewShotExample[];
  /** Layout of the assistant answers (and so of the expected model responses). */
  readonly format: ResponseFormat;
  /**
   * Early-form folders only: the instruction paragraph that follows the captions in every `NNN_caps.txt`
   * (e.g. "Include 5 rounds of QA…"); request building appends it to each query the same way.
   */
  readonly instruction?: string;
  /** Warnings found while loading (errors make loading fail). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Result of {@link checkPromptFolder}: the folder when it has no errors, and every diagnostic found. */
export interface CheckPromptFolderResult {
  readonly folder?: PromptFolder;
  readonly diagnostics: readonly Diagnostic[];
}

/** Thrown by {@link loadPromptFolder}: the first error as its diagnostic, all of them in `diagnostics`. */
export class PromptFolderError extends DiagnosticError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0]!;
    super(first);
    this.name = 'PromptFolderError';
    this.diagnostics = diagnostics;
  }
}

const PAIR_FILE = /^(\d{3})_(caps|conv)\.txt$/;
const SYSTEM_FILE = 'system_message.txt';

/** Options of {@link loadPromptFolder} and {@link checkPromptFolder}. */
export interface LoadPromptFolderOptions {
  /** The kind; default: from the folder name (`conversation`, `detail_description`, `complex_reasoning`). */
  readonly kind?: PromptKind;
}

/**
 * Read and check a prompt folder without throwing: every problem (missing pair, stray file, empty system
 * message, empty or malformed few-shot file, numbering gap) becomes a diagnostic naming the file.
 */
export async function checkPromptFolder(
  dir: string,
  options: LoadPromptFolderOptions = {},
): Promise<CheckPromptFolderResult> {
  const diagnostics: Diagnostic[] = [];
  const kind = options.kind ?? toPromptKind(basename(dir));
  if (!kind) {
    diagnostics.push(
      diagnose(promptRules.unknownKind, {
        message: `Cannot tell the prompt kind from the folder name \`${basename(dir)}\`.`,
        file: dir,
        source: 'prompts',
      }),
    );
    return { diagnostics };
  }
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  } catch (error) {
    diagnostics.push(
      diagnose(promptRules.badInput, {
        message: `Cannot read the prompt folder: ${(error as Error).message}`,
        file: dir,
        source: 'prompts',
      }),
    );
    return { diagnostics };
  }
  names.sort();
  const pairs = new Map<string, { caps?: string; conv?: string }>();
  let hasSystem = false;
  for (const name of names) {
    const match = PAIR_FILE.exec(name);
    if (match) {
      const entry = pairs.get(match[1]!) ?? {};
      entry[match[2] as 'caps' | 'conv'] = name;
      pairs.set(match[1]!, entry);
    } else if (name === SYSTEM_FILE) {
      hasSystem = true;
    } else {
      diagnostics.push(
        diagnose(promptRules.strayFile, {
          message: `\`${name}\` is not a prompt file.`,
          file: join(dir, name),
          source: 'prompts',
        }),
      );
    }
  }

  let system = '';
  if (hasSystem) system = await readFile(join(dir, SYSTEM_FILE), 'utf8');
  if (!hasSystem || pyStrip(system) === '') {
    diagnostics.push(
      diagnose(promptRules.emptySystem, {
        message: hasSystem ? '`system_message.txt` is empty.' : '`system_message.txt` is missing.',
        file: join(dir, SYSTEM_FILE),
        source: 'prompts',
      }),
    );
  }

  const examples: FewShotExample[] = [];
  const numbers = [...pairs.keys()].sort();
  for (const [i, number] of numbers.entries()) {
    const entry = pairs.get(number)!;
    if (!entry.caps || !entry.conv) {
      const have = entry.caps ?? entry.conv!;
      const missing = `${number}_${entry.caps ? 'conv' : 'caps'}.txt`;
      diagnostics.push(
        diagnose(promptRules.missingPair, {
          message: `\`${have}\` has no partner \`${missing}\`.`,
          file: join(dir, have),
          source: 'prompts',
          data: { missing },
        }),
      );
      continue;
    }
    if (Number(number) !== i && !diagnostics.some((d) => d.ruleId === promptRules.numberingGap.id)) {
      diagnostics.push(
        diagnose(promptRules.numberingGap, {
          message: `Pair numbers are not consecutive from 000 (found ${numbers.join(', ')}).`,
          file: dir,
          source: 'prompts',
        }),
      );
    }
    const user = await readFile(join(dir, entry.caps), 'utf8');
    const assistant = await readFile(join(dir, entry.conv), 'utf8');
    for (const [name, text] of [
      [entry.caps, user],
      [entry.conv, assistant],
    ] as const) {
      if (pyStrip(text) === '') {
        diagnostics.push(
          diagnose(promptRules.emptyExample, {
            message: `\`${name}\` is empty.`,
            file: join(dir, name),
            source: 'prompts',
          }),
        );
      }
    }
    examples.push({ number, user, assistant });
  }

  const format = detectFormat(kind, examples);
  if (format !== 'text') {
    for (const example of examples) {
      if (pyStrip(example.assistant) === '') continue;
      const split = format === 'jsonl' ? splitQaJsonl(example.assistant) : splitQa(example.assistant);
      const file = join(dir, `${example.number}_conv.txt`);
      if (!split.ok) {
        diagnostics.push(diagnose(promptRules.badExample, { message: split.problem.message, file, source: 'prompts' }));
      } else if (kind === 'complex_reasoning' && split.pairs.length !== 1) {
        diagnostics.push(
          diagnose(promptRules.badExample, {
            message: `A complex reasoning example holds one question and answer, found ${split.pairs.length}.`,
            file,
            source: 'prompts',
          }),
        );
      }
    }
  }

  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const instruction = format === 'jsonl' ? sharedInstruction(examples) : undefined;
  const folder: PromptFolder = {
    dir,
    kind,
    system,
    examples,
    format,
    ...(instruction !== undefined ? { instruction } : {}),
    diagnostics,
  };
  return { folder, diagnostics };
}

/**
 * Load a prompt folder: `system_message.txt` plus the ordered few-shot pairs (`NNN_caps.txt` → user,
 * `NNN_conv.txt` → assistant), in the current (`Question:`/`===`/`Answer:`) or the early JSONL form.
 * Throws a {@link PromptFolderError} listing every problem when the folder has errors.
 *
 * @example
 * ```ts
 * const folder = await loadPromptFolder('prompts/conversation');
 * folder.examples.length; // 2
 * ```
 */
export async function loadPromptFolder(dir: string, options: LoadPromptFolderOptions = {}): Promise<PromptFolder> {
  const result = await checkPromptFolder(dir, options);
  if (!result.folder) throw new PromptFolderError(result.diagnostics);
  return result.folder;
}

/**
 * Load the prompt folders of a prompts root (LLaVA's `playground/data/prompts`): each of `conversation`,
 * `detail_description` and `complex_reasoning` that exists. Files directly in the root (a README) are ignored.
 * Throws a {@link PromptFolderError} when no kind folder exists or one of them has errors.
 */
export async function loadPromptSet(root: string): Promise<Partial<Record<PromptKind, PromptFolder>>> {
  const out: Partial<Record<PromptKind, PromptFolder>> = {};
  const diagnostics: Diagnostic[] = [];
  for (const kind of promptKinds) {
    const dir = join(root, promptFolderNames[kind]);
    const exists = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!exists) continue;
    const result = await checkPromptFolder(dir, { kind });
    if (result.folder) out[kind] = result.folder;
    else diagnostics.push(...result.diagnostics);
  }
  if (diagnostics.length > 0) throw new PromptFolderError(diagnostics);
  if (Object.keys(out).length === 0) {
    throw new PromptFolderError([
      diagnose(promptRules.badInput, {
        message: `No prompt folder (${promptKinds.map((k) => promptFolderNames[k]).join(', ')}) in \`${root}\`.`,
        file: root,
        source: 'prompts',
      }),
    ]);
  }
  return out;
}

function detectFormat(kind: PromptKind, examples: readonly FewShotExample[]): ResponseFormat {
  if (kind === 'detail') return 'text';
  const nonEmpty = examples.filter((e) => pyStrip(e.assistant) !== '');
  if (
    kind === 'conversation' &&
    nonEmpty.length > 0 &&
    nonEmpty.every((e) => pyStrip(e.assistant).startsWith('{') && splitQaJsonl(e.assistant).ok)
  ) {
    return 'jsonl';
  }
  return 'qa';
}

function sharedInstruction(examples: readonly FewShotExample[]): string | undefined {
  let shared: string | undefined;
  for (const example of examples) {
    const cut = example.user.replaceAll('\r\n', '\n').indexOf('\n\n');
    if (cut === -1) return undefined;
    const tail = pyStrip(example.user.slice(cut + 2));
    if (tail === '' || (shared !== undefined && shared !== tail)) return undefined;
    shared = tail;
  }
  return shared;
}
