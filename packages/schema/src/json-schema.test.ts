import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { llavaRecordJsonSchema } from './json-schema.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(packageRoot, 'schema.json');

describe('schema.json', () => {
  it('is exactly llavaRecordJsonSchema() (regenerate with UPDATE_FIXTURES=1)', async () => {
    const expected = `${JSON.stringify(llavaRecordJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_FIXTURES === '1') await writeFile(schemaPath, expected);
    expect(await readFile(schemaPath, 'utf8')).toBe(expected);
  });

  it('is exported as @llavakit/schema/schema.json and shipped', async () => {
    const pkg = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8'));
    expect(pkg.exports['./schema.json']).toBe('./schema.json');
    expect(pkg.files).toContain('schema.json');
  });

  it('describes the record: conversations required, id string or integer', () => {
    const schema = llavaRecordJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(['conversations']);
    expect(JSON.stringify(schema.properties.id)).toContain('integer');
  });
});
