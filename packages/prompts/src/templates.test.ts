import { DiagnosticError } from '@llavakit/diagnostics';
import { describe, expect, it } from 'vitest';
import { conversationTemplates, getConversationTemplate, renderConversation } from './templates.js';

// The worked examples of formats.md §2.7 (each checked against LLaVA's own conversation.py).
const CAT = {
  id: '000000052846',
  image: '000000052846.jpg',
  conversations: [
    { from: 'human', value: 'Where is the cat positioned in the image?\n<image>' },
    { from: 'gpt', value: 'The cat is on the couch.' },
    { from: 'human', value: 'What is it doing?' },
    { from: 'gpt', value: 'Resting.' },
  ],
};
const S_V0 =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";
const S_V1 =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const S_MMTAG =
  'A chat between a curious user and an artificial intelligence assistant. The assistant is able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.The visual content will be provided with the following format: <Image>visual content</Image>.';
const LLAVA_LLAMA2_SYS =
  '[INST] <<SYS>>\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.\n<</SYS>>\n\n';

describe('renderConversation: formats.md §2.7 worked examples', () => {
  it('1. v1 (LLaVA-1.5 finetune), with im_start/end, and v1_mmtag', () => {
    expect(renderConversation(CAT, { template: 'v1' })).toBe(
      `${S_V1} USER: <image>\nWhere is the cat positioned in the image? ASSISTANT: The cat is on the couch.</s>USER: What is it doing? ASSISTANT: Resting.</s>`,
    );
    expect(renderConversation(CAT, { template: 'vicuna_v1' })).toBe(renderConversation(CAT, { template: 'v1' }));
    expect(renderConversation(CAT, { template: 'v1', mmUseImStartEnd: true })).toBe(
      `${S_V1} USER: <im_start><image><im_end>\nWhere is the cat positioned in the image? ASSISTANT: The cat is on the couch.</s>USER: What is it doing? ASSISTANT: Resting.</s>`,
    );
    expect(renderConversation(CAT, { template: 'v1_mmtag' })).toBe(
      `${S_MMTAG} USER: <Image><image></Image>\nWhere is the cat positioned in the image? ASSISTANT: The cat is on the couch.</s>USER: What is it doing? ASSISTANT: Resting.</s>`,
    );
  });

  it('2. llava_llama_2 and mistral_instruct', () => {
    expect(renderConversation(CAT, { template: 'llava_llama_2' })).toBe(
      `${LLAVA_LLAMA2_SYS}<image>\nWhere is the cat positioned in the image? [/INST] The cat is on the couch. </s><s>[INST] What is it doing? [/INST] Resting. </s>`,
    );
    expect(renderConversation(CAT, { template: 'mistral_instruct' })).toBe(
      '[INST] <image>\nWhere is the cat positioned in the image? [/INST] The cat is on the couch. </s>[INST] What is it doing? [/INST] Resting. </s>',
    );
  });

  it('3. chatml_direct and mpt', () => {
    const body =
      '<|im_start|>user\n<image>\nWhere is the cat positioned in the image?<|im_end|><|im_start|>assistant\nThe cat is on the couch.<|im_end|><|im_start|>user\nWhat is it doing?<|im_end|><|im_start|>assistant\nResting.<|im_end|>';
    expect(renderConversation(CAT, { template: 'chatml_direct' })).toBe(
      `<|im_start|>system\nAnswer the questions.<|im_end|>${body}`,
    );
    expect(renderConversation(CAT, { template: 'mpt' })).toBe(
      `<|im_start|>system\nA conversation between a user and an LLM-based AI assistant. The assistant gives helpful and honest answers.<|im_end|>${body}`,
    );
  });

  it('4. llava_v0: training path and inference get_prompt()', () => {
    expect(renderConversation(CAT, { template: 'llava_v0' })).toBe(
      `${S_V0}\n\n### Human: <image>\nWhere is the cat positioned in the image?\n### Assistant: The cat is on the couch.\n### Human: What is it doing?\n### Assistant: Resting.\n### `,
    );
    expect(renderConversation(CAT, { template: 'llava_v0', mode: 'inference' })).toBe(
      `${S_V0}###Human: <image>\nWhere is the cat positioned in the image?###Assistant: The cat is on the couch.###Human: What is it doing?###Assistant: Resting.###`,
    );
  });

  it('5. plain on a pretraining record', () => {
    const rec = {
      conversations: [
        { from: 'human', value: 'Render a clear and concise summary of the photo.\n<image>' },
        { from: 'gpt', value: 'select luxury furniture 3 - inch gel memory foam mattress topper' },
      ],
    };
    expect(renderConversation({ ...rec, image: 'x.jpg' }, { template: 'plain' })).toBe(
      '<image>select luxury furniture 3 - inch gel memory foam mattress topper\n',
    );
  });

  it('6. generation prompts (inference, empty last assistant turn)', () => {
    const rec = { image: 'a.jpg', conversations: [{ from: 'human', value: 'Describe.\n<image>' }] };
    const gen = (template: string) => renderConversation(rec, { template, mode: 'inference', generation: true });
    expect(gen('llava_v1')).toBe(`${S_V0} USER: <image>\nDescribe. ASSISTANT:`);
    expect(gen('llava_llama_2')).toBe(`${LLAVA_LLAMA2_SYS}<image>\nDescribe. [/INST]`);
    expect(gen('chatml_direct')).toBe(
      '<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\nDescribe.<|im_end|><|im_start|>assistant\n',
    );
    expect(gen('llava_v0')).toBe(`${S_V0}###Human: <image>\nDescribe.###Assistant:`);
    // A trailing gpt turn is replaced by the empty assistant turn.
    const withAnswer = { ...rec, conversations: [...rec.conversations, { from: 'gpt', value: 'A.' }] };
    expect(renderConversation(withAnswer, { template: 'llava_v1', mode: 'inference', generation: true })).toBe(
      gen('llava_v1'),
    );
  });

  it('7. text-only records keep <image> in place; a leading gpt turn is dropped', () => {
    const textOnly = {
      conversations: [
        { from: 'human', value: 'Hi <image> there' },
        { from: 'gpt', value: 'ok' },
      ],
    };
    expect(renderConversation(textOnly, { template: 'v1' })).toBe(`${S_V1} USER: Hi <image> there ASSISTANT: ok</s>`);
    const leadingGpt = { conversations: [{ from: 'gpt', value: 'Hello.' }, ...textOnly.conversations] };
    expect(renderConversation(leadingGpt, { template: 'v1' })).toBe(renderConversation(textOnly, { template: 'v1' }));
  });
});

describe('renderConversation: LLaVA details', () => {
  it('training with --version v0 uses the module default (vicuna_v1); inference v0 has its built-in examples', () => {
    expect(renderConversation(CAT, { template: 'v0' })).toBe(renderConversation(CAT, { template: 'v1' }));
    const inference = renderConversation(CAT, { template: 'v0', mode: 'inference' });
    expect(inference.startsWith(`${S_V0}###Human: What are the key differences between renewable`)).toBe(true);
    expect(inference).toContain('economic and social instability.\n###Human: <image>\nWhere is the cat');
    expect(renderConversation(CAT, { template: 'default' }).startsWith(`${S_V0}\n\n### Human: <image>`)).toBe(true);
  });

  it('v1 (training) says "user" where llava_v1 (inference default) says "human"', () => {
    expect(renderConversation(CAT, { template: 'v1' }).startsWith(S_V1)).toBe(true);
    expect(renderConversation(CAT, { template: 'llava_v1' }).startsWith(S_V0)).toBe(true);
  });

  it('moves <image> to the front of its turn as LLaVA does, collapsing repeats and keeping inner spaces', () => {
    const rec = {
      image: 'a.jpg',
      conversations: [
        { from: 'human', value: 'a <image> b <image>' },
        { from: 'gpt', value: 'c' },
      ],
    };
    expect(renderConversation(rec, { template: 'chatml_direct' })).toContain('user\n<image>\na  b<|im_end|>');
    expect(renderConversation(rec, { template: 'v0_mmtag' })).toContain('### Human: <Image><image></Image>\na  b\n');
    expect(renderConversation(rec, { template: 'llava_v0', multimodal: false })).toContain(
      '### Human: a <image> b <image>\n',
    );
  });

  it('renders empty messages as LLaVA does, and llama_2 with its system prompt', () => {
    const rec = {
      conversations: [
        { from: 'human', value: 'Q' },
        { from: 'gpt', value: '' },
      ],
    };
    expect(renderConversation(rec, { template: 'v1' })).toBe(`${S_V1} USER: Q ASSISTANT:`);
    expect(renderConversation(rec, { template: 'llama_2' })).toMatch(
      /^\[INST\] <<SYS>>\nYou are a helpful, respectful.*information\.\n<<\/SYS>>\n\nQ \[\/INST\]$/s,
    );
    const legacy = renderConversation(
      {
        conversations: [
          { from: 'Human', value: 'Q' },
          { from: 'bot', value: 'A' },
        ],
      },
      { template: 'llava_v0' },
    );
    expect(legacy).toBe(`${S_V0}\n\n### Human: Q\n### unknown: A\n### `);
  });

  it.each([
    ['unknown from (v1 path)', { conversations: [{ from: 'user', value: 'Q' }] }, 'v1'],
    [
      'broken alternation',
      {
        conversations: [
          { from: 'human', value: 'Q' },
          { from: 'human', value: 'Q2' },
        ],
      },
      'mpt',
    ],
    ['plain with 4 turns', { image: 'a', conversations: CAT.conversations }, 'plain'],
    [
      'plain without <image>',
      {
        image: 'a',
        conversations: [
          { from: 'human', value: 'Q' },
          { from: 'gpt', value: 'A' },
        ],
      },
      'plain',
    ],
    [
      'plain inference with 2 messages',
      {
        conversations: [
          { from: 'human', value: 'Q' },
          { from: 'gpt', value: 'A' },
        ],
      },
      'plain:inference',
    ],
    ['llama_2 first message empty', { conversations: [{ from: 'human', value: '' }] }, 'llava_llama_2'],
    ['empty conversation', { conversations: [] }, 'v1'],
  ])('fails like LLaVA: %s', (_name, record, spec) => {
    const [template, mode] = spec.split(':') as [string, 'inference' | undefined];
    let error: unknown;
    try {
      renderConversation(record, { template, mode: mode ?? 'train' });
    } catch (e) {
      error = e;
    }
    expect(DiagnosticError.is(error)).toBe(true);
    expect((error as DiagnosticError).diagnostic.ruleId).toBe('render/failed');
  });

  it('lists every template of conversation.py and rejects unknown names', () => {
    for (const name of [
      'v0',
      'v1',
      'vicuna_v1',
      'llava_v0',
      'llava_v1',
      'v0_mmtag',
      'v1_mmtag',
      'llama_2',
      'llava_llama_2',
      'mistral_instruct',
      'mpt',
      'chatml_direct',
      'plain',
    ]) {
      expect(conversationTemplates).toContain(name);
      expect(getConversationTemplate(name)).toBeDefined();
    }
    expect(getConversationTemplate('toString')).toBeUndefined();
    expect(() => renderConversation(CAT, { template: 'nope' })).toThrow(/Unknown conversation template/);
    expect(() => renderConversation(CAT, { template: 'v1', generation: true })).toThrow(RangeError);
  });
});
