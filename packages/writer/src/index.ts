/**
 * @deprecated `@llavakit/writer` is now `@llavakit/convert` (the pipeline, the plugin loader and registry, the
 * built-in formats). This package re-exports it unchanged; import from `@llavakit/convert` instead.
 */
export * from '@llavakit/convert';
