// The reaper's scheduling, without a kernel: the batch deletion is a stand-in.
import { describe, expect, it } from 'vitest';
import { LinkReaper } from '../src/controller/reaper.js';

describe('link reaper', () => {
  it('runs one deletion round at a time, however many flushes come at once', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const r = new LinkReaper(7, 10_000, async () => {
      calls++;
      most = Math.max(most, ++inFlight);
      await new Promise((res) => setTimeout(res, 15));
      inFlight--;
    });
    r.bury();
    r.bury();
    await Promise.all([r.flush(), r.flush(), r.flush()]);
    expect(most).toBe(1);
    expect(calls).toBe(3);
    expect([r.rounds, r.reapedLinks, r.backlog]).toEqual([3, 2, 0]);
  });

  it('a failed round is reported by the next flush, once', async () => {
    let fail = true;
    const r = new LinkReaper(7, 10_000, async () => {
      if (fail) throw new Error('EPERM');
    });
    r.bury();
    await expect(r.flush()).rejects.toThrow('EPERM');
    fail = false;
    await expect(r.flush()).resolves.toBeUndefined();
  });
});
