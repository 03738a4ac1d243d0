import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderRulesMarkdown, validationRules } from './rules.js';

const docsPath = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/rules.md');

/** The document `docs/rules.md` holds. */
function rulesDocument(): string {
  return renderRulesMarkdown([{ title: 'Record and file rules (`@llavakit/schema`)', rules: validationRules }]);
}

describe('validationRules', () => {
  const rules = Object.values(validationRules);
  it('has unique group/name ids, a title and a one-line hint each', () => {
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^[a-z]+\/[a-z-]+$/);
      expect(rule.title.length).toBeGreaterThan(0);
      expect(rule.hint).not.toContain('\n');
      expect(rule.hint.length).toBeLessThan(160);
    }
  });

  it('keeps the severities that follow what LLaVA training does', () => {
    expect(validationRules.imageTokenCount.severity).toBe('error');
    expect(validationRules.rolesUnknown.severity).toBe('error');
    expect(validationRules.rolesAlternation.severity).toBe('error');
    expect(validationRules.rolesLeadingGpt.severity).toBe('warning');
    expect(validationRules.idMixedTypes.severity).toBe('warning');
    expect(validationRules.idMixedTypes.hint).toContain('datasets/Arrow');
  });
});

describe('renderRulesMarkdown', () => {
  it('renders a table row per rule, escaping pipes', () => {
    const md = renderRulesMarkdown([
      { title: 'T', rules: { a: { id: 'x/y', severity: 'info', title: 'A | B', hint: 'do it' } } },
    ]);
    expect(md).toContain('| `x/y` | info     | A \\| B | do it |');
  });

  it('docs/rules.md is in sync with the catalog (regenerate with UPDATE_FIXTURES=1)', async () => {
    const expected = rulesDocument();
    if (process.env.UPDATE_FIXTURES === '1') await writeFile(docsPath, expected);
    const actual = await readFile(docsPath, 'utf8');
    for (const rule of Object.values(validationRules)) expect(actual).toContain(`\`${rule.id}\``);
    expect(actual).toBe(expected);
  });
});
