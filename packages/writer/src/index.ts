export { builtinFormats, createBuiltinRegistry } from './builtins.js';
export { JsonValueWriter, containerFromPath } from './container.js';
export {
  chooseInputFormat,
  convert,
  probeFile,
  type ConvertOptions,
  type ConvertProgress,
  type ConvertSummary,
  type InputSummary,
  type OnInvalid,
} from './convert.js';
export { decodeLlava, llavaFormat } from './formats/llava.js';
export { shareGptFormat, shareGptOptionsSchema, type ShareGptRecord } from './formats/sharegpt.js';
export { writerRules } from './rules.js';
export { openTextSink, type SinkOptions, type TextSink } from './sink.js';
