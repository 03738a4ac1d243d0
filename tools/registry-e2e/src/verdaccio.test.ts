import { describe, expect, it } from 'vitest';
import { OWN_PACKAGE_PATTERNS, verdaccioConfig } from './verdaccio.js';

describe('the loopback registry configuration', () => {
  const config = verdaccioConfig('/tmp/x', 4873, 'http://upstream.invalid/');
  const packages = config.slice(config.indexOf('packages:\n'), config.indexOf('\nweb:'));

  it('listens on 127.0.0.1 only and keeps its storage in the given folder', () => {
    expect(config).toMatch(/^listen: 127\.0\.0\.1:4873$/m);
    expect(config).toContain('storage: "/tmp/x/storage"');
    expect(config).toMatch(/web:\n {2}enable: false/);
  });

  it("never proxies llavakit's own names, and matches them before the catch-all", () => {
    const blocks = packages.split(/\n(?= {2}'[^']+':)/).slice(1);
    const byPattern = new Map(blocks.map((block) => [/'([^']+)'/.exec(block)![1]!, block]));
    for (const pattern of OWN_PACKAGE_PATTERNS) {
      expect(byPattern.get(pattern), pattern).toBeDefined();
      expect(byPattern.get(pattern)).not.toContain('proxy');
    }
    expect([...byPattern.keys()].at(-1)).toBe('**');
    expect(byPattern.get('**')).toContain('proxy: upstream');
    expect(config.match(/proxy:/g)).toHaveLength(1);
  });
});
