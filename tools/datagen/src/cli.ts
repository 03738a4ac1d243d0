#!/usr/bin/env node
/**
 * llava-datagen — command-line front end of @llavakit/datagen.
 *
 *   llava-datagen <kind> -o <file> [--records N] [--seed S] [--layout pretty|lines|compact | --pretty] [--ascii]
 *   llava-datagen images <dataset> (-o <dir> | --zip <file.zip>) [--missing F] [--broken N] [--seed S]
 *   llava-datagen list
 */
import { parseArgs } from 'node:util';
import { generate, isKind, KIND_NAMES, KINDS } from './generate.js';
import { writeImageTree } from './images.js';
import type { Layout } from './serialize.js';

const USAGE = `usage:
  llava-datagen <kind> -o <file> [--records N] [--seed S] [--layout pretty|lines|compact] [--pretty] [--ascii]
  llava-datagen images <dataset> (-o <dir> | --zip <file.zip>) [--missing 0.15] [--broken 3] [--seed S]
  llava-datagen list
kinds: ${KIND_NAMES.join(', ')}`;

function fail(message: string): never {
  process.stderr.write(`llava-datagen: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      records: { type: 'string', short: 'n' },
      seed: { type: 'string', short: 's' },
      layout: { type: 'string' },
      pretty: { type: 'boolean' },
      ascii: { type: 'boolean' },
      zip: { type: 'string' },
      missing: { type: 'string' },
      broken: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, arg] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'list') {
    for (const k of KIND_NAMES) {
      const info = KINDS[k];
      process.stdout.write(
        `${k.padEnd(16)} ${String(info.records).padStart(7)} records  ${info.file}${info.realBytes ? `  (real: ${info.realBytes} bytes)` : ''}\n`,
      );
    }
    return;
  }
  const seed = num(values.seed, 'seed');
  if (command === 'images') {
    if (!arg) fail('images needs a dataset file');
    if (!values.out && !values.zip) fail('images needs -o <dir> or --zip <file>');
    const r = await writeImageTree({
      dataset: arg,
      ...(values.zip ? { zip: values.zip } : { dir: values.out! }),
      ...(values.missing !== undefined ? { missing: num(values.missing, 'missing')! } : {}),
      ...(values.broken !== undefined ? { broken: num(values.broken, 'broken')! } : {}),
      ...(seed !== undefined ? { seed } : {}),
    });
    process.stdout.write(
      `${JSON.stringify({ referenced: r.referenced, written: r.written, missing: r.missing.length, skipped: r.skipped.length, broken: r.broken, bytes: r.bytes, ms: r.ms })}\n`,
    );
    return;
  }
  if (!isKind(command)) fail(`unknown kind ${JSON.stringify(command)}`);
  if (!values.out) fail('missing -o <file>');
  const layout = values.layout as Layout | undefined;
  if (layout !== undefined && !['pretty', 'lines', 'compact'].includes(layout)) fail(`unknown layout ${layout}`);
  const records = num(values.records, 'records');
  const result = await generate(command, {
    out: values.out,
    ...(records !== undefined ? { records: Math.floor(records) } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(layout !== undefined ? { layout } : values.pretty !== undefined ? { pretty: values.pretty } : {}),
    ...(values.ascii ? { ascii: true } : {}),
    ...(values.quiet || !process.stderr.isTTY
      ? {}
      : { onProgress: (done: number, total: number) => process.stderr.write(`\r${command}: ${done}/${total}`) }),
  });
  if (!values.quiet && process.stderr.isTTY) process.stderr.write('\n');
  const mb = result.bytes / 1e6;
  process.stdout.write(
    `${JSON.stringify({ ...result, mb: Math.round(mb * 10) / 10, mbPerSec: Math.round((mb / (result.ms / 1000)) * 10) / 10 })}\n`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`llava-datagen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
