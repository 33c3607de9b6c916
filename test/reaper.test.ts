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

  it('a flush rejects with its own round\'s error; the links stay buried and counted, and go with the next round', async () => {
    let fail = true;
    const r = new LinkReaper(7, 10_000, async () => {
      if (fail) throw new Error('EPERM');
    });
    r.bury();
    await expect(r.flush()).rejects.toThrow('EPERM');
    expect([r.backlog, r.started, r.completed, r.failures]).toEqual([1, 1, 0, 1]);
    fail = false;
    await expect(r.flush()).resolves.toBeUndefined();
    expect([r.backlog, r.reapedLinks, r.started, r.completed]).toEqual([0, 1, 2, 2]);
  });

  it('a timer round that fails is retried by the timer, later each time, and its error is not thrown by a flush that made it good', async () => {
    const at: number[] = [];
    let fail = 2;
    const r = new LinkReaper(7, 10, async () => {
      at.push(Date.now());
      if (fail-- > 0) throw new Error('EBUSY');
    });
    r.bury();
    r.bury();
    for (let t = 0; t < 200 && r.rounds === 0; t++) await new Promise((res) => setTimeout(res, 10));
    // Two failures (10 ms, then 20 ms later), then a retry 40 ms after that which succeeded.
    expect(at).toHaveLength(3);
    expect(at[2]! - at[1]!).toBeGreaterThan(at[1]! - at[0]!);
    expect([r.backlog, r.reapedLinks, r.failures, r.completed]).toEqual([0, 2, 2, 3]);
    expect((r.lastError as Error).message).toBe('EBUSY');
    fail = 1;
    r.bury();
    for (let t = 0; t < 200 && r.failures < 3; t++) await new Promise((res) => setTimeout(res, 5)); // the timer's round fails
    expect([r.backlog, r.failures]).toEqual([1, 3]);
    await expect(r.flush()).resolves.toBeUndefined();
    expect([r.backlog, r.reapedLinks]).toEqual([0, 3]);
  });

  it('dispose: a timer armed by a failed round is cleared, and no round runs after it', async () => {
    let calls = 0;
    const r = new LinkReaper(7, 5, async () => {
      calls++;
      throw new Error('EBUSY');
    });
    r.bury();
    await expect(r.flush()).rejects.toThrow('EBUSY');
    r.dispose();
    r.bury();
    await new Promise((res) => setTimeout(res, 60));
    expect(calls).toBe(1);
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
