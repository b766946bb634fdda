import { silentLogger, type Logger } from '../log.js';
import { DeviceAgent, type DeviceAgentOptions, type StateChange } from './agent.js';
import { Semaphore } from './gate.js';
import { listFactoryDevices } from './identity.js';
import type { BootstrapAccount } from './state.js';
import type { AgentState } from './types.js';

export interface SimulatorOptions {
  /** A folder made by `homeport factory`. */
  factoryDir: string;
  /** The Bootstrap Server, for devices that start for the first time. */
  bootstrap: BootstrapAccount;
  /** Run only the first `count` devices of `devices.csv`. Default: all. */
  count?: number;
  /** How many devices may bootstrap or connect at the same time. Default 20. */
  concurrency?: number;
  logger?: Logger;
  timeScale?: number;
  notifyIntervalMs?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Called on every state change of every device. */
  onStateChange?: (change: StateChange) => void;
}

/** How many devices are where, and what they did in total. */
export interface SimulatorCounts {
  total: number;
  idle: number;
  bootstrapping: number;
  enrolling: number;
  connecting: number;
  online: number;
  backingOff: number;
  stopped: number;
  /** Devices whose folder could not be opened. */
  failedToStart: number;
  bootstraps: number;
  connects: number;
  bootstrapFailures: number;
  connectFailures: number;
}

export interface Simulator {
  /** The devices started so far (all of them once `ready` has resolved). */
  readonly agents: readonly DeviceAgent[];
  /** Resolves once every device has opened its folder and started. */
  readonly ready: Promise<void>;
  counts(): SimulatorCounts;
  /** Resolves with the counts once `predicate` holds; rejects after `timeoutMs`. */
  waitFor(
    predicate: (counts: SimulatorCounts) => boolean,
    timeoutMs: number,
  ): Promise<SimulatorCounts>;
  /** Stops every device cleanly (offline status, DISCONNECT). */
  stop(): Promise<void>;
}

const COUNT_KEYS: Record<AgentState, keyof SimulatorCounts> = {
  idle: 'idle',
  bootstrapping: 'bootstrapping',
  enrolling: 'enrolling',
  connecting: 'connecting',
  online: 'online',
  'backing-off': 'backingOff',
  stopped: 'stopped',
};
// Device folders opened at once while starting: each open reads and may write a few files.
const OPEN_PARALLELISM = 32;

/**
 * Runs the devices of a factory folder in this process, each a {@link DeviceAgent} keeping its
 * state in its own folder, with a bound on how many bootstrap or connect at the same time.
 * Resolves once the devices are listed; they start (open their folders) in the background,
 * `ready` tells when all have, and then go online on their own.
 *
 * @example
 *   const sim = await startSimulator({ factoryDir: 'factory', bootstrap: { url, caPem } });
 *   await sim.waitFor((c) => c.online === c.total, 120_000);
 *   await sim.stop();
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const log = options.logger ?? silentLogger();
  const folders = await listFactoryDevices(options.factoryDir);
  const chosen = options.count === undefined ? folders : folders.slice(0, options.count);
  const gate = new Semaphore(options.concurrency ?? 20);
  const tally = new Map<AgentState, number>([['idle', chosen.length]]);
  const waiters = new Set<() => void>();
  let failedToStart = 0;
  let checkScheduled = false;
  let stopping = false;

  // Check the waiters once per turn of the event loop, not once per device.
  const changed = () => {
    if (checkScheduled || waiters.size === 0) return;
    checkScheduled = true;
    setImmediate(() => {
      checkScheduled = false;
      for (const waiter of waiters) waiter();
    });
  };

  const agents = chosen.map((folder) => {
    const agent = new DeviceAgent(agentOptions(options, folder, gate, log));
    agent.on('state', (change) => {
      tally.set(change.previous, (tally.get(change.previous) ?? 0) - 1);
      tally.set(change.state, (tally.get(change.state) ?? 0) + 1);
      options.onStateChange?.(change);
      changed();
    });
    return agent;
  });

  const started: DeviceAgent[] = [];
  const startOne = async (agent: DeviceAgent, folder: string) => {
    try {
      await agent.start();
      started.push(agent);
    } catch (err) {
      failedToStart++;
      tally.set('idle', (tally.get('idle') ?? 0) - 1);
      log.warn({ err, folder }, 'device did not start');
      changed();
    }
  };
  const startAll = async () => {
    for (let i = 0; i < agents.length && !stopping; i += OPEN_PARALLELISM) {
      const batch = agents.slice(i, i + OPEN_PARALLELISM);
      await Promise.all(batch.map((agent, j) => startOne(agent, chosen[i + j])));
    }
    log.info({ devices: started.length, failed: failedToStart }, 'simulator started');
  };
  const ready = startAll();

  const counts = () => countStates(tally, started, agents.length, failedToStart);
  return {
    agents: started,
    ready,
    counts,
    waitFor: (predicate, timeoutMs) => waitFor(counts, waiters, predicate, timeoutMs),
    stop: async () => {
      stopping = true;
      await ready;
      await Promise.all(started.map((agent) => agent.stop()));
      log.info('simulator stopped');
    },
  };
}

function agentOptions(
  options: SimulatorOptions,
  folder: string,
  gate: Semaphore,
  log: Logger,
): DeviceAgentOptions {
  return {
    folder,
    bootstrap: options.bootstrap,
    gate,
    logger: log,
    ...(options.timeScale !== undefined && { timeScale: options.timeScale }),
    ...(options.notifyIntervalMs !== undefined && { notifyIntervalMs: options.notifyIntervalMs }),
    ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.requestTimeoutMs !== undefined && { requestTimeoutMs: options.requestTimeoutMs }),
  };
}

function countStates(
  tally: Map<AgentState, number>,
  started: DeviceAgent[],
  total: number,
  failedToStart: number,
): SimulatorCounts {
  const counts: SimulatorCounts = {
    total,
    idle: 0,
    bootstrapping: 0,
    enrolling: 0,
    connecting: 0,
    online: 0,
    backingOff: 0,
    stopped: 0,
    failedToStart,
    bootstraps: 0,
    connects: 0,
    bootstrapFailures: 0,
    connectFailures: 0,
  };
  for (const [state, n] of tally) counts[COUNT_KEYS[state]] += n;
  for (const { stats } of started) {
    counts.bootstraps += stats.bootstraps;
    counts.connects += stats.connects;
    counts.bootstrapFailures += stats.bootstrapFailures;
    counts.connectFailures += stats.connectFailures;
  }
  return counts;
}

function waitFor(
  counts: () => SimulatorCounts,
  waiters: Set<() => void>,
  predicate: (counts: SimulatorCounts) => boolean,
  timeoutMs: number,
): Promise<SimulatorCounts> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const now = counts();
      if (!predicate(now)) return;
      done();
      resolve(now);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`The simulated devices did not get there within ${timeoutMs} ms.`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
}
