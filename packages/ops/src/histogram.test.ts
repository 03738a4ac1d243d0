import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { Histogram } from './histogram.js';

const values = fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 300 });

test.prop([values, fc.double({ min: 0, max: 1, noNaN: true })])('quantiles are exact (nearest rank)', (vs, q) => {
  const h = new Histogram();
  for (const v of vs) h.add(v);
  const sorted = [...vs].sort((a, b) => a - b);
  expect(h.quantile(q)).toBe(sorted[Math.max(1, Math.ceil(q * vs.length)) - 1]);
  expect(h.buckets().reduce((a, b) => a + b.count, 0)).toBe(vs.length);
});

test.prop([values, values])('merging two histograms (or their JSON) equals one over both', (a, b) => {
  const ha = new Histogram();
  const hb = new Histogram();
  const all = new Histogram();
  for (const v of a) {
    ha.add(v);
    all.add(v);
  }
  for (const v of b) {
    hb.add(v);
    all.add(v);
  }
  const merged = Histogram.fromJSON(JSON.parse(JSON.stringify(ha.toJSON())));
  merged.merge(hb.toJSON());
  expect(merged.toJSON()).toEqual(all.toJSON());
});
