/** The timer functions an agent uses; tests may pass fakes. */
export interface TimerFunctions {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: TimerFunctions = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The timers of one device agent: every wait goes through here, so the agent's protocol times
 * can be scaled down for tests and demos (`timeScale` 0.001 turns seconds into milliseconds),
 * and `clearAll()` leaves no timer behind when the agent stops.
 *
 * @example
 *   const timers = new AgentTimers(0.001);
 *   await timers.sleep(timers.seconds(60), signal); // 60 ms
 */
export class AgentTimers {
  private readonly handles = new Set<unknown>();

  constructor(
    readonly timeScale = 1,
    private readonly functions: TimerFunctions = NODE_TIMERS,
  ) {
    if (!(timeScale > 0)) {
      throw new RangeError(`Cannot use timeScale ${timeScale}: it must be a positive number.`);
    }
  }

  /** Protocol seconds as scaled milliseconds. */
  seconds(seconds: number): number {
    return seconds * 1000 * this.timeScale;
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.handles.size;
  }

  /** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.cancel(handle);
        reject(abortReason(signal));
      };
      const handle = this.after(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `callback` once after `ms`; returns the handle for {@link cancel}. */
  after(ms: number, callback: () => void): unknown {
    const handle = this.functions.setTimeout(() => {
      this.handles.delete(handle);
      callback();
    }, clampDelay(ms));
    this.handles.add(handle);
    return handle;
  }

  /** Runs `callback` every `ms` until the returned function is called. */
  every(ms: number, callback: () => void): () => void {
    let handle: unknown;
    let stopped = false;
    const schedule = () => {
      handle = this.after(ms, () => {
        if (stopped) return;
        schedule();
        callback();
      });
    };
    schedule();
    return () => {
      stopped = true;
      this.cancel(handle);
    };
  }

  cancel(handle: unknown): void {
    if (!this.handles.delete(handle)) return;
    this.functions.clearTimeout(handle);
  }

  clearAll(): void {
    for (const handle of this.handles) this.functions.clearTimeout(handle);
    this.handles.clear();
  }
}

/**
 * Whether an error is the rejection of an aborted wait or request.
 *
 * @example
 *   try { await timers.sleep(ms, signal); } catch (err) { if (isAbortError(err)) return; }
 */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'AgentStopped');
}

/** The error an agent aborts its work with when it stops. */
export class AgentStoppedError extends Error {
  constructor() {
    super('The device agent stopped.');
    this.name = 'AgentStopped';
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AgentStoppedError();
}

// setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days).
function clampDelay(ms: number): number {
  return Math.min(Math.max(0, ms), 2 ** 31 - 1);
}
