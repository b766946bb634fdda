/** Something running that can be closed. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * The services of a deployment that can be stopped and started again on their own: each is
 * defined by the function that starts it.
 */
export class Services {
  private readonly starters = new Map<string, () => Promise<Closable>>();
  private readonly running = new Map<string, Closable>();

  define(name: string, start: () => Promise<Closable>): void {
    this.starters.set(name, start);
  }

  get<T extends Closable>(name: string): T | undefined {
    return this.running.get(name) as T | undefined;
  }

  async start(name: string): Promise<void> {
    const start = this.starters.get(name);
    if (!start) throw new RangeError(`Cannot start '${name}': no such service.`);
    if (this.running.has(name)) return;
    this.running.set(name, await start());
  }

  async stop(name: string): Promise<void> {
    const service = this.running.get(name);
    this.running.delete(name);
    await service?.close();
  }

  async closeAll(): Promise<void> {
    for (const name of [...this.running.keys()].reverse()) await this.stop(name);
  }
}
