import { sql, type Selectable } from 'kysely';

import { HomeportError } from '../errors.js';
import type { CompanyTable, Db, DbInt } from './schema.js';
import {
  checkPage,
  containsIgnoreCase,
  isForeignKeyViolation,
  isUniqueViolation,
  nowIso,
  pageOffset,
  toInt,
} from './sql-helpers.js';
import type { Company, CompanyQuery, NewCompany, Page } from './types.js';

/** Creates a company; `db` must be a transaction. */
export async function createCompany(db: Db, input: NewCompany): Promise<Company> {
  const parentId = input.parentId ?? null;
  if (await companyIdByName(db, input.name)) throw companyExists(input.name);
  if (parentId !== null && !(await getCompany(db, parentId))) {
    throw new HomeportError(
      'COMPANY_NOT_FOUND',
      `Cannot create company "${input.name}": parent company ${parentId} does not exist.`,
    );
  }

  try {
    const row = await db
      .insertInto('companies')
      .values({
        name: input.name,
        contact_name: input.contactName ?? null,
        parent_id: parentId,
        created_at: nowIso(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCompany(row);
  } catch (err) {
    throw mapInsertError(err, input.name, parentId);
  }
}

/** A concurrent writer can still win between the check and the insert: map its violation. */
function mapInsertError(err: unknown, name: string, parentId: number | null): unknown {
  if (isUniqueViolation(err)) return companyExists(name, err);
  if (!isForeignKeyViolation(err)) return err;
  return new HomeportError(
    'COMPANY_NOT_FOUND',
    `Cannot create company "${name}": parent company ${parentId} does not exist.`,
    { cause: err },
  );
}

function companyExists(name: string, cause?: unknown): HomeportError {
  return new HomeportError(
    'COMPANY_EXISTS',
    `Cannot create company "${name}": a company with that name already exists.`,
    { cause },
  );
}

async function companyIdByName(db: Db, name: string): Promise<DbInt | undefined> {
  const row = await db
    .selectFrom('companies')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.id;
}

export async function getCompany(db: Db, id: number): Promise<Company | undefined> {
  const row = await db.selectFrom('companies').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toCompany(row);
}

export async function listCompanies(db: Db, query: CompanyQuery): Promise<Page<Company>> {
  checkPage('list companies', query);
  if (query.ids?.length === 0) return { items: [], total: 0 };

  let matching = db.selectFrom('companies');
  if (query.name !== undefined) matching = matching.where(containsIgnoreCase('name', query.name));
  if (query.ids !== undefined) matching = matching.where('id', 'in', query.ids);

  const { count } = await matching
    .select((eb) => eb.fn.countAll<DbInt>().as('count'))
    .executeTakeFirstOrThrow();
  const rows = await matching
    .selectAll()
    .orderBy('id')
    .limit(query.pageSize)
    .offset(pageOffset(query))
    .execute();
  return { items: rows.map(toCompany), total: toInt(count) };
}

/** The company, its parent, and so on up to a top-level company. */
export async function companyAncestors(db: Db, id: number): Promise<number[]> {
  const { rows } = await sql<{ id: DbInt }>`
    with recursive chain (id, parent_id, depth) as (
      select id, parent_id, 0 from companies where id = ${id}
      union all
      select c.id, c.parent_id, chain.depth + 1
      from companies c join chain on c.id = chain.parent_id
    )
    select id from chain order by depth`.execute(db);
  return foundIds(rows, id);
}

/** The company and every company below it, level by level, by id within a level. */
export async function companyDescendants(db: Db, id: number): Promise<number[]> {
  const { rows } = await sql<{ id: DbInt }>`
    with recursive tree (id, depth) as (
      select id, 0 from companies where id = ${id}
      union all
      select c.id, tree.depth + 1
      from companies c join tree on c.parent_id = tree.id
    )
    select id from tree order by depth, id`.execute(db);
  return foundIds(rows, id);
}

function foundIds(rows: { id: DbInt }[], id: number): number[] {
  if (rows.length === 0) {
    throw new HomeportError('COMPANY_NOT_FOUND', `Cannot read company ${id}: it does not exist.`);
  }
  return rows.map((row) => toInt(row.id));
}

function toCompany(row: Selectable<CompanyTable>): Company {
  return {
    id: toInt(row.id),
    name: row.name,
    contactName: row.contact_name,
    parentId: row.parent_id === null ? null : toInt(row.parent_id),
    createdAt: row.created_at,
  };
}
