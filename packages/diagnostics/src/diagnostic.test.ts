import { describe, expect, it } from 'vitest';
import { DiagnosticError, diagnose, isFailing } from './diagnostic.js';
import { fromPointer, getAtPointer, toPointer } from './pointer.js';
import { excerpt, formatDiagnostic, formatLocation, renderReport, summarize } from './report.js';
import { defineRules } from './rule-catalog.js';

const rules = defineRules({
  a: { id: 'roles/alternation', severity: 'error', title: 'Roles alternate', hint: 'Make turns alternate.' },
  b: { id: 'value/empty', severity: 'warning', title: 'Empty value', hint: 'Fill or drop the turn.' },
});

describe('diagnose', () => {
  it('takes id, severity and hint from the rule and drops undefined fields', () => {
    const d = diagnose(rules.a, { message: 'Turn 2 repeats gpt.', recordIndex: 3, recordId: undefined });
    expect(d).toEqual({
      ruleId: 'roles/alternation',
      severity: 'error',
      hint: 'Make turns alternate.',
      message: 'Turn 2 repeats gpt.',
      recordIndex: 3,
    });
    expect(diagnose(rules.a, { message: 'x', severity: 'info' }).severity).toBe('info');
  });

  it('isFailing honours strict', () => {
    expect(isFailing({ severity: 'error' })).toBe(true);
    expect(isFailing({ severity: 'warning' })).toBe(false);
    expect(isFailing({ severity: 'warning' }, true)).toBe(true);
    expect(isFailing({ severity: 'info' }, true)).toBe(false);
  });

  it('DiagnosticError.is recognises errors across copies by a global symbol', () => {
    const error = new DiagnosticError(diagnose(rules.a, { message: 'boom' }));
    expect(DiagnosticError.is(error)).toBe(true);
    expect(error.message).toBe('boom');
    const foreign = { [Symbol.for('llavakit.diagnostic-error')]: true };
    expect(DiagnosticError.is(foreign)).toBe(true);
    expect(DiagnosticError.is(new Error('x'))).toBe(false);
    expect(DiagnosticError.is(null)).toBe(false);
  });
});

describe('pointers', () => {
  it('escapes ~ and / and round-trips', () => {
    expect(toPointer(['conversations', 2, 'from'])).toBe('/conversations/2/from');
    expect(toPointer(['a/b', 'c~d'])).toBe('/a~1b/c~0d');
    expect(fromPointer('/a~1b/c~0d')).toEqual(['a/b', 'c~d']);
    expect(fromPointer('')).toEqual([]);
    expect(() => fromPointer('x')).toThrow(/Not a JSON pointer/);
  });

  it('reads values and never walks the prototype', () => {
    const value = { conversations: [{ from: 'human' }] };
    expect(getAtPointer(value, '/conversations/0/from')).toBe('human');
    expect(getAtPointer(value, '/conversations/5/from')).toBeUndefined();
    expect(getAtPointer(value, '/__proto__')).toBeUndefined();
    expect(getAtPointer(value, '/constructor')).toBeUndefined();
  });
});

describe('report', () => {
  const diagnostics = [
    diagnose(rules.b, {
      message: 'Empty gpt value.',
      file: 'a.json',
      recordIndex: 1,
      recordId: 7,
      pointer: '/conversations/1/value',
      place: { offset: 40, line: 3, column: 3 },
    }),
    diagnose(rules.a, {
      message: 'Turn 2 repeats gpt.',
      file: 'a.json',
      recordIndex: 0,
      recordId: 'x',
      place: { offset: 2, line: 2, column: 3 },
      excerpt: '{"id":"x",…',
    }),
    diagnose(rules.a, { message: 'Turn 4 repeats human.', file: 'a.json', recordIndex: 5, place: { offset: 99 } }),
  ];

  it('formats a location with file, line:column, record and pointer', () => {
    expect(formatLocation(diagnostics[0]!)).toBe('a.json:3:3 record #1 (id 7) /conversations/1/value');
    expect(formatLocation(diagnostics[2]!)).toBe('a.json@99 record #5');
    expect(formatDiagnostic(diagnostics[1]!)).toBe(
      'a.json:2:3 record #0 (id "x")  error  Turn 2 repeats gpt.  [roles/alternation]',
    );
  });

  it('groups by rule, errors first, with counts, hints, excerpts and a per-rule cap', () => {
    expect(renderReport(diagnostics, { maxPerRule: 1 })).toBe(
      [
        'roles/alternation  2 errors',
        '  hint: Make turns alternate.',
        '  a.json:2:3 record #0 (id "x")  Turn 2 repeats gpt.',
        '    | {"id":"x",…',
        '  … and 1 more',
        '',
        'value/empty  1 warning',
        '  hint: Fill or drop the turn.',
        '  a.json:3:3 record #1 (id 7) /conversations/1/value  Empty gpt value.',
        '',
      ].join('\n'),
    );
    expect(summarize(diagnostics)).toEqual({ error: 2, warning: 1, info: 0 });
  });

  it('makes one-line excerpts', () => {
    expect(excerpt('a\nb\tc', 10)).toBe('a\\nb\\tc');
    expect(excerpt('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(excerpt(`${'a'.repeat(40)}TARGET${'b'.repeat(40)}`, 12, 40)).toMatch(/^….*TARGET.*…$/);
  });
});
