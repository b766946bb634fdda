import { HomeportError } from '../errors.js';
import { shared, type DeviceMove, type MoveContext } from './context.js';
import { assignmentOf } from './definition.js';
import {
  definitionCompany,
  identityCompany,
  permissionMissing,
  satisfies,
  type Need,
} from './permissions.js';
import { locateDevice, macOf, readDevice } from './resolve.js';
import { sameServerUri } from './server-uri.js';
import { countMissingTrust } from './trust.js';
import type { MoveServer } from './types.js';

/**
 * §4 step 1: the device's MAC, Server 1 (where it is managed now, `--from` or where it is
 * online) and what Server 2 knows of it before the move. A device already managed by the
 * destination has nothing left to do.
 */
export async function resolveDevice(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const { calls, dir, options } = ctx;
  const from = options.from === undefined ? undefined : dir.get(options.from, '--from');
  move.mac = await macOf(calls, from ? [from] : dir.servers, move.input);
  move.from = await locateDevice(calls, dir.servers, move.mac, from, move.seen);

  const to = move.to.server;
  if (move.from.server === to) {
    const state = move.from.device.is_online ? 'online' : 'offline';
    move.outcome = { status: 'skipped', note: `already managed by ${to.name} (${state} there)` };
    return;
  }
  move.to.device = await deviceOn(move, ctx, to);
}

/** The device as `server` shows it, asked once per move. */
async function deviceOn(move: DeviceMove, ctx: MoveContext, server: MoveServer) {
  if (move.seen.has(server)) return move.seen.get(server);
  const device = await readDevice(ctx.calls, server, required(move.mac));
  move.seen.set(server, device);
  return device;
}

/**
 * §4 step 1, Server 0: the deployment whose Bootstrap Server the device reported (`--home`
 * overrides), what it knows of the device and where its BS sends it now. Stops before any
 * change if no profile is that deployment, or if the device is not registered there (its BS
 * would refuse the device's bootstrap and the move would strand it).
 */
export async function findHome(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const { dir, options } = ctx;
  const { device } = required(move.from);
  const mac = device.mac_address;
  const uri = device.bootstrap_server_uri;

  const home =
    options.home !== undefined ? dir.get(options.home, '--home') : await homeOf(ctx, mac, uri);
  if (options.home !== undefined && uri !== null) {
    const bs = (await dir.info(home)).services.bootstrap.url;
    if (!sameServerUri(uri, bs)) {
      ctx.log.warn({ mac, reported: uri, home: bs }, '--home is not the BS the device reported');
    }
  }

  const homeDevice = await deviceOn(move, ctx, home);
  if (!homeDevice) {
    throw new HomeportError(
      'DEVICE_NOT_REGISTERED',
      `Cannot move ${mac}: it is not registered on ${home.name}, its home (Server 0), whose ` +
        'Bootstrap Server would then refuse its bootstrap and leave it stranded. Nothing was changed.',
    );
  }
  move.home = { server: home, device: homeDevice, assignment: assignmentOf(homeDevice) };
}

async function homeOf(ctx: MoveContext, mac: string, uri: string | null) {
  if (uri !== null) return ctx.dir.findByBootstrapUri(uri, mac);
  throw new HomeportError(
    'MOVE_HOME_UNKNOWN',
    `Cannot move ${mac}: it has not reported its Bootstrap Server (it never registered with a ` +
      'Management Server), so its home (Server 0) is unknown; name it with --home NAME. ' +
      'Nothing was changed.',
  );
}

/**
 * §4, before any change: the user may do every call of the move, on every server. Server 2:
 * read the trust store (ViewDMServer), change it if it lacks CAs (SysAdmin), register the
 * device if it is not there (CreateDevice). Server 0: administer definitions (AdmDMServer) and
 * assign the device (ChangeDeviceDMServer). Server 1: read the trust store (ViewDMServer) and
 * trigger the device (EditDevice or ChangeDeviceDMServer). Reading the device on Servers 1
 * and 0 (ViewDevice) was proven by the steps before.
 */
export async function checkPermissions(move: DeviceMove, ctx: MoveContext): Promise<void> {
  const mac = required(move.mac);
  for (const need of await needsOf(move, ctx)) {
    const access = await ctx.dir.access(need.server);
    if (satisfies(access, need) || (await need.unless?.())) continue;
    throw permissionMissing(mac, access, need);
  }
}

async function needsOf(move: DeviceMove, ctx: MoveContext): Promise<Need[]> {
  const from = required(move.from);
  const home = required(move.home);
  const to = move.to.server;
  const [toAccess, homeAccess] = await Promise.all([
    ctx.dir.access(to),
    ctx.dir.access(home.server),
  ]);
  move.identityCompany = identityCompany(toAccess, from.device.company?.name);
  move.definitionCompany = definitionCompany(homeAccess, home.device.company);

  const s2 = { server: to, role: 'Server 2' } as const;
  const s0 = { server: home.server, role: 'Server 0' } as const;
  const s1 = { server: from.server, role: 'Server 1' } as const;
  const readTrust = { permissions: ['ViewDMServer'], company: 'anywhere' } as const;
  const needs: Need[] = [{ ...s2, ...readTrust, why: 'to read its trust store' }];
  if (!move.to.device) {
    // No company: a SysAdmin registers it unclaimed; anyone else has no company to use.
    const company = move.identityCompany ?? 'anywhere';
    needs.push({
      ...s2,
      permissions: ['CreateDevice'],
      company,
      why: 'to register the device there',
    });
  }
  needs.push({
    ...s1,
    ...readTrust,
    why: `to read its trust store, the device CAs to copy to ${to.name}`,
  });
  needs.push({
    ...s2,
    permissions: [],
    company: 'anywhere',
    why: `to add ${from.server.name}'s device CAs to its trust store (PUT /api/certs)`,
    // Read only once both stores may be read: a store that lacks nothing needs no SysAdmin.
    unless: async () => (await missingTrust(move, ctx)) === 0,
  });
  if (home.server !== to) {
    needs.push({
      ...s0,
      permissions: ['AdmDMServer'],
      company: move.definitionCompany ?? 'anywhere',
      why: `to find or define ${to.name}'s Management Server on its Bootstrap Server`,
    });
  }
  needs.push(
    {
      ...s0,
      permissions: ['ChangeDeviceDMServer'],
      company: home.device.company,
      why: `to send the device to ${to.name}'s Management Server`,
    },
    {
      ...s1,
      permissions: ['EditDevice', 'ChangeDeviceDMServer'],
      company: from.device.company,
      why: 'to send the device trigger-bootstrap',
    },
  );
  return needs;
}

function missingTrust(move: DeviceMove, ctx: MoveContext): Promise<number> {
  const from = required(move.from).server;
  const to = move.to.server;
  return shared(ctx, `missing:${from.name}>${to.name}`, () =>
    countMissingTrust(ctx.calls, from, to),
  );
}

/** A value an earlier step set; its absence is a bug in the order of the steps. */
export function required<T>(value: T | null | undefined): T {
  if (value === undefined || value === null) throw new Error('a move step ran out of order');
  return value;
}
