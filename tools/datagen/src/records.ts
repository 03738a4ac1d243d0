/**
 * Record factories: each returns one plain JSON-ready object shaped like a record of a real LLaVA-family file.
 * All randomness comes from the {@link Rng} passed in, so equal generators give equal records.
 */
import { permute, type Rng } from './rng.js';
import {
  BRIEF_PROMPTS,
  chatAnswer,
  chatQuestion,
  conversationTurn,
  DETAIL_PROMPTS,
  imageUrl,
  OBJECTS,
  paragraphs,
  reasoningQuestion,
  sentence,
  sentences,
  shortAnswer,
  shortQuestion,
  tokenisedCaption,
} from './text.js';

/** One turn of a LLaVA conversation. Extra keys (`text`, `markdown`) occur in one real mix665k record. */
export interface GenTurn {
  from: 'human' | 'gpt';
  value: string;
  [extra: string]: unknown;
}

/** A generated LLaVA-style record (key order is the order the real files use). */
export interface GenRecord {
  id?: string | number;
  model?: string;
  data_source?: string;
  image?: string | string[];
  video?: string;
  conversations: GenTurn[];
  [extra: string]: unknown;
}

/** Where the `<image>` token sits in the first human turn. */
export type Placement = 'start' | 'end';

/** `"<image>\n" + text` or `text + "\n<image>"`. */
export function placeImageToken(text: string, placement: Placement): string {
  return placement === 'start' ? `<image>\n${text}` : `${text}\n<image>`;
}

function randomPlacement(rng: Rng): Placement {
  return rng.chance(0.5) ? 'start' : 'end';
}

/** 12-digit zero-padded COCO train2017 id (e.g. `"000000033471"`). */
export function cocoId(rng: Rng): string {
  return String(rng.range(9, 581929)).padStart(12, '0');
}

/** Options shared by the LLaVA-Instruct factories. */
export interface InstructOptions {
  /** Prefix of the image path (`""` in the 150K files, `"coco/train2017/"` in mix665k). */
  imagePrefix?: string;
  /** Force a placement of `<image>`; default: random (both occur in the released files). */
  placement?: Placement;
}

function cocoShell(rng: Rng, opts: InstructOptions): { id: string; image: string; placement: Placement } {
  const id = cocoId(rng);
  return { id, image: `${opts.imagePrefix ?? ''}${id}.jpg`, placement: opts.placement ?? randomPlacement(rng) };
}

/** A conversation_58k-style record: 1–6 question/answer rounds about one COCO image. */
export function conversationRecord(rng: Rng, _index = 0, opts: InstructOptions = {}): GenRecord {
  const { id, image, placement } = cocoShell(rng, opts);
  const rounds = rng.range(1, 6);
  const conversations: GenTurn[] = [];
  for (let r = 0; r < rounds; r++) {
    const [q, a] = conversationTurn(rng);
    conversations.push({ from: 'human', value: r === 0 ? placeImageToken(q, placement) : q });
    conversations.push({ from: 'gpt', value: a });
  }
  return { id, image, conversations };
}

/** A detail_23k-style record: one instruction, one long multi-paragraph (`\n\n`) description. */
export function detailRecord(rng: Rng, _index = 0, opts: InstructOptions = {}): GenRecord {
  const { id, image, placement } = cocoShell(rng, opts);
  return {
    id,
    image,
    conversations: [
      { from: 'human', value: placeImageToken(rng.pick(DETAIL_PROMPTS), placement) },
      { from: 'gpt', value: paragraphs(rng, rng.range(1, 3), 2, 5) },
    ],
  };
}

/** A complex_reasoning_77k-style record: one reasoning question, one long answer. */
export function complexRecord(rng: Rng, _index = 0, opts: InstructOptions = {}): GenRecord {
  const { id, image, placement } = cocoShell(rng, opts);
  const answer = rng.chance(0.4) ? paragraphs(rng, 2, 3, 6) : sentences(rng, rng.range(6, 10));
  return {
    id,
    image,
    conversations: [
      { from: 'human', value: placeImageToken(reasoningQuestion(rng), placement) },
      { from: 'gpt', value: answer },
    ],
  };
}

/** Record counts of the three LLaVA-Instruct-150K parts (approximate: the cards say ~58K / ~23K / ~77K). */
export const INSTRUCT_PARTS = { conversation: 58000, detail: 23000, complex: 76712 } as const;

/** A llava_instruct_150k-style record: conversation, detail or complex reasoning in the real proportions. */
export function instructRecord(rng: Rng, index = 0, opts: InstructOptions = {}): GenRecord {
  const x = rng.int(INSTRUCT_PARTS.conversation + INSTRUCT_PARTS.detail + INSTRUCT_PARTS.complex);
  if (x < INSTRUCT_PARTS.conversation) return conversationRecord(rng, index, opts);
  if (x < INSTRUCT_PARTS.conversation + INSTRUCT_PARTS.detail) return detailRecord(rng, index, opts);
  return complexRecord(rng, index, opts);
}

/** A llava_instruct_80k-style record: 50% conversation, 50% complex reasoning. */
export function instruct80kRecord(rng: Rng, index = 0, opts: InstructOptions = {}): GenRecord {
  return rng.chance(0.5) ? conversationRecord(rng, index, opts) : complexRecord(rng, index, opts);
}

// ---------------------------------------------------------------------------------------------------------------
// llava_v1_5_mix665k

/** The sources of the 665K mix, in file order, with their full-size record counts. */
export const MIX_SOURCES = [
  { source: 'llava', count: 157712 },
  { source: 'vqav2', count: 82783 },
  { source: 'okvqa', count: 8998 },
  { source: 'ocrvqa', count: 80000 },
  { source: 'textcaps', count: 21953 },
  { source: 'vg', count: 86417 },
  { source: 'gqa', count: 72140 },
  { source: 'aokvqa', count: 66160 },
  { source: 'sharegpt', count: 40688 },
  { source: 'refcoco', count: 48447 },
] as const;

/** One source of the 665K mix. */
export type MixSource = (typeof MIX_SOURCES)[number]['source'];

/** Suffix LLaVA-1.5 appends to short-answer VQA questions. */
export const SHORT_ANSWER_SUFFIX = '\nAnswer the question using a single word or phrase.';
/** Suffix LLaVA-1.5 appends to multiple-choice questions. */
export const MC_SUFFIX = "\nAnswer with the option's letter from the given choices directly.";

function box(rng: Rng): string {
  const x1 = rng.range(0, 70) / 100;
  const y1 = rng.range(0, 70) / 100;
  const f = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
  return `[${f(x1)}, ${f(y1)}, ${f(Math.min(1, x1 + rng.range(5, 30) / 100))}, ${f(Math.min(1, y1 + rng.range(5, 30) / 100))}]`;
}

function shortQa(rng: Rng, rounds: number, suffixAll: boolean): GenTurn[] {
  const turns: GenTurn[] = [];
  for (let r = 0; r < rounds; r++) {
    const q = shortQuestion(rng) + (r === 0 || suffixAll ? SHORT_ANSWER_SUFFIX : '');
    turns.push({ from: 'human', value: r === 0 ? `<image>\n${q}` : q });
    turns.push({ from: 'gpt', value: shortAnswer(rng) });
  }
  return turns;
}

function regionTurns(rng: Rng, rounds: number): GenTurn[] {
  const turns: GenTurn[] = [];
  for (let r = 0; r < rounds; r++) {
    const phrase = `${rng.pick(['man', 'woman', 'white', 'left', 'black', 'small'])} ${rng.pick(OBJECTS)}${rng.chance(0.4) ? ` on the ${rng.pick(['left', 'right', 'top'])}` : ''}`;
    const b = box(rng);
    const [q, a] = rng.chance(0.5)
      ? [`Please provide a short description for this region: ${b}`, phrase]
      : [`Please provide the bounding box coordinate of the region this sentence describes: ${phrase}.`, b];
    turns.push({ from: 'human', value: r === 0 ? `<image>\n${q}` : q });
    turns.push({ from: 'gpt', value: a });
  }
  return turns;
}

/** ISBN-10-like OCR-VQA id with a correct check digit (which may be `X`). */
export function isbn10(rng: Rng): string {
  let body = '';
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const d = i === 0 ? rng.range(0, 1) : rng.int(10);
    body += d;
    sum += (10 - i) * d;
  }
  const check = (11 - (sum % 11)) % 11;
  return body + (check === 10 ? 'X' : String(check));
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** ShareGPT conversation id such as `"wgByO4Y_0"`. */
export function shareGptId(rng: Rng): string {
  let s = '';
  for (let i = 0; i < 7; i++) s += BASE62[rng.int(62)];
  return `${s}_${rng.chance(0.7) ? 0 : rng.range(1, 9)}`;
}

/** Per-record quirks of the 665K mix (chosen by {@link mixPlan}). */
export interface MixQuirks {
  /** Add leading/trailing whitespace to one turn (673 such records in the real file). */
  untrimmed?: boolean;
  /** Give one gpt turn extra `text` and `markdown` keys (one record in the real file). */
  extraTurnKeys?: boolean;
  /** ShareGPT record without the `model` key (40,687 of 40,688 carry it). */
  noModel?: boolean;
}

/** A record of one source of llava_v1_5_mix665k.json. `<image>` always leads the first human turn. */
export function mixRecord(rng: Rng, source: MixSource, index = 0, quirks: MixQuirks = {}): GenRecord {
  let rec: GenRecord;
  switch (source) {
    case 'llava':
      rec = instructRecord(rng, index, { imagePrefix: 'coco/train2017/', placement: 'start' });
      break;
    case 'vqav2':
    case 'okvqa': {
      const id = cocoId(rng);
      rec = {
        id,
        image: `coco/train2017/${id}.jpg`,
        conversations: shortQa(rng, source === 'okvqa' ? 1 : rng.range(1, 9), true),
      };
      break;
    }
    case 'aokvqa': {
      const id = cocoId(rng);
      const letters = ['A', 'B', 'C', 'D'];
      const options = letters.map((l) => `${l}. ${rng.pick(OBJECTS)}`).join('\n');
      const turns: GenTurn[] = [];
      const rounds = rng.range(1, 2);
      for (let r = 0; r < rounds; r++) {
        const q = `${shortQuestion(rng)}\n${options}${MC_SUFFIX}`;
        turns.push({ from: 'human', value: r === 0 ? `<image>\n${q}` : q });
        turns.push({ from: 'gpt', value: rng.pick(letters) });
      }
      rec = { id, image: `coco/train2017/${id}.jpg`, conversations: turns };
      break;
    }
    case 'refcoco': {
      const id = cocoId(rng);
      rec = { id, image: `coco/train2017/${id}.jpg`, conversations: regionTurns(rng, rng.range(2, 9)) };
      break;
    }
    case 'vg': {
      const n = rng.range(1, 2417997);
      rec = {
        id: String(n),
        image: `vg/${rng.chance(0.55) ? 'VG_100K' : 'VG_100K_2'}/${n}.jpg`,
        conversations: regionTurns(rng, rng.range(3, 12)),
      };
      break;
    }
    case 'gqa': {
      const n = permute(index, 2417997, 0x9a) + 1;
      rec = { id: n, image: `gqa/images/${n}.jpg`, conversations: shortQa(rng, rng.range(2, 9), true) };
      break;
    }
    case 'ocrvqa': {
      const id = isbn10(rng);
      const turns: GenTurn[] = [
        { from: 'human', value: `<image>\nWho is the author of this book?${SHORT_ANSWER_SUFFIX}` },
        {
          from: 'gpt',
          value: `${rng.pick(['H. Jackson', 'Mary', 'John', 'Anne-Marie', 'José'])} ${rng.pick(['Brown', 'Smith', 'García', 'Müller', 'Nguyen'])}`,
        },
        { from: 'human', value: 'What is the title of this book?' },
        { from: 'gpt', value: `The ${rng.pick(OBJECTS)} Book: ${sentence(rng).replace(/\.$/, '')}` },
      ];
      const extra = rng.range(0, 3);
      for (let r = 0; r < extra; r++) {
        turns.push({
          from: 'human',
          value: rng.pick([
            'What is the genre of this book?',
            'Is this a comedy book?',
            'Is this book related to Travel?',
            'What type of book is this?',
          ]),
        });
        turns.push({
          from: 'gpt',
          value: rng.pick(['Yes', 'No', 'Travel', 'Cookbooks, Food & Wine', 'Literature & Fiction']),
        });
      }
      rec = { id, image: `ocr_vqa/images/${id}.jpg`, conversations: turns };
      break;
    }
    case 'textcaps': {
      let id = '';
      for (let i = 0; i < 16; i++) id += '0123456789abcdef'[rng.int(16)];
      const ocr = rng.chance(0.4)
        ? `\nReference OCR token: ${rng.pick(['STOP', 'COCA-COLA', 'Café', 'EXIT', '2015'])}`
        : '';
      rec = {
        id,
        image: `textvqa/train_images/${id}.jpg`,
        conversations: [
          { from: 'human', value: `<image>\nProvide a one-sentence caption for the provided image.${ocr}` },
          { from: 'gpt', value: sentence(rng) },
        ],
      };
      break;
    }
    case 'sharegpt': {
      const rounds = rng.chance(0.5) ? 1 : rng.range(2, 6);
      const turns: GenTurn[] = [];
      for (let r = 0; r < rounds; r++) {
        turns.push({ from: 'human', value: chatQuestion(rng) });
        turns.push({ from: 'gpt', value: chatAnswer(rng, 3) });
      }
      rec = quirks.noModel
        ? { id: shareGptId(rng), conversations: turns }
        : { id: shareGptId(rng), model: '', conversations: turns };
      if (quirks.extraTurnKeys) {
        const gpt = turns[1]!;
        turns[1] = { ...gpt, text: gpt.value, markdown: { type: 'answer', index: 0, answer: gpt.value } };
      }
      break;
    }
  }
  if (quirks.untrimmed) {
    const turns = rec.conversations;
    const t = turns[rng.int(turns.length)]!;
    t.value = t.from === 'gpt' ? ` ${t.value} ` : `${t.value}\n`;
  }
  return rec;
}

// ---------------------------------------------------------------------------------------------------------------
// Pretraining files

interface CaptionItem {
  id: string;
  image: string;
  prompt: string;
  placement: Placement;
  caption: string;
  url: string;
  blip?: string;
}

function cc3mItem(rng: Rng, index: number, key: number): CaptionItem {
  const id = `GCC_train_${String(permute(index, 3318333, key)).padStart(9, '0')}`;
  const caption = tokenisedCaption(rng, true);
  const prompt = rng.pick(BRIEF_PROMPTS);
  const placement = randomPlacement(rng);
  const url = imageUrl(rng, id, rng.chance(0.3));
  const item: CaptionItem = { id, image: `${id}.jpg`, prompt, placement, caption, url };
  if (rng.chance(0.9)) item.blip = tokenisedCaption(rng, false);
  return item;
}

/**
 * A LLaVA-CC3M-Pretrain-595K chat.json record. `key` (default 0) keys the unique-id permutation; pass the same
 * generator state and key to {@link cc3mMetaRecord} to get the matching metadata record.
 */
export function cc3mChatRecord(rng: Rng, index = 0, key = 0): GenRecord {
  return captionChatRecord(cc3mItem(rng, index, key));
}

/** The two-turn chat record of a caption item: the instruction with `<image>` placed, the caption as the answer. */
function captionChatRecord(it: CaptionItem): GenRecord {
  return {
    id: it.id,
    image: it.image,
    conversations: [
      { from: 'human', value: placeImageToken(it.prompt, it.placement) },
      { from: 'gpt', value: it.caption },
    ],
  };
}

/** A CC3M metadata.json record: `id`, `image`, `caption`, `url`, `blip_caption` (absent on ~10%). */
export function cc3mMetaRecord(rng: Rng, index = 0, key = 0): Record<string, string> {
  const it = cc3mItem(rng, index, key);
  const rec: Record<string, string> = { id: it.id, image: it.image, caption: it.caption, url: it.url };
  if (it.blip !== undefined) rec.blip_caption = it.blip;
  return rec;
}

function blipItem(rng: Rng, index: number, key: number): CaptionItem {
  const id = String(permute(index, 7000000, key)).padStart(9, '0');
  const caption = tokenisedCaption(rng, false);
  const prompt = rng.pick(BRIEF_PROMPTS);
  const placement = randomPlacement(rng);
  const url = imageUrl(rng, id, true);
  return { id, image: `${id.slice(0, 5)}/${id}.jpg`, prompt, placement, caption, url };
}

/** A blip_laion_cc_sbu_558k.json record (9-digit id, `NNNNN/NNNNNNNNN.jpg` image, BLIP caption answer). */
export function blipChatRecord(rng: Rng, index = 0, key = 0): GenRecord {
  return captionChatRecord(blipItem(rng, index, key));
}

/** A blip_laion_cc_sbu_558k_meta.json record: `id`, `image`, `blip_caption`, `url`. */
export function blipMetaRecord(rng: Rng, index = 0, key = 0): Record<string, string> {
  const it = blipItem(rng, index, key);
  return { id: it.id, image: it.image, blip_caption: it.caption, url: it.url };
}

// ---------------------------------------------------------------------------------------------------------------
// LLaVA-NeXT / OneVision

const NEXT_SOURCES = [
  'sharegpt4v_coco',
  'chartqa',
  'docvqa',
  'ai2d',
  'llava_wild_4v',
  'sam_recap',
  'mathv360k',
] as const;

/**
 * A LLaVA-NeXT/OneVision-style record (JSONL line): single image, multi-image list with interleaved `<image>`
 * tokens, `video` (with `<image>` as placeholder), or text-only; `data_source` on all; `id` sometimes an integer
 * or absent.
 */
export function nextRecord(rng: Rng, index = 0): GenRecord {
  const kind = rng.next();
  const source = rng.pick(NEXT_SOURCES);
  const idRoll = rng.next();
  // ~3% without id (LLaVA-NeXT falls back to the index), ~3% integer ids, the rest strings.
  let id: string | number | undefined = idRoll < 0.03 ? undefined : idRoll < 0.06 ? index : `${source}_${index}`;
  const answer = sentences(rng, rng.range(1, 5));
  let media: Partial<GenRecord>;
  let conversations: GenTurn[];
  let dataSource: string = source;
  if (kind < 0.62) {
    const ext = rng.chance(0.8) ? 'jpg' : 'png';
    media = { image: `${source}/images/${String(rng.range(1, 999999)).padStart(6, '0')}.${ext}` };
    conversations = [
      { from: 'human', value: `<image>\n${shortQuestion(rng)}` },
      { from: 'gpt', value: answer },
    ];
  } else if (kind < 0.77) {
    const n = rng.range(2, 4);
    const images: string[] = [];
    const parts: string[] = [];
    for (let k = 0; k < n; k++) {
      images.push(`multi/${source}/${rng.range(1, 99999)}_${k}.jpg`);
      parts.push(`Image ${k + 1}: <image>`);
    }
    media = { image: images };
    conversations = [
      { from: 'human', value: `${parts.join('\n')}\nWhat changed between these images?` },
      { from: 'gpt', value: answer },
    ];
  } else if (kind < 0.88) {
    const vid = `${BASE62[rng.int(26)]}${BASE62[rng.int(26)]}${rng.range(100, 999)}`;
    dataSource = '0_30_s_academic_v0_1';
    media = { video: `academic_source/Charades/${vid}.mp4` };
    if (id !== undefined) id = vid;
    conversations = [
      { from: 'human', value: '<image>\nWhat is the person in the video doing?' },
      { from: 'gpt', value: answer },
    ];
  } else {
    dataSource = 'evol_instruct';
    media = {};
    conversations = [
      { from: 'human', value: chatQuestion(rng) },
      { from: 'gpt', value: chatAnswer(rng, 1) },
    ];
  }
  return id === undefined
    ? { data_source: dataSource, ...media, conversations }
    : { id, data_source: dataSource, ...media, conversations };
}
