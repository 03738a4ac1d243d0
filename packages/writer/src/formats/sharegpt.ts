import { diagnose } from '@llavakit/diagnostics';
import { defineFormat } from '@llavakit/format';
import { IMAGE_TOKEN, type LlavaRecord, countImageTokens, imagesOf } from '@llavakit/schema';
import * as z from 'zod';
import { writerRules } from '../rules.js';

/** Options of the ShareGPT format. */
export const shareGptOptionsSchema = z.object({
  idField: z
    .boolean()
    .default(true)
    .describe('Write the record id as a string `id` field (LLaMA-Factory ignores it; Arrow needs one type).'),
});

/** A ShareGPT record as LLaMA-Factory reads it with its default tags. */
export interface ShareGptRecord {
  id?: string;
  conversations: { from: 'human' | 'gpt'; value: string }[];
  system?: string;
  images?: string[];
}

/**
 * ShareGPT as LLaMA-Factory reads it with its default tags (`formatting: sharegpt`, `columns.messages:
 * conversations`, `columns.images: images`, tags `from`/`value`/`human`/`gpt`): one `images` entry per `<image>`
 * token, plus `system` when the record has one (a `system` key or a leading `system` turn).
 */
export const shareGptFormat = defineFormat({
  specVersion: 1,
  name: 'sharegpt',
  description: 'ShareGPT as LLaMA-Factory reads it: {conversations[{from, value}], images, system}',
  extensions: ['.json', '.jsonl'],
  defaultContainer: 'json',
  limitations: ['integer record ids are written as strings'],
  optionsSchema: shareGptOptionsSchema,
  detect(probe) {
    const first = probe.values[0] as Record<string, unknown> | undefined;
    if (!first || typeof first !== 'object') return 0;
    return Array.isArray(first.conversations) && Array.isArray(first.images) && !('image' in first) ? 0.95 : 0;
  },
  encode(record, context) {
    const source = { file: context.file, recordIndex: context.index, source: 'sharegpt' } as const;
    const withId = record.id !== undefined ? { ...source, recordId: record.id } : source;
    const turns = record.conversations;
    let system = typeof record.system === 'string' ? record.system : undefined;
    let start = 0;
    if (turns[0]?.from === 'system') {
      system = turns[0].value;
      start = 1;
    }
    const conversations: ShareGptRecord['conversations'] = [];
    let tokens = 0;
    for (let i = start; i < turns.length; i++) {
      const turn = turns[i]!;
      if (turn.from !== 'human' && turn.from !== 'gpt') {
        return {
          ok: false,
          diagnostics: [
            diagnose(writerRules.unsupportedRole, {
              ...withId,
              message: `Turn ${i} has role "${turn.from}"; ShareGPT (LLaMA-Factory default tags) takes human and gpt.`,
              pointer: `/conversations/${i}/from`,
            }),
          ],
        };
      }
      tokens += countImageTokens(turn.value);
      conversations.push({ from: turn.from, value: turn.value });
    }
    const images = imagesOf(record);
    let imageList: string[] | undefined;
    if (images.length === tokens) imageList = images;
    else if (images.length === 1 && tokens > 1) {
      imageList = Array.from({ length: tokens }, () => images[0]!);
      context.count('images:repeated-per-token');
    } else {
      return {
        ok: false,
        diagnostics: [
          diagnose(writerRules.imageCountMismatch, {
            ...withId,
            message: `The record has ${images.length} image(s) but ${tokens} ${IMAGE_TOKEN} token(s); LLaMA-Factory requires one image per token.`,
            pointer: images.length === 0 ? '/conversations' : '/image',
            data: { images: images.length, tokens },
          }),
        ],
      };
    }
    const out: ShareGptRecord = { conversations };
    if (context.options.idField && record.id !== undefined) out.id = String(record.id);
    if (system !== undefined) out.system = system;
    if (imageList.length > 0) out.images = imageList.map((path) => context.images.rewrite(path));
    return { ok: true, value: out };
  },
  decode(value, context) {
    const v = value as Partial<ShareGptRecord> & Record<string, unknown>;
    if (typeof v !== 'object' || v === null || !Array.isArray(v.conversations)) {
      return {
        ok: false,
        diagnostics: [
          diagnose(writerRules.invalidRecord, {
            message: 'A ShareGPT record needs a `conversations` list.',
            file: context.file,
            recordIndex: context.index,
            pointer: '/conversations',
            source: 'sharegpt',
          }),
        ],
      };
    }
    const record: LlavaRecord = { conversations: [] };
    if (v.id !== undefined) record.id = v.id;
    const images = Array.isArray(v.images) ? v.images.filter((x): x is string => typeof x === 'string') : [];
    const unique = [...new Set(images)];
    if (unique.length === 1) record.image = unique[0]!;
    else if (images.length > 1) record.image = images;
    if (typeof v.system === 'string') record.system = v.system;
    for (const turn of v.conversations) {
      record.conversations.push({ from: String(turn?.from), value: String(turn?.value ?? '') });
    }
    return { ok: true, record };
  },
});
