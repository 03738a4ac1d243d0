import { describe, expect, it } from 'vitest';
import { opsRules } from './rules.js';

describe('opsRules', () => {
  it('has unique group/name ids, a title and a one-line hint each', () => {
    const rules = Object.values(opsRules);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^[a-z]+\/[a-z-]+$/);
      expect(rule.title.length).toBeGreaterThan(0);
      expect(rule.hint).not.toContain('\n');
      expect(rule.hint.length).toBeLessThan(160);
    }
  });
});
