import { HomeportError } from '../errors.js';
import type { Db } from './schema.js';
import { isForeignKeyViolation, toInt } from './sql-helpers.js';
import { getUser } from './users.js';
import type { Membership, MembershipGrant } from './types.js';

export async function getMemberships(db: Db, userId: number): Promise<Membership[]> {
  const rows = await db
    .selectFrom('user_companies as uc')
    .innerJoin('companies as c', 'c.id', 'uc.company_id')
    .select(['uc.company_id', 'c.name', 'uc.permissions'])
    .where('uc.user_id', '=', userId)
    .orderBy('uc.company_id')
    .execute();
  return rows.map((row) => ({
    companyId: toInt(row.company_id),
    companyName: row.name,
    permissions: parsePermissions(row.permissions, userId),
  }));
}

/** Replaces the user's memberships; `db` must be a transaction. */
export async function setMemberships(
  db: Db,
  userId: number,
  grants: readonly MembershipGrant[],
): Promise<Membership[]> {
  const operation = `Cannot set the companies of user ${userId}`;
  checkNoDuplicates(operation, grants);
  if (!(await getUser(db, userId))) {
    throw new HomeportError('USER_NOT_FOUND', `${operation}: the user does not exist.`);
  }
  await checkCompaniesExist(db, operation, grants);

  await db.deleteFrom('user_companies').where('user_id', '=', userId).execute();
  if (grants.length > 0) await insertGrants(db, operation, userId, grants);

  return getMemberships(db, userId);
}

function checkNoDuplicates(operation: string, grants: readonly MembershipGrant[]): void {
  const seen = new Set<number>();
  for (const { companyId } of grants) {
    if (seen.has(companyId)) {
      throw new HomeportError('VALIDATION', `${operation}: company ${companyId} is listed twice.`);
    }
    seen.add(companyId);
  }
}

async function checkCompaniesExist(
  db: Db,
  operation: string,
  grants: readonly MembershipGrant[],
): Promise<void> {
  if (grants.length === 0) return;

  const wanted = grants.map((g) => g.companyId);
  const rows = await db.selectFrom('companies').select('id').where('id', 'in', wanted).execute();
  const found = new Set(rows.map((row) => toInt(row.id)));
  const missing = wanted.find((id) => !found.has(id));
  if (missing !== undefined) throw companyNotFound(operation, missing);
}

async function insertGrants(
  db: Db,
  operation: string,
  userId: number,
  grants: readonly MembershipGrant[],
): Promise<void> {
  const rows = grants.map((g) => ({
    user_id: userId,
    company_id: g.companyId,
    permissions: JSON.stringify(g.permissions),
  }));
  try {
    await db.insertInto('user_companies').values(rows).execute();
  } catch (err) {
    // A company deleted by a concurrent writer after the check.
    if (!isForeignKeyViolation(err)) throw err;
    throw new HomeportError('COMPANY_NOT_FOUND', `${operation}: a company does not exist.`, {
      cause: err,
    });
  }
}

function companyNotFound(operation: string, companyId: number): HomeportError {
  return new HomeportError(
    'COMPANY_NOT_FOUND',
    `${operation}: company ${companyId} does not exist.`,
  );
}

function parsePermissions(text: string, userId: number): string[] {
  const value: unknown = JSON.parse(text);
  if (Array.isArray(value) && value.every((p) => typeof p === 'string')) return value;
  throw new HomeportError(
    'INTERNAL',
    `Cannot read the memberships of user ${userId}: stored permissions are not a list of names.`,
  );
}
