import { AgentStoppedError } from './timers.js';

/** Runs tasks with a bound on how many run at once. */
export interface ConcurrencyGate {
  run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

/**
 * A counting semaphore: at most `limit` tasks run at once, the others wait in order. A task
 * whose signal aborts while it waits leaves the queue.
 *
 * @example
 *   const gate = new Semaphore(50);
 *   await gate.run(() => bootstrap(), signal);
 */
export class Semaphore implements ConcurrencyGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot bound concurrency to ${limit}: give a whole number of at least 1.`,
      );
    }
  }

  /** How many tasks run now, and how many wait. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new AgentStoppedError());
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }

    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.running++;
        resolve();
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new AgentStoppedError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}
