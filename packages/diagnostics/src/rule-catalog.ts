/**
 * Rule catalogs and the exit-code policy of llavakit's commands from their metadata: a run stopped by a diagnostic
 * exits 2 when its rule is a usage error (see {@link RuleMeta.kind}), 1 when it is a data error.
 */
import type { Diagnostic, RuleKind, RuleMeta } from './diagnostic.js';

/**
 * Every rule declared with `defineRules`, by id; shared by duplicate copies of this package (a plugin may bundle
 * its own) through a global symbol.
 */
const CATALOG_KEY = Symbol.for('llavakit.rule-catalog');
type Catalog = Map<string, RuleMeta>;

function catalog(): Catalog {
  const holder = globalThis as unknown as Record<symbol, Catalog | undefined>;
  holder[CATALOG_KEY] ??= new Map();
  return holder[CATALOG_KEY];
}

/** Record rules' metadata (done by {@link defineRules}); a rule declared twice keeps a declared `kind`. */
function registerRules(rules: Iterable<RuleMeta>): void {
  const known = catalog();
  for (const rule of rules) {
    const before = known.get(rule.id);
    if (!before || rule.kind !== undefined) known.set(rule.id, rule);
  }
}

/**
 * Rule families whose rules are usage errors unless they declare otherwise: the command line (`usage/`) and format
 * options (`options/`). (`format/` rules are mostly about the data — a record a format cannot encode, a plugin's
 * failure on a record — so `format/unknown` declares itself a usage error.)
 */
const USAGE_FAMILIES: ReadonlySet<string> = new Set(['usage', 'options']);

/**
 * Whether a diagnostic of this rule is a usage error (`usage`: the user's flags, options or recipe) or a problem
 * of the data (`data`): the rule's declared `kind`, else `usage` for the `usage/` and `options/` families,
 * else `data`.
 *
 * @example
 * ```ts
 * ruleKindOf('recipe/bad-strategy'); // 'usage' (declared by @llavakit/ops)
 * ruleKindOf('json/syntax'); // 'data'
 * ```
 */
export function ruleKindOf(ruleId: string): RuleKind {
  const declared = catalog().get(ruleId)?.kind;
  if (declared) return declared;
  const slash = ruleId.indexOf('/');
  return USAGE_FAMILIES.has(slash === -1 ? ruleId : ruleId.slice(0, slash)) ? 'usage' : 'data';
}

/**
 * The exit code of a run stopped by this diagnostic: 2 for a usage error, 1 for a data error (see
 * {@link ruleKindOf}).
 *
 * @example
 * ```ts
 * process.exitCode = exitCodeOf(error.diagnostic);
 * ```
 */
export function exitCodeOf(diagnostic: Pick<Diagnostic, 'ruleId'>): 1 | 2 {
  return ruleKindOf(diagnostic.ruleId) === 'usage' ? 2 : 1;
}

/**
 * Declare a rule catalog: returns it unchanged (keeping the literal types) and records each rule's metadata, so that
 * {@link ruleKindOf} can answer for the diagnostics of these rules.
 */
export function defineRules<const T extends Record<string, RuleMeta>>(rules: T): T {
  registerRules(Object.values(rules));
  return rules;
}
