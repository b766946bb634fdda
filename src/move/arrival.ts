import type { MoveCalls } from './calls.js';
import { readDevice } from './resolve.js';
import type { DeviceDetail, MoveServer } from './types.js';

/** What the destination knew of the device before the move. */
export interface Before {
  registered: boolean;
  lastSeen: string | null;
}

interface Waiter {
  mac: string;
  before: Before;
  deadline: number;
  done: (arrived: boolean) => void;
}

/** Up to this many waiting devices are read one by one; more are found by listing. */
const READ_ONE_BY_ONE = 16;
const PAGE_SIZE = 1000;

type Seen = Pick<DeviceDetail, 'is_online' | 'last_seen'>;

/**
 * Waits for devices to arrive on one destination: online there, with a registration newer than
 * before the move (its `last_seen` changed, or it was not registered there before). One loop
 * per destination asks for every waiting device at once, so a bulk move does not poll per
 * device: a few devices are read one by one, many through the list of online devices.
 *
 * @example
 *   const watch = new ArrivalWatch(calls, server2, 1000);
 *   const arrived = await watch.wait(mac, { registered: false, lastSeen: null }, 120_000);
 */
export class ArrivalWatch {
  private readonly waiters = new Set<Waiter>();
  private running = false;

  constructor(
    private readonly calls: MoveCalls,
    private readonly server: MoveServer,
    private readonly intervalMs: number,
  ) {}

  /** Resolves true when the device has arrived, false once `timeoutMs` has passed. */
  wait(mac: string, before: Before, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiters.add({ mac, before, deadline: Date.now() + timeoutMs, done: resolve });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.size > 0) {
        await this.check().catch(() => undefined); // a failed poll is retried at the next one
        for (const waiter of this.waiters) {
          if (Date.now() < waiter.deadline) continue;
          this.waiters.delete(waiter);
          waiter.done(false);
        }
        if (this.waiters.size > 0) await sleep(this.intervalMs);
      }
    } finally {
      this.running = false;
    }
  }

  private async check(): Promise<void> {
    const waiting = [...this.waiters];
    const seen =
      waiting.length <= READ_ONE_BY_ONE ? await this.readEach(waiting) : await this.listOnline();
    for (const waiter of waiting) {
      const now = seen.get(waiter.mac);
      if (!now || !arrived(now, waiter.before)) continue;
      this.waiters.delete(waiter);
      waiter.done(true);
    }
  }

  private async readEach(waiting: Waiter[]): Promise<Map<string, Seen>> {
    const found = await Promise.all(
      waiting.map(async (w) => [w.mac, await readDevice(this.calls, this.server, w.mac)] as const),
    );
    return new Map(found.filter((entry): entry is [string, DeviceDetail] => !!entry[1]));
  }

  private async listOnline(): Promise<Map<string, Seen>> {
    const seen = new Map<string, Seen>();
    for (let page = 1; ; page++) {
      const path = `/api/management/devices?isOnline=true&page=${page}&pageSize=${PAGE_SIZE}`;
      const reply = await this.calls.read<(Seen & { mac_address: string })[]>(this.server, path);
      reply.data.forEach((d) => seen.set(d.mac_address, d));
      const total = (reply.body as { total_items?: number }).total_items ?? 0;
      if (reply.data.length === 0 || page * PAGE_SIZE >= total) return seen;
    }
  }
}

function arrived(now: Seen, before: Before): boolean {
  return now.is_online && (!before.registered || now.last_seen !== before.lastSeen);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
