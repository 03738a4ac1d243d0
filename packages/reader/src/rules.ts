import { defineRules } from '@llavakit/diagnostics';

/**
 * The rules the reader reports. Fatal ones (`error`) end a read by throwing a `DiagnosticError`; `json/syntax` is
 * also used, non-fatally, for one record whose JSON is broken while the file around it is still readable.
 */
export const readerRules = defineRules({
  jsonSyntax: {
    id: 'json/syntax',
    severity: 'error',
    title: 'Invalid JSON',
    hint: 'Fix the JSON at the reported line and column (a missing comma, quote or bracket, or a trailing comma, is typical).',
    description: 'LLaVA loads its data with Python json.load, which rejects the whole file on any syntax error.',
  },
  inputNotFound: {
    id: 'input/not-found',
    severity: 'error',
    title: 'Input file not found',
    hint: 'Check the path; relative paths are resolved from the current directory.',
  },
  inputIsDirectory: {
    id: 'input/is-directory',
    severity: 'error',
    title: 'Input is a directory',
    hint: 'Give the path of a .json or .jsonl file inside the directory, not the directory itself.',
  },
  inputUnreadable: {
    id: 'input/unreadable',
    severity: 'error',
    title: 'Input cannot be read',
    hint: 'Check the file permissions and that the device is readable.',
  },
  inputEmpty: {
    id: 'input/empty',
    severity: 'error',
    title: 'Input is empty',
    hint: 'The file has no data (or only whitespace); re-download or regenerate it.',
  },
  jsonNotArray: {
    id: 'json/not-array',
    severity: 'error',
    title: 'Top level is not an array of records',
    hint: 'LLaVA data files are one JSON array of records ([{…}, {…}]) or JSON Lines (one record object per line).',
  },
  jsonTruncated: {
    id: 'json/truncated',
    severity: 'error',
    title: 'File ends too early',
    hint: 'The file is cut off (an interrupted download or copy?); fetch it again or close the open array/record.',
  },
  encodingInvalidUtf8: {
    id: 'encoding/invalid-utf8',
    severity: 'error',
    title: 'Invalid UTF-8',
    hint: 'Re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`); JSON files must be UTF-8.',
  },
  jsonTooDeep: {
    id: 'json/too-deep',
    severity: 'error',
    title: 'Nesting too deep',
    hint: 'No LLaVA record nests more than a few levels; the file is corrupt or not a dataset.',
    description: 'Python json.load (used by LLaVA) fails past about 1000 levels; so does most recursive tooling.',
  },
  jsonRecordTooLarge: {
    id: 'json/record-too-large',
    severity: 'error',
    title: 'Record too large',
    hint: 'A single record is larger than the limit; raise maxRecordBytes if it is genuine, else the file is corrupt.',
  },
  joinNoMetadata: {
    id: 'join/no-metadata',
    severity: 'info',
    title: 'No metadata for record',
    hint: 'The metadata file has no entry for this image; captions/URLs will be missing for it.',
  },
  joinIdMismatch: {
    id: 'join/id-mismatch',
    severity: 'warning',
    title: 'Metadata id differs',
    hint: 'The metadata entry for this image has a different id; check that the chat and metadata files belong together.',
  },
  joinDuplicateKey: {
    id: 'join/duplicate-key',
    severity: 'warning',
    title: 'Duplicate image in metadata',
    hint: 'The metadata file lists this image more than once; the first entry is used.',
  },
});

/** The names of the reader rules. */
export type ReaderRuleName = keyof typeof readerRules;
