import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { IMAGE_TOKEN, type LlavaRecord } from '@llavakit/schema';
import { pyLstripChars, pyStrip } from './py.js';
import { promptRules } from './rules.js';

/** How a template joins its messages (LLaVA's `SeparatorStyle`). */
export type SeparatorStyle = 'SINGLE' | 'TWO' | 'MPT' | 'PLAIN' | 'LLAMA_2';

/** One conversation template, field for field as in LLaVA's `llava/conversation.py`. */
export interface ConversationTemplate {
  readonly system: string;
  readonly roles: readonly [string, string];
  /** Built-in messages rendered before the record's (only `v0`/`default` have them). */
  readonly messages: readonly (readonly [string, string])[];
  readonly offset: number;
  readonly sepStyle: SeparatorStyle;
  readonly sep: string;
  /** `null` is Python `None` (the plain template). */
  readonly sep2: string | null;
  /** The template's `version` field, which picks LLaVA's preprocessing path. */
  readonly version: string;
}

// System prompts of llava/conversation.py (haotian-liu/LLaVA @ c121f04, Apache-2.0), needed for byte-exact output.
const S_V0 =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";
const S_V1 =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const S_MMTAG =
  'A chat between a curious user and an artificial intelligence assistant. The assistant is able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.The visual content will be provided with the following format: <Image>visual content</Image>.';
const S_LLAMA2 =
  "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. Please ensure that your responses are socially unbiased and positive in nature.\n\nIf a question does not make any sense, or is not factually coherent, explain why instead of answering something not correct. If you don't know the answer to a question, please don't share false information.";
const S_LLAVA_LLAMA2 =
  'You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.';
const S_MPT =
  '<|im_start|>system\nA conversation between a user and an LLM-based AI assistant. The assistant gives helpful and honest answers.';
const S_CHATML_DIRECT = '<|im_start|>system\nAnswer the questions.';

// The two built-in example messages of `conv_vicuna_v0` (same source), rendered before the record at inference.
const V0_EXAMPLE: readonly (readonly [string, string])[] = [
  ['Human', 'What are the key differences between renewable and non-renewable energy sources?'],
  [
    'Assistant',
    'Renewable energy sources are those that can be replenished naturally in a relatively short amount of time, such as solar, wind, hydro, geothermal, and biomass. Non-renewable energy sources, on the other hand, are finite and will eventually be depleted, such as coal, oil, and natural gas. Here are some key differences between renewable and non-renewable energy sources:\n' +
      '1. Availability: Renewable energy sources are virtually inexhaustible, while non-renewable energy sources are finite and will eventually run out.\n' +
      '2. Environmental impact: Renewable energy sources have a much lower environmental impact than non-renewable sources, which can lead to air and water pollution, greenhouse gas emissions, and other negative effects.\n' +
      '3. Cost: Renewable energy sources can be more expensive to initially set up, but they typically have lower operational costs than non-renewable sources.\n' +
      '4. Reliability: Renewable energy sources are often more reliable and can be used in more remote locations than non-renewable sources.\n' +
      '5. Flexibility: Renewable energy sources are often more flexible and can be adapted to different situations and needs, while non-renewable sources are more rigid and inflexible.\n' +
      '6. Sustainability: Renewable energy sources are more sustainable over the long term, while non-renewable sources are not, and their depletion can lead to economic and social instability.\n',
  ],
];

const USER_ASSISTANT = ['USER', 'ASSISTANT'] as const;
const HUMAN_ASSISTANT = ['Human', 'Assistant'] as const;
const CHATML_ROLES = ['<|im_start|>user\n', '<|im_start|>assistant\n'] as const;

const vicunaV0: ConversationTemplate = {
  system: S_V0,
  roles: HUMAN_ASSISTANT,
  messages: V0_EXAMPLE,
  offset: 2,
  sepStyle: 'SINGLE',
  sep: '###',
  sep2: null,
  version: 'Unknown',
};
const vicunaV1: ConversationTemplate = {
  system: S_V1,
  roles: USER_ASSISTANT,
  messages: [],
  offset: 0,
  sepStyle: 'TWO',
  sep: ' ',
  sep2: '</s>',
  version: 'v1',
};
const llama2: ConversationTemplate = {
  system: S_LLAMA2,
  roles: USER_ASSISTANT,
  messages: [],
  offset: 0,
  sepStyle: 'LLAMA_2',
  sep: '<s>',
  sep2: '</s>',
  version: 'llama_v2',
};
const mistralInstruct: ConversationTemplate = { ...llama2, system: '', sep: '' };
const chatmlDirect: ConversationTemplate = {
  system: S_CHATML_DIRECT,
  roles: CHATML_ROLES,
  messages: [],
  offset: 0,
  sepStyle: 'MPT',
  sep: '<|im_end|>',
  sep2: null,
  version: 'mpt',
};
const plain: ConversationTemplate = {
  system: '',
  roles: ['', ''],
  messages: [],
  offset: 0,
  sepStyle: 'PLAIN',
  sep: '\n',
  sep2: null,
  version: 'Unknown',
};
const llavaV0: ConversationTemplate = { ...vicunaV0, messages: [], offset: 0 };
const v0Mmtag: ConversationTemplate = { ...llavaV0, system: S_MMTAG, version: 'v0_mmtag' };
const llavaV1: ConversationTemplate = { ...vicunaV1, system: S_V0 };
const v1Mmtag: ConversationTemplate = { ...vicunaV1, system: S_MMTAG, version: 'v1_mmtag' };
const llavaLlama2: ConversationTemplate = { ...llama2, system: S_LLAVA_LLAMA2 };
const mpt: ConversationTemplate = { ...chatmlDirect, system: S_MPT };

const TEMPLATES: Readonly<Record<string, ConversationTemplate>> = {
  default: vicunaV0,
  v0: vicunaV0,
  v1: vicunaV1,
  vicuna_v1: vicunaV1,
  llama_2: llama2,
  mistral_instruct: mistralInstruct,
  chatml_direct: chatmlDirect,
  mistral_direct: chatmlDirect,
  plain,
  v0_plain: plain,
  llava_v0: llavaV0,
  v0_mmtag: v0Mmtag,
  llava_v1: llavaV1,
  v1_mmtag: v1Mmtag,
  llava_llama_2: llavaLlama2,
  mpt,
};

/** The names of LLaVA's `conv_templates` (haotian-liu/LLaVA @ c121f04), in its order. */
export const conversationTemplates: readonly string[] = Object.keys(TEMPLATES);

/** The template of a name, or `undefined` when LLaVA has no such template. */
export function getConversationTemplate(name: string): ConversationTemplate | undefined {
  return Object.hasOwn(TEMPLATES, name) ? TEMPLATES[name] : undefined;
}

/** Options of {@link renderConversation}. */
export interface RenderOptions {
  /** A name of {@link conversationTemplates} (as given to LLaVA's `--version` / `--conv-mode`). */
  readonly template: string;
  /**
   * `train` (default): what LLaVA's `train.py` builds with `--version <template>` — including its module default
   * (`--version v0` trains with `vicuna_v1`), the first-turn drop and alternation check of the v1/llama_2/mpt
   * paths, the legacy `### Role: …\n` path and `preprocess_plain`. `inference`: the template's `get_prompt()` on
   * the record's turns (after the built-in messages of `v0`), as the eval scripts and CLI render prompts.
   */
  readonly mode?: 'train' | 'inference';
  /**
   * Inference only: render a generation prompt — a trailing gpt turn is removed and an empty assistant turn
   * appended (`… ASSISTANT:`).
   */
  readonly generation?: boolean;
  /** `--mm_use_im_start_end`: `<image>` becomes `<im_start><image><im_end>`. Default false. */
  readonly mmUseImStartEnd?: boolean;
  /**
   * Apply LLaVA's `preprocess_multimodal` (move `<image>` to the front of its turn, `mmtag` wrapping). Default:
   * when the record has an `image` key, as LLaVA does.
   */
  readonly multimodal?: boolean;
}

type Message = [role: string, text: string | null];

/**
 * Render a record exactly as LLaVA does (haotian-liu/LLaVA @ c121f04): `preprocess_multimodal` (each turn with
 * `<image>` gets it moved to the front as `"<image>\n"`, wrapped as `<Image><image></Image>` for `mmtag`
 * templates), then the template's rendering (see {@link RenderOptions.mode}). Throws a `DiagnosticError`
 * (`render/failed`) where LLaVA would raise (an unknown `from`, broken alternation, a plain record without two
 * turns or without `<image>`), and `render/unknown-template` for an unknown name.
 *
 * @example
 * ```ts
 * renderConversation(
 *   { image: 'a.jpg', conversations: [{ from: 'human', value: 'Q?\n<image>' }, { from: 'gpt', value: 'A.' }] },
 *   { template: 'v1' },
 * );
 * // "A chat between a curious user … user's questions. USER: <image>\nQ? ASSISTANT: A.</s>"
 * ```
 */
export function renderConversation(
  record: Pick<LlavaRecord, 'conversations'> & { image?: unknown },
  options: RenderOptions,
): string {
  const named = getConversationTemplate(options.template);
  if (!named) {
    throw new DiagnosticError(
      diagnose(promptRules.unknownTemplate, {
        message: `Unknown conversation template \`${options.template}\`; known: ${conversationTemplates.join(', ')}.`,
        source: 'render',
      }),
    );
  }
  const mode = options.mode ?? 'train';
  if (options.generation && mode !== 'inference') throw new RangeError('generation prompts need mode "inference"');
  // Training with `--version v0` keeps the module default conversation, conv_vicuna_v1.
  const template = mode === 'train' && options.template === 'v0' ? vicunaV1 : named;
  const multimodal = options.multimodal ?? Object.hasOwn(record, 'image');
  const turns = record.conversations.map((t) => ({ from: t.from, value: t.value }));
  if (multimodal) preprocessMultimodal(turns, template.version, options.mmUseImStartEnd ?? false);

  if (mode === 'inference') {
    const messages: Message[] = template.messages.map(([r, t]) => [r, t]);
    const list = options.generation && turns.at(-1)?.from === 'gpt' ? turns.slice(0, -1) : turns;
    for (const [i, turn] of list.entries()) messages.push([roleOf(template, turn.from, i), turn.value]);
    if (options.generation) messages.push([template.roles[1], null]);
    return getPrompt(template, messages);
  }

  if (template.sepStyle === 'PLAIN') {
    if (turns.length !== 2) fail(`The plain template needs exactly 2 turns, the record has ${turns.length}.`);
    if (!turns[0]!.value.includes(IMAGE_TOKEN)) fail('The plain template needs `<image>` in the first turn.', 0);
    return IMAGE_TOKEN + turns[1]!.value + template.sep;
  }
  if (template.sepStyle === 'LLAMA_2' || template.version.startsWith('v1') || template.version === 'mpt') {
    if (turns.length === 0) fail('The record has no turns.');
    let source = turns;
    if (roleOf(template, source[0]!.from, 0) !== template.roles[0]) source = source.slice(1);
    const messages: Message[] = source.map((turn, j) => {
      const role = roleOf(template, turn.from, j + turns.length - source.length);
      if (role !== template.roles[j % 2]) {
        fail(`Turn ${j + turns.length - source.length} is \`${turn.from}\`; turns must alternate human, gpt.`, j);
      }
      return [role, turn.value];
    });
    return getPrompt(template, messages);
  }
  // Legacy path (`_add_speaker_and_signal`).
  let out = `${template.system}\n\n`;
  for (const turn of turns) {
    const from = turn.from.toLowerCase();
    const role = from === 'human' ? template.roles[0] : from === 'gpt' ? template.roles[1] : 'unknown';
    out += `### ${role}: ${turn.value}\n`;
  }
  return `${out}### `;
}

function roleOf(template: ConversationTemplate, from: string, index: number): string {
  if (from === 'human') return template.roles[0];
  if (from === 'gpt') return template.roles[1];
  return fail(`Turn ${index} has \`from: ${JSON.stringify(from)}\`; LLaVA knows only \`human\` and \`gpt\`.`, index);
}

function fail(message: string, turn?: number): never {
  throw new DiagnosticError(
    diagnose(promptRules.renderFailed, {
      message,
      ...(turn !== undefined ? { pointer: `/conversations/${turn}` } : {}),
      source: 'render',
    }),
  );
}

/** LLaVA's `preprocess_multimodal`, on a copy of the turns. */
function preprocessMultimodal(turns: { from: string; value: string }[], version: string, imStartEnd: boolean): void {
  for (const turn of turns) {
    if (turn.value.includes(IMAGE_TOKEN)) {
      let value = pyStrip(turn.value.replaceAll(IMAGE_TOKEN, ''));
      value = pyStrip(`${IMAGE_TOKEN}\n${value}`);
      if (version.includes('mmtag')) value = value.replaceAll(IMAGE_TOKEN, `<Image>${IMAGE_TOKEN}</Image>`);
      turn.value = value;
    }
    if (imStartEnd) turn.value = turn.value.replaceAll(IMAGE_TOKEN, `<im_start>${IMAGE_TOKEN}<im_end>`);
  }
}

/** LLaVA's `Conversation.get_prompt()` (messages with `null` or `''` text are "no message"). */
function getPrompt(t: ConversationTemplate, messages: readonly Message[]): string {
  switch (t.sepStyle) {
    case 'SINGLE': {
      let ret = t.system + t.sep;
      for (const [role, text] of messages) ret += text ? `${role}: ${text}${t.sep}` : `${role}:`;
      return ret;
    }
    case 'TWO': {
      const seps = [t.sep, t.sep2 ?? 'None'];
      let ret = t.system + seps[0];
      for (const [i, [role, text]] of messages.entries()) ret += text ? `${role}: ${text}${seps[i % 2]}` : `${role}:`;
      return ret;
    }
    case 'MPT': {
      let ret = t.system + t.sep;
      for (const [role, text] of messages) ret += text ? role + text + t.sep : role;
      return ret;
    }
    case 'LLAMA_2': {
      let ret = '';
      for (const [i, [role, text]] of messages.entries()) {
        if (i === 0) {
          if (!text) fail('The first message must not be empty (LLaVA asserts it).', 0);
          if (role !== t.roles[0]) fail('The first message must come from the user (LLaVA asserts it).', 0);
        }
        if (!text) continue;
        let message = text;
        if (i === 0 && t.system.length > 0) message = `<<SYS>>\n${t.system}\n<</SYS>>\n\n${message}`;
        if (i % 2 === 0) ret += `${t.sep}[INST] ${message} [/INST]`;
        else ret += ` ${message} ${t.sep2}`;
      }
      return pyLstripChars(ret, t.sep);
    }
    case 'PLAIN': {
      let ret = t.system;
      for (const [i, [, text]] of messages.entries()) {
        if (!text) continue;
        const sep = i % 2 === 0 ? t.sep : t.sep2;
        if (sep === null) fail('The plain template cannot render a second message (LLaVA raises TypeError).', i);
        ret += text + sep;
      }
      return ret;
    }
  }
}
