/**
 * Slows down password guessing. Failures are counted per (user, address) pair and per user;
 * past the limit the key is locked for a while that doubles with each further failure. A
 * successful login clears the pair's count.
 *
 * @example
 *   const wait = throttle.retryAfter(username, ip); // seconds, 0 when allowed
 *   if (!ok) throttle.fail(username, ip); else throttle.succeed(username, ip);
 */
export class LoginThrottle {
  private readonly entries = new Map<string, { failures: number; first: number; until: number }>();

  constructor(
    private readonly options = {
      pairLimit: 5,
      userLimit: 20,
      windowMs: 15 * 60_000,
      baseLockMs: 30_000,
      maxLockMs: 15 * 60_000,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until another attempt is allowed for this user from this address; 0 if now. */
  retryAfter(username: string, address: string): number {
    const t = this.now();
    const until = Math.max(
      this.entry(pairKey(username, address))?.until ?? 0,
      this.entry(userKey(username))?.until ?? 0,
    );
    return until > t ? Math.ceil((until - t) / 1000) : 0;
  }

  fail(username: string, address: string): void {
    this.bump(pairKey(username, address), this.options.pairLimit);
    this.bump(userKey(username), this.options.userLimit);
  }

  succeed(username: string, address: string): void {
    this.entries.delete(pairKey(username, address));
  }

  private entry(key: string) {
    const e = this.entries.get(key);
    if (e && this.now() - e.first > this.options.windowMs && e.until < this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private bump(key: string, limit: number): void {
    const t = this.now();
    const e = this.entry(key) ?? { failures: 0, first: t, until: 0 };
    e.failures += 1;
    if (e.failures >= limit) {
      const lock = this.options.baseLockMs * 2 ** (e.failures - limit);
      e.until = t + Math.min(lock, this.options.maxLockMs);
    }
    this.entries.set(key, e);
    if (this.entries.size > 100_000) this.prune();
  }

  private prune(): void {
    for (const key of [...this.entries.keys()]) this.entry(key);
  }
}

const pairKey = (username: string, address: string) => `p:${username.toLowerCase()}|${address}`;
const userKey = (username: string) => `u:${username.toLowerCase()}`;
