import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './workspace.js';

/**
 * "The first ten minutes": every command the READMEs show works as written after the Quick start. pnpm is not on
 * PATH then (it runs through npx), so a README may not say `pnpm …`; `npx -y pnpm@12.4.2 <x>` must name a root
 * script or a pnpm command; every `llava …` must name a real command and only flags it has.
 */

const run = promisify(execFile);

interface ManifestCommand {
  flags: Record<string, { char?: string; allowNo?: boolean }>;
}

/** Every README of the repository: the root one and one per workspace package. */
async function readmes(): Promise<string[]> {
  const found = ['README.md'];
  for (const group of ['packages', 'apps', 'tools', 'examples']) {
    for (const entry of await readdir(join(repoRoot, group))) {
      const path = join(group, entry, 'README.md');
      if (
        await readFile(join(repoRoot, path)).then(
          () => true,
          () => false,
        )
      )
        found.push(path);
    }
  }
  return found;
}

/** The shell commands of a Markdown file's sh/bash blocks: comments removed, continued lines joined, split at && and |. */
export function shellCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\s*\\\n\s*/g, ' ').split('\n');
    for (const line of lines) {
      const code = line.replace(/(^|\s)#.*$/, '').trim();
      if (!code) continue;
      for (const part of code.split(/\s(?:&&|\|\|?)\s/)) commands.push(part.trim());
    }
  }
  return commands;
}

/** Problems of one `llava …` command line against the command manifests, or [] when it is a real command. */
function checkLlava(words: readonly string[], commands: Map<string, ManifestCommand>): string[] {
  let id = '';
  let rest = [...words];
  for (let n = words.length; n > 0; n--) {
    const candidate = words.slice(0, n).join(':');
    if (commands.has(candidate)) {
      id = candidate;
      rest = words.slice(n);
      break;
    }
  }
  const flags = id ? commands.get(id)!.flags : { help: {}, version: {} };
  if (!id && rest.some((word) => !word.startsWith('-'))) return [`no command "${words.join(' ')}"`];
  const problems: string[] = [];
  for (const word of rest) {
    if (word.startsWith('--')) {
      const name = word.slice(2).split('=')[0]!;
      const known = name in flags || name === 'help' || (name.startsWith('no-') && flags[name.slice(3)]?.allowNo);
      if (!known) problems.push(`${id || 'llava'}: no flag --${name}`);
    } else if (/^-[A-Za-z]$/.test(word)) {
      if (!Object.values(flags).some((flag) => flag.char === word[1]) && word !== '-h') {
        problems.push(`${id || 'llava'}: no flag ${word}`);
      }
    }
  }
  return problems;
}

describe('the commands of the READMEs', () => {
  it('work as written after the Quick start', async () => {
    const root = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const commands = new Map<string, ManifestCommand>();
    for (const manifest of [
      'apps/cli/oclif.manifest.json',
      'apps/cli/node_modules/@oclif/plugin-plugins/oclif.manifest.json',
      'apps/cli/node_modules/@oclif/plugin-help/oclif.manifest.json',
    ]) {
      const { commands: entries } = JSON.parse(await readFile(join(repoRoot, manifest), 'utf8')) as {
        commands: Record<string, ManifestCommand & { aliases?: string[] }>;
      };
      for (const [id, command] of Object.entries(entries)) {
        commands.set(id, command);
        for (const alias of command.aliases ?? []) commands.set(alias, command);
      }
    }
    expect(commands.has('convert') && commands.has('plugins:install')).toBe(true);
    const pnpmCommands = new Set(['install', 'add', 'exec', 'run', 'turbo', 'dlx']);

    const problems: string[] = [];
    let checked = 0;
    for (const file of await readmes()) {
      for (const command of shellCommands(await readFile(join(repoRoot, file), 'utf8'))) {
        const words = command.split(/\s+/);
        if (words[0] === 'pnpm') {
          problems.push(`${file}: \`${command}\` — pnpm is not on PATH after the Quick start (npx -y pnpm@12.4.2 …)`);
        } else if (command.startsWith('npx -y pnpm@12.4.2 ')) {
          const script = words[3]!;
          if (!(script in root.scripts) && !pnpmCommands.has(script)) problems.push(`${file}: no script "${script}"`);
        } else if (words[0] === 'llava') {
          problems.push(...checkLlava(words.slice(1), commands).map((problem) => `${file}: ${problem}`));
        } else continue;
        checked++;
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });

  it('reject a command the CLI does not have (the check can fail)', () => {
    const commands = new Map<string, ManifestCommand>([['convert', { flags: { to: { char: 't' } } }]]);
    expect(checkLlava(['convert', 'a.json', '--to', 'x'], commands)).toEqual([]);
    expect(checkLlava(['convert', 'a.json', '--too', 'x'], commands)).toEqual(['convert: no flag --too']);
    expect(checkLlava(['convet', 'a.json'], commands)).toEqual(['no command "convet a.json"']);
    expect(shellCommands('```sh\npnpm build   # x\ncat a | llava convert - \\\n  --to b\n```')).toEqual([
      'pnpm build',
      'cat a',
      'llava convert - --to b',
    ]);
  });

  it('print no telemetry banner or update notice (turbo, pnpm, npm)', async () => {
    const root = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const turboScripts = Object.entries(root.scripts).filter(([, script]) => /\bturbo run\b/.test(script));
    expect(turboScripts.map(([name]) => name)).toContain('demo');
    for (const [name, script] of turboScripts) {
      expect(script, name).toMatch(/TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 turbo run/);
    }
    expect(await readFile(join(repoRoot, '.npmrc'), 'utf8')).toMatch(/^update-notifier=false$/m);
    expect(await readFile(join(repoRoot, 'pnpm-workspace.yaml'), 'utf8')).toMatch(/^updateNotifier: false$/m);

    // The turbo half of `demo`, as a first-time user runs it (no turbo settings yet), planned but not run.
    const home = await mkdtemp(join(tmpdir(), 'llava-first-run-'));
    try {
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !/^(TURBO_|DO_NOT_TRACK$|XDG_)/.test(key)),
      );
      const turboPart = root.scripts.demo!.split('&&')[0]!.trim();
      const { stdout, stderr } = await run('sh', ['-c', `${turboPart} --dry=json`], {
        cwd: repoRoot,
        env: { ...env, HOME: home, PATH: `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH}` },
        maxBuffer: 32 * 1024 * 1024,
      });
      expect(JSON.parse(stdout)).toHaveProperty('tasks');
      expect(`${stdout}${stderr}`).not.toMatch(/anonymous telemetry|update available/i);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
