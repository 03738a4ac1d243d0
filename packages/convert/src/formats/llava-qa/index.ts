import { defineFormat } from '@llavakit/format';
import { IMAGE_TOKEN, type LlavaRecord } from '@llavakit/schema';
import { writerRules } from '../../pipeline/rules.js';
import { fail, recordDiagnostic, scoreRecords } from '../shared/index.js';

const QA_KEYS = new Set(['id', 'image', 'instruction', 'output']);

/**
 * The single-turn JSONL of the first LLaVA release (`playground/data/coco2014_val_gpt4_qa_30x3.jsonl`:
 * `{id, image, instruction, output, type: "conv" | "detail" | "complex"}`, and the JSONL variant of
 * `convert_sqa_to_llava.py`), read as two-turn LLaVA records: the instruction is the human turn, the output the gpt
 * turn. A record with an image whose instruction has no `<image>` gets `<image>\n` in front (as LLaVA trains;
 * counted as `llava-qa:image-token-added`); every other key (`type`, …) is kept. Read only.
 */
export const llavaQaFormat = defineFormat({
  specVersion: 1,
  name: 'llava-qa',
  description: 'Early LLaVA GPT-4 single-turn JSONL {id, image, instruction, output, type} (read only)',
  extensions: ['.jsonl'],
  defaultContainer: 'jsonl',
  detect: (probe) =>
    scoreRecords(probe.values, (v) =>
      typeof v.instruction === 'string' && typeof v.output === 'string' && !('conversations' in v) ? 0.9 : 0,
    ),
  decode(value, context) {
    const v = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<
      string,
      unknown
    >;
    const { id, image, instruction, output } = v;
    const problem =
      typeof instruction !== 'string'
        ? '/instruction'
        : typeof output !== 'string'
          ? '/output'
          : image !== undefined && typeof image !== 'string'
            ? '/image'
            : id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isInteger(id))
              ? '/id'
              : undefined;
    if (problem !== undefined) {
      return fail(
        recordDiagnostic(writerRules.invalidRecord, context, 'llava-qa', {
          message: `${problem.slice(1)} must be a string${problem === '/id' ? ' or an integer' : ''} in a single-turn QA record.`,
          pointer: problem,
        }),
      );
    }
    let question = instruction as string;
    if (typeof image === 'string' && !question.includes(IMAGE_TOKEN)) {
      question = `${IMAGE_TOKEN}\n${question}`;
      context.count('llava-qa:image-token-added');
    }
    const record: Record<string, unknown> = {};
    if (id !== undefined) record.id = id;
    if (image !== undefined) record.image = image;
    record.conversations = [
      { from: 'human', value: question },
      { from: 'gpt', value: output },
    ];
    for (const key of Object.keys(v)) if (!QA_KEYS.has(key) && !(key in record)) record[key] = v[key];
    return { ok: true, record: record as LlavaRecord };
  },
});

export default llavaQaFormat;
