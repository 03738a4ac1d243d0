import { defineRules } from '@llavakit/diagnostics';
import { formatRules } from '@llavakit/format';

// @llavakit/format declares its rules without the catalog (it has no runtime dependency): record their kinds here,
// so that `exitCodeOf` knows `format/ambiguous` is the data's problem and `options/*` the command line's.
defineRules(formatRules);

/** Rules raised while converting records (by the built-in formats and the conversion pipeline). */
export const writerRules = defineRules({
  invalidRecord: {
    id: 'record/schema',
    severity: 'error',
    title: 'Record does not have the LLaVA shape',
    hint: 'Each record needs `conversations: [{from, value}, …]`; `id` a string or integer; `image` a string or list of strings.',
  },
  invalidPart: {
    id: 'record/content-part',
    severity: 'error',
    title: 'A content part the reader cannot take whole',
    hint: 'Every text part needs its text (`text`, or `value` in LLaMA-Factory v1 blocks) and every image or video part its path; fix the part, or read the file with the --from format it was written for.',
  },
  invalidJson: {
    id: 'json/syntax',
    severity: 'error',
    title: 'Record is not valid JSON',
    hint: 'Fix the JSON of this record (a trailing comma or an unescaped quote is the usual cause).',
  },
  imageCountMismatch: {
    id: 'image/count-mismatch',
    severity: 'error',
    title: '<image> tokens and images disagree',
    hint: 'Choose an --image-token policy that reconciles them (e.g. `front`), or fix the record.',
  },
  videoCountMismatch: {
    id: 'video/count-mismatch',
    severity: 'error',
    title: '<video> tokens and videos disagree',
    hint: 'Put one `<video>` per video path in the human turns (LLaVA-Video files may use one `<image>` per video instead).',
  },
  unsupportedRole: {
    id: 'roles/unsupported',
    severity: 'error',
    title: 'Turn role the target format cannot express',
    hint: 'LLaVA roles are `human` and `gpt` (a leading `system` turn becomes the system prompt).',
  },
  notRepresentable: {
    id: 'format/not-representable',
    severity: 'error',
    title: 'Record cannot be expressed in the target format',
    hint: 'See `llava formats <name>` for what the target can hold.',
  },
  metadataInput: {
    id: 'input/metadata-file',
    severity: 'error',
    title: 'The input is a metadata file, not conversation records',
    hint: 'Attach it to its chat file instead: `llava convert chat.json --metadata metadata.json --to …`.',
  },
  invalidOptions: {
    id: 'options/invalid',
    severity: 'error',
    title: 'Invalid format option',
    hint: 'Run `llava formats <name>` to see the options of a format.',
  },
  embeddedImagesUnused: {
    id: 'images/embedded-not-extracted',
    severity: 'warning',
    title: 'Embedded images were not written anywhere',
    hint: 'Pass --extract-images <folder> to write them to disk (the records then point there).',
  },
  encodeFailed: {
    id: 'format/encode-failed',
    severity: 'error',
    title: 'The target format failed on this record',
    hint: 'This is a bug in the format plugin named in `source`; report it to its authors.',
  },
  decodeFailed: {
    id: 'format/decode-failed',
    severity: 'error',
    title: 'The input format failed on this record',
    hint: 'This is a bug in the format plugin named in `source`; report it to its authors.',
  },
  loneSurrogate: {
    id: 'text/lone-surrogate',
    severity: 'error',
    title: 'Text holds a lone UTF-16 surrogate',
    hint: 'A `\\ud800`-style escape without its pair is not a character: Python and UTF-8 writers refuse it. Remove or repair it.',
  },
});

/** Rules of outputs: conflicting paths, write failures, interrupted runs. */
export const outputRules = defineRules({
  writeFailed: {
    id: 'output/write-failed',
    severity: 'error',
    title: 'An output could not be written',
    hint: 'Check free space and permissions, and that the path names a file (not a directory); nothing was left at the target.',
  },
  conflict: {
    id: 'usage/output-conflict',
    severity: 'error',
    title: 'Two paths of the run name the same file',
    hint: 'Give every output its own file, different from every input (-o, --rejects, --dataset-info, --list-missing).',
  },
  interrupted: {
    id: 'run/interrupted',
    severity: 'error',
    title: 'The run was interrupted',
    hint: 'Nothing was written; earlier outputs keep their old content. Run the command again.',
  },
  workerFailed: {
    id: 'run/worker-failed',
    severity: 'error',
    title: 'A worker thread failed',
    hint: 'Nothing was written. Run again with --workers 1 to convert in one thread (and report the failure).',
  },
});
