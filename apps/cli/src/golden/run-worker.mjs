// Worker of the golden test: runs `llava` command lines in this thread with the built commands (loaded once by
// oclif, as bin/run.js loads them) and posts back each one's exit code and stdout. Threads, not processes: a
// process per case would cost half a second each; one thread per case list keeps process.exitCode per run.
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { Config, settings } from '@oclif/core';

settings.enableAutoTranspile = false;
const config = await Config.load({ root: workerData.cliRoot });
const out = [];
// oclif's `this.log` is console.log, `this.logToStderr` console.error (stderr is not recorded).
console.log = (...parts) => out.push(`${format(...parts)}\n`);
console.error = () => {};
console.warn = () => {};
const results = [];
for (const args of workerData.runs) {
  out.length = 0;
  process.exitCode = undefined;
  let code;
  try {
    const [id, ...argv] = args;
    await config.runCommand(id, argv);
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    const exit = error?.oclif?.exit;
    code = typeof exit === 'number' ? exit : 1;
  }
  results.push({ code, stdout: out.join('') });
}
process.exitCode = 0;
parentPort.postMessage(results);
