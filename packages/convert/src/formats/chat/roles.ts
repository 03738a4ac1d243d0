import type { Diagnostic } from '@llavakit/diagnostics';
import type { RecordContext } from '@llavakit/format';
import type { LlavaRecord, Turn } from '@llavakit/schema';
import { writerRules } from '../../pipeline/rules.js';
import { fail, recordDiagnostic } from '../shared/record-diagnostics.js';

/**
 * Map every turn's LLaVA role (`human`, `gpt`, …) to a chat role (`user`, `assistant`, …), or fail on the first role
 * the target cannot take. `system` is accepted only as the first turn when `systemFirstOnly`.
 */
export function chatRolesOf(
  record: LlavaRecord,
  allowed: ReadonlySet<string>,
  context: RecordContext<object>,
  source: string,
  takes: string,
  systemFirstOnly: boolean,
): { ok: true; roles: string[] } | { ok: false; diagnostics: Diagnostic[] } {
  const turns = record.conversations;
  const roles: string[] = new Array(turns.length);
  for (let i = 0; i < turns.length; i++) {
    const from = turns[i]!.from;
    const role = TO_CHAT_ROLE[from] ?? from;
    if (!allowed.has(role) || (systemFirstOnly && role === 'system' && i > 0)) {
      return fail(
        recordDiagnostic(writerRules.unsupportedRole, context, source, {
          message: `Turn ${i} has role "${from}"; ${takes}.`,
          pointer: `/conversations/${i}/from`,
          recordId: record.id,
        }),
      );
    }
    roles[i] = role;
  }
  return { ok: true, roles };
}

/** The system prompt of a record as a target with one system slot sees it. */
export interface SystemSplit {
  /** The system prompt, if any. */
  readonly system: string | undefined;
  /** Where it came from (`turn`: a leading `system` turn; `key`: a `system` key). */
  readonly from: 'turn' | 'key' | undefined;
  /** The turns after the system turn. */
  readonly turns: readonly Turn[];
  /** Index of `turns[0]` in the record's conversations. */
  readonly offset: number;
}

/** Split off the system prompt: a leading `system` turn wins over a `system` key (which then goes to metadata). */
export function splitSystem(record: LlavaRecord): SystemSplit {
  const first = record.conversations[0];
  if (first?.from === 'system') {
    return { system: first.value, from: 'turn', turns: record.conversations.slice(1), offset: 1 };
  }
  if (typeof record.system === 'string') {
    return { system: record.system, from: 'key', turns: record.conversations, offset: 0 };
  }
  return { system: undefined, from: undefined, turns: record.conversations, offset: 0 };
}

/** Role names: LLaVA (`human`/`gpt`) to chat (`user`/`assistant`) and back. */
export const TO_CHAT_ROLE: Readonly<Record<string, string>> = { human: 'user', gpt: 'assistant', system: 'system' };
export const FROM_CHAT_ROLE: Readonly<Record<string, string>> = { user: 'human', assistant: 'gpt', system: 'system' };
