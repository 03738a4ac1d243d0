import { describe, expect, it } from 'vitest';
import { emptySummary } from './op-types.js';
import { renderOpSummary } from './summary-text.js';

describe('renderOpSummary', () => {
  it('says what was read, written and rejected, by rule and output, and suggests --rejects', () => {
    const summary = {
      ...emptySummary(),
      read: 10,
      written: 7,
      rejected: 3,
      rejectedByRule: { 'filter/min-turns': 3 },
      outputs: { 'out.json': 7 },
      durationMs: 1234,
    };
    expect(renderOpSummary(summary, { title: 'Filtered' })).toBe(
      [
        'Filtered',
        '  read 10, written 7, rejected 3 in 1.23s',
        '  rejected by filter/min-turns: 3',
        '  out.json: 7 records',
        '  add --rejects <file> to keep the rejected records with their reasons',
      ].join('\n'),
    );
    expect(renderOpSummary(summary, { title: 'Filtered', rejectsFile: true, extra: ['  more'] })).not.toContain(
      '--rejects',
    );
  });

  it('says that nothing was written when the run stopped', () => {
    const text = renderOpSummary({ ...emptySummary(), read: 4, failed: true }, { title: 'Filtered' });
    expect(text).toBe(
      'Stopped\n  read 4 records before the error, in 0.00s\n  nothing was written (every output was discarded)',
    );
  });
});
