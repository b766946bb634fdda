import { isApiError } from '../cli/api-client.js';
import { canonicalMac } from '../common/mac.js';
import { isHomeportError } from '../errors.js';
import {
  assignDevice,
  copyTrust,
  defineTarget,
  ensureIdentity,
  triggerBootstrap,
  verifyArrival,
} from './apply.js';
import {
  createContext,
  DEFAULT_CONCURRENCY,
  type DeviceMove,
  type MoveContext,
} from './context.js';
import { checkPermissions, findHome, resolveDevice } from './plan.js';
import type { DeviceResult, MoveOptions, MoveReport, StepName } from './types.js';

interface Step {
  name: StepName;
  run: (move: DeviceMove, ctx: MoveContext) => Promise<void>;
}

/** Reads only: where the device is, where its home is, whether the user may move it. */
const PLAN_STEPS: readonly Step[] = [
  { name: 'resolve', run: resolveDevice },
  { name: 'home', run: findHome },
  { name: 'permissions', run: checkPermissions },
];

/** The changes, in the order of ARCHITECTURE §4; each does nothing if already done. */
const APPLY_STEPS: readonly Step[] = [
  { name: 'identity', run: ensureIdentity },
  { name: 'trust', run: copyTrust },
  { name: 'definition', run: defineTarget },
  { name: 'assign', run: assignDevice },
  { name: 'trigger', run: triggerBootstrap },
];

/** Waiting holds no concurrency slot: it is one shared poll per destination. */
const VERIFY_STEP: Step = { name: 'verify', run: verifyArrival };

/** A planned move: every device resolved and checked, nothing changed yet. */
export interface MovePlan {
  /** Per device: where from, where its home is, and whether it can be moved. */
  readonly devices: DeviceResult[];
  readonly moves: readonly DeviceMove[];
  readonly context: MoveContext;
}

/**
 * Plans a move without changing anything: resolves each device on Server 1, finds Server 0
 * from the Bootstrap Server it reported, and checks the user's permissions on all three.
 * Devices that cannot be moved come back `failed`, with the reason; the others `skipped`
 * (nothing done yet) until {@link executeMove} runs the plan.
 *
 * @example
 *   const plan = await planMove({ servers, devices: ['00:0A:14:81:22:33'], to: 'server2' });
 *   if (plan.devices.some((d) => d.status === 'failed')) console.error(plan.devices);
 *   const report = await executeMove(plan);
 * @see ARCHITECTURE.md §4
 */
export async function planMove(options: MoveOptions): Promise<MovePlan> {
  const ctx = createContext(options);
  const to = ctx.dir.get(options.to, '--to');
  if (options.from !== undefined) ctx.dir.get(options.from, '--from');
  if (options.home !== undefined) ctx.dir.get(options.home, '--home');
  const moves = unique(options.devices).map((input): DeviceMove => ({
    input,
    mac: canonicalMac(input) ?? null,
    startedAt: Date.now(),
    step: 'resolve',
    seen: new Map(),
    to: { server: to, device: undefined },
  }));
  await pool(moves, options.concurrency ?? DEFAULT_CONCURRENCY, (move) => {
    ctx.state(move, 'planning');
    return runSteps(move, PLAN_STEPS, ctx);
  });
  skipRepeats(moves).forEach((move) => settle(move, ctx));
  return { devices: moves.map(resultOf), moves, context: ctx };
}

/**
 * Runs a plan: for each device that passed planning, the steps of ARCHITECTURE §4 from the
 * identity on Server 2 to the arrival there. Steps shared by a server pair (trust merge, MS
 * definition) run once. A dry run records the changes instead of making them.
 */
export async function executeMove(plan: MovePlan): Promise<MoveReport> {
  const ctx = plan.context;
  const started = plan.moves.reduce((min, m) => Math.min(min, m.startedAt), Date.now());
  const ready = plan.moves.filter((m) => !m.outcome);
  const waits: Promise<void>[] = [];
  await pool(ready, ctx.options.concurrency ?? DEFAULT_CONCURRENCY, async (move) => {
    move.movingAt = Date.now();
    ctx.state(move, 'moving');
    await runSteps(move, APPLY_STEPS, ctx);
    waits.push(runSteps(move, [VERIFY_STEP], ctx));
  });
  await Promise.all(waits);

  const devices = plan.moves.map(resultOf);
  const count = (status: DeviceResult['status']) =>
    devices.filter((d) => d.status === status).length;
  const report: MoveReport = {
    devices,
    arrived: count('arrived'),
    failed: count('failed'),
    skipped: count('skipped'),
    seconds: round((Date.now() - started) / 1000),
    dryRun: ctx.calls.dryRun,
  };
  const { arrived, failed, skipped, seconds } = report;
  ctx.log.info({ to: ctx.options.to, arrived, failed, skipped, seconds }, 'move finished');
  return report;
}

/**
 * Moves devices to another deployment (ARCHITECTURE §4): {@link planMove}, then
 * {@link executeMove}. Running it again after it was cut short finishes the move.
 *
 * @example
 *   const servers = [{ name: 'server1', client: api1 }, { name: 'server2', client: api2 }];
 *   const report = await moveDevices({ servers, devices: ['pump-7'], to: 'server2' });
 *   report.devices[0].status; // 'arrived'
 */
export async function moveDevices(options: MoveOptions): Promise<MoveReport> {
  return executeMove(await planMove(options));
}

/** Runs steps until one fails or settles the outcome; each failure is the device's alone. */
async function runSteps(move: DeviceMove, steps: readonly Step[], ctx: MoveContext) {
  for (const step of steps) {
    if (move.outcome) break;
    move.step = step.name;
    try {
      await step.run(move, ctx);
      ctx.log.debug({ mac: move.mac, step: step.name }, 'move step done');
    } catch (err) {
      move.outcome = { status: 'failed', error: err as Error };
      ctx.log.debug({ mac: move.mac, step: step.name, err }, 'move step failed');
    }
    if (!move.outcome && ctx.options.stopAfter === step.name) {
      move.outcome = { status: 'skipped', note: `stopped after step '${step.name}' as asked` };
    }
  }
  if (move.outcome) settle(move, ctx);
}

function settle(move: DeviceMove, ctx: MoveContext): void {
  const status = move.outcome?.status;
  if (status === undefined) return;
  move.settledAt = Date.now();
  ctx.state(move, status);
  ctx.options.onResult?.(resultOf(move));
}

/** A device named twice (by MAC and by alias, say) is moved once; returns the repeats. */
function skipRepeats(moves: DeviceMove[]): DeviceMove[] {
  const first = new Map<string, DeviceMove>();
  const repeats: DeviceMove[] = [];
  for (const move of moves) {
    if (move.mac === null || move.outcome?.status === 'failed') continue;
    const earlier = first.get(move.mac);
    if (!earlier) {
      first.set(move.mac, move);
      continue;
    }
    move.outcome = { status: 'skipped', note: `the same device as '${earlier.input}'` };
    repeats.push(move);
  }
  return repeats;
}

function resultOf(move: DeviceMove): DeviceResult {
  const outcome = move.outcome ?? { status: 'skipped' as const, note: 'planned; not run yet' };
  const error = outcome.error;
  return {
    device: move.input,
    mac: move.mac,
    from: move.from?.server.name ?? null,
    to: move.to.server.name,
    home: move.home?.server.name ?? null,
    status: outcome.status,
    // The device's own time: from its first change (or its planning) to its outcome.
    seconds: round(((move.settledAt ?? Date.now()) - (move.movingAt ?? move.startedAt)) / 1000),
    step: move.step,
    ...(error && { error: error.message, code: codeOf(error) }),
    ...(outcome.note !== undefined && { note: outcome.note }),
  };
}

function codeOf(err: Error): string {
  if (isHomeportError(err) || isApiError(err)) return err.code;
  return 'INTERNAL';
}

/** Inputs as given, without exact repeats (MACs compared canonically). */
function unique(inputs: readonly string[]): string[] {
  const seen = new Set<string>();
  return inputs.filter((input) => {
    const key = canonicalMac(input) ?? input.trim();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
