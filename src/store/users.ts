import type { Selectable } from 'kysely';

import { HomeportError } from '../errors.js';
import type { Db, DbInt, UserTable } from './schema.js';
import {
  checkPage,
  containsIgnoreCase,
  isUniqueViolation,
  nowIso,
  pageOffset,
  toInt,
} from './sql-helpers.js';
import type { Credentials, NewUser, Page, User, UserQuery } from './types.js';

/** E-mail addresses are stored and compared lowercased, without surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Creates a user; `db` must be a transaction. */
export async function createUser(db: Db, input: NewUser): Promise<User> {
  const email = normalizeEmail(input.email);
  if (await getUserByEmail(db, email)) throw userExists(email);

  try {
    const row = await db
      .insertInto('users')
      .values({
        email,
        first_name: input.firstName,
        last_name: input.lastName,
        password_hash: input.passwordHash,
        is_sysadmin: input.isSysAdmin ? 1 : 0,
        created_at: nowIso(),
      })
      .returning(userColumns)
      .executeTakeFirstOrThrow();
    return toUser(row);
  } catch (err) {
    // A concurrent writer can still win between the check and the insert.
    throw isUniqueViolation(err) ? userExists(email, err) : err;
  }
}

function userExists(email: string, cause?: unknown): HomeportError {
  return new HomeportError(
    'USER_EXISTS',
    `Cannot create user "${email}": a user with that e-mail address already exists.`,
    { cause },
  );
}

/** Every column but password_hash, which leaves the store only through getCredentials. */
const userColumns = [
  'id',
  'email',
  'first_name',
  'last_name',
  'is_sysadmin',
  'created_at',
] as const;

type UserRow = Pick<Selectable<UserTable>, (typeof userColumns)[number]>;

export async function getUser(db: Db, id: number): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .select(userColumns)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toUser(row);
}

export async function getUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .select(userColumns)
    .where('email', '=', normalizeEmail(email))
    .executeTakeFirst();
  return row && toUser(row);
}

export async function getCredentials(db: Db, email: string): Promise<Credentials | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'password_hash'])
    .where('email', '=', normalizeEmail(email))
    .executeTakeFirst();
  return row && { userId: toInt(row.id), passwordHash: row.password_hash };
}

export async function setPasswordHash(db: Db, userId: number, passwordHash: string): Promise<void> {
  const { numUpdatedRows } = await db
    .updateTable('users')
    .set({ password_hash: passwordHash })
    .where('id', '=', userId)
    .executeTakeFirst();
  if (numUpdatedRows > 0n) return;
  throw new HomeportError(
    'USER_NOT_FOUND',
    `Cannot set the password of user ${userId}: the user does not exist.`,
  );
}

export async function countUsers(db: Db): Promise<number> {
  const { count } = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<DbInt>().as('count'))
    .executeTakeFirstOrThrow();
  return toInt(count);
}

export async function listUsers(db: Db, query: UserQuery): Promise<Page<User>> {
  checkPage('list users', query);
  if (query.companyIds?.length === 0) return { items: [], total: 0 };

  const matching = filterUsers(db, query);
  const { count } = await matching
    .select((eb) => eb.fn.countAll<DbInt>().as('count'))
    .executeTakeFirstOrThrow();
  const rows = await matching
    .select(userColumns)
    .orderBy('id')
    .limit(query.pageSize)
    .offset(pageOffset(query))
    .execute();
  return { items: rows.map(toUser), total: toInt(count) };
}

function filterUsers(db: Db, { email, search, companyIds }: UserQuery) {
  let matching = db.selectFrom('users');
  if (email !== undefined) matching = matching.where('email', '=', normalizeEmail(email));
  if (search !== undefined) {
    matching = matching.where((eb) =>
      eb.or([
        containsIgnoreCase('email', search),
        containsIgnoreCase('first_name', search),
        containsIgnoreCase('last_name', search),
      ]),
    );
  }
  if (companyIds !== undefined) {
    const members = db
      .selectFrom('user_companies')
      .select('user_id')
      .where('company_id', 'in', companyIds);
    matching = matching.where('id', 'in', members);
  }
  return matching;
}

function toUser(row: UserRow): User {
  return {
    id: toInt(row.id),
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    isSysAdmin: toInt(row.is_sysadmin) === 1,
    createdAt: row.created_at,
  };
}
