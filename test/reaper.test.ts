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

  it('a link buried while a flush runs is reaped by its own round soon after, not left for the next caller', async () => {
    let calls = 0;
    const r = new LinkReaper(7, 20, async () => {
      calls++;
      await new Promise((res) => setTimeout(res, 30));
    });
    r.bury();
    const f = r.flush();
    await new Promise((res) => setTimeout(res, 5));
    r.bury(); // while the flush's round runs
    await f;
    expect(r.backlog).toBe(1);
    await new Promise((res) => setTimeout(res, 120));
    expect([r.backlog, r.reapedLinks, calls]).toEqual([0, 2, 2]);
  });

  it('a flush that meets the timer\'s round waits for it: never two rounds at once', async () => {
    let inFlight = 0;
    let most = 0;
    const r = new LinkReaper(7, 5, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((res) => setTimeout(res, 25));
      inFlight--;
    });
    r.bury();
    await new Promise((res) => setTimeout(res, 10)); // the timer's round is running
    r.bury();
    await r.flush();
    await new Promise((res) => setTimeout(res, 60));
    expect(most).toBe(1);
    expect([r.backlog, r.reapedLinks]).toEqual([0, 2]);
  });
});
