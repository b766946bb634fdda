import type { Selectable } from 'kysely';

import { HomeportError } from '../errors.js';
import { getCompany } from './companies.js';
import type { Db, DbInt, DeviceTable } from './schema.js';
import {
  checkPage,
  containsIgnoreCase,
  isForeignKeyViolation,
  isUniqueViolation,
  nowIso,
  pageOffset,
  toInt,
} from './sql-helpers.js';
import type { Device, DeviceQuery, DeviceRegistration, NewDevice } from './device-types.js';
import type { Page } from './types.js';

/** Registers a device; `db` must be a transaction. The MAC is stored as given (canonical). */
export async function createDevice(db: Db, input: NewDevice): Promise<Device> {
  const companyId = input.companyId ?? null;
  if (await deviceIdByMac(db, input.mac)) throw deviceExists(input.mac);
  if (companyId !== null && !(await getCompany(db, companyId))) {
    throw companyNotFound(input.mac, companyId);
  }

  try {
    const row = await db
      .insertInto('devices')
      .values({
        mac: input.mac,
        alias: input.alias,
        serial_number: input.serialNumber,
        imei: input.imei ?? null,
        order_code: input.orderCode ?? null,
        device_type: input.deviceType ?? null,
        company_id: companyId,
        created_at: nowIso(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDevice(row);
  } catch (err) {
    throw mapInsertError(err, input.mac, companyId);
  }
}

/** A concurrent writer can still win between the checks and the insert: map its violation. */
function mapInsertError(err: unknown, mac: string, companyId: number | null): unknown {
  if (isUniqueViolation(err)) return deviceExists(mac, err);
  if (isForeignKeyViolation(err) && companyId !== null) return companyNotFound(mac, companyId, err);
  return err;
}

function deviceExists(mac: string, cause?: unknown): HomeportError {
  return new HomeportError(
    'DEVICE_EXISTS',
    `Cannot register device ${mac}: a device with that MAC address already exists.`,
    { cause },
  );
}

function companyNotFound(mac: string, companyId: number, cause?: unknown): HomeportError {
  return new HomeportError(
    'COMPANY_NOT_FOUND',
    `Cannot register device ${mac}: company ${companyId} does not exist.`,
    { cause },
  );
}

async function deviceIdByMac(db: Db, mac: string): Promise<DbInt | undefined> {
  const row = await db.selectFrom('devices').select('id').where('mac', '=', mac).executeTakeFirst();
  return row?.id;
}

/**
 * The id of the device with this MAC, for records stored by device id. Throws
 * DEVICE_NOT_FOUND with a message that starts with `operation`.
 *
 * @example
 *   const id = await requireDeviceId(db, 'Cannot queue a reboot', '00:0A:14:81:22:33');
 */
export async function requireDeviceId(db: Db, operation: string, mac: string): Promise<number> {
  const id = await deviceIdByMac(db, mac);
  if (id !== undefined) return toInt(id);
  throw deviceNotFound(operation, mac);
}

/**
 * DEVICE_NOT_FOUND: `<operation>: device <mac> does not exist.`
 *
 * @example
 *   throw deviceNotFound('Cannot record certificate 0a1b', '00:0A:14:81:22:33');
 */
export function deviceNotFound(operation: string, mac: string, cause?: unknown): HomeportError {
  return new HomeportError('DEVICE_NOT_FOUND', `${operation}: device ${mac} does not exist.`, {
    cause,
  });
}

export async function getDevice(db: Db, mac: string): Promise<Device | undefined> {
  const row = await db.selectFrom('devices').selectAll().where('mac', '=', mac).executeTakeFirst();
  return row && toDevice(row);
}

/** Deletes the device; its certificates and commands go with it (ON DELETE CASCADE). */
export async function deleteDevice(db: Db, mac: string): Promise<boolean> {
  const { numDeletedRows } = await db
    .deleteFrom('devices')
    .where('mac', '=', mac)
    .executeTakeFirst();
  return numDeletedRows > 0n;
}

export async function listDevices(db: Db, query: DeviceQuery): Promise<Page<Device>> {
  checkPage('list devices', query);
  if (query.companyIds?.length === 0 && !query.includeUnclaimed) return { items: [], total: 0 };

  const matching = filterDevices(db, query);
  const { count } = await matching
    .select((eb) => eb.fn.countAll<DbInt>().as('count'))
    .executeTakeFirstOrThrow();
  const rows = await matching
    .selectAll()
    .orderBy('id')
    .limit(query.pageSize)
    .offset(pageOffset(query))
    .execute();
  return { items: rows.map(toDevice), total: toInt(count) };
}

function filterDevices(db: Db, query: DeviceQuery) {
  const { name, search, companyIds, includeUnclaimed, isOnline } = query;
  let matching = db.selectFrom('devices');
  if (name !== undefined) matching = matching.where(containsIgnoreCase('alias', name));
  if (search !== undefined) {
    matching = matching.where((eb) =>
      eb.or([containsIgnoreCase('mac', search), containsIgnoreCase('serial_number', search)]),
    );
  }
  if (companyIds !== undefined) {
    // `in ()` is not SQL: an empty list contributes no condition (listDevices returned early
    // when nothing at all can match).
    matching = matching.where((eb) =>
      eb.or([
        ...(companyIds.length > 0 ? [eb('company_id', 'in', companyIds)] : []),
        ...(includeUnclaimed ? [eb('company_id', 'is', null)] : []),
      ]),
    );
  }
  if (isOnline !== undefined) matching = matching.where('is_online', '=', isOnline ? 1 : 0);
  return matching;
}

export async function setDeviceOnline(
  db: Db,
  mac: string,
  online: boolean,
  at: string,
): Promise<void> {
  const { numUpdatedRows } = await db
    .updateTable('devices')
    .set({ is_online: online ? 1 : 0, last_seen: at })
    .where('mac', '=', mac)
    .executeTakeFirst();
  if (numUpdatedRows > 0n) return;
  throw deviceNotFound(`Cannot mark a device ${online ? 'online' : 'offline'}`, mac);
}

export async function setDeviceRegistration(
  db: Db,
  mac: string,
  registration: DeviceRegistration,
  at: string,
): Promise<void> {
  const { numUpdatedRows } = await db
    .updateTable('devices')
    .set({ bootstrap_server_uri: registration.bootstrapServerUri, last_seen: at })
    .where('mac', '=', mac)
    .executeTakeFirst();
  if (numUpdatedRows > 0n) return;
  throw deviceNotFound('Cannot record the registration of a device', mac);
}

/**
 * Marks the devices that were online offline, last seen `at`. Devices already offline keep
 * their lastSeen: nothing was heard from them.
 */
export async function setAllDevicesOffline(db: Db, at: string): Promise<void> {
  await db
    .updateTable('devices')
    .set({ is_online: 0, last_seen: at })
    .where('is_online', '<>', 0)
    .execute();
}

function toDevice(row: Selectable<DeviceTable>): Device {
  return {
    id: toInt(row.id),
    mac: row.mac,
    alias: row.alias,
    serialNumber: row.serial_number,
    imei: row.imei,
    orderCode: row.order_code,
    deviceType: row.device_type,
    companyId: row.company_id === null ? null : toInt(row.company_id),
    createdAt: row.created_at,
    isOnline: toInt(row.is_online) === 1,
    lastSeen: row.last_seen,
    bootstrapServerUri: row.bootstrap_server_uri,
    managementServerId: row.management_server_id === null ? null : toInt(row.management_server_id),
  };
}
