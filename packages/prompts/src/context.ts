import { readFile } from 'node:fs/promises';
import { type Diagnostic, diagnose, excerpt } from '@llavakit/diagnostics';
import { overlongLineDiagnostic, readLines } from './jsonl.js';
import { type PromptKind, usesBoxes } from './kinds.js';
import { pyFloatRepr, pyRound } from './py.js';
import { promptRules } from './rules.js';

/** A box as LLaVA's prompts show it: normalised `[x1, y1, x2, y2]` in 0..1. */
export type NormalisedBox = readonly [number, number, number, number];

/** One annotated object: its COCO category name and normalised box. */
export interface BoxInstance {
  readonly category: string;
  readonly bbox: NormalisedBox;
}

/** What is known about one image: the input of one request per kind. */
export interface ImageContext {
  /** Record id (LLaVA uses the COCO file name without extension, `000000033471`). */
  readonly id: string;
  /** Image path as it goes into the record (`000000033471.jpg`). */
  readonly image: string;
  /** Captions in file order. */
  readonly captions: readonly string[];
  /** Objects in file order (boxes already normalised). */
  readonly instances: readonly BoxInstance[];
  /** Image width in pixels, when known. */
  readonly width?: number;
  /** Image height in pixels, when known. */
  readonly height?: number;
}

/** Options of box formatting. */
export interface BoxFormatOptions {
  /** Decimals to round to (Python `round`), as in the few-shot files. Default 3. */
  readonly digits?: number;
}

/**
 * Convert a COCO box (absolute `[x, y, w, h]` in pixels) to the normalised `[x1, y1, x2, y2]` of LLaVA's prompts:
 * `[x/W, y/H, (x+w)/W, (y+h)/H]`, each rounded with Python's `round(v, 3)` (ties to even on the exact binary value).
 *
 * @example
 * ```ts
 * cocoBoxToNormalised([10, 20, 30, 40], 640, 480); // [0.016, 0.042, 0.062, 0.125]
 * ```
 */
export function cocoBoxToNormalised(
  bbox: readonly [number, number, number, number] | readonly number[],
  width: number,
  height: number,
  options: BoxFormatOptions = {},
): NormalisedBox {
  const digits = options.digits ?? 3;
  const [x, y, w, h] = bbox as [number, number, number, number];
  return [
    pyRound(x / width, digits),
    pyRound(y / height, digits),
    pyRound((x + w) / width, digits),
    pyRound((y + h) / height, digits),
  ];
}

/**
 * One box line as in the few-shot files: `category: [x1, y1, x2, y2]` with Python float reprs (`0.0`, `0.3`,
 * `0.574`) — the same text as Python's `f'{category}: {bbox}'` for a list of floats.
 */
export function formatBox(instance: BoxInstance): string {
  return `${instance.category}: [${instance.bbox.map(pyFloatRepr).join(', ')}]`;
}

/** Input of {@link buildContext}. */
export interface BuildContextInput {
  readonly captions: readonly string[];
  readonly instances?: readonly BoxInstance[];
  readonly kind: PromptKind;
  /** An extra paragraph after a blank line (the early conversation form's instruction line). */
  readonly instruction?: string;
}

/**
 * Build the query context of one image, in the layout of the `NNN_caps.txt` few-shot files: captions one per
 * line; for `detail` and `complex_reasoning` (when there are boxes) a blank line and one `category: [x1, y1, x2,
 * y2]` line per object. `conversation` uses captions only. Line breaks inside a caption become spaces and each
 * caption is trimmed, so one caption is always one line.
 *
 * @example
 * ```ts
 * buildContext({ kind: 'detail', captions: ['A red kite.'], instances: [{ category: 'kite', bbox: [0.1, 0.2, 0.3, 0.4] }] });
 * // 'A red kite.\n\nkite: [0.1, 0.2, 0.3, 0.4]'
 * ```
 */
export function buildContext(input: BuildContextInput): string {
  let text = input.captions.map(normaliseCaption).join('\n');
  if (usesBoxes(input.kind) && input.instances && input.instances.length > 0) {
    text += `\n\n${input.instances.map(formatBox).join('\n')}`;
  }
  if (input.instruction) text += `\n\n${input.instruction}`;
  return text;
}

function normaliseCaption(caption: string): string {
  return caption.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** Result of {@link cocoContexts} and {@link readCapsBoxesJsonl}. */
export interface ContextsResult {
  readonly contexts: ImageContext[];
  readonly diagnostics: Diagnostic[];
}

/** Options of {@link cocoContexts}. */
export interface CocoContextsOptions extends BoxFormatOptions {
  /** A COCO captions file (`captions_train2017.json`). */
  readonly captionsFile: string;
  /** A COCO instances file (`instances_train2017.json`); without it contexts have no boxes. */
  readonly instancesFile?: string;
  /** Keep crowd annotations (`iscrowd: 1`). Default true (the prompts do not say LLaVA removed them). */
  readonly includeCrowd?: boolean;
}

interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

/**
 * Build one {@link ImageContext} per image of real COCO annotation files: captions from `captions_*.json`,
 * boxes from `instances_*.json` (absolute `[x, y, w, h]` normalised with the image's width and height, see
 * {@link cocoBoxToNormalised}), category ids resolved to names. Ids are the file names without extension.
 *
 * Each file is read whole and parsed with `JSON.parse` (COCO train2017 annotation files are about 90–450 MB;
 * this needs a few GB of memory for instances_train2017 — split the file or raise `--max-old-space-size` if
 * needed). Images without captions are reported (`prompts/no-captions`) and skipped; annotations that point
 * to unknown images or categories are reported.
 */
export async function cocoContexts(options: CocoContextsOptions): Promise<ContextsResult> {
  const diagnostics: Diagnostic[] = [];
  const captionsJson = await readJsonFile(options.captionsFile);
  const images = new Map<number, CocoImage>();
  const captions = new Map<number, string[]>();
  const instances = new Map<number, BoxInstance[]>();
  const bad = (file: string, message: string, pointer?: string) =>
    diagnostics.push(diagnose(promptRules.badInput, { message, file, pointer, source: 'prompts' }));

  const cap = captionsJson as { images?: unknown; annotations?: unknown };
  if (!Array.isArray(cap?.images) || !Array.isArray(cap?.annotations)) {
    bad(options.captionsFile, 'Not a COCO captions file: `images` and `annotations` arrays are needed.');
    return { contexts: [], diagnostics };
  }
  for (const [i, img] of (cap.images as unknown[]).entries()) {
    const o = img as Partial<CocoImage>;
    if (
      typeof o?.id !== 'number' ||
      typeof o.file_name !== 'string' ||
      !(typeof o.width === 'number' && o.width > 0) ||
      !(typeof o.height === 'number' && o.height > 0)
    ) {
      bad(
        options.captionsFile,
        'Image entry needs a numeric `id`, a `file_name` and positive `width`/`height`.',
        `/images/${i}`,
      );
      continue;
    }
    images.set(o.id, o as CocoImage);
  }
  for (const [i, ann] of (cap.annotations as unknown[]).entries()) {
    const o = ann as { image_id?: unknown; caption?: unknown };
    if (typeof o?.image_id !== 'number' || typeof o.caption !== 'string') {
      bad(
        options.captionsFile,
        'Caption annotation needs a numeric `image_id` and a string `caption`.',
        `/annotations/${i}`,
      );
      continue;
    }
    if (!images.has(o.image_id)) {
      bad(options.captionsFile, `Caption annotation points to unknown image ${o.image_id}.`, `/annotations/${i}`);
      continue;
    }
    let list = captions.get(o.image_id);
    if (!list) captions.set(o.image_id, (list = []));
    list.push(o.caption);
  }

  if (options.instancesFile) {
    const file = options.instancesFile;
    const inst = (await readJsonFile(file)) as { images?: unknown; annotations?: unknown; categories?: unknown };
    if (!Array.isArray(inst?.annotations) || !Array.isArray(inst?.categories)) {
      bad(file, 'Not a COCO instances file: `annotations` and `categories` arrays are needed.');
    } else {
      const categories = new Map<number, string>();
      for (const c of inst.categories as { id?: unknown; name?: unknown }[]) {
        if (typeof c?.id === 'number' && typeof c.name === 'string') categories.set(c.id, c.name);
      }
      // The instances file has its own image list (same ids); use it for sizes of images the captions lack.
      if (Array.isArray(inst.images)) {
        for (const img of inst.images as Partial<CocoImage>[]) {
          if (
            typeof img?.id === 'number' &&
            !images.has(img.id) &&
            typeof img.file_name === 'string' &&
            img.width &&
            img.height
          ) {
            images.set(img.id, img as CocoImage);
          }
        }
      }
      for (const [i, ann] of (inst.annotations as unknown[]).entries()) {
        const o = ann as { image_id?: unknown; bbox?: unknown; category_id?: unknown; iscrowd?: unknown };
        const pointer = `/annotations/${i}`;
        if (
          typeof o?.image_id !== 'number' ||
          typeof o.category_id !== 'number' ||
          !Array.isArray(o.bbox) ||
          o.bbox.length !== 4 ||
          !o.bbox.every((v) => typeof v === 'number' && Number.isFinite(v))
        ) {
          bad(file, 'Instance annotation needs `image_id`, `category_id` and a 4-number `bbox`.', pointer);
          continue;
        }
        if (options.includeCrowd === false && o.iscrowd === 1) continue;
        const image = images.get(o.image_id);
        const category = categories.get(o.category_id);
        if (!image) {
          bad(file, `Instance annotation points to unknown image ${o.image_id}.`, pointer);
          continue;
        }
        if (category === undefined) {
          bad(file, `Instance annotation has unknown category ${o.category_id}.`, pointer);
          continue;
        }
        let list = instances.get(o.image_id);
        if (!list) instances.set(o.image_id, (list = []));
        list.push({ category, bbox: cocoBoxToNormalised(o.bbox as number[], image.width, image.height, options) });
      }
    }
  }

  const contexts: ImageContext[] = [];
  for (const image of images.values()) {
    const caps = captions.get(image.id);
    const id = image.file_name.replace(/\.[^./]+$/, '');
    if (!caps || caps.length === 0) {
      diagnostics.push(
        diagnose(promptRules.noCaptions, {
          message: `Image ${image.file_name} has no captions; no request is built for it.`,
          file: options.captionsFile,
          recordId: id,
          source: 'prompts',
        }),
      );
      continue;
    }
    contexts.push({
      id,
      image: image.file_name,
      captions: caps,
      instances: instances.get(image.id) ?? [],
      width: image.width,
      height: image.height,
    });
  }
  return { contexts, diagnostics };
}

async function readJsonFile(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`${file}: not valid JSON (${(error as Error).message})`), { cause: error });
  }
}

/** Options of {@link readCapsBoxesJsonl}. */
export interface CapsBoxesOptions extends BoxFormatOptions {
  /** The longest line read, in bytes (default 64 MiB); longer lines are skipped with `prompts/line-too-long`. */
  readonly maxLineBytes?: number;
}

/**
 * Read LLaVA's caps-and-boxes JSONL form: one `{"id", "image", "captions": [...], "instances": [{"category",
 * "bbox"}]}` per line, boxes already normalised `[x1, y1, x2, y2]` in 0..1 (rounded again to `digits`, which
 * leaves 3-decimal values unchanged). Read line by line; a bad line gives a `prompts/bad-line` diagnostic with
 * its line number and is skipped, and `image` defaults to `<id>.jpg`.
 */
export async function readCapsBoxesJsonl(path: string, options: CapsBoxesOptions = {}): Promise<ContextsResult> {
  const digits = options.digits ?? 3;
  const contexts: ImageContext[] = [];
  const diagnostics: Diagnostic[] = [];
  let index = -1;
  for await (const item of readLines(path, options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {})) {
    index++;
    if (item.overlong) {
      diagnostics.push({ ...overlongLineDiagnostic(path, item, options.maxLineBytes), recordIndex: index });
      continue;
    }
    const { line: lineNo, text: line } = item;
    const fail = (message: string, pointer?: string) =>
      diagnostics.push(
        diagnose(promptRules.badLine, {
          message,
          file: path,
          recordIndex: index,
          pointer,
          place: { line: lineNo, column: 1 },
          excerpt: excerpt(line, 100),
          source: 'prompts',
        }),
      );
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      fail(`Not valid JSON: ${(error as Error).message}`);
      continue;
    }
    const o = value as { id?: unknown; image?: unknown; captions?: unknown; instances?: unknown };
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      fail('A line must be one JSON object.');
      continue;
    }
    if (typeof o.id !== 'string' && typeof o.id !== 'number') {
      fail('`id` must be a string or a number.', '/id');
      continue;
    }
    if (o.image !== undefined && typeof o.image !== 'string') {
      fail('`image` must be a string.', '/image');
      continue;
    }
    if (!Array.isArray(o.captions) || !o.captions.every((c) => typeof c === 'string') || o.captions.length === 0) {
      fail('`captions` must be a non-empty array of strings.', '/captions');
      continue;
    }
    const instances: BoxInstance[] = [];
    let broken = false;
    const list = o.instances ?? [];
    if (!Array.isArray(list)) {
      fail('`instances` must be an array.', '/instances');
      continue;
    }
    for (const [k, inst] of list.entries()) {
      const it = inst as { category?: unknown; bbox?: unknown };
      const ok =
        typeof it?.category === 'string' &&
        Array.isArray(it.bbox) &&
        it.bbox.length === 4 &&
        it.bbox.every((v) => typeof v === 'number' && v >= -0.001 && v <= 1.001);
      if (!ok) {
        fail(
          'Each instance needs a `category` string and a normalised `bbox` of 4 numbers in 0..1.',
          `/instances/${k}`,
        );
        broken = true;
        break;
      }
      const b = it.bbox as number[];
      instances.push({
        category: it.category as string,
        bbox: [pyRound(b[0]!, digits), pyRound(b[1]!, digits), pyRound(b[2]!, digits), pyRound(b[3]!, digits)],
      });
    }
    if (broken) continue;
    const id = String(o.id);
    contexts.push({
      id,
      image: (o.image as string | undefined) ?? `${id}.jpg`,
      captions: o.captions as string[],
      instances,
    });
  }
  return { contexts, diagnostics };
}
