import { isApiError } from '../cli/api-client.js';
import { canonicalMac } from '../common/mac.js';
import { HomeportError } from '../errors.js';
import type { MoveCalls } from './calls.js';
import type { DeviceDetail, MoveServer } from './types.js';

/** One page of `GET /api/management/devices`, the fields the move reads. */
interface ListItem {
  alias: string;
  mac_address: string;
  is_online: boolean;
}

/** Devices per page when listing (the API's maximum). */
const PAGE_SIZE = 1000;

/** Where a device was found: the server and what it says about the device. */
export interface Located {
  server: MoveServer;
  device: DeviceDetail;
}

/**
 * Reads one device on one server; undefined when it is not registered there (404).
 *
 * @example
 *   const device = await readDevice(calls, server1, '00:0A:14:81:22:33');
 */
export async function readDevice(
  calls: MoveCalls,
  server: MoveServer,
  mac: string,
): Promise<DeviceDetail | undefined> {
  try {
    return (await calls.read<DeviceDetail>(server, `/api/management/devices/${mac}`)).data;
  } catch (err) {
    if (isApiError(err, 'DEVICE_NOT_FOUND')) return undefined;
    throw err;
  }
}

/**
 * The MAC of a device named by MAC (any spelling) or by alias. An alias is looked up on the
 * given servers and must name one device (the same MAC wherever it is registered).
 */
export async function macOf(
  calls: MoveCalls,
  servers: readonly MoveServer[],
  input: string,
): Promise<string> {
  const mac = canonicalMac(input);
  if (mac) return mac;

  const found = new Set<string>();
  for (const server of servers) {
    const query = `name=${encodeURIComponent(input)}&page=1&pageSize=100`;
    const { data } = await calls.read<ListItem[]>(
      server,
      `/api/management/devices?${query.toString()}`,
    );
    data.filter((d) => d.alias === input).forEach((d) => found.add(d.mac_address));
  }
  const [only, ...others] = [...found];
  if (only !== undefined && others.length === 0) return only;
  const where = servers.map((s) => s.name).join(', ');
  if (only === undefined) {
    throw new HomeportError(
      'DEVICE_NOT_FOUND',
      `Cannot move '${input}': it is neither a MAC address nor the alias of a device on ${where}.`,
    );
  }
  throw new HomeportError(
    'MOVE_DEVICE_AMBIGUOUS',
    `Cannot move '${input}': the alias names several devices (${[...found].join(', ')}); ` +
      'give the MAC address instead.',
  );
}

/**
 * Server 1 of a move: `from` if given, else the server where the device is registered and
 * online (or registered at all, if it is online nowhere and registered in one place only).
 * What each server answered is left in `seen`, so that later steps need not ask again.
 */
export async function locateDevice(
  calls: MoveCalls,
  servers: readonly MoveServer[],
  mac: string,
  from: MoveServer | undefined,
  seen: Map<MoveServer, DeviceDetail | undefined> = new Map(),
): Promise<Located> {
  if (from) {
    const device = await readDevice(calls, from, mac);
    if (device) return { server: from, device };
    throw new HomeportError(
      'DEVICE_NOT_FOUND',
      `Cannot move ${mac} from ${from.name}: it is not registered there.`,
    );
  }

  const found: Located[] = [];
  const unreadable: string[] = [];
  for (const server of servers) {
    try {
      const device = await readDevice(calls, server, mac);
      seen.set(server, device);
      if (device) found.push({ server, device });
    } catch (err) {
      if (!isApiError(err)) throw err;
      unreadable.push(`${server.name}: ${err.reason}`);
    }
  }
  return chooseServerOne(mac, found, unreadable);
}

function chooseServerOne(mac: string, found: Located[], unreadable: string[]): Located {
  const online = found.filter((f) => f.device.is_online);
  const names = (list: Located[]) => list.map((f) => f.server.name).join(', ');
  const [first] = online.length > 0 ? online : found;
  if (first && (online.length === 1 || (online.length === 0 && found.length === 1))) return first;

  const notAsked = unreadable.length ? ` (could not ask ${unreadable.join('; ')})` : '';
  if (found.length === 0) {
    throw new HomeportError(
      'DEVICE_NOT_FOUND',
      `Cannot move ${mac}: no server profile has it registered${notAsked}.`,
    );
  }
  const state = online.length > 1 ? `online on ${names(online)}` : 'online nowhere';
  throw new HomeportError(
    'MOVE_DEVICE_AMBIGUOUS',
    `Cannot tell where ${mac} is managed now: it is registered on ${names(found)} and ` +
      `${state}; say which with --from NAME.`,
  );
}

/**
 * The MACs of every device on `server` matching the filters, for `--all`, in pages.
 *
 * @example
 *   await listDevices(calls, server1, { companyId: 3, onlineOnly: true });
 */
export async function listDevices(
  calls: MoveCalls,
  server: MoveServer,
  filter: { companyId?: number | undefined; onlineOnly?: boolean | undefined },
): Promise<string[]> {
  const macs: string[] = [];
  for (let page = 1; ; page++) {
    const query = new URLSearchParams({ page: String(page), pageSize: String(PAGE_SIZE) });
    if (filter.companyId !== undefined) query.set('companies', String(filter.companyId));
    if (filter.onlineOnly) query.set('isOnline', 'true');
    const reply = await calls.read<ListItem[]>(
      server,
      `/api/management/devices?${query.toString()}`,
    );
    macs.push(...reply.data.map((d) => d.mac_address));
    const total = (reply.body as { total_items?: number }).total_items ?? 0;
    if (reply.data.length === 0 || macs.length >= total) return macs;
  }
}
