import { isApiError } from '../cli/api-client.js';
import type { MoveCalls } from './calls.js';
import type { ServerRoot } from './server-root.js';
import type { MoveServer } from './types.js';

/** A Management Server definition as `GET /api/bootstrap` lists it. */
export interface Definition {
  id: number | null;
  name: string;
  address: string;
  port: number;
  company_id?: number | null;
  ca_fingerprint: string;
  on_failure?: 'home' | 'retry';
  co_located?: boolean;
}

/** Where a device's BS sends it: a definition's id, or null for the co-located MS. */
export type Assignment = number | null;

/** The id under which `GET /api/bootstrap` lists a deployment's own (co-located) MS. */
export const CO_LOCATED_ID = 0;

const ROOT_SOURCES = {
  profile: "taken from the profile's pinned CA",
  'management-server': 'taken from the chain its MS presents',
} as const;

/** The id a dry run shows for a definition it would create. */
export const NEW_DEFINITION = -1;

export interface DefinitionTarget {
  /** Server 2's name, for the definition's label. */
  name: string;
  host: string;
  port: number;
  /** The fingerprint Server 2's /api/info gives for its server root. */
  fingerprint: string;
  /** Fetches (and checks) Server 2's root; asked only if a definition must be written. */
  root: () => Promise<ServerRoot>;
  companyId: number | null;
}

/**
 * ARCHITECTURE §4 step 4, first half: the id of `home`'s definition of the target MS, found by
 * address and port, else created with the target's checked server root as its anchor. A
 * definition whose anchor is not the target's current root is corrected (PUT), since every
 * device sent there would fail to verify the server. A 409 on create (a concurrent move made
 * it) is answered by reading the list again.
 *
 * @example
 *   const id = await ensureDefinition(calls, server0, { name: 'server2', host, port, ... });
 */
export async function ensureDefinition(
  calls: MoveCalls,
  home: MoveServer,
  target: DefinitionTarget,
): Promise<number> {
  const existing = await findDefinition(calls, home, target);
  if (existing) {
    if (existing.ca_fingerprint.toLowerCase() !== target.fingerprint.toLowerCase()) {
      await correctAnchor(calls, home, existing, target);
    }
    return existing.id;
  }

  const root = await target.root();
  const body = {
    name: target.name,
    address: target.host,
    port: target.port,
    ...(target.companyId !== null && { company_id: target.companyId }),
    ca: root.pem,
  };
  try {
    const summary = `${target.host}:${target.port}, anchor SHA-256 ${root.fingerprint.slice(0, 16)}… (${ROOT_SOURCES[root.source]})`;
    const reply = await calls.change<Definition>(home, 'POST', '/api/bootstrap', body, summary);
    return reply ? (reply.data.id ?? NEW_DEFINITION) : NEW_DEFINITION;
  } catch (err) {
    if (!isApiError(err) || err.status !== 409) throw err;
    const made = await findDefinition(calls, home, target);
    if (made) return made.id;
    throw err;
  }
}

/** The definition of `host:port` on `home` (not the co-located one), if there is one. */
export async function findDefinition(
  calls: MoveCalls,
  home: MoveServer,
  target: { host: string; port: number },
): Promise<(Definition & { id: number }) | undefined> {
  const query = new URLSearchParams({ Address: target.host, Port: String(target.port) });
  const path = `/api/bootstrap?${query.toString()}`;
  const { data } = await calls.read<Definition[]>(home, path);
  return data.find(
    (d): d is Definition & { id: number } =>
      d.co_located !== true &&
      d.id !== null &&
      d.address.toLowerCase() === target.host.toLowerCase() &&
      d.port === target.port,
  );
}

async function correctAnchor(
  calls: MoveCalls,
  home: MoveServer,
  existing: Definition & { id: number },
  target: DefinitionTarget,
): Promise<void> {
  const root = await target.root();
  // PUT replaces every field: send the definition as it is, with the right anchor.
  const body = {
    name: existing.name,
    address: existing.address,
    port: existing.port,
    company_id: existing.company_id ?? null,
    ...(existing.on_failure !== undefined && { on_failure: existing.on_failure }),
    ca: root.pem,
  };
  const summary =
    `its anchor (SHA-256 ${existing.ca_fingerprint.slice(0, 16)}…) is not ${target.name}'s ` +
    `server root; set it to ${root.fingerprint.slice(0, 16)}…`;
  await calls.change(home, 'PUT', `/api/bootstrap/${existing.id}`, body, summary);
}

/** Where the device's BS sends it, from the device as its home deployment shows it. */
export function assignmentOf(device: {
  management_server?: { id: number; co_located?: boolean } | null | undefined;
}): Assignment {
  const server = device.management_server;
  if (!server || server.co_located === true || server.id === CO_LOCATED_ID) return null;
  return server.id;
}

/**
 * ARCHITECTURE §4 step 4, second half: makes the device's BS send it to `assignment` (null:
 * the co-located MS). Does nothing if that is already so.
 */
export async function assign(
  calls: MoveCalls,
  home: MoveServer,
  mac: string,
  current: Assignment,
  assignment: Assignment,
  label: string,
): Promise<void> {
  if (current === assignment) return;
  const path = `/api/management/devices/${mac}/bootstrap-server`;
  if (assignment === null) {
    await calls.change(home, 'DELETE', path, undefined, `send ${mac} to ${label}`);
    return;
  }
  const id = assignment === NEW_DEFINITION ? '{new definition id}' : String(assignment);
  await calls.change(home, 'PUT', `${path}/${id}`, undefined, `send ${mac} to ${label}`);
}
