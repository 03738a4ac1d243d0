import { defineFormat } from '@llavakit/format';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  describeFormat,
  describeOptions,
  formatOptionsHelp,
  parseOptionArguments,
  resolveFormatOptions,
  unknownOptionArguments,
} from './options.js';

const schema = z.object({
  shardSize: z.number().int().positive().default(1000).describe('Samples per shard'),
  maxShards: z.number().int().optional().describe('Stop after this many shards'),
  mode: z.enum(['fast', 'safe']).default('safe').describe('Trade-off'),
  label: z.string(),
  ratio: z.number().default(0.5),
  tags: z.array(z.string()).default([]),
});

describe('describeOptions', () => {
  it('reads names, flags, types, defaults, descriptions and enum values from a zod object', () => {
    expect(describeOptions(schema)).toEqual([
      {
        name: 'shardSize',
        flag: 'shard-size',
        type: 'integer',
        required: false,
        default: 1000,
        description: 'Samples per shard',
      },
      {
        name: 'maxShards',
        flag: 'max-shards',
        type: 'integer',
        required: false,
        description: 'Stop after this many shards',
      },
      {
        name: 'mode',
        flag: 'mode',
        type: '"fast" | "safe"',
        required: false,
        default: 'safe',
        description: 'Trade-off',
        values: ['fast', 'safe'],
      },
      { name: 'label', flag: 'label', type: 'string', required: true },
      { name: 'ratio', flag: 'ratio', type: 'number', required: false, default: 0.5 },
      { name: 'tags', flag: 'tags', type: 'string[]', required: false, default: [] },
    ]);
  });

  it('returns no options for a missing schema or a non-object', () => {
    expect(describeOptions(undefined)).toEqual([]);
    expect(describeOptions(z.string())).toEqual([]);
  });
});

describe('describeFormat and formatOptionsHelp', () => {
  const format = defineFormat({
    specVersion: 1,
    name: 'demo',
    extensions: ['.demo'],
    limitations: ['no ids'],
    optionsSchema: z.object({ upper: z.boolean().default(false).describe('Upper-case every value') }),
    encode: (record) => ({ ok: true, value: record }),
  });

  it('describes a format with its level, options and origin', () => {
    const info = describeFormat({ format, origin: { plugin: 'x', version: '1.0.0', via: 'specifier' } });
    expect(info).toMatchObject({
      name: 'demo',
      reads: false,
      writes: true,
      level: { write: 'record' },
      extensions: ['.demo'],
      limitations: ['no ids'],
      origin: { plugin: 'x', version: '1.0.0', via: 'specifier' },
    });
    expect(info.options[0]).toMatchObject({ flag: 'upper', type: 'boolean', default: false });
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  it('renders one help block per format with options, generated from the schema', () => {
    const bare = defineFormat({ specVersion: 1, name: 'bare', encode: (r) => ({ ok: true, value: r }) });
    expect(formatOptionsHelp([bare, format])).toBe(
      'demo options (-O key=value):\n  upper  boolean, default false. Upper-case every value',
    );
  });
});

describe('-O arguments: parseOptionArguments, resolveFormatOptions, unknownOptionArguments', () => {
  const demo = {
    name: 'demo',
    optionsSchema: z.object({
      imageToken: z.enum(['keep', 'front']).default('keep'),
      shardSize: z.number().int().default(10),
      meta: z.boolean().default(true),
      label: z.string().optional(),
      tags: z.array(z.string()).default([]),
    }),
  };

  it('parses kebab and camel keys; a bare key means true', () => {
    expect(parseOptionArguments(['image-token=front', 'meta', 'shardSize=5', 'label=a=b'])).toEqual([
      { key: 'imageToken', flag: 'image-token', raw: 'front' },
      { key: 'meta', flag: 'meta', raw: 'true' },
      { key: 'shardSize', flag: 'shardSize', raw: '5' },
      { key: 'label', flag: 'label', raw: 'a=b' },
    ]);
  });

  it('coerces text to each option type; a string option keeps digits as text; typed values win', () => {
    const args = parseOptionArguments(['shard-size=5', 'meta=false', 'label=123', 'tags=a,b', 'image-token=front']);
    expect(resolveFormatOptions(demo, { args })).toEqual({
      ok: true,
      options: { imageToken: 'front', shardSize: 5, meta: false, label: '123', tags: ['a', 'b'] },
    });
    expect(resolveFormatOptions(demo, { args, values: { imageToken: 'keep' } })).toMatchObject({
      options: { imageToken: 'keep' },
    });
  });

  it('names a bad value as the user typed it', () => {
    const bad = resolveFormatOptions(demo, { args: parseOptionArguments(['image-token=zz']) });
    expect(bad).toMatchObject({
      ok: false,
      problem: { message: /^Invalid value for option image-token of format "demo"/ },
    });
    const typed = resolveFormatOptions(demo, { args: parseOptionArguments(['shard-size=many']) });
    expect(typed).toMatchObject({ ok: false, problem: { message: /option shard-size / } });
  });

  it('lists the options when a name is unknown to every format of the run', () => {
    expect(unknownOptionArguments(parseOptionArguments(['meta=1']), [demo])).toBeUndefined();
    expect(unknownOptionArguments(parseOptionArguments(['bogus=1', 'nope']), [demo, { name: 'bare' }])).toBe(
      'Unknown options "bogus", "nope" (-O). Options of demo: image-token, shard-size, meta, label, tags; bare: (none).',
    );
  });
});
