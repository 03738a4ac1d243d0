import { describe, expect, it } from 'vitest';
import type { Diagnostic } from './diagnostic.js';
import { renderReport } from './report.js';

const d = (ruleId: string, severity: Diagnostic['severity'], recordIndex: number): Diagnostic => ({
  ruleId,
  severity,
  message: `m${recordIndex}`,
  hint: `fix ${ruleId}`,
  file: 'f.json',
  recordIndex,
});

describe('renderReport with kept diagnostics and full counts', () => {
  it('uses the full counts in headings and "… and N more", worst severity first within a rule', () => {
    const kept = [d('id/duplicate', 'info', 1), d('id/duplicate', 'warning', 5)];
    const text = renderReport(kept, {
      maxPerRule: 1,
      counts: { 'id/duplicate': { warning: 3, info: 90 }, 'roles/unknown': { error: 2 } },
      hints: { 'roles/unknown': 'use human/gpt' },
    });
    expect(text).toBe(
      [
        'roles/unknown  2 errors',
        '  hint: use human/gpt',
        '  … and 2 more',
        '',
        'id/duplicate  3 warnings, 90 infos',
        '  hint: fix id/duplicate',
        '  f.json record #5  m5',
        '  … and 92 more',
        '',
      ].join('\n'),
    );
  });
});
