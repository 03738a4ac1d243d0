import { DiagnosticError } from '@llavakit/diagnostics';
import * as z from 'zod';

/** Options of the Parquet format (`-O split=validation`, `-O row-group-rows=200`, …). */
export const parquetOptionsSchema = z.object({
  split: z
    .string()
    .regex(/^\w+(\.\w+)*$/)
    .default('train')
    .describe('Split name of the written shards: data/<split>-00000-of-0000N.parquet and the dataset card.'),
  rowGroupRows: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Rows per row group at most (1,000: the `datasets` default for rows without images).'),
  rowGroupImageRows: z
    .number()
    .int()
    .positive()
    .default(100)
    .describe('Rows holding embedded image bytes per row group at most (100: what the Hub writes for image sets).'),
  rowGroupBytes: z
    .number()
    .int()
    .positive()
    .default(100_000_000)
    .describe(
      'Uncompressed bytes per row group at most (a row group ends before it would grow beyond this; the viewer refuses row groups over 300 MB).',
    ),
  shardBytes: z
    .number()
    .int()
    .positive()
    .default(500_000_000)
    .describe('Bytes per shard at most (a new shard starts before one would grow beyond this); folder output only.'),
  imageLayout: z
    .enum(['auto', 'image', 'images'])
    .default('auto')
    .describe(
      'auto: an `images` list column when a record of the first row group holds several images, else one `image` column.',
    ),
});

/** Parsed options of the Parquet format. */
export type ParquetOptions = z.output<typeof parquetOptionsSchema>;

/** Rule ids of this format's diagnostics (namespaced by the format name). */
export const parquetRules = {
  /** A record holds several images but the file has one `image` column. */
  imageLayout: 'parquet/image-layout',
  /** An image could not be read, so its row names the path without bytes. */
  imageNotEmbedded: 'parquet/image-not-embedded',
  /** The output cannot be written there (standard output, an existing non-empty folder). */
  output: 'parquet/output',
  /** The input is not Parquet, or cannot be read. */
  unreadable: 'parquet/unreadable',
  /** A row that has no LLaVA shape (no `conversations`, a turn without text, …). */
  invalidRow: 'parquet/invalid-row',
  /** An input path, folder or glob that names no Parquet file. */
  noFiles: 'parquet/no-files',
} as const;

/** A fatal error of this format (rule id, message, hint, and the file when known). */
export const parquetError = (
  ruleId: string,
  message: string,
  file: string | undefined,
  hint: string,
): DiagnosticError =>
  new DiagnosticError({ ruleId, severity: 'error', message, hint, source: 'parquet', ...(file ? { file } : {}) });
