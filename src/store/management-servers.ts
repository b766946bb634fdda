import type { Selectable } from 'kysely';

import { HomeportError } from '../errors.js';
import { getCompany } from './companies.js';
import { deviceNotFound } from './devices.js';
import type { Db, DbInt, ManagementServerTable } from './schema.js';
import {
  containsIgnoreCase,
  isForeignKeyViolation,
  isUniqueViolation,
  nowIso,
  toInt,
} from './sql-helpers.js';
import type {
  ManagementServer,
  ManagementServerPatch,
  ManagementServerQuery,
  NewManagementServer,
  OnFailurePolicy,
} from './device-types.js';

/**
 * Creates a definition; `db` must be a transaction. Throws MANAGEMENT_SERVER_EXISTS (with the
 * existing id in `details.id`) when one with this address and port exists, COMPANY_NOT_FOUND.
 */
export async function createManagementServer(
  db: Db,
  input: NewManagementServer,
): Promise<ManagementServer> {
  const operation = `Cannot define management server "${input.name}"`;
  const values = {
    name: input.name,
    address: input.address.toLowerCase(),
    port: input.port,
    company_id: input.companyId ?? null,
    ca_pem: input.caPem,
    ca_fingerprint: input.caFingerprint,
    on_failure: input.onFailure ?? 'home',
  };
  await checkFree(db, operation, values.address, values.port, undefined);
  await checkCompany(db, operation, values.company_id);

  try {
    const row = await db
      .insertInto('management_servers')
      .values({ ...values, created_at: nowIso() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toManagementServer(row);
  } catch (err) {
    throw mapWriteError(err, operation, values);
  }
}

export async function getManagementServer(
  db: Db,
  id: number,
): Promise<ManagementServer | undefined> {
  const row = await db
    .selectFrom('management_servers')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toManagementServer(row);
}

/** The definitions that match, ordered by id. */
export async function listManagementServers(
  db: Db,
  query: ManagementServerQuery,
): Promise<ManagementServer[]> {
  const { name, address, port, companyIds } = query;
  if (companyIds?.length === 0) return [];

  let matching = db.selectFrom('management_servers');
  if (name !== undefined) matching = matching.where(containsIgnoreCase('name', name));
  if (address !== undefined) matching = matching.where('address', '=', address.toLowerCase());
  if (port !== undefined) matching = matching.where('port', '=', port);
  if (companyIds !== undefined) matching = matching.where('company_id', 'in', companyIds);
  const rows = await matching.selectAll().orderBy('id').execute();
  return rows.map(toManagementServer);
}

/**
 * Changes the fields given and returns the result; `db` must be a transaction. Throws
 * MANAGEMENT_SERVER_NOT_FOUND, MANAGEMENT_SERVER_EXISTS, COMPANY_NOT_FOUND.
 */
export async function updateManagementServer(
  db: Db,
  id: number,
  patch: ManagementServerPatch,
): Promise<ManagementServer> {
  const operation = `Cannot change management server ${id}`;
  const current = await getManagementServer(db, id);
  if (!current) throw notFound(operation, id);

  const values = {
    name: patch.name ?? current.name,
    address: (patch.address ?? current.address).toLowerCase(),
    port: patch.port ?? current.port,
    company_id: patch.companyId === undefined ? current.companyId : patch.companyId,
    ca_pem: patch.caPem ?? current.caPem,
    ca_fingerprint: patch.caFingerprint ?? current.caFingerprint,
    on_failure: patch.onFailure ?? current.onFailure,
  };
  await checkFree(db, operation, values.address, values.port, id);
  if (values.company_id !== current.companyId) {
    await checkCompany(db, operation, values.company_id);
  }

  try {
    const row = await db
      .updateTable('management_servers')
      .set(values)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toManagementServer(row);
  } catch (err) {
    throw mapWriteError(err, operation, values);
  }
}

/**
 * Deletes a definition; false if there was none. `db` must be a transaction. Throws
 * MANAGEMENT_SERVER_IN_USE, naming how many, while devices are assigned to it.
 */
export async function deleteManagementServer(db: Db, id: number): Promise<boolean> {
  const assigned = await countDevicesAssigned(db, id);
  if (assigned > 0) throw inUse(id, assigned);
  try {
    const { numDeletedRows } = await db
      .deleteFrom('management_servers')
      .where('id', '=', id)
      .executeTakeFirst();
    return numDeletedRows > 0n;
  } catch (err) {
    // PostgreSQL: a device was assigned by a transaction that committed after the count.
    if (isForeignKeyViolation(err)) throw inUse(id, undefined, err);
    throw err;
  }
}

/** How many devices the BS sends to this definition. */
export async function countDevicesAssigned(db: Db, id: number): Promise<number> {
  const { count } = await db
    .selectFrom('devices')
    .select((eb) => eb.fn.countAll<DbInt>().as('count'))
    .where('management_server_id', '=', id)
    .executeTakeFirstOrThrow();
  return toInt(count);
}

/**
 * Assigns a device to a definition, or to the co-located MS with null; `db` must be a
 * transaction. Throws DEVICE_NOT_FOUND, MANAGEMENT_SERVER_NOT_FOUND.
 */
export async function setDeviceManagementServer(
  db: Db,
  mac: string,
  id: number | null,
): Promise<void> {
  const operation = `Cannot assign device ${mac} to management server ${id ?? 'co-located'}`;
  if (id !== null && !(await getManagementServer(db, id))) throw notFound(operation, id);
  try {
    const { numUpdatedRows } = await db
      .updateTable('devices')
      .set({ management_server_id: id })
      .where('mac', '=', mac)
      .executeTakeFirst();
    if (numUpdatedRows === 0n) throw deviceNotFound(operation, mac);
  } catch (err) {
    // PostgreSQL: the definition was deleted by a transaction that committed after the check.
    if (id !== null && isForeignKeyViolation(err)) throw notFound(operation, id, err);
    throw err;
  }
}

async function checkFree(
  db: Db,
  operation: string,
  address: string,
  port: number,
  self: number | undefined,
): Promise<void> {
  const row = await db
    .selectFrom('management_servers')
    .select(['id', 'name'])
    .where('address', '=', address)
    .where('port', '=', port)
    .executeTakeFirst();
  if (row && toInt(row.id) !== self) throw exists(operation, address, port, row);
}

async function checkCompany(db: Db, operation: string, companyId: number | null): Promise<void> {
  if (companyId === null || (await getCompany(db, companyId))) return;
  throw new HomeportError(
    'COMPANY_NOT_FOUND',
    `${operation}: company ${companyId} does not exist.`,
  );
}

/** A concurrent writer can still win between the checks and the write: map its violation. */
function mapWriteError(
  err: unknown,
  operation: string,
  values: { address: string; port: number; company_id: number | null },
): unknown {
  if (isUniqueViolation(err)) return exists(operation, values.address, values.port, undefined, err);
  if (isForeignKeyViolation(err) && values.company_id !== null) {
    return new HomeportError(
      'COMPANY_NOT_FOUND',
      `${operation}: company ${values.company_id} does not exist.`,
      { cause: err },
    );
  }
  return err;
}

function exists(
  operation: string,
  address: string,
  port: number,
  existing: { id: DbInt; name: string } | undefined,
  cause?: unknown,
): HomeportError {
  const which = existing ? `: id ${toInt(existing.id)} ("${existing.name}")` : '';
  return new HomeportError(
    'MANAGEMENT_SERVER_EXISTS',
    `${operation}: a definition of the Management Server at ${address}:${port} already ` +
      `exists${which}. Use that one.`,
    { cause, ...(existing && { details: { id: toInt(existing.id) } }) },
  );
}

function notFound(operation: string, id: number, cause?: unknown): HomeportError {
  return new HomeportError(
    'MANAGEMENT_SERVER_NOT_FOUND',
    `${operation}: management server ${id} is not defined here.`,
    { cause },
  );
}

function inUse(id: number, count: number | undefined, cause?: unknown): HomeportError {
  const devices =
    count === undefined ? 'devices are' : count === 1 ? '1 device is' : `${count} devices are`;
  return new HomeportError(
    'MANAGEMENT_SERVER_IN_USE',
    `Cannot delete management server ${id}: ${devices} assigned to it. Assign them to another ` +
      'server (or back to the co-located one) first.',
    { cause, ...(count !== undefined && { details: { devices: count } }) },
  );
}

function toManagementServer(row: Selectable<ManagementServerTable>): ManagementServer {
  return {
    id: toInt(row.id),
    name: row.name,
    address: row.address,
    port: toInt(row.port),
    companyId: row.company_id === null ? null : toInt(row.company_id),
    caPem: row.ca_pem,
    caFingerprint: row.ca_fingerprint,
    onFailure: row.on_failure as OnFailurePolicy,
    createdAt: row.created_at,
  };
}
