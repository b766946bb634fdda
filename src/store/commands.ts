import { HomeportError } from '../errors.js';
import { deviceNotFound, requireDeviceId } from './devices.js';
import type { Db, DbInt } from './schema.js';
import { checkPage, isForeignKeyViolation, nowIso, pageOffset, toInt } from './sql-helpers.js';
import {
  COMMAND_STATES,
  COMMAND_TYPES,
  type Command,
  type CommandState,
  type CommandType,
} from './device-types.js';
import type { Page, PageQuery } from './types.js';

/** The states in which a command still waits for the device. */
const OPEN_STATES = ['Created', 'AwaitingResponse'] as const satisfies readonly CommandState[];

export interface NewCommand {
  deviceMac: string;
  type: CommandType;
  actor: string;
}

/** Queues a command in state Created; `db` must be a transaction. */
export async function createCommand(db: Db, input: NewCommand): Promise<Command> {
  const operation = `Cannot queue command ${input.type}`;
  const deviceId = await requireDeviceId(db, operation, input.deviceMac);
  const now = nowIso();

  try {
    const { id } = await db
      .insertInto('commands')
      .values({
        device_id: deviceId,
        type: input.type,
        state: 'Created',
        actor: input.actor,
        result: null,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return await readCommand(db, toInt(id));
  } catch (err) {
    // The device was deleted by a concurrent writer after the lookup.
    throw isForeignKeyViolation(err) ? deviceNotFound(operation, input.deviceMac, err) : err;
  }
}

/** The command columns with the device's MAC. */
function commands(db: Db) {
  return db
    .selectFrom('commands as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .select([
      'c.id',
      'd.mac',
      'c.type',
      'c.state',
      'c.actor',
      'c.result',
      'c.created_at',
      'c.updated_at',
    ]);
}

type CommandRow = {
  id: DbInt;
  mac: string;
  type: string;
  state: string;
  actor: string;
  result: string | null;
  created_at: string;
  updated_at: string;
};

export async function getCommand(db: Db, id: number): Promise<Command | undefined> {
  const row = await commands(db).where('c.id', '=', id).executeTakeFirst();
  return row && toCommand(row);
}

async function readCommand(db: Db, id: number): Promise<Command> {
  const command = await getCommand(db, id);
  if (command) return command;
  throw commandNotFound(`Cannot read command ${id}`, id);
}

/** The device's commands, newest first; an unknown device has none. */
export async function listCommands(db: Db, mac: string, page: PageQuery): Promise<Page<Command>> {
  checkPage('list commands', page);

  const { count } = await db
    .selectFrom('commands as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .where('d.mac', '=', mac)
    .select((eb) => eb.fn.countAll<DbInt>().as('count'))
    .executeTakeFirstOrThrow();
  const rows = await commands(db)
    .where('d.mac', '=', mac)
    .orderBy('c.id', 'desc')
    .limit(page.pageSize)
    .offset(pageOffset(page))
    .execute();
  return { items: rows.map(toCommand), total: toInt(count) };
}

/** The device's commands still waiting for it (Created, AwaitingResponse), oldest first. */
export async function openCommands(db: Db, mac: string): Promise<Command[]> {
  const rows = await commands(db)
    .where('d.mac', '=', mac)
    .where('c.state', 'in', OPEN_STATES)
    .orderBy('c.id')
    .execute();
  return rows.map(toCommand);
}

/**
 * Moves a command to `state`, stamping updatedAt; `result` replaces the stored result unless
 * it is undefined. `db` must be a transaction.
 */
export async function setCommandState(
  db: Db,
  id: number,
  state: CommandState,
  result?: string | null,
): Promise<Command> {
  const { numUpdatedRows } = await db
    .updateTable('commands')
    .set({ state, updated_at: nowIso(), ...(result !== undefined && { result }) })
    .where('id', '=', id)
    .executeTakeFirst();
  if (numUpdatedRows === 0n) {
    throw commandNotFound(`Cannot move command ${id} to ${state}`, id);
  }
  return readCommand(db, id);
}

function commandNotFound(operation: string, id: number): HomeportError {
  return new HomeportError('COMMAND_NOT_FOUND', `${operation}: command ${id} does not exist.`);
}

function toCommand(row: CommandRow): Command {
  const id = toInt(row.id);
  return {
    id,
    deviceMac: row.mac,
    type: checkStored(COMMAND_TYPES, row.type, 'type', id),
    state: checkStored(COMMAND_STATES, row.state, 'state', id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    actor: row.actor,
    result: row.result,
  };
}

/** A stored name read back into its closed set; anything else is a corrupt row. */
function checkStored<T extends string>(
  allowed: readonly T[],
  value: string,
  field: string,
  id: number,
): T {
  const known = allowed.find((name) => name === value);
  if (known !== undefined) return known;
  throw new HomeportError(
    'INTERNAL',
    `Cannot read command ${id}: its stored ${field} "${value}" is not one Homeport knows.`,
  );
}
