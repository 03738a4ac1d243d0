import { type Diagnostic, diagnose, excerpt } from '@llavakit/diagnostics';
import { IMAGE_TOKEN, type LlavaRecord, type Turn } from '@llavakit/schema';
import { detailInstructions, type PromptKind } from './kinds.js';
import { pyStrip } from './py.js';
import { seededUnit } from './random.js';
import { promptRules } from './rules.js';

/** One question and its answer. */
export interface QaPair {
  readonly question: string;
  readonly answer: string;
}

/** Why a response could not be split (a rule of {@link promptRules} and a message). */
export interface QaProblem {
  readonly rule: (typeof promptRules)[keyof typeof promptRules];
  readonly message: string;
  /** 0-based block index (blocks are separated by `===` lines), when the problem is in one block. */
  readonly block?: number;
}

/** Result of {@link splitQa}. */
export type SplitQaResult =
  | { readonly ok: true; readonly pairs: readonly QaPair[] }
  | { readonly ok: false; readonly problem: QaProblem };

const SEPARATOR = /\n[ \t]*===[ \t]*(?=\n|$)/;
const LABEL = /^(question|answer)[ \t]*:[ \t]*/i;

/**
 * Split a `Question:` / `===` / `Answer:` response (the layout of LLaVA's `conversation` and `complex_reasoning`
 * few-shot files) into pairs. Blocks are separated by a line `===` (spaces around it and CRLF line ends are
 * tolerated, as is one trailing `===`); even blocks must start with `Question:`, odd blocks with `Answer:`.
 *
 * @example
 * ```ts
 * splitQa('Question:\nWhat is red?\n===\nAnswer:\nThe kite.');
 * // { ok: true, pairs: [{ question: 'What is red?', answer: 'The kite.' }] }
 * ```
 */
export function splitQa(text: string): SplitQaResult {
  const normalised = text.replaceAll('\r\n', '\n');
  if (pyStrip(normalised) === '') {
    return { ok: false, problem: { rule: promptRules.emptyResponse, message: 'The response is empty.' } };
  }
  const blocks = `\n${normalised}`.split(SEPARATOR).map((b) => pyStrip(b));
  if (blocks.length > 1 && blocks.at(-1) === '') blocks.pop();
  if (blocks.length < 2) {
    return {
      ok: false,
      problem: {
        rule: promptRules.noSeparator,
        message: 'The response has no `===` line between question and answer.',
      },
    };
  }
  const pairs: QaPair[] = [];
  for (let k = 0; k < blocks.length; k += 2) {
    const question = stripLabel(blocks[k]!, 'question', k);
    if (!question.ok) return question;
    if (k + 1 >= blocks.length) {
      return {
        ok: false,
        problem: {
          rule: promptRules.unansweredQuestion,
          message: `Question ${k / 2 + 1} has no answer.`,
          block: k,
        },
      };
    }
    const answer = stripLabel(blocks[k + 1]!, 'answer', k + 1);
    if (!answer.ok) return answer;
    pairs.push({ question: question.text, answer: answer.text });
  }
  return { ok: true, pairs };
}

function stripLabel(
  block: string,
  expected: 'question' | 'answer',
  index: number,
): { ok: true; text: string } | { ok: false; problem: QaProblem } {
  const match = LABEL.exec(block);
  const label = expected === 'question' ? 'Question:' : 'Answer:';
  if (!match || match[1]!.toLowerCase() !== expected) {
    if (expected === 'answer' && match?.[1]?.toLowerCase() === 'question') {
      return {
        ok: false,
        problem: {
          rule: promptRules.unansweredQuestion,
          message: `Question ${(index + 1) / 2} is followed by another question instead of an answer.`,
          block: index,
        },
      };
    }
    return {
      ok: false,
      problem: {
        rule: promptRules.unexpectedBlock,
        message: `Block ${index + 1} should start with \`${label}\`.`,
        block: index,
      },
    };
  }
  const text = pyStrip(block.slice(match[0].length));
  if (text === '') {
    return {
      ok: false,
      problem:
        expected === 'answer'
          ? { rule: promptRules.unansweredQuestion, message: `Answer ${(index + 1) / 2} is empty.`, block: index }
          : { rule: promptRules.unexpectedBlock, message: `Question ${index / 2 + 1} is empty.`, block: index },
    };
  }
  if (/^[ \t]*(question|answer)[ \t]*:/im.test(text)) {
    return {
      ok: false,
      problem: {
        rule: promptRules.unexpectedBlock,
        message: `Block ${index + 1} contains another \`Question:\`/\`Answer:\` label; a \`===\` line is missing.`,
        block: index,
      },
    };
  }
  return { ok: true, text };
}

/** Result of {@link splitQaJsonl}. */
export type SplitQaJsonlResult =
  | { readonly ok: true; readonly pairs: readonly QaPair[] }
  | { readonly ok: false; readonly problem: QaProblem & { readonly line: number } };

/**
 * Split an early-form (LLaVA commit 53ea95d) conversation response: one `{"question": …, "answer": …}` JSON
 * object per line; blank lines are skipped.
 */
export function splitQaJsonl(text: string): SplitQaJsonlResult {
  const lines = text.replaceAll('\r\n', '\n').split('\n');
  const pairs: QaPair[] = [];
  for (const [i, raw] of lines.entries()) {
    const line = pyStrip(raw);
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const obj = value as { question?: unknown; answer?: unknown } | undefined;
    if (
      typeof obj !== 'object' ||
      obj === null ||
      typeof obj.question !== 'string' ||
      typeof obj.answer !== 'string' ||
      pyStrip(obj.question) === '' ||
      pyStrip(obj.answer) === ''
    ) {
      return {
        ok: false,
        problem: {
          rule: promptRules.badJsonl,
          message: `Line ${i + 1} is not a JSON object with non-empty string \`question\` and \`answer\`.`,
          line: i + 1,
        },
      };
    }
    pairs.push({ question: pyStrip(obj.question), answer: pyStrip(obj.answer) });
  }
  if (pairs.length === 0) {
    return { ok: false, problem: { rule: promptRules.emptyResponse, message: 'The response is empty.', line: 1 } };
  }
  return { ok: true, pairs };
}

/**
 * Where `<image>` goes on the first human turn: `front` (`"<image>\nQ"`, LLaVA-1.5 style), `end` (`"Q\n<image>"`,
 * as in `conversation_58k.json`), `random` (front or end, drawn from the seed and custom_id), or `none`.
 */
export type ImagePlacement = 'front' | 'end' | 'random' | 'none';

/** Options of {@link parseResponse}. */
export interface ParseResponseOptions {
  /** The request's custom_id: named in diagnostics and used (with `seed`) for seeded draws. */
  readonly customId: string;
  /** The record id. Default: the part of the custom_id after the first `:` (see `makeCustomId`). */
  readonly id?: string;
  /** The record's image path. Default: `<id>.jpg`. */
  readonly image?: string;
  /** Where `<image>` goes. Default `front`. */
  readonly imagePlacement?: ImagePlacement;
  /** Seed for the detail question and `random` placement. Default `0`. */
  readonly seed?: number | string;
  /** Response layout: `qa` (current) or `jsonl` (early conversation form). Default `qa`. */
  readonly format?: 'qa' | 'jsonl';
  /** The pool detail questions are drawn from. Default: {@link detailInstructions}. */
  readonly detailPool?: readonly string[];
  /** File named in diagnostics. */
  readonly file?: string;
  /** Index of the result, named in diagnostics. */
  readonly recordIndex?: number;
}

/** Result of {@link parseResponse}: a record, or the diagnostics that kept it out. */
export interface ParseResponseResult {
  readonly record?: LlavaRecord;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Turn one model response into a LLaVA record:
 * - `conversation` → alternating human/gpt turns, one pair per Question/Answer;
 * - `complex_reasoning` → exactly one human/gpt pair;
 * - `detail` → one gpt answer (the whole response) to a question drawn from the detail-instruction pool,
 *   seeded by `seed` and the custom_id.
 *
 * `<image>` is put on the first human turn according to `imagePlacement`. A malformed response (no `===`, a
 * question without an answer, empty text, …) gives no record and an error diagnostic naming the custom_id.
 *
 * @example
 * ```ts
 * const { record } = parseResponse('complex_reasoning', 'Question:\nWhy?\n===\nAnswer:\nBecause.', {
 *   customId: 'complex_reasoning:000000000042',
 * });
 * // record: { id: '000000000042', image: '000000000042.jpg', conversations: [
 * //   { from: 'human', value: '<image>\nWhy?' }, { from: 'gpt', value: 'Because.' } ] }
 * ```
 */
export function parseResponse(kind: PromptKind, text: string, options: ParseResponseOptions): ParseResponseResult {
  const customId = options.customId;
  const colon = customId.indexOf(':');
  const id = options.id ?? (colon === -1 ? customId : customId.slice(colon + 1));
  const image = options.image ?? `${id}.jpg`;
  const seed = options.seed ?? 0;
  const fail = (rule: QaProblem['rule'], message: string, data?: Record<string, unknown>): ParseResponseResult => ({
    diagnostics: [
      diagnose(rule, {
        message: `${customId}: ${message}`,
        file: options.file,
        recordIndex: options.recordIndex,
        recordId: id,
        excerpt: excerpt(text, 100),
        source: 'prompts',
        data: { customId, kind, ...data },
      }),
    ],
  });

  let pairs: QaPair[];
  if (kind === 'detail') {
    const answer = pyStrip(text.replaceAll('\r\n', '\n'));
    if (answer === '') return fail(promptRules.emptyResponse, 'The response is empty.');
    const pool = options.detailPool ?? detailInstructions;
    if (pool.length === 0) throw new RangeError('detailPool is empty');
    const question = pool[Math.floor(seededUnit(seed, customId, 'detail') * pool.length)]!;
    pairs = [{ question, answer }];
  } else {
    const split = options.format === 'jsonl' ? splitQaJsonl(text) : splitQa(text);
    if (!split.ok) {
      const p = split.problem;
      return fail(p.rule, p.message, 'line' in p ? { line: p.line } : p.block !== undefined ? { block: p.block } : {});
    }
    pairs = [...split.pairs];
    if (kind === 'complex_reasoning' && pairs.length !== 1) {
      return fail(promptRules.extraPairs, `Expected one question and answer, found ${pairs.length}.`, {
        pairs: pairs.length,
      });
    }
  }

  let placement = options.imagePlacement ?? 'front';
  if (placement === 'random') placement = seededUnit(seed, customId, 'placement') < 0.5 ? 'front' : 'end';
  const conversations: Turn[] = [];
  for (const [i, pair] of pairs.entries()) {
    let question = pair.question;
    if (i === 0 && placement === 'front') question = `${IMAGE_TOKEN}\n${question}`;
    if (i === 0 && placement === 'end') question = `${question}\n${IMAGE_TOKEN}`;
    conversations.push({ from: 'human', value: question }, { from: 'gpt', value: pair.answer });
  }
  return { record: { id, image, conversations }, diagnostics: [] };
}
