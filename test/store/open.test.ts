import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openStore, SQLITE_FILE } from '../../src/store/index.js';
import { connect } from '../../src/store/open.js';
import { dropSchema, PG_URL, randomSchema } from './backends.js';

describe('opening the store', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hp-open-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('a URL of another kind is refused with CONFIG_INVALID naming the accepted forms', async () => {
    const opening = openStore('mysql://admin:secret@db.example/homeport', { dataDir });

    await expect(opening).rejects.toMatchObject({ code: 'CONFIG_INVALID', status: 400 });
    await expect(opening).rejects.toThrow(/postgres:\/\/ or postgresql:\/\//);
    await expect(opening).rejects.not.toThrow(/secret/);
  });

  it('a schema without a PostgreSQL URL is refused', async () => {
    await expect(openStore(undefined, { dataDir, schema: 'site1' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('a schema in the URL that differs from the option is refused', async () => {
    const opening = openStore(`${PG_URL}?schema=one`, { dataDir, schema: 'two' });

    await expect(opening).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('a schema name that is not a plain lowercase SQL name is refused', async () => {
    const opening = openStore(PG_URL, { dataDir, schema: 'x"; drop table users; --' });

    await expect(opening).rejects.toThrow(/is not a lowercase SQL name/);
  });

  it('without a URL the store is a WAL-mode SQLite file in the data directory, foreign keys on', async () => {
    const repo = await openStore(undefined, { dataDir: join(dataDir, 'new', 'dir') });
    await repo.close();
    const file = join(dataDir, 'new', 'dir', SQLITE_FILE);

    const database = new Database(file, { readonly: true });
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    database.close();

    const { db } = await connect(undefined, { dataDir: join(dataDir, 'new', 'dir') });
    const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    await db.destroy();
    expect(rows).toEqual([{ foreign_keys: 1 }]);
    expect(existsSync(file)).toBe(true);
  });

  it('a postgresql:// URL with a schema option creates the schema and keeps the tables there', async () => {
    const schema = randomSchema();
    const url = PG_URL.replace(/^postgres:/, 'postgresql:');
    try {
      const repo = await openStore(url, { dataDir, schema });
      await repo.createCompany({ name: 'Acme' });
      await repo.close();

      const { db } = await connect(url, { dataDir, schema });
      const { rows } = await sql<{ name: string }>`
        select table_name as name from information_schema.tables
        where table_schema = ${schema} order by table_name`.execute(db);
      await db.destroy();
      expect(rows.map((r) => r.name)).toEqual([
        'audit_log',
        'certificates',
        'commands',
        'companies',
        'devices',
        'kysely_migration',
        'kysely_migration_lock',
        'management_servers',
        'meta',
        'trust_lists',
        'user_companies',
        'users',
      ]);
    } finally {
      await dropSchema(schema);
    }
  });
});
