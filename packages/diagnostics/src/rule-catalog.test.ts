import { describe, expect, it } from 'vitest';
import { defineRules, exitCodeOf, ruleKindOf } from './rule-catalog.js';

describe('ruleKindOf / exitCodeOf (the exit-code policy from rule metadata)', () => {
  const rules = defineRules({
    recipe: { id: 'test-recipe/bad', severity: 'error', title: 'Bad recipe', hint: 'Fix it.', kind: 'usage' },
    data: { id: 'test-data/bad', severity: 'error', title: 'Bad data', hint: 'Fix it.' },
    notUsage: { id: 'usage/test-data-after-all', severity: 'error', title: 'Data', hint: 'Fix it.', kind: 'data' },
  });

  it('takes the declared kind', () => {
    expect(ruleKindOf(rules.recipe.id)).toBe('usage');
    expect(exitCodeOf({ ruleId: rules.recipe.id })).toBe(2);
    expect(ruleKindOf(rules.notUsage.id)).toBe('data');
    expect(exitCodeOf({ ruleId: rules.notUsage.id })).toBe(1);
  });

  it('defaults to data, and to usage in the usage/ and options/ families', () => {
    expect(ruleKindOf(rules.data.id)).toBe('data');
    expect(ruleKindOf('json/syntax')).toBe('data');
    expect(ruleKindOf('usage/whatever')).toBe('usage');
    expect(ruleKindOf('format/encode-failed')).toBe('data');
    expect(ruleKindOf('options/invalid')).toBe('usage');
    expect(ruleKindOf('formats/unknown')).toBe('data');
    expect(exitCodeOf({ ruleId: 'images/missing' })).toBe(1);
  });

  it('keeps a declared kind when the same id is declared again without one', () => {
    defineRules({ again: { id: 'test-recipe/bad', severity: 'error', title: 'Bad recipe', hint: 'Fix it.' } });
    expect(ruleKindOf('test-recipe/bad')).toBe('usage');
  });
});
