import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The packages below the pipeline: no module of theirs may import itself through others (type imports count). */
const PACKAGES = ['diagnostics', 'schema', 'reader', 'images', 'prompts', 'ops'];

/** The relative imports of every source module of a folder (type-only imports and re-exports included). */
async function importGraph(src: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const name of (await readdir(src)).sort()) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    const text = await readFile(join(src, name), 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'\.\/([^']+)\.js'/gms)].map(
      (m) => `${m[1]}.ts`,
    );
    graph.set(name, [...new Set(targets)]);
  }
  return graph;
}

/** Every import cycle, each as the list of modules around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('module imports of the lower packages', () => {
  for (const name of PACKAGES) {
    it(`@llavakit/${name} has no import cycle`, async () => {
      const graph = await importGraph(join(repo, 'packages', name, 'src'));
      expect(graph.size).toBeGreaterThan(1);
      expect(cycles(graph)).toEqual([]);
    });
  }

  it('the cycle finder finds a type-only cycle', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['a.ts']],
      ['c.ts', []],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });
});
