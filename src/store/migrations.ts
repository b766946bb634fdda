import {
  Migrator,
  sql,
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  type Transaction,
} from 'kysely';

import { HomeportError } from '../errors.js';
import type { Db, SqlDialect } from './schema.js';

/**
 * The schema, one migration per change, in order. Names are `NNNN_what`; a migration is
 * never edited once released: add the next one instead. Both dialects run the same
 * migrations; only the id column types differ (`idColumn`, `refType`).
 */
function migrations(dialect: SqlDialect): Record<string, Migration> {
  return {
    '0001_companies_users_audit': {
      up: (db) => atomically(db, (trx) => createInitialTables(trx, dialect)),
    },
    '0002_devices': {
      up: (db) => atomically(db, (trx) => createDeviceTables(trx, dialect)),
    },
    '0003_management_servers': {
      up: (db) => atomically(db, (trx) => createManagementServers(trx, dialect)),
    },
  };
}

async function createInitialTables(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('value', 'text', (col) => col.notNull())
    .execute();

  // Parents are set only at creation and must exist then, so chains cannot loop. A later
  // migration that allows re-parenting must reject cycles.
  await idColumn(db.schema.createTable('companies'), dialect)
    .addColumn('name', 'text', (col) => col.notNull().unique())
    .addColumn('contact_name', 'text')
    .addColumn('parent_id', refType(dialect), (col) => col.references('companies.id'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('companies_parent_id_idx')
    .on('companies')
    .column('parent_id')
    .execute();

  // Stored lowercased, so the unique constraint is case-insensitive.
  await idColumn(db.schema.createTable('users'), dialect)
    .addColumn('email', 'text', (col) => col.notNull().unique())
    .addColumn('first_name', 'text', (col) => col.notNull())
    .addColumn('last_name', 'text', (col) => col.notNull())
    .addColumn('password_hash', 'text', (col) => col.notNull())
    .addColumn('is_sysadmin', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('user_companies')
    .addColumn('user_id', refType(dialect), (col) =>
      col.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('company_id', refType(dialect), (col) =>
      col.notNull().references('companies.id').onDelete('cascade'),
    )
    .addColumn('permissions', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('user_companies_pk', ['user_id', 'company_id'])
    .execute();
  await db.schema
    .createIndex('user_companies_company_id_idx')
    .on('user_companies')
    .column('company_id')
    .execute();

  await idColumn(db.schema.createTable('audit_log'), dialect)
    .addColumn('at', 'text', (col) => col.notNull())
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('subject', 'text', (col) => col.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema
    .createIndex('audit_log_subject_idx')
    .on('audit_log')
    .columns(['subject', 'id'])
    .execute();
}

/** Devices and what hangs off them: issued certificates, commands; and the trust lists. */
async function createDeviceTables(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await createDevices(db, dialect);
  await createCertificates(db, dialect);
  await createTrustLists(db);
  await createCommands(db, dialect);
}

async function createDevices(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  // MACs are stored canonical (upper case with colons), so the unique constraint is exact.
  await idColumn(db.schema.createTable('devices'), dialect)
    .addColumn('mac', 'text', (col) => col.notNull().unique())
    .addColumn('alias', 'text', (col) => col.notNull())
    .addColumn('serial_number', 'text', (col) => col.notNull())
    .addColumn('imei', 'text')
    .addColumn('order_code', 'text')
    .addColumn('device_type', 'text')
    .addColumn('company_id', refType(dialect), (col) =>
      col.references('companies.id').onDelete('set null'),
    )
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('is_online', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_seen', 'text')
    .addColumn('bootstrap_server_uri', 'text')
    // No foreign key yet: management-server definitions get their table in a later migration.
    .addColumn('management_server_id', refType(dialect))
    .execute();
  await db.schema
    .createIndex('devices_company_id_idx')
    .on('devices')
    .column('company_id')
    .execute();
  await db.schema
    .createIndex('devices_serial_number_idx')
    .on('devices')
    .column('serial_number')
    .execute();
}

async function createCertificates(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('certificates')
    .addColumn('serial', 'text', (col) => col.primaryKey())
    .addColumn('device_id', refType(dialect), (col) =>
      col.notNull().references('devices.id').onDelete('cascade'),
    )
    .addColumn('issuer', 'text', (col) => col.notNull())
    .addColumn('not_before', 'text', (col) => col.notNull())
    .addColumn('not_after', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('certificates_device_id_idx')
    .on('certificates')
    .column('device_id')
    .execute();
}

async function createTrustLists(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('trust_lists')
    .addColumn('list', 'text', (col) => col.notNull())
    .addColumn('position', 'integer', (col) => col.notNull())
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('pem', 'text', (col) => col.notNull())
    .addColumn('subject', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('trust_lists_pk', ['list', 'fingerprint'])
    .execute();
}

async function createCommands(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await idColumn(db.schema.createTable('commands'), dialect)
    .addColumn('device_id', refType(dialect), (col) =>
      col.notNull().references('devices.id').onDelete('cascade'),
    )
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('result', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  // Serves both a device's history and its open commands (state in Created, AwaitingResponse).
  await db.schema
    .createIndex('commands_device_id_state_idx')
    .on('commands')
    .columns(['device_id', 'state'])
    .execute();
}

/**
 * Definitions of other Management Servers (ARCHITECTURE §4), and the devices' references to
 * them. Addresses are stored lower case, so the unique constraint ignores case.
 */
async function createManagementServers(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await idColumn(db.schema.createTable('management_servers'), dialect)
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('address', 'text', (col) => col.notNull())
    .addColumn('port', 'integer', (col) => col.notNull())
    .addColumn('company_id', refType(dialect), (col) =>
      col.references('companies.id').onDelete('set null'),
    )
    .addColumn('ca_pem', 'text', (col) => col.notNull())
    .addColumn('ca_fingerprint', 'text', (col) => col.notNull())
    .addColumn('on_failure', 'text', (col) => col.notNull().defaultTo('home'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addUniqueConstraint('management_servers_address_port_key', ['address', 'port'])
    .addCheckConstraint('management_servers_on_failure_check', sql`on_failure in ('home', 'retry')`)
    .execute();

  await db.schema
    .createIndex('devices_management_server_id_idx')
    .on('devices')
    .column('management_server_id')
    .execute();
  // SQLite cannot add a foreign key to an existing table without rebuilding it, and rebuilding
  // `devices` would cascade into its certificates and commands; its single connection runs the
  // check-then-write transactions of the store one at a time instead. PostgreSQL's concurrent
  // transactions need the constraint: deleting a definition still in use fails.
  if (dialect === 'postgres') {
    await db.schema
      .alterTable('devices')
      .addForeignKeyConstraint(
        'devices_management_server_id_fkey',
        ['management_server_id'],
        'management_servers',
        ['id'],
      )
      .execute();
  }
}

/** Adds the `id` primary key: autoincrement integer on SQLite, bigserial on PostgreSQL. */
function idColumn<T extends string, C extends string>(
  table: CreateTableBuilder<T, C>,
  dialect: SqlDialect,
): CreateTableBuilder<T, C | 'id'> {
  if (dialect === 'sqlite') {
    return table.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement());
  }
  return table.addColumn('id', 'bigserial', (col) => col.primaryKey());
}

/** The type of a column that references an `id`. */
function refType(dialect: SqlDialect): 'integer' | 'bigint' {
  return dialect === 'sqlite' ? 'integer' : 'bigint';
}

/**
 * Runs a migration body in one transaction. Kysely's migrator already opens one on
 * PostgreSQL; on SQLite it does not, although SQLite's DDL is transactional too.
 */
async function atomically(
  db: Kysely<unknown>,
  body: (trx: Kysely<unknown>) => Promise<void>,
): Promise<void> {
  if (db.isTransaction) return body(db);
  await db.transaction().execute((trx: Transaction<unknown>) => body(trx));
}

function provider(dialect: SqlDialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}

/**
 * Brings the schema up to date and returns the names of the migrations it applied (none
 * when the store was already current). On PostgreSQL `schema` names the schema that holds
 * Kysely's bookkeeping tables, which must be the one the store's tables live in.
 *
 * @example
 *   const applied = await migrateToLatest(db, 'sqlite'); // ['0001_companies_users_audit', …]
 */
export async function migrateToLatest(
  db: Db,
  dialect: SqlDialect,
  schema?: string,
): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: provider(dialect),
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new HomeportError('INTERNAL', `Cannot migrate the store: migration ${failed} failed.`, {
      cause: error,
    });
  }
  return results.map((r) => r.migrationName);
}
