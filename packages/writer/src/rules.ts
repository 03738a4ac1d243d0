import { defineRules } from '@llavakit/diagnostics';

/** Rules raised while converting records (by the built-in formats and the conversion pipeline). */
export const writerRules = defineRules({
  invalidRecord: {
    id: 'record/schema',
    severity: 'error',
    title: 'Record does not have the LLaVA shape',
    hint: 'Each record needs `conversations: [{from, value}, …]`; `id` a string or integer; `image` a string or list of strings.',
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
});
