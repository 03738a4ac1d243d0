import webDatasetFormat from './index.js';

/**
 * The `llava:formats` oclif hook: installed with `llava plugins install llavakit-format-webdataset` (or linked),
 * the CLI calls it and registers the formats it returns.
 */
export default async function formats(): Promise<unknown[]> {
  return [webDatasetFormat];
}
