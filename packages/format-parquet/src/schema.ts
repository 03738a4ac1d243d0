import type { ParquetWriter } from 'hyparquet-writer';
import { EXTRA_COLUMN, type Layout } from './layout.js';

/** A Parquet schema element (the writer's own hyparquet version of the type). */
export type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

const utf8: Partial<SchemaElement> = { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };

function imageStruct(name: string, repetition: 'OPTIONAL'): SchemaElement[] {
  return [
    { name, repetition_type: repetition, num_children: 2 },
    { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
    { name: 'path', ...utf8 } as SchemaElement,
  ];
}

/** The Parquet schema of a layout (the shape of the Hub's LLaVA sets, plus the extra columns). */
export function parquetSchema(layout: Layout): SchemaElement[] {
  const columns: SchemaElement[][] = [
    [{ name: 'id', ...utf8 } as SchemaElement],
    [
      { name: 'conversations', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'from', ...utf8 } as SchemaElement,
      { name: 'value', ...utf8 } as SchemaElement,
    ],
    layout.image === 'image'
      ? imageStruct('image', 'OPTIONAL')
      : [
          { name: 'images', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          ...imageStruct('element', 'OPTIONAL'),
        ],
  ];
  for (const extra of layout.extras) {
    const element: SchemaElement =
      extra.kind === 'bool'
        ? { name: extra.name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' }
        : extra.kind === 'int64'
          ? { name: extra.name, type: 'INT64', repetition_type: 'OPTIONAL' }
          : extra.kind === 'float64'
            ? { name: extra.name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
            : ({ name: extra.name, ...utf8 } as SchemaElement);
    columns.push([element]);
  }
  columns.push([{ name: EXTRA_COLUMN, ...utf8 } as SchemaElement]);
  return [{ name: 'schema', num_children: columns.length }, ...columns.flat()];
}
