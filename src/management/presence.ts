import type { Logger } from '../log.js';
import type { Repository } from '../store/index.js';

// Update and Notify only refresh "last seen"; writing it more often than this gains nothing.
const HEARD_WRITE_INTERVAL_MS = 30_000;

/**
 * Who is connected, kept in memory for the broker and written to the store for the API. A
 * device that reconnects replaces its old session; the old session's disconnect then does not
 * mark it offline.
 */
export class Presence {
  private readonly sessions = new Map<string, object>();
  private readonly lastWrite = new Map<string, number>();
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly repo: Repository,
    private readonly log: Logger,
  ) {}

  isConnected(mac: string): boolean {
    return this.sessions.has(mac);
  }

  connected(mac: string, session: object): void {
    this.sessions.set(mac, session);
    this.log.debug({ mac }, 'device online');
    this.track(this.repo.setDeviceOnline(mac, true, new Date().toISOString()));
  }

  disconnected(mac: string, session: object): void {
    if (this.sessions.get(mac) !== session) return;
    this.sessions.delete(mac);
    this.lastWrite.delete(mac);
    this.log.debug({ mac }, 'device offline');
    this.track(this.repo.setDeviceOnline(mac, false, new Date().toISOString()));
  }

  async registered(mac: string, bootstrapServerUri: string | null): Promise<void> {
    this.lastWrite.set(mac, Date.now());
    await this.repo.setDeviceRegistration(mac, { bootstrapServerUri }, new Date().toISOString());
  }

  async heard(mac: string): Promise<void> {
    const now = Date.now();
    if (now - (this.lastWrite.get(mac) ?? 0) < HEARD_WRITE_INTERVAL_MS) return;
    this.lastWrite.set(mac, now);
    await this.repo.setDeviceOnline(mac, true, new Date(now).toISOString());
  }

  /** Waits for the presence writes still under way (before the store closes). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private track(write: Promise<unknown>): void {
    const p = write.catch((err: unknown) => this.log.warn({ err }, 'could not record presence'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
