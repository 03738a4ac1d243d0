// Reads each Parquet file named on the command line with the built package, twice (as `readParquet` streams it and
// as `@llavakit/view` opens it by row group), and prints one JSON line per file: rows read, rows rejected, and the
// error thrown (its rule id, file and message, and whether it was a diagnostic). Run by damaged.test.ts in a child
// process it can kill, so a read that never ends fails the test instead of hanging it.
import { openParquetFile, parquetOptionsSchema, readParquet } from '../../dist/index.js';

const options = parquetOptionsSchema.parse({});
const failure = (error) => ({
  diagnostic: error?.name === 'DiagnosticError',
  ruleId: error?.diagnostic?.ruleId,
  file: error?.diagnostic?.file,
  message: String(error?.message ?? error),
});

for (const file of process.argv.slice(2)) {
  const result = { file, rows: 0, rejected: 0, error: null, viewRows: 0, viewError: null };
  try {
    const context = { options, file, report: () => {}, count: () => {}, images: { rewrite: (p) => p, readBytes: async () => undefined } };
    for await (const r of readParquet(file, context)) {
      if (r.ok) result.rows++;
      else result.rejected++;
    }
  } catch (error) {
    result.error = failure(error);
  }
  try {
    const parquet = await openParquetFile(file);
    for (let g = 0; g < parquet.groups.length; g++) {
      for (const [i, row] of (await parquet.readGroup(g)).entries()) {
        parquet.toRecord(row, i);
        result.viewRows++;
      }
    }
  } catch (error) {
    result.viewError = failure(error);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
