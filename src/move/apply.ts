import { isApiError } from '../cli/api-client.js';
import { HomeportError } from '../errors.js';
import { shared, watchOf, type DeviceMove, type MoveContext } from './context.js';
import { assign, ensureDefinition, type Assignment } from './definition.js';
import { required } from './plan.js';
import { readDevice } from './resolve.js';
import { serverRootOf } from './server-root.js';
import { mergeTrust } from './trust.js';
import type { MoveServer } from './types.js';

/** §4 step 2: the device identity on Server 2, copied from Server 1 (already there: fine). */
export async function ensureIdentity(move: DeviceMove, ctx: MoveContext): Promise<void> {
  if (move.to.device) return;
  const { device } = required(move.from);
  const company = move.identityCompany ?? null;
  const body = {
    alias: device.alias,
    serial_number: device.serial_number,
    mac_address: device.mac_address,
    ...(device.imei !== null && { imei: device.imei }),
    ...(device.order_code !== null && { order_code: device.order_code }),
    ...(device.device_type !== null && { device_type: device.device_type.name }),
    ...(company !== null && { company_id: company.id }),
  };
  const summary = `register ${device.mac_address} (serial ${device.serial_number}) in ${company ? `company ${company.id}` : 'no company'}`;
  try {
    await ctx.calls.change(move.to.server, 'POST', '/api/identity/devices', body, summary);
  } catch (err) {
    if (!isApiError(err, 'DEVICE_EXISTS')) throw err;
  }
}

/** §4 step 3, once per (Server 1, Server 2): Server 2 trusts what Server 1 trusts. */
export async function copyTrust(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const from = required(move.from).server;
  const to = move.to.server;
  const merge = await shared(ctx, `trust:${from.name}>${to.name}`, () =>
    mergeTrust(ctx.calls, from, to),
  );
  ctx.log.debug(
    { mac: move.mac, from: from.name, to: to.name, added: merge.added.length },
    'trust merged',
  );
}

/**
 * §4 step 4, first half, once per (Server 0, Server 2): the definition of Server 2's MS on
 * Server 0, whose anchor is Server 2's server root as checked against its /api/info. Moving
 * home needs none: the co-located MS is the target.
 */
export async function defineTarget(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const home = required(move.home).server;
  const to = move.to.server;
  if (home === to) {
    move.target = null;
    return;
  }
  move.target = await shared(ctx, `definition:${home.name}>${to.name}`, async () => {
    const info = await ctx.dir.info(to);
    const { host, port } = info.services.management;
    const expected = info.server_root_fingerprint;
    const root = () =>
      shared(ctx, `root:${to.name}`, () =>
        serverRootOf({ name: to.name, pinned: to.ca, ms: { host, port }, expected }),
      );
    const companyId = move.definitionCompany?.id ?? null;
    return ensureDefinition(ctx.calls, home, {
      name: info.name,
      host,
      port,
      fingerprint: expected,
      root,
      companyId,
    });
  });
}

/** §4 step 4, second half: Server 0's BS sends the device to the target from now on. */
export async function assignDevice(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const home = required(move.home);
  const target = move.target;
  if (target === undefined) throw new Error('a move step ran out of order');
  await assign(
    ctx.calls,
    home.server,
    required(move.mac),
    home.assignment,
    target,
    describeTarget(move, target),
  );
}

/** §4 step 5: Server 1 makes the device bootstrap again, now. */
export async function triggerBootstrap(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const from = required(move.from).server;
  await trigger(ctx, from, required(move.mac), `bootstrap again, to reach ${move.to.server.name}`);
  move.triggeredAt = Date.now();
}

/**
 * §4 step 6: waits until Server 2 has the device online with a new registration. If it does
 * not come, says where the device is, and with `rollback` sends it back where it was.
 */
export async function verifyArrival(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const mac = required(move.mac);
  const to = move.to.server;
  if (ctx.calls.dryRun) {
    ctx.calls.note(
      to,
      `/api/management/devices/${mac}`,
      `poll until online, up to ${ctx.timeoutMs / 1000} s`,
    );
    move.outcome = { status: 'skipped', note: 'dry run: nothing was changed' };
    return;
  }

  const before = {
    registered: move.to.device !== undefined,
    lastSeen: move.to.device?.last_seen ?? null,
  };
  ctx.state(move, 'waiting');
  if (await watchOf(ctx, to).wait(mac, before, ctx.timeoutMs)) {
    move.outcome = { status: 'arrived' };
    return;
  }

  const where = await whereIs(move, ctx);
  if (where.online.includes(to)) {
    move.outcome = { status: 'arrived', note: 'it came online just after the timeout' };
    return;
  }
  const rolledBack = ctx.options.rollback ? `; ${await rollBack(move, ctx, where.online)}` : '';
  throw new HomeportError(
    'MOVE_NOT_ARRIVED',
    `${mac} did not come online on ${to.name} within ${ctx.timeoutMs / 1000} s of its ` +
      `trigger: it is ${where.text}${rolledBack}.`,
  );
}

/**
 * Where the device is now, as Servers 1, 2 and 0 see it (Server 0 too: a device that cannot
 * reach its MS goes back to its BS, which may send it home).
 */
async function whereIs(move: DeviceMove, ctx: MoveContext) {
  const mac = required(move.mac);
  const servers = [required(move.from).server, move.to.server, required(move.home).server];
  const unique = servers.filter((server, i) => servers.indexOf(server) === i);
  const seen = await Promise.all(
    unique.map(async (server) => {
      try {
        const device = await readDevice(ctx.calls, server, mac);
        if (!device) return { server, text: `not registered on ${server.name}` };
        const state = device.is_online ? 'online' : 'offline';
        const text = `${state} on ${server.name} (last seen ${device.last_seen ?? 'never'})`;
        return { server, text, online: device.is_online };
      } catch (err) {
        return { server, text: `unknown to ${server.name} (${(err as Error).message})` };
      }
    }),
  );
  const online = seen.filter((s) => s.online).map((s) => s.server);
  return { text: seen.map((s) => s.text).join(', '), online };
}

/**
 * Assigns the device back to where Server 0 sent it before and triggers it where it is online
 * now (through Server 1 if it is online nowhere: the command waits there for it).
 */
async function rollBack(move: DeviceMove, ctx: MoveContext, online: MoveServer[]) {
  const home = required(move.home);
  const from = required(move.from).server;
  const mac = required(move.mac);
  const back = home.assignment;
  const label = back === null ? `its own Management Server` : `definition ${back}`;
  try {
    await assign(ctx.calls, home.server, mac, move.target ?? null, back, label);
    if (online.includes(from)) return `rolled back: ${home.server.name} sends it to ${label} again`;
    const via = online[0] ?? from;
    await trigger(ctx, via, mac, 'bootstrap again, back where it was');
    return `rolled back: ${home.server.name} sends it to ${label} again, triggered through ${via.name}`;
  } catch (err) {
    return `the rollback failed too: ${(err as Error).message}`;
  }
}

async function trigger(ctx: MoveContext, server: MoveServer, mac: string, why: string) {
  const path = `/api/management/devices/${mac}/commands/trigger-bootstrap`;
  await ctx.calls.change(server, 'POST', path, undefined, why);
}

function describeTarget(move: DeviceMove, target: Assignment): string {
  const to = move.to.server.name;
  if (target === null) return `${to}'s own (co-located) Management Server`;
  return `${to}'s Management Server (definition ${target < 0 ? 'to be created' : target})`;
}
