/** The export condition under which this monorepo's packages resolve to their TypeScript sources. */
const SOURCE_CONDITION = '@llavakit/source';

/**
 * The Node options for the viewer's worker threads: this process's, without the `@llavakit/source` export
 * condition (a worker runs the built JavaScript, and Node cannot load the `.ts` sources that condition resolves
 * to, as under vitest).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === '--conditions' || arg === '-C') && argv[i + 1] === SOURCE_CONDITION) {
      i++;
      continue;
    }
    if (arg === `--conditions=${SOURCE_CONDITION}` || arg === `-C=${SOURCE_CONDITION}`) continue;
    out.push(arg);
  }
  return out;
}
