import { describe, expect, it } from 'vitest';
import * as api from './index.js';

// The public surface of @llavakit/convert, sorted. A name added or removed here is an API change: say so in a
// changeset. (Types are checked by the compiler; this list holds the runtime names.)
const EXPECTED = [
  'FormatRegistry',
  'IMAGE_TOKEN_POLICIES',
  'JsonValueWriter',
  'OPENAI_LIMITS',
  'PLUGIN_PREFIX',
  'PLUGIN_TIMEOUT_MS',
  'builtinFormats',
  'checkRunPaths',
  'chooseInputFormat',
  'containerFromPath',
  'convert',
  'createBuiltinRegistry',
  'createImageExtractor',
  'datasetColumnsOf',
  'datasetInfoEntry',
  'datasetInfoRules',
  'defaultWorkers',
  'describeFormat',
  'describeOptions',
  'diagnosticPlace',
  'expandInputs',
  'formatOptionsHelp',
  'formatShard',
  'formatWriterRules',
  'formatsOfExport',
  'hubShardName',
  'isShardDone',
  'llavaFormat',
  'llavaOptionsSchema',
  'llavaQaFormat',
  'loadFormatPlugin',
  'loadFormatPlugins',
  'mergeSummaries',
  'mergeSummaryFiles',
  'messagesFormat',
  'messagesOptionsSchema',
  'openAiFormat',
  'openAiOptionsSchema',
  'openImageAccess',
  'openInputFormat',
  'openTextSink',
  'optionSummary',
  'outputRules',
  'parseOptionArguments',
  'parseShard',
  'placeImages',
  'planShardRun',
  'pluginCandidates',
  'probeFile',
  'probeImport',
  'refuseWrappedRecords',
  'removeTemporaryFiles',
  'resolveFormatOptions',
  'runConvert',
  'safeImageName',
  'selectShard',
  'shardOutput',
  'shardResultPaths',
  'shardRules',
  'shareGptFormat',
  'shareGptOptionsSchema',
  'signalExitCode',
  'swiftFormat',
  'swiftOptionsSchema',
  'trapInterrupts',
  'unknownOptionArguments',
  'unknownValidationSource',
  'validateFiles',
  'withDeadline',
  'writeDatasetInfo',
  'writeFailure',
  'writeShardResult',
  'writeTextFile',
  'writerRules',
];

describe('@llavakit/convert exports', () => {
  it('exactly the public names', () => {
    expect(Object.keys(api).sort()).toEqual(EXPECTED);
  });

  it('no internals (llava_meta patches, decoding helpers, input peeking)', () => {
    for (const internal of [
      'applyPatch',
      'sameJson',
      'diffRecord',
      'plainSwift',
      'segmentsOf',
      'peekInput',
      'attachMeta',
    ]) {
      expect(Object.keys(api)).not.toContain(internal);
    }
  });
});
