import { describe, expect, it } from 'vitest';
import { CheckTally, rulesOf } from './check-tally.js';
import type { ImageRef } from './refs.js';
import { SlowChecks } from './slow-checks.js';
import { DeferredMiss, OK, type Outcome } from './verdict.js';

const ref = (path: string, recordIndex: number): ImageRef => ({ ref: path, file: 'data.json', recordIndex });

describe('CheckTally', () => {
  it('counts every reference per prefix, keeps one problem per distinct ref with its references, and counts rules', () => {
    const tally = new CheckTally();
    const coco = tally.reportOf('coco/');
    expect(tally.reportOf('coco/')).toBe(coco);
    const gqa = tally.reportOf('gqa/');
    expect(tally.reportOf('coco/')).toBe(coco);
    const missing: Outcome = new DeferredMiss();
    tally.record(ref('coco/a.jpg', 0), coco, OK, 0, true);
    tally.record(ref('coco/b.jpg', 1), coco, missing, 1, true);
    tally.record(ref('coco/b.jpg', 2), coco, missing, 1, false);
    tally.record(ref('gqa/c.jpg', 3), gqa, OK, 2, true);
    expect([tally.checked, tally.problemCount]).toEqual([4, 2]);
    expect(coco).toMatchObject({ ok: 1, missing: 2 });
    expect(gqa).toMatchObject({ ok: 1, missing: 0 });
    expect(tally.problems).toEqual([
      {
        problem: {
          ref: 'coco/b.jpg',
          status: 'missing',
          ruleIds: ['images/missing'],
          references: 2,
          firstRecordIndex: 1,
        },
        seq: 1,
      },
    ]);
    expect(tally.problemRefs.map((r) => r.recordIndex)).toEqual([1, 2]);
    expect(tally.problemSeqs).toEqual([1, 1]);
    expect(tally.ruleCounts).toEqual({ 'images/missing': { error: 2 } });
    expect(rulesOf(missing).map((r) => r.id)).toEqual(['images/missing']);
    expect(rulesOf(OK)).toEqual([]);
  });

  it('reports progress at the end, and while counting at most every 100 ms', () => {
    const seen: number[] = [];
    const tally = new CheckTally((p) => seen.push(p.checked));
    const report = tally.reportOf('');
    for (let i = 0; i < 3000; i++) tally.record(ref(`${i}.jpg`, i), report, OK, i, true);
    tally.reportDone();
    expect(seen.at(-1)).toBe(3000);
    expect(seen.length).toBeLessThanOrEqual(3);
  });
});

describe('SlowChecks', () => {
  it('runs at most `concurrency` at once: start returns a promise to wait on at the limit', async () => {
    const slow = new SlowChecks(2);
    const ends: (() => void)[] = [];
    const check = () => new Promise<void>((resolve) => ends.push(resolve));
    expect(slow.start(check())).toBeUndefined();
    const wait = slow.start(check());
    expect(wait).toBeInstanceOf(Promise);
    let freed = false;
    void wait!.then(() => (freed = true));
    await new Promise((r) => setImmediate(r));
    expect(freed).toBe(false);
    ends[0]!();
    await wait;
    expect(freed).toBe(true);
    ends[1]!();
    await slow.drain();
  });

  it('keeps the first failure: thrown by throwFailure and by drain', async () => {
    const slow = new SlowChecks(4);
    slow.start(Promise.reject(new Error('first')));
    slow.start(Promise.reject(new Error('second')));
    await expect(slow.drain()).rejects.toThrow('first');
    expect(() => slow.throwFailure()).toThrow('first');
  });
});
