import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';

import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';

import { HomeportError } from '../errors.js';
import { KyselyRepository } from './kysely-repository.js';
import { migrateToLatest } from './migrations.js';
import type { Repository } from './repository.js';
import type { Database as Tables, Db, SqlDialect } from './schema.js';

/** The SQLite file inside the data directory. */
export const SQLITE_FILE = 'homeport.db';

/** How long a SQLite writer waits for another process's lock, in milliseconds. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface OpenStoreOptions {
  /** Where the SQLite file lives when no URL is given. Created if missing. */
  dataDir: string;
  /**
   * PostgreSQL only: the schema that holds the tables, created if missing. Same as
   * `?schema=` in the URL; the default is the server's (usually `public`).
   */
  schema?: string | undefined;
  logger?: Logger | undefined;
}

/** An open database before migrations: the store's tables may not exist yet. */
export interface Connection {
  db: Db;
  dialect: SqlDialect;
  /** PostgreSQL: the schema the tables live in. */
  schema?: string;
}

/**
 * Opens the store and brings its schema up to date. Without a URL it is the SQLite file
 * `<dataDir>/homeport.db`; with `postgres://…` or `postgresql://…` it is that PostgreSQL
 * database. Any other URL is CONFIG_INVALID.
 *
 * @example
 *   const repo = await openStore(undefined, { dataDir: './homeport-data' });
 *   const pgRepo = await openStore('postgres://db.example/homeport?schema=site1', { dataDir });
 */
export async function openStore(
  url: string | undefined,
  options: OpenStoreOptions,
): Promise<Repository> {
  const { db, dialect, schema } = await connect(url, options);
  try {
    const applied = await migrateToLatest(db, dialect, schema);
    options.logger?.info({ dialect, schema, migrations: applied }, 'store opened');
    return new KyselyRepository(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

/**
 * Opens the database named by `url` (see `openStore`) without migrating it.
 *
 * @example
 *   const { db, dialect } = await connect(undefined, { dataDir: './homeport-data' });
 */
export async function connect(
  url: string | undefined,
  options: OpenStoreOptions,
): Promise<Connection> {
  if (url === undefined) {
    if (options.schema !== undefined) throw schemaWithSqlite();
    return connectSqlite(join(options.dataDir, SQLITE_FILE));
  }
  if (/^postgres(ql)?:\/\//i.test(url)) return connectPostgres(url, options);
  throw new HomeportError(
    'CONFIG_INVALID',
    `Cannot open the store: database URL scheme "${url.split(':')[0]}" is not supported; ` +
      'give a postgres:// or postgresql:// URL, or none for SQLite in the data directory.',
  );
}

function schemaWithSqlite(): HomeportError {
  return new HomeportError(
    'CONFIG_INVALID',
    'Cannot open the store: a schema applies only to PostgreSQL, and no database URL was given.',
  );
}

function connectSqlite(file: string): Connection {
  mkdirSync(dirname(file), { recursive: true });
  const database = new Database(file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    // With WAL, NORMAL loses at most the last commits on power loss, never consistency.
    database.pragma('synchronous = NORMAL');
  } catch (err) {
    database.close();
    throw err;
  }
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite' };
}

async function connectPostgres(url: string, options: OpenStoreOptions): Promise<Connection> {
  const { connectionString, schema } = parsePostgresUrl(url, options.schema);
  const pool = new pg.Pool({
    connectionString,
    ...(schema !== undefined && { options: `-c search_path=${schema}` }),
  });
  // An idle connection that breaks emits 'error' on the pool; unheard, it ends the process.
  pool.on('error', (err) => options.logger?.warn({ err }, 'idle PostgreSQL connection failed'));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });

  try {
    if (schema !== undefined) await createSchema(db, schema);
    return { db, dialect: 'postgres', schema: await currentSchema(db) };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

/** Takes `?schema=` out of the URL (pg would pass it on as a server setting). */
function parsePostgresUrl(url: string, option: string | undefined) {
  const parsed = parseUrl(url);
  const fromUrl = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  // Like libpq, default to the operating-system user; pg looks only at $PGUSER and $USER.
  if (parsed.username === '' && !process.env.PGUSER && !process.env.USER) {
    parsed.username = userInfo().username;
  }
  return { connectionString: parsed.toString(), schema: pickSchema(fromUrl, option) };
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (err) {
    const message = 'Cannot open the store: the database URL is malformed.';
    throw new HomeportError('CONFIG_INVALID', message, { cause: err });
  }
}

function pickSchema(fromUrl: string | undefined, option: string | undefined) {
  if (fromUrl !== undefined && option !== undefined && fromUrl !== option) {
    throw new HomeportError(
      'CONFIG_INVALID',
      `Cannot open the store: the URL names schema "${fromUrl}" and the options "${option}".`,
    );
  }
  const schema = option ?? fromUrl;
  if (schema === undefined || SCHEMA_NAME.test(schema)) return schema;
  throw new HomeportError(
    'CONFIG_INVALID',
    `Cannot open the store: schema "${schema}" is not a lowercase SQL name ([a-z_][a-z0-9_]*).`,
  );
}

async function createSchema(db: Db, schema: string): Promise<void> {
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (err) {
    // Two processes creating it at once: PostgreSQL's IF NOT EXISTS can still fail with 23505.
    if ((await currentSchema(db)) !== schema) throw err;
  }
}

/** The schema unqualified names resolve to, which Kysely's migrator must be told. */
async function currentSchema(db: Db): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
    db,
  );
  const schema = rows[0]?.schema;
  if (schema) return schema;
  throw new HomeportError(
    'CONFIG_INVALID',
    'Cannot open the store: no schema on the PostgreSQL search_path exists.',
  );
}
