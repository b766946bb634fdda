import { sql, type RawBuilder, type SqlBool } from 'kysely';

import type { DbInt } from './schema.js';
import type { PageQuery } from './types.js';

/** The largest page a listing returns. */
export const MAX_PAGE_SIZE = 1000;

/**
 * Reads an integer column. PostgreSQL returns bigint columns and counts as strings.
 *
 * @example
 *   toInt('42'); // 42
 */
export function toInt(value: DbInt): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`Cannot read ${String(value)} from the database: not a safe integer.`);
  }
  return n;
}

/** True for a unique or primary-key violation from either driver. */
export function isUniqueViolation(err: unknown): boolean {
  const code = driverCode(err);
  // PostgreSQL SQLSTATE 23505 unique_violation
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** True for a foreign-key violation from either driver. */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = driverCode(err);
  // PostgreSQL SQLSTATE 23503 foreign_key_violation
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

function driverCode(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return err.code;
}

/**
 * Checks paging arguments: `page` ≥ 1, 1 ≤ `pageSize` ≤ 1000.
 *
 * @example
 *   checkPage('list companies', { page: 0, pageSize: 10 }); // throws RangeError
 */
export function checkPage(operation: string, { page, pageSize }: PageQuery): void {
  if (!Number.isInteger(page) || page < 1) {
    throw new RangeError(`Cannot ${operation}: page must be an integer ≥ 1, got ${page}.`);
  }
  checkLimit(operation, 'pageSize', pageSize);
}

/** Checks a row limit: an integer from 1 to 1000, else RangeError naming the field. */
export function checkLimit(operation: string, field: string, value: number): void {
  if (Number.isInteger(value) && value >= 1 && value <= MAX_PAGE_SIZE) return;
  throw new RangeError(
    `Cannot ${operation}: ${field} must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${value}.`,
  );
}

/** The number of rows before the requested page. */
export function pageOffset({ page, pageSize }: PageQuery): number {
  return (page - 1) * pageSize;
}

/**
 * A condition: `column` contains `text`, case-insensitively, in both dialects (SQLite's LIKE
 * ignores ASCII case, PostgreSQL's does not, so both sides are lowercased). Wildcards in
 * `text` match literally.
 *
 * @example
 *   db.selectFrom('companies').where(containsIgnoreCase('name', 'acme'));
 */
export function containsIgnoreCase(column: string, text: string): RawBuilder<SqlBool> {
  const escaped = text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${`%${escaped}%`} escape '\\'`;
}

/** Now, as stored: ISO-8601 in UTC. */
export function nowIso(): string {
  return new Date().toISOString();
}
