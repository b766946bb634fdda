import { silentLogger, type Logger } from '../log.js';
import { ArrivalWatch } from './arrival.js';
import { MoveCalls } from './calls.js';
import type { Assignment } from './definition.js';
import { once, ServerDirectory } from './directory.js';
import type { Located } from './resolve.js';
import type {
  DeviceDetail,
  MoveOptions,
  MoveServer,
  MoveState,
  MoveStatus,
  StepName,
} from './types.js';

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_POLL_MS = 1000;

/** One device's move as it goes through the steps. */
export interface DeviceMove {
  input: string;
  mac: string | null;
  /** When the device was planned. */
  startedAt: number;
  /** When its first changing step began, and when its outcome was settled. */
  movingAt?: number;
  settledAt?: number;
  /** The step running now, or the last one. */
  step: StepName;
  /** Server 1 and what it says about the device. */
  from?: Located;
  /** What servers said about the device while it was looked for (undefined: not there). */
  seen: Map<MoveServer, DeviceDetail | undefined>;
  /** Server 0 and what it says about the device. */
  home?: { server: MoveServer; device: DeviceDetail; assignment: Assignment };
  /** Server 2 and what it knew about the device before the move (undefined: not registered). */
  to: { server: MoveServer; device: DeviceDetail | undefined };
  /** Where Server 0 sends the device after the move (null: its co-located MS). */
  target?: Assignment;
  definitionCompany?: { id: number; name: string } | null;
  identityCompany?: { id: number; name: string } | null;
  triggeredAt?: number;
  outcome?: { status: MoveStatus; note?: string; error?: Error };
}

/** What every step of every device shares. */
export interface MoveContext {
  options: MoveOptions;
  calls: MoveCalls;
  dir: ServerDirectory;
  log: Logger;
  timeoutMs: number;
  pollMs: number;
  /** Steps shared by the devices of a server pair, keyed by step and servers. */
  shared: Map<string, Promise<unknown>>;
  watches: Map<string, ArrivalWatch>;
  state(move: DeviceMove, state: MoveState): void;
}

export function createContext(options: MoveOptions): MoveContext {
  const calls = new MoveCalls({ dryRun: options.dryRun === true, onCall: options.onCall });
  return {
    options,
    calls,
    dir: new ServerDirectory(options.servers, calls),
    log: options.logger ?? silentLogger(),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    pollMs: options.pollIntervalMs ?? DEFAULT_POLL_MS,
    shared: new Map(),
    watches: new Map(),
    state: (move, state) => options.onState?.(move.input, state, move.mac),
  };
}

/** Runs `make` once per `key` for all devices of a move (a step shared by a server pair). */
export function shared<T>(ctx: MoveContext, key: string, make: () => Promise<T>): Promise<T> {
  return once(ctx.shared as Map<string, Promise<T>>, key, make);
}

/** The arrival watch of a destination, one per move. */
export function watchOf(ctx: MoveContext, server: MoveServer): ArrivalWatch {
  let watch = ctx.watches.get(server.name);
  if (!watch) {
    watch = new ArrivalWatch(ctx.calls, server, ctx.pollMs);
    ctx.watches.set(server.name, watch);
  }
  return watch;
}
