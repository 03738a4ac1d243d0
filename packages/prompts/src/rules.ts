import { defineRules } from '@llavakit/diagnostics';

/**
 * The diagnostic rules of `@llavakit/prompts`. Rule ids are stable: tools and CI configs may match on them.
 */
export const promptRules = defineRules({
  missingFile: {
    id: 'prompts/missing-file',
    severity: 'error',
    title: 'A file the run reads is missing or not a readable file',
    hint: 'Check the path given to the flag (the Batch output file, --errors or --manifest); relative paths are resolved from the current directory.',
  },
  missingPair: {
    id: 'prompts/missing-pair',
    severity: 'error',
    title: 'Few-shot pair is incomplete',
    hint: 'Every `NNN_caps.txt` needs an `NNN_conv.txt` with the same number, and the other way round.',
  },
  strayFile: {
    id: 'prompts/stray-file',
    severity: 'error',
    title: 'Unexpected file in a prompt folder',
    hint: 'A prompt folder holds only `system_message.txt`, `NNN_caps.txt` and `NNN_conv.txt`; move other files out.',
  },
  emptySystem: {
    id: 'prompts/empty-system-message',
    severity: 'error',
    title: 'System message is missing or empty',
    hint: 'Write the instructions for the model into `system_message.txt`.',
  },
  emptyExample: {
    id: 'prompts/empty-example',
    severity: 'error',
    title: 'Few-shot file is empty',
    hint: 'Fill the file or remove the whole pair.',
  },
  badExample: {
    id: 'prompts/bad-example',
    severity: 'error',
    title: 'Few-shot response does not have the layout of its kind',
    hint: 'Conversation and complex reasoning examples use `Question:` / `===` / `Answer:` blocks (or one JSON object per line in the early form).',
  },
  numberingGap: {
    id: 'prompts/numbering-gap',
    severity: 'warning',
    title: 'Few-shot numbers have a gap',
    hint: 'Pairs are used in number order; a gap usually means a pair was deleted by mistake.',
  },
  unknownKind: {
    id: 'prompts/unknown-kind',
    severity: 'error',
    title: 'Prompt kind is not known',
    hint: 'Use `conversation`, `detail` (folder `detail_description`) or `complex_reasoning`.',
  },
  noSeparator: {
    id: 'prompts/no-separator',
    severity: 'error',
    title: 'Response has no `===` separator',
    hint: 'The model did not follow the Question/===/Answer layout; re-run the request.',
  },
  unansweredQuestion: {
    id: 'prompts/unanswered-question',
    severity: 'error',
    title: 'Question without an answer',
    hint: 'The response ends (or continues) without an `Answer:` block for a question; re-run the request.',
  },
  unexpectedBlock: {
    id: 'prompts/unexpected-block',
    severity: 'error',
    title: 'Block does not start with the expected label',
    hint: 'Blocks must alternate `Question:` and `Answer:`, separated by a line `===`.',
  },
  emptyResponse: {
    id: 'prompts/empty-response',
    severity: 'error',
    title: 'Response text is empty',
    hint: 'The model returned no text; re-run the request.',
  },
  extraPairs: {
    id: 'prompts/extra-pairs',
    severity: 'error',
    title: 'Complex reasoning response has more than one question',
    hint: 'Complex reasoning responses hold exactly one Question/Answer pair.',
  },
  badJsonl: {
    id: 'prompts/bad-jsonl-response',
    severity: 'error',
    title: 'Early-form response line is not a `{"question", "answer"}` object',
    hint: 'The early (JSONL) conversation form has one JSON object with `question` and `answer` per line.',
  },
  truncatedResponse: {
    id: 'prompts/truncated-response',
    severity: 'warning',
    title: 'Response was cut off by the token limit',
    hint: 'finish_reason is `length`: the last answer may be incomplete; raise max_tokens and re-run the request.',
  },
  requestFailed: {
    id: 'prompts/request-failed',
    severity: 'error',
    title: 'Request failed',
    hint: 'See the error file for the status and message; re-run the failed requests.',
  },
  missingResult: {
    id: 'prompts/missing-result',
    severity: 'error',
    title: 'No result for a request',
    hint: 'The request is in neither the output nor the error file; re-submit it.',
  },
  duplicateResult: {
    id: 'prompts/duplicate-result',
    severity: 'warning',
    title: 'Two results for one custom_id',
    hint: 'The first successful result is kept; check why the request ran twice.',
  },
  unknownResult: {
    id: 'prompts/unknown-result',
    severity: 'warning',
    title: 'Result for a custom_id that was not requested',
    hint: 'The output does not belong to this request set, or the manifest is from another run.',
  },
  badLine: {
    id: 'prompts/bad-line',
    severity: 'error',
    title: 'Line is not valid JSON of the expected shape',
    hint: 'Each line must be one JSON object; fix or remove the line.',
  },
  lineTooLong: {
    id: 'prompts/line-too-long',
    severity: 'error',
    title: 'Line is longer than the limit',
    hint: 'A line over the limit (64 MiB by default) is skipped unread: the file is corrupt (a file of zeros, a missing newline) or holds something other than JSON Lines.',
  },
  badInput: {
    id: 'prompts/bad-input',
    severity: 'error',
    title: 'Annotation input is not usable',
    hint: 'Check the annotation file: fields are missing or have the wrong type.',
  },
  noCaptions: {
    id: 'prompts/no-captions',
    severity: 'warning',
    title: 'Image has no captions',
    hint: 'No request is built for an image without captions.',
  },
  oversizedRequest: {
    id: 'prompts/oversized-request',
    severity: 'error',
    title: 'One request is larger than the batch file limit',
    hint: 'Raise `--max-bytes` or shorten the prompt; OpenAI Batch files are limited to 200 MB.',
  },
  duplicateCustomId: {
    id: 'prompts/duplicate-custom-id',
    severity: 'error',
    title: 'Two requests share a custom_id',
    hint: 'custom_id must be unique within a batch; give images distinct ids.',
  },
  renderFailed: {
    id: 'render/failed',
    severity: 'error',
    title: 'Record cannot be rendered with this template',
    hint: 'LLaVA itself would fail (assertion or type error) on this record with this template.',
  },
  unknownTemplate: {
    id: 'render/unknown-template',
    severity: 'error',
    title: 'Conversation template is not known',
    hint: 'Use one of the names of LLaVA `conv_templates` (`llava render --help` lists them).',
  },
  writeFailed: {
    id: 'output/write-failed',
    severity: 'error',
    title: 'An output could not be written',
    hint: 'Check free space and permissions, and that the path names a file (not a directory); nothing was left at the target.',
  },
});
