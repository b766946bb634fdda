import { describe, expect, it } from 'vitest';
import {
  bootstrapBackoffSeconds,
  jitter,
  parseRetryAfter,
  retryAfterSeconds,
  retryPolicy,
  RetrySchedule,
} from '../../src/device/backoff.js';
import { AgentTimers } from '../../src/device/timers.js';

const LOW = () => 0;
const HIGH = () => 0.999999;
const MID = () => 0.5;

describe('Management Server retry schedule (Server object resources 16 to 20)', () => {
  it('resources that are missing or not numbers fall back to the LwM2M defaults', () => {
    expect(retryPolicy(undefined)).toEqual({
      bootstrapOnFailure: true,
      retryCount: 5,
      retryTimerSeconds: 60,
      sequenceDelaySeconds: 86_400,
      sequenceRetryCount: 1,
    });
    expect(retryPolicy({ '16': 'yes', '17': -1, '18': 'x', '20': 0 })).toMatchObject({
      bootstrapOnFailure: true,
      retryCount: 5,
      retryTimerSeconds: 60,
      sequenceRetryCount: 1,
    });
  });

  it('is exhausted after /1/0/20 sequences of /1/0/17 retries, waiting 18 × 2^n and then 19', () => {
    const policy = retryPolicy({ '16': true, '17': 3, '18': 2, '19': 30, '20': 2 });
    const schedule = new RetrySchedule(policy, MID);
    const delays: number[] = [];
    for (let step = schedule.next(); step; step = schedule.next()) delays.push(step.delaySeconds);
    // Sequence 1: retries after 2, 4, 8 s; then 30 s; sequence 2: 2, 4, 8 s; then exhausted.
    expect(delays).toEqual([2, 4, 8, 30, 2, 4, 8]);
    expect(schedule.next()).toBeUndefined();
  });

  it('jitters each retry within ±25 % and never the sequence delay', () => {
    const policy = retryPolicy({ '17': 2, '18': 4, '19': 10, '20': 2 });
    const low = new RetrySchedule(policy, LOW);
    const high = new RetrySchedule(policy, HIGH);
    const lows = [1, 2, 3, 4, 5].map(() => low.next()?.delaySeconds);
    const highs = [1, 2, 3, 4, 5].map(() => high.next()?.delaySeconds);
    expect(lows).toEqual([3, 6, 10, 3, 6]);
    expect(highs.map((v) => Math.round((v ?? 0) * 1000) / 1000)).toEqual([5, 10, 10, 5, 10]);

    const random = new RetrySchedule(policy);
    for (let i = 0; i < 200; i++) {
      const step = random.next() ?? (random.reset(), random.next());
      if (!step || step.retry < 0) continue;
      const nominal = 4 * 2 ** step.retry;
      expect(step.delaySeconds).toBeGreaterThanOrEqual(nominal * 0.75);
      expect(step.delaySeconds).toBeLessThanOrEqual(nominal * 1.25);
    }
  });

  it('reset() after a registration starts the next failure from the first retry', () => {
    const schedule = new RetrySchedule(retryPolicy({ '17': 2, '18': 1, '20': 1 }), MID);
    expect(schedule.next()?.delaySeconds).toBe(1);
    expect(schedule.next()?.delaySeconds).toBe(2);
    expect(schedule.next()).toBeUndefined();
    schedule.reset();
    expect(schedule.next()).toEqual({ delaySeconds: 1, sequence: 0, retry: 0 });
  });
});

describe('Bootstrap Server backoff and Retry-After', () => {
  it('stays within 1 to 60 s, doubling from 1 s, with ±25 % jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => bootstrapBackoffSeconds(n, MID))).toEqual([
      1, 2, 4, 8, 16, 32, 60, 60,
    ]);
    expect(bootstrapBackoffSeconds(0, LOW)).toBe(1); // 0.75 is raised to the 1 s floor
    expect(bootstrapBackoffSeconds(3, LOW)).toBe(6);
    expect(bootstrapBackoffSeconds(3, HIGH)).toBeCloseTo(10, 3);
    expect(bootstrapBackoffSeconds(50, HIGH)).toBe(60);
    expect(bootstrapBackoffSeconds(50, LOW)).toBe(45);
    for (let n = 0; n < 100; n++) {
      const value = bootstrapBackoffSeconds(n);
      expect(value).toBeGreaterThanOrEqual(1);
      expect(value).toBeLessThanOrEqual(60);
    }
  });

  it('after a 503 waits Retry-After plus 0 to 50 %', () => {
    expect(retryAfterSeconds(10, LOW)).toBe(10);
    expect(retryAfterSeconds(10, HIGH)).toBeCloseTo(15, 3);
    for (let i = 0; i < 100; i++) {
      const value = retryAfterSeconds(4);
      expect(value).toBeGreaterThanOrEqual(4);
      expect(value).toBeLessThan(6);
    }
  });

  it('reads Retry-After as seconds or as an HTTP-date (RFC 9110 §10.2.3)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('jitter spreads symmetrically around the nominal value', () => {
    expect(jitter(8, 0.25, LOW)).toBe(6);
    expect(jitter(8, 0.25, MID)).toBe(8);
  });
});

describe('agent timers', () => {
  it('scale protocol seconds and leave nothing pending after clearAll or abort', async () => {
    const timers = new AgentTimers(0.001);
    expect(timers.seconds(60)).toBe(60);
    const controller = new AbortController();
    const waited = timers.sleep(10_000, controller.signal);
    const stop = timers.every(5, () => undefined);
    expect(timers.pending).toBe(2);
    controller.abort();
    await expect(waited).rejects.toThrow();
    stop();
    expect(timers.pending).toBe(0);
    timers.after(10_000, () => undefined);
    timers.clearAll();
    expect(timers.pending).toBe(0);
    expect(() => new AgentTimers(0)).toThrow(RangeError);
  });
});
