import { parquetFormat } from './format.js';

/** The `llava:formats` oclif hook: the CLI ships this package as a core plugin and registers its format. */
export default async function formats(): Promise<unknown[]> {
  return [parquetFormat];
}
