import { type Hook, toConfiguredId } from '@oclif/core';

/** Levenshtein distance of two (short) strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The command id closest to a mistyped one, when one is close enough to be what was meant: a prefix of it, or at
 * most a third of its characters (and at least two) changed.
 */
export function closestCommand(id: string, ids: readonly string[]): string | undefined {
  let best: { id: string; distance: number } | undefined;
  for (const candidate of ids) {
    const distance = candidate.startsWith(id) && id.length >= 2 ? 0.5 : editDistance(id, candidate);
    if (!best || distance < best.distance) best = { id: candidate, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(id.length / 3)) ? best.id : undefined;
}

/** An unknown command is a usage error (exit 2) that names the closest command, in a terminal or not. */
const hook: Hook<'command_not_found'> = async function (options) {
  const { config } = options;
  const ids = config.commands
    .filter((command) => !command.hidden)
    .flatMap((command) => [command.id, ...command.aliases]);
  // With space-separated topics the id also holds the arguments (`conver data.json` → conver:data.json): the
  // longest leading part that is close to a command is what was meant.
  const parts = options.id.split(':');
  let typedId = parts[0]!;
  let suggestion: string | undefined;
  for (let n = parts.length; n > 0 && !suggestion; n--) {
    suggestion = closestCommand(parts.slice(0, n).join(':'), ids);
    if (suggestion) typedId = parts.slice(0, n).join(':');
  }
  const typed = toConfiguredId(typedId, config);
  const meant = suggestion ? ` Did you mean \`${config.bin} ${toConfiguredId(suggestion, config)}\`?` : '';
  this.error(`\`${config.bin} ${typed}\` is not a command.${meant}\nSee \`${config.bin} --help\` for every command.`, {
    exit: 2,
  });
};

export default hook;
