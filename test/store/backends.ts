import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach } from 'vitest';

import { openStore, type OpenStoreOptions, type Repository } from '../../src/store/index.js';
import { connect, type Connection } from '../../src/store/open.js';

/** The local test server: trust authentication, database `test`. */
export const PG_URL = process.env.HOMEPORT_TEST_PG_URL ?? 'postgres://127.0.0.1:5432/test';

/** Where one test's store lives, and how to remove it afterwards. */
export interface Location {
  url: string | undefined;
  options: OpenStoreOptions;
  drop(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  fresh(): Promise<Location>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async fresh() {
    const dataDir = await mkdtemp(join(tmpdir(), 'hp-store-'));
    return {
      url: undefined,
      options: { dataDir },
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

const postgres: Backend = {
  name: 'postgres',
  fresh() {
    const schema = randomSchema();
    return Promise.resolve({
      url: `${PG_URL}?schema=${schema}`,
      options: { dataDir: tmpdir() },
      drop: () => dropSchema(schema),
    });
  },
};

export const backends: Backend[] = [sqlite, postgres];

/** A schema name no other run uses: `hp_test_<random>`. */
export function randomSchema(): string {
  return `hp_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: withUser(PG_URL) });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** pg reads the user only from the URL, $PGUSER or $USER; test runners may set none. */
function withUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username === '' && !process.env.PGUSER && !process.env.USER) {
    parsed.username = userInfo().username;
  }
  return parsed.toString();
}

/** The store the tests of one block share: opened once, emptied before each test. */
export interface SharedStore {
  readonly repo: Repository;
  readonly location: Location;
  /** Closes the store and opens the same database again. */
  reopen(): Promise<Repository>;
}

/**
 * Opens one store (SQLite file, or PostgreSQL schema) for a `describe` block, empties its
 * tables before each test, and closes and drops it after the block. Migrating a fresh
 * PostgreSQL schema takes about 100 ms, emptying it a few.
 */
export function useStore(backend: Backend): SharedStore {
  let location: Location | undefined;
  let repo: Repository | undefined;
  let admin: Connection | undefined;

  beforeAll(async () => {
    location = await backend.fresh();
    repo = await openStore(location.url, location.options);
    admin = await connect(location.url, location.options);
  });
  beforeEach(async () => {
    if (admin) await emptyTables(admin);
  });
  afterAll(async () => {
    await repo?.close();
    await admin?.db.destroy();
    await location?.drop();
  });

  return {
    get repo() {
      if (!repo) throw new Error('No store: use it inside a test.');
      return repo;
    },
    get location() {
      if (!location) throw new Error('No store: use it inside a test.');
      return location;
    },
    async reopen() {
      await this.repo.close();
      repo = await openStore(this.location.url, this.location.options);
      return repo;
    },
  };
}

/** Deletes every row but Kysely's bookkeeping, and restarts the ids. */
async function emptyTables({ db, dialect }: Connection): Promise<void> {
  if (dialect === 'postgres') {
    const { rows } = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_name not like 'kysely%'`.execute(db);
    const tables = sql.join(rows.map((r) => sql.id(r.name)));
    await sql`truncate table ${tables} restart identity cascade`.execute(db);
    return;
  }
  const { rows } = await sql<{ name: string }>`
    select name from sqlite_master
    where type = 'table' and name not like 'kysely%' and name not like 'sqlite%'`.execute(db);
  // This connection only: the store's own connection keeps its foreign keys on.
  await sql`pragma foreign_keys = off`.execute(db);
  for (const { name } of rows) await sql`delete from ${sql.id(name)}`.execute(db);
  await sql`delete from sqlite_sequence`.execute(db);
}
