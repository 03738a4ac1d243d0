#!/usr/bin/env node
/**
 * DuckDB baselines of the Parquet benchmark (bench-parquet):
 *
 *   node tools/datagen/dist/duckdb-baseline.js write <data.json> <images-dir> <out.parquet>
 *     read the LLaVA JSON and every image file (read_blob), COPY … TO … (FORMAT parquet) with the image as
 *     {bytes, path} — the same data llavakit embeds;
 *   node tools/datagen/dist/duckdb-baseline.js write-paths <data.json> <out.parquet>
 *     the same without image files: the image as {bytes: NULL, path} (what llavakit writes when no --images);
 *   node tools/datagen/dist/duckdb-baseline.js copy '<glob.parquet>' <out.parquet>
 *     read Parquet (image bytes included) and COPY it to a new file;
 *   node tools/datagen/dist/duckdb-baseline.js json <data.json> <out.json>
 *     the JSON baseline of the main bench: read_json of a LLaVA JSON array (id, image, conversations) and
 *     COPY … TO … (FORMAT json, ARRAY true) — DuckDB's streaming JSON-to-JSON conversion.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  let sql: string;
  if (mode === 'write' && args.length === 3) {
    const [json, images, out] = args as [string, string, string];
    const root = images.replace(/\/+$/, '');
    sql = `COPY (
      SELECT j.id, j.conversations,
        CASE WHEN j.image IS NULL THEN NULL ELSE {'bytes': b.content, 'path': j.image} END AS image
      FROM read_json(${quote(json)}, format = 'array', maximum_object_size = 104857600,
        columns = {id: 'VARCHAR', image: 'VARCHAR', conversations: 'STRUCT("from" VARCHAR, "value" VARCHAR)[]'}) j
      LEFT JOIN read_blob(${quote(`${root}/**`)}) b ON b.filename = ${quote(`${root}/`)} || j.image
    ) TO ${quote(out)} (FORMAT parquet)`;
  } else if (mode === 'write-paths' && args.length === 2) {
    const [json, out] = args as [string, string];
    sql = `COPY (
      SELECT id, conversations,
        CASE WHEN image IS NULL THEN NULL ELSE {'bytes': NULL::BLOB, 'path': image} END AS image
      FROM read_json(${quote(json)}, format = 'array', maximum_object_size = 104857600,
        columns = {id: 'VARCHAR', image: 'VARCHAR', conversations: 'STRUCT("from" VARCHAR, "value" VARCHAR)[]'})
    ) TO ${quote(out)} (FORMAT parquet)`;
  } else if (mode === 'copy' && args.length === 2) {
    const [glob, out] = args as [string, string];
    sql = `COPY (SELECT * FROM read_parquet(${quote(glob)})) TO ${quote(out)} (FORMAT parquet)`;
  } else if (mode === 'json' && args.length === 2) {
    const [json, out] = args as [string, string];
    sql = `COPY (
      SELECT id, image, conversations
      FROM read_json(${quote(json)}, format = 'array', maximum_object_size = 104857600,
        columns = {id: 'VARCHAR', image: 'VARCHAR', conversations: 'STRUCT("from" VARCHAR, "value" VARCHAR)[]'})
    ) TO ${quote(out)} (FORMAT json, ARRAY true)`;
  } else {
    throw new Error(
      'usage: duckdb-baseline write <data.json> <images-dir> <out.parquet> | write-paths <data.json> <out.parquet> | copy <glob> <out.parquet> | json <data.json> <out.json>',
    );
  }
  await connection.run(sql);
  connection.closeSync();
  instance.closeSync();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
