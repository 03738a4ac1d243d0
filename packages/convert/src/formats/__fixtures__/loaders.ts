/**
 * The trainers' loader rules, written from their source (the writer README's "Loader rules" section lists them), as
 * test helpers: each checker takes the records of a written file (and, for LLaMA-Factory, its
 * dataset_info.json entry) and returns the problems the real loader would hit: exceptions it raises, examples it
 * skips or silently changes. An empty list means the loader takes every record as written.
 *
 * - LLaMA-Factory: `data/parser.py` (column and tag defaults), `data/converter.py` `SharegptDatasetConverter`
 *   (system tag, odd/even role tags, even message count, `_find_medias`), `data/mm_plugin.py` `_validate_messages`
 *   (placeholder counts per medium), and the Hugging Face JSON loader it goes through (declared columns must exist,
 *   one Arrow type per column).
 * - ms-swift: `swift/dataset/preprocessor/core.py` (`_check_messages`: role set, non-null string content) and
 *   `swift/template/base.py` (tag/media reconciliation: missing tags are prepended, extra tags stay literal).
 * - TRL: `trl/data_utils.py` `prepare_multimodal_messages` (roles, placeholder count vs images; string contents get
 *   every image inserted before the first user message) and Arrow's one type per column.
 * - OpenAI: the vision fine-tuning guide (roles, content parts, images only in user messages, at most 10 images,
 *   https/data URLs, an assistant message to learn from).
 */

const IMAGE = '<image>';
const VIDEO = '<video>';
const AUDIO = '<audio>';

type Json = Record<string, unknown>;

function count(text: string, token: string): number {
  let n = 0;
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + token.length)) n++;
  return n;
}

function kindOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'struct' : typeof value;
}

/**
 * Arrow (Hugging Face `datasets`' JSON loader) gives every column, and every field of nested structs and lists, one
 * type: a path holding a string in one record and a number (or a list) in another fails to load
 * ("ArrowInvalid: JSON parse error: Column() changed from object to array", "Expected bytes, got a 'int' object").
 */
export function arrowProblems(records: readonly unknown[]): string[] {
  const kinds = new Map<string, Set<string>>();
  const walk = (value: unknown, path: string) => {
    const kind = kindOf(value);
    if (kind === undefined) return;
    let set = kinds.get(path);
    if (!set) kinds.set(path, (set = new Set()));
    set.add(kind);
    if (kind === 'list') for (const item of value as unknown[]) walk(item, `${path}[]`);
    else if (kind === 'struct') for (const [k, v] of Object.entries(value as Json)) walk(v, `${path}.${k}`);
  };
  for (const record of records) walk(record, '');
  const problems: string[] = [];
  for (const [path, set] of kinds) {
    if (set.size > 1) problems.push(`arrow: ${path || 'record'} mixes ${[...set].sort().join(' and ')}`);
  }
  return problems;
}

/** A LLaMA-Factory dataset_info.json entry (the parts the ShareGPT loader reads). */
export interface LfEntry {
  formatting?: string;
  ranking?: boolean;
  columns?: Record<string, string>;
  tags?: Record<string, string>;
  [key: string]: unknown;
}

/** The dataset attributes LLaMA-Factory's parser derives from an entry (defaults of `DatasetAttr`). */
export function lfAttributes(entry: LfEntry) {
  const columns = entry.columns ?? {};
  const tags = entry.tags ?? {};
  return {
    formatting: entry.formatting ?? 'alpaca',
    ranking: entry.ranking === true,
    messages: columns.messages ?? 'conversations',
    system: columns.system,
    tools: columns.tools,
    images: columns.images,
    videos: columns.videos,
    audios: columns.audios,
    role: tags.role_tag ?? 'from',
    content: tags.content_tag ?? 'value',
    user: tags.user_tag ?? 'human',
    assistant: tags.assistant_tag ?? 'gpt',
    observation: tags.observation_tag ?? 'observation',
    function: tags.function_tag ?? 'function_call',
    systemTag: tags.system_tag ?? 'system',
  };
}

/** What LLaMA-Factory makes of one example: the aligned messages and media, as its converter returns them. */
export interface LfExample {
  prompt: { role: string; content: string }[];
  response: { role: string; content: string }[];
  system: string;
  images: unknown[] | null;
  videos: unknown[] | null;
}

/** LLaMA-Factory's ShareGPT loading of a written file: the problems, and the aligned examples. */
export function lfLoad(entry: LfEntry, records: readonly unknown[]): { problems: string[]; examples: LfExample[] } {
  const a = lfAttributes(entry);
  const problems: string[] = [];
  const examples: LfExample[] = [];
  if (a.formatting !== 'sharegpt') return { problems: [`formatting ${a.formatting} is not sharegpt`], examples };
  problems.push(...arrowProblems(records));
  // the JSON loader's columns: the union of the records' keys; a declared column outside it is a KeyError
  const keys = new Set<string>();
  for (const r of records) if (typeof r === 'object' && r !== null) for (const k of Object.keys(r)) keys.add(k);
  for (const column of [a.messages, a.system, a.tools, a.images, a.videos, a.audios]) {
    if (column !== undefined && records.length > 0 && !keys.has(column)) {
      problems.push(`KeyError: column "${column}" is declared in dataset_info.json but no record has it`);
    }
  }
  const tagMapping: Record<string, string> = {
    [a.user]: 'user',
    [a.assistant]: 'assistant',
    [a.observation]: 'observation',
    [a.function]: 'function',
    [a.systemTag]: 'system',
  };
  const odd = [a.user, a.observation];
  const even = [a.assistant, a.function];
  records.forEach((raw, index) => {
    const example = raw as Json;
    const at = `record ${index}`;
    let messages = example[a.messages] as Json[] | undefined | null;
    if (!Array.isArray(messages)) {
      problems.push(`${at}: TypeError: ${a.messages} is not a list`);
      return;
    }
    let system = '';
    if (a.systemTag && messages.length !== 0 && messages[0]![a.role] === a.systemTag) {
      system = String(messages[0]![a.content]);
      messages = messages.slice(1);
    } else if (a.system) system = (example[a.system] as string | null | undefined) ?? '';
    const aligned: { role: string; content: string }[] = [];
    for (let i = 0; i < messages.length; i++) {
      const role = messages[i]![a.role] as string;
      if (!(i % 2 === 0 ? odd : even).includes(role)) {
        problems.push(`${at}: skipped ("Invalid role tag"): message ${i} has role ${JSON.stringify(role)}`);
        return;
      }
      const content = messages[i]![a.content];
      if (typeof content !== 'string') {
        problems.push(`${at}: message ${i} content is not a string (the template cannot render it)`);
        return;
      }
      aligned.push({ role: tagMapping[role]!, content });
    }
    if ((!a.ranking && aligned.length % 2 !== 0) || (a.ranking && aligned.length % 2 === 0)) {
      problems.push(`${at}: skipped ("Invalid message count"): ${aligned.length} messages`);
      return;
    }
    const medias = (column: string | undefined): unknown[] | null => {
      if (!column) return null;
      const value = example[column];
      if (value === null || value === undefined) return null;
      const list = Array.isArray(value) ? value : [value];
      return list.length === 0 ? null : list;
    };
    const images = medias(a.images);
    const videos = medias(a.videos);
    const audios = medias(a.audios);
    // mm_plugin._validate_messages: placeholders in every aligned message, against each medium
    let imageTokens = 0;
    let videoTokens = 0;
    let audioTokens = 0;
    for (const m of aligned) {
      imageTokens += count(m.content, IMAGE);
      videoTokens += count(m.content, VIDEO);
      audioTokens += count(m.content, AUDIO);
    }
    const checks: [string, number, unknown[] | null][] = [
      ['images', imageTokens, images],
      ['videos', videoTokens, videos],
      ['audios', audioTokens, audios],
    ];
    for (const [what, tokens, list] of checks) {
      if ((list?.length ?? 0) !== tokens) {
        problems.push(`${at}: ValueError: The number of ${what} does not match the number of placeholders (${list?.length ?? 0} vs ${tokens})`);
      }
    }
    for (const list of [images, videos]) {
      for (const item of list ?? []) if (typeof item !== 'string') problems.push(`${at}: media entry is not a path`);
    }
    examples.push({ prompt: aligned.slice(0, -1), response: aligned.slice(-1), system, images, videos });
  });
  return { problems, examples };
}

const SWIFT_ROLES = new Set(['system', 'user', 'assistant', 'tool_call', 'tool_response', 'tool']);

/**
 * ms-swift's standard-format loading: `_check_messages` (known roles, a system message only first, string content)
 * and the template's tag reconciliation, which does not fail but changes the record (missing `<image>`/`<video>`
 * tags are prepended to the first message; extra tags stay as literal text): both are reported.
 */
export function swiftLoad(records: readonly unknown[], options: { allowPrepend?: boolean } = {}): string[] {
  const problems = arrowProblems(records);
  records.forEach((raw, index) => {
    const r = raw as Json;
    const at = `record ${index}`;
    const messages = r.messages as Json[] | undefined;
    if (!Array.isArray(messages)) return problems.push(`${at}: no messages list`);
    let images = 0;
    let videos = 0;
    messages.forEach((m, i) => {
      if (!SWIFT_ROLES.has(m.role as string)) problems.push(`${at}: AssertionError: message ${i} role ${String(m.role)}`);
      if (m.role === 'system' && i !== 0) problems.push(`${at}: system message at ${i}, not first`);
      if (typeof m.content !== 'string') problems.push(`${at}: AssertionError: message ${i} content is not a string`);
      else {
        images += count(m.content, IMAGE);
        videos += count(m.content, VIDEO);
      }
    });
    for (const [column, tokens] of [
      ['images', images],
      ['videos', videos],
    ] as const) {
      const value = r[column];
      const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
      if (list.some((x) => typeof x !== 'string')) problems.push(`${at}: ${column} holds a non-path`);
      if (list.length > tokens && !(options.allowPrepend && tokens === 0)) problems.push(`${at}: ${list.length - tokens} ${column} without a tag: ms-swift prepends tags to the first message`);
      if (list.length < tokens) problems.push(`${at}: ${tokens - list.length} extra ${column} tag(s) stay as literal text`);
    }
    return undefined;
  });
  return problems;
}

const TRL_ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/**
 * TRL's `prepare_multimodal_messages` and its dataset loading: roles, content parts (`text` with a string `text`,
 * bare `image`/`video` placeholders), placeholders against the `images`/`videos` columns (string contents get every
 * image inserted before the first user message, so a literal `<image>` left in the text doubles it), and one Arrow
 * type per column (all contents strings, or all part lists).
 */
export function trlLoad(records: readonly unknown[]): string[] {
  const problems = arrowProblems(records);
  records.forEach((raw, index) => {
    const r = raw as Json;
    const at = `record ${index}`;
    const messages = r.messages as Json[] | undefined;
    if (!Array.isArray(messages)) return problems.push(`${at}: no messages list`);
    const images = Array.isArray(r.images) ? r.images.length : 0;
    const videos = Array.isArray(r.videos) ? r.videos.length : 0;
    let imageSlots = 0;
    let videoSlots = 0;
    let strings = false;
    messages.forEach((m, i) => {
      if (!TRL_ROLES.has(m.role as string)) problems.push(`${at}: ValueError: invalid role ${String(m.role)} at ${i}`);
      if (typeof m.content === 'string') {
        strings = true;
        if (images > 0 && m.content.includes(IMAGE)) problems.push(`${at}: literal <image> text besides the inserted images`);
        return;
      }
      if (!Array.isArray(m.content)) return problems.push(`${at}: message ${i} content is neither text nor parts`);
      for (const part of m.content as Json[]) {
        if (part.type === 'image') imageSlots++;
        else if (part.type === 'video') videoSlots++;
        else if (part.type !== 'text' || typeof part.text !== 'string') problems.push(`${at}: bad part ${JSON.stringify(part)}`);
        else if (part.text.includes(IMAGE) || part.text.includes(VIDEO)) problems.push(`${at}: a placeholder left inside text`);
      }
      return undefined;
    });
    if (!strings && imageSlots !== images) {
      problems.push(`${at}: ValueError: Number of images provided (${images}) does not match number of image placeholders (${imageSlots}).`);
    }
    if (!strings && videoSlots !== videos) problems.push(`${at}: ${videos} videos for ${videoSlots} video placeholders`);
    if (strings && videos > 0) problems.push(`${at}: string contents cannot place videos`);
    return undefined;
  });
  return problems;
}

const OPENAI_URL = /^(?:https:\/\/|http:\/\/|data:image\/(?:jpeg|png|webp);base64,|file:\/\/)/;

/** OpenAI's chat fine-tuning checks (vision fine-tuning guide), per example. */
export function openAiLoad(records: readonly unknown[], maxImages = 10): string[] {
  const problems: string[] = [];
  records.forEach((raw, index) => {
    const r = raw as Json;
    const at = `record ${index}`;
    for (const key of Object.keys(r)) if (key !== 'messages') problems.push(`${at}: unknown key ${key}`);
    const messages = r.messages as Json[] | undefined;
    if (!Array.isArray(messages)) return problems.push(`${at}: no messages list`);
    let images = 0;
    let assistant = false;
    messages.forEach((m, i) => {
      if (!TRL_ROLES.has(m.role as string)) problems.push(`${at}: invalid role ${String(m.role)}`);
      if (m.role === 'assistant') assistant = true;
      if (typeof m.content === 'string') return;
      if (!Array.isArray(m.content)) return problems.push(`${at}: message ${i} content is neither text nor parts`);
      for (const part of m.content as Json[]) {
        if (part.type === 'text' && typeof part.text === 'string') continue;
        if (part.type !== 'image_url') {
          problems.push(`${at}: unknown part type ${String(part.type)}`);
          continue;
        }
        images++;
        if (m.role !== 'user') problems.push(`${at}: image in a ${String(m.role)} message`);
        const url = (part.image_url as Json | undefined)?.url;
        if (typeof url !== 'string' || !OPENAI_URL.test(url)) problems.push(`${at}: image URL ${String(url)} is not fetchable`);
      }
      return undefined;
    });
    if (images > maxImages) problems.push(`${at}: ${images} images (at most ${maxImages})`);
    if (!assistant) problems.push(`${at}: no assistant message to learn from`);
    return undefined;
  });
  return problems;
}
