/**
 * Client hold-off: a token bucket that admits bootstrap requests up to a steady rate with a
 * burst. When a whole fleet comes back at once (its Management Server died), the devices past
 * the burst are told to come back later at random moments within `spread` seconds, so that
 * they return spread out instead of in one wave.
 *
 * @example
 *   const gate = new HoldOff({ perSecond: 200, burst: 400, spread: 10 });
 *   const wait = gate.admit(); // 0: go ahead; otherwise seconds to wait
 */
export class HoldOff {
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: { perSecond: number; burst: number; spread: number },
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {
    this.tokens = options.burst;
    this.last = now();
  }

  /** 0 if the request may proceed now, else the whole seconds after which to retry. */
  admit(): number {
    const t = this.now();
    const refill = ((t - this.last) / 1000) * this.options.perSecond;
    this.tokens = Math.min(this.options.burst, this.tokens + refill);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return 1 + Math.floor(this.random() * this.options.spread);
  }
}
