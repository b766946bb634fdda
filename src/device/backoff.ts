import { SERVER, type InstanceValues } from './types.js';

/** A source of uniform random numbers in [0, 1), injectable for tests. */
export type Random = () => number;

/** The Server object's communication retry resources (LwM2M Core §E.2 resources 16 to 20). */
export interface RetryPolicy {
  /** 16 Bootstrap on Registration Failure. */
  bootstrapOnFailure: boolean;
  /** 17 Communication Retry Count: retries in one sequence. */
  retryCount: number;
  /** 18 Communication Retry Timer (s): the base of the exponential wait. */
  retryTimerSeconds: number;
  /** 19 Communication Sequence Delay Timer (s): the wait between sequences. */
  sequenceDelaySeconds: number;
  /** 20 Communication Sequence Retry Count: how many sequences in all. */
  sequenceRetryCount: number;
}

// LwM2M Core §E.2: the defaults when the Server object leaves the resources out.
const DEFAULT_POLICY: RetryPolicy = {
  bootstrapOnFailure: true,
  retryCount: 5,
  retryTimerSeconds: 60,
  sequenceDelaySeconds: 86_400,
  sequenceRetryCount: 1,
};

/** ±25 % around the nominal wait (protocol.md §5). */
export const RETRY_JITTER = 0.25;
/** Bootstrap Server retries: from 1 s, doubling, up to 60 s (protocol.md §5). */
export const BS_BACKOFF_MIN_SECONDS = 1;
export const BS_BACKOFF_MAX_SECONDS = 60;

/**
 * Reads resources 16 to 20 of a Server object instance, with the LwM2M defaults for those
 * that are missing or not usable numbers.
 *
 * @example
 *   retryPolicy({ '16': true, '17': 3, '18': 2, '19': 30, '20': 2 });
 */
export function retryPolicy(server: InstanceValues | undefined): RetryPolicy {
  const count = (id: string, fallback: number) => {
    const value = server?.[id];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  const flag = server?.[SERVER.bootstrapOnRegistrationFailure];
  return {
    bootstrapOnFailure: typeof flag === 'boolean' ? flag : DEFAULT_POLICY.bootstrapOnFailure,
    retryCount: Math.floor(count(SERVER.retryCount, DEFAULT_POLICY.retryCount)),
    retryTimerSeconds: count(SERVER.retryTimer, DEFAULT_POLICY.retryTimerSeconds),
    sequenceDelaySeconds: count(SERVER.sequenceDelayTimer, DEFAULT_POLICY.sequenceDelaySeconds),
    sequenceRetryCount: Math.max(
      1,
      Math.floor(count(SERVER.sequenceRetryCount, DEFAULT_POLICY.sequenceRetryCount)),
    ),
  };
}

/** The wait before the next attempt, and which retry of which sequence it leads to. */
export interface RetryStep {
  delaySeconds: number;
  sequence: number;
  retry: number;
}

/**
 * The schedule of Management Server connection attempts after failures (protocol.md §5): a
 * sequence is a first attempt and up to `retryCount` retries, the n-th (from 0) after
 * `retryTimer × 2^n` seconds ±25 %; between sequences it waits `sequenceDelay` seconds; after
 * `sequenceRetryCount` sequences it is exhausted and `next()` returns undefined.
 *
 * @example
 *   const schedule = new RetrySchedule(retryPolicy(server));
 *   const step = schedule.next(); // { delaySeconds: 1.9..., sequence: 0, retry: 0 }
 */
export class RetrySchedule {
  private sequence = 0;
  private retry = 0;

  constructor(
    readonly policy: RetryPolicy,
    private readonly random: Random = Math.random,
  ) {}

  /** Call after a failed attempt: the wait before the next one, or undefined when exhausted. */
  next(): RetryStep | undefined {
    if (this.retry < this.policy.retryCount) {
      const nominal = this.policy.retryTimerSeconds * 2 ** this.retry;
      const step = {
        delaySeconds: jitter(nominal, RETRY_JITTER, this.random),
        sequence: this.sequence,
        retry: this.retry,
      };
      this.retry++;
      return step;
    }

    if (this.sequence + 1 >= this.policy.sequenceRetryCount) return undefined;
    this.sequence++;
    this.retry = 0;
    return { delaySeconds: this.policy.sequenceDelaySeconds, sequence: this.sequence, retry: -1 };
  }

  /** Call after a successful registration: the next failure starts a fresh schedule. */
  reset(): void {
    this.sequence = 0;
    this.retry = 0;
  }
}

/**
 * The wait before Bootstrap Server attempt `failures + 1`: 1 s doubling to 60 s, ±25 %, and
 * never outside 1 to 60 s (protocol.md §5).
 *
 * @example
 *   bootstrapBackoffSeconds(0); // 1 to 1.25
 *   bootstrapBackoffSeconds(10); // 45 to 60
 */
export function bootstrapBackoffSeconds(failures: number, random: Random = Math.random): number {
  const nominal = Math.min(
    BS_BACKOFF_MAX_SECONDS,
    BS_BACKOFF_MIN_SECONDS * 2 ** Math.min(failures, 30),
  );
  const value = jitter(nominal, RETRY_JITTER, random);
  return Math.min(BS_BACKOFF_MAX_SECONDS, Math.max(BS_BACKOFF_MIN_SECONDS, value));
}

/**
 * The wait after a 503 from the Bootstrap Server: its Retry-After plus a random 0 to 50 %
 * (protocol.md §3.1), so that a fleet told the same time does not return at once.
 *
 * @example
 *   retryAfterSeconds(10); // 10 to 15
 */
export function retryAfterSeconds(retryAfter: number, random: Random = Math.random): number {
  return retryAfter * (1 + 0.5 * random());
}

/**
 * Parses a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns
 * seconds from `now`, or undefined when the header is absent or unreadable.
 *
 * @example
 *   parseRetryAfter('120'); // 120
 */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);

  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/**
 * A value spread uniformly within ±`fraction` of `nominal`.
 *
 * @example
 *   jitter(8, 0.25); // 6 to 10
 */
export function jitter(nominal: number, fraction: number, random: Random = Math.random): number {
  return nominal * (1 + fraction * (2 * random() - 1));
}
